package local_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
)

// A drill and a dry run of the same deployment at once, as the drill schedule and the
// readiness schedule used to start them in the same minute. Whatever the order, the
// drill passes, and the dry run never fails (which would set off the NotReady and
// ExecutionsFailed alarms): it is ready when it did not meet the drill, skipped (a
// SUCCEEDED execution naming the drill) when the drill disturbed it. The bucket ends
// exactly as it was, blocked once and restored once.
func TestDrillAndDryRunAtOnce(t *testing.T) {
	const dryInput = `{"dryRun":true,"probeIntervalMs":50,"steadySamples":3}`
	for _, tc := range []struct {
		name string
		// wire starts the dry run (start()) and returns the two runs' event hooks.
		wire     func(start func()) gate
		verdicts []string // the dry run's allowed verdicts
	}{
		{name: "started together 1", wire: together, verdicts: []string{drill.Ready, drill.SkippedBusy}},
		{name: "started together 2", wire: together, verdicts: []string{drill.Ready, drill.SkippedBusy}},
		{name: "started together 3", wire: together, verdicts: []string{drill.Ready, drill.SkippedBusy}},
		// The dry run starts while the drill holds the lock and the primary is blocked:
		// its Preflight sees the primary's 403.
		{name: "dry run during the drill's failover", verdicts: []string{drill.SkippedBusy}, wire: func(start func()) gate {
			var once sync.Once
			return gate{drill: func(ev asl.Event) {
				if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
					once.Do(start)
				}
			}}
		}},
		// The drill's BlockBucket meets the lock the dry run holds (the dry run keeps it
		// 400 ms longer than usual): the drill waits for it instead of being refused.
		{name: "drill meets the dry run's lock", verdicts: []string{drill.Ready}, wire: func(start func()) gate {
			locked := make(chan struct{})
			var once sync.Once
			start()
			return gate{
				drill: func(ev asl.Event) {
					if ev.Type == asl.StateEntered && ev.State == "BlockBucket" {
						<-locked
					}
				},
				dry: func(ev asl.Event) {
					if ev.Type == asl.StateEntered && ev.State == "IsDryRun" {
						once.Do(func() { close(locked); time.Sleep(400 * time.Millisecond) })
					}
				},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := startEnv(t, partial)
			var wg sync.WaitGroup
			var dryOut *local.Outcome
			var dryHook func(asl.Event)
			var hookMu sync.Mutex
			startDry := func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, err := env.Run(context.Background(), local.RunOptions{Name: "dry", Input: json.RawMessage(dryInput), VisitorInterval: -1,
						OnEvent: func(ev asl.Event) {
							hookMu.Lock()
							h := dryHook
							hookMu.Unlock()
							if h != nil {
								h(ev)
							}
						}})
					if err != nil {
						t.Error(err)
					}
					dryOut = out
				}()
			}
			hookMu.Lock()
			g := tc.wire(startDry)
			dryHook = g.dry
			hookMu.Unlock()
			drillOut, err := env.Run(context.Background(), local.RunOptions{Name: "drill", Input: json.RawMessage(fastInput), VisitorInterval: -1, OnEvent: g.drill})
			if err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if dryOut == nil {
				t.Fatal("the dry run did not finish")
			}
			if drillOut.Result.Status != asl.StatusSucceeded || drillOut.Report.Verdict != drill.Pass {
				t.Errorf("drill: %s %s %s, verdict %s", drillOut.Result.Status, drillOut.Result.Error, drillOut.Result.Cause, drillOut.Report.Verdict)
			}
			rep := dryOut.Report
			ok := false
			for _, v := range tc.verdicts {
				ok = ok || rep.Verdict == v
			}
			if !ok || dryOut.Result.Status != asl.StatusSucceeded {
				t.Errorf("dry run: %s %s, verdict %s (want one of %v): %s", dryOut.Result.Status, dryOut.Result.Error, rep.Verdict, tc.verdicts, rep.Summary)
			}
			if rep.Verdict == drill.SkippedBusy && (rep.ConcurrentDrill == nil || rep.ConcurrentDrill.Execution != "drill" || !strings.Contains(rep.Summary, "drill in progress")) {
				t.Errorf("skipped dry run names %+v: %s", rep.ConcurrentDrill, rep.Summary)
			}
			changes := env.Sandbox.PABChanges()
			if len(changes) != 2 || *changes[0].Config != drill.BlockAll || *changes[1].Config != *partial {
				t.Errorf("configuration changes %+v, want the drill's one block and one restore", changes)
			}
			assertRestored(t, env, partial)
			t.Logf("dry run: %s", rep.Summary)
		})
	}
}

// gate holds the drill's and the dry run's event hooks.
type gate struct{ drill, dry func(asl.Event) }

// together starts the dry run with the drill, as two schedules firing in one minute do.
func together(start func()) gate {
	start()
	return gate{}
}
