package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/shop"
)

// independentWriter signs users up through each region's API every interval, on its
// own, and counts its own acknowledged writes: the truth the database stage's figures
// are held to (what a steady stream of users lived), with no code of internal/database.
type independentWriter struct {
	shop     *shop.Client
	hosts    map[string]string
	interval time.Duration
	prefix   string

	mu     sync.Mutex
	writes []writeTruth
}

type writeTruth struct {
	region, email string
	sent, at      time.Time
	ok            bool
}

func (w *independentWriter) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		for region, host := range w.hosts {
			email := fmt.Sprintf("%s-%s-%06d@%s", w.prefix, region, n, drill.SyntheticDomain)
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := writeTruth{region: region, email: email, sent: time.Now()}
				_, err := w.shop.SignUp(context.WithoutCancel(ctx), host, shop.User{Email: email, FirstName: "Truth", LastName: "Writer"})
				t.at, t.ok = time.Now(), err == nil
				w.mu.Lock()
				w.writes = append(w.writes, t)
				w.mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.interval):
		}
	}
}

// outage is the longest stretch from sentAt on in which no write of either region
// was acknowledged: from the send of the last acknowledged write before it to the
// answer of the first after it, as the truth's widest reading. An acknowledgement
// that took longer than maxAnswer says little of when it was accepted (on a starved
// machine a goroutine may stamp its send long before the request leaves), so it is
// left out.
func (w *independentWriter) outage(from, until time.Time) (lo, hi time.Duration) {
	const maxAnswer = 250 * time.Millisecond
	w.mu.Lock()
	defer w.mu.Unlock()
	var acks []writeTruth
	for _, t := range w.writes {
		if t.ok && !t.sent.Before(from) && t.sent.Before(until) && t.at.Sub(t.sent) <= maxAnswer {
			acks = append(acks, t)
		}
	}
	for i := 1; i < len(acks); i++ {
		prev, next := acks[i-1], acks[i]
		for j := range i { // the latest send among the earlier acknowledgements
			if acks[j].sent.After(prev.sent) {
				prev = acks[j]
			}
		}
		if gap := next.sent.Sub(prev.at); gap > lo {
			lo, hi = gap, next.at.Sub(prev.sent)
		}
	}
	return lo, hi
}

func sortedBySend(ts []writeTruth) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].sent.Before(ts[j-1].sent); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// TestDatabaseStage runs the drill with the database stage in three replicas: the
// lab's (each region's application writes to its own cluster, 2 s switchover), a slow
// switchover (8 s), and clients that reach the writer through the global writer
// endpoint with a cached DNS answer (3 s: writes keep reaching the demoted node). Each
// passes with no lost writes, both switches measured, the original writer back, and
// the drill's write outage within its bounds of the independent writer's.
func TestDatabaseStage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      sandbox.Config
		switchAt time.Duration // the replica's switchover time
	}{
		{"lab", sandbox.Config{}, 2 * time.Second},
		{"slow switchover", sandbox.Config{DBSwitchoverTime: 8 * time.Second}, 8 * time.Second},
		{"stale DNS", sandbox.Config{DBWriterEndpoint: sandbox.DBEndpointGlobal, DBDNSCacheTTL: 3 * time.Second}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each its own replica; they mostly wait
			cfg := tc.cfg
			cfg.PropagationDelay, cfg.ReplicationLag = 300*time.Millisecond, 50*time.Millisecond
			env, err := local.Start(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { env.Close() })
			sb := env.Sandbox
			truth := &independentWriter{shop: shop.New(&http.Client{Timeout: 5 * time.Second}), interval: 50 * time.Millisecond, prefix: "truth",
				hosts: map[string]string{sb.Primary().Name: sb.Primary().APIURL, sb.Secondary().Name: sb.Secondary().APIURL}}
			wctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); truth.run(wctx) }()
			// A quick stability rule: the website's switches are not what this test is about.
			input, _ := json.Marshal(map[string]any{"globalCluster": local.GlobalClusterInput(), "databaseWriteIntervalMs": 200, "stableSharePercent": 95, "stableWindowSeconds": 1})
			out, err := env.Run(context.Background(), local.RunOptions{Input: input, FastRetries: true})
			stop()
			<-done
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Report
			if rep.Verdict != drill.Pass {
				t.Fatalf("verdict %s: %v", rep.Verdict, rep.Reasons)
			}
			assertRestored(t, env, nil)
			if w, status := sb.DatabaseWriter(); w != sb.Primary().Name || status != "" {
				t.Errorf("writer %s (switch %q), want %s with no switch in progress", w, status, sb.Primary().Name)
			}
			d := rep.Database
			if d == nil || d.Over == nil || d.Back == nil {
				t.Fatalf("database facts %+v", d)
			}
			if d.LostWrites != 0 || d.Checked == 0 || !d.WriterRestored {
				t.Errorf("lost %d of %d, writer restored %v", d.LostWrites, d.Checked, d.WriterRestored)
			}
			// The independent writer's acknowledged writes are all there.
			sortedBySend(truth.writes)
			c := shop.New(nil)
			missing := 0
			for _, w := range truth.writes {
				if w.ok {
					if _, err := c.Login(context.Background(), sb.Primary().APIURL, w.email); err != nil {
						missing++
					}
				}
			}
			if missing > 0 {
				t.Errorf("%d of the independent writer's acknowledged writes are missing", missing)
			}
			for _, res := range []*drill.DatabaseResult{d.Over, d.Back} {
				if res.SwitchSeconds == nil || *res.SwitchSeconds < tc.switchAt.Seconds() {
					t.Errorf("%s: switch %v s, the replica's takes at least %v", res.Mode, res.SwitchSeconds, tc.switchAt)
				}
				if res.Writes.OutageSeconds == nil {
					t.Fatalf("%s: no write outage measured: %+v", res.Mode, res.Writes)
				}
				lo, hi := truth.outage(res.SentAt, res.SentAt.Add(time.Duration(*res.SwitchSeconds*float64(time.Second))+4*time.Second))
				slack := 0.1 + float64(truth.interval)/float64(time.Second)
				if *res.Writes.OutageMin > hi.Seconds()+slack || *res.Writes.OutageMax < lo.Seconds()-slack {
					t.Errorf("%s: drill's write outage %.3f s (%.3f..%.3f), the independent writer's %.3f..%.3f s",
						res.Mode, *res.Writes.OutageSeconds, *res.Writes.OutageMin, *res.Writes.OutageMax, lo.Seconds(), hi.Seconds())
				}
				t.Logf("%s: switch %.3f s, outage %.3f s (%.3f..%.3f), truth %.3f..%.3f s, stale %d, errors %v",
					res.Mode, *res.SwitchSeconds, *res.Writes.OutageSeconds, *res.Writes.OutageMin, *res.Writes.OutageMax, lo.Seconds(), hi.Seconds(), res.Writes.StaleWrites, res.Writes.Errors)
			}
			// The figures reach drill history and the metrics.
			raw, _ := json.Marshal(rep)
			if run, err := history.FromReport(raw, "r"); err != nil || run.LostWrites == nil || *run.LostWrites != 0 || run.DatabaseOutageSeconds == nil {
				t.Errorf("history: %+v, %v", run, err)
			}
			if emf, err := report.EMF(*rep, time.Now()); err != nil || !strings.Contains(string(emf), `"DatabaseLostWrites":0`) || !strings.Contains(string(emf), `"DatabaseSwitchWriteOutageSeconds"`) {
				t.Errorf("metrics %s, %v", emf, err)
			}
			// The report's picture has the database's lanes, each with its marks.
			svg := report.Timeline(*rep, out.Logs)
			for _, lane := range []string{">database switch<", ">writes refused<"} {
				if !strings.Contains(svg, lane) {
					t.Errorf("timeline has no %s lane", lane)
				}
			}
			if n := strings.Count(svg, `fill="#bc4c00"`); n < 2 {
				t.Errorf("timeline: %d switch marks, want one per switch at least", n)
			}
			if tc.cfg.DBWriterEndpoint == sandbox.DBEndpointGlobal && d.Over.Writes.StaleWrites == 0 {
				t.Errorf("stale DNS: no write refused read-only after the switch, want the cached client's writes to reach the demoted node")
			}
		})
	}
}

// TestDatabaseFaultMatrix: each database state fails before doing anything, fails
// after its switch, hangs until the execution times out, is stopped mid-switch, or
// outlives its stopped execution (a Lambda still running); with the EventBridge event
// delivered (the safety net) or lost (the sweeper, later). Every ending leaves the
// global database with its original writer and no switch in progress, the bucket as
// it was and no lock.
func TestDatabaseFaultMatrix(t *testing.T) {
	type fault struct {
		name    string
		fault   func(state string) local.Fault
		stop    time.Duration // stop the execution this long after the state is entered (0: never)
		timeout time.Duration // the execution's timeout (0: the ASL's)
	}
	faults := []fault{
		{name: "fails", fault: func(s string) local.Fault {
			return local.Fault{State: s, Err: &local.NamedError{Type: "Lambda.Unknown", Msg: "crashed"}}
		}},
		{name: "fails after its switch", fault: func(s string) local.Fault {
			return local.Fault{State: s, After: true, Err: &local.NamedError{Type: "Lambda.Unknown", Msg: "crashed after"}}
		}},
		{name: "times out", fault: func(s string) local.Fault { return local.Fault{State: s, Hang: true} }, timeout: 25 * time.Second},
		{name: "stopped mid-switch", stop: 1500 * time.Millisecond},
		{name: "outlives its stopped execution", fault: func(s string) local.Fault {
			return local.Fault{State: s, Detached: true, Delay: 300 * time.Millisecond}
		}, stop: 100 * time.Millisecond},
	}
	for _, state := range []string{"SwitchDatabase", "SwitchDatabaseBack"} {
		for _, f := range faults {
			for _, lost := range []bool{false, true} {
				name := state + "/" + f.name + "/event delivered"
				if lost {
					name = state + "/" + f.name + "/event lost"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					env, err := local.Start(sandbox.Config{PropagationDelay: 300 * time.Millisecond, ReplicationLag: 50 * time.Millisecond, DBDNSCacheTTL: 500 * time.Millisecond}, nil)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { env.Close() })
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					raw := stageInput(nil)
					opts := local.RunOptions{Input: raw, FastRetries: true, NoSafetyNet: lost, ExecutionTimeout: f.timeout, VisitorInterval: -1}
					if f.fault != nil {
						opts.Faults = []local.Fault{f.fault(state)}
					}
					if f.stop > 0 {
						var once sync.Once
						opts.OnEvent = func(ev asl.Event) {
							if ev.Type == asl.StateEntered && ev.State == state {
								once.Do(func() { time.AfterFunc(f.stop, cancel) })
							}
						}
					}
					out, err := env.Run(ctx, opts)
					if err != nil {
						t.Fatal(err)
					}
					if lost {
						// The event never came: the sweeper's next run finds the lock.
						time.Sleep(local.SafetyNetSettle + 100*time.Millisecond)
						if _, err := env.Sweep(context.Background()); err != nil {
							t.Fatalf("sweep: %v", err)
						}
					} else if out.SafetyErr != nil {
						t.Fatalf("safety net: %v", out.SafetyErr)
					}
					sb := env.Sandbox
					if !sb.AwaitDatabaseWriter(sb.Primary().Name, 5*time.Second) {
						w, status := sb.DatabaseWriter()
						t.Errorf("writer %s (switch %q), want %s: ended %s, error %s", w, status, sb.Primary().Name, out.Result.Status, out.Result.Error)
					}
					assertRestored(t, env, nil)
					if out.Result.Status == asl.StatusSucceeded {
						t.Errorf("the execution succeeded despite the fault")
					}
				})
			}
		}
	}
}

// TestDatabaseReadiness: a dry run with the database stage checks the global database
// too, and a drill whose global database is not at its starting point (the writer
// already in the secondary region) stops before anything changes.
func TestDatabaseReadiness(t *testing.T) {
	input := stageInput
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		env := startEnv(t, nil)
		out, err := env.Run(context.Background(), local.RunOptions{Input: input(map[string]any{"dryRun": true}), VisitorInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if out.Report.Verdict != drill.Ready {
			t.Fatalf("verdict %s: %v", out.Report.Verdict, out.Report.Reasons)
		}
		for _, name := range drill.DatabaseCheckNames {
			var found *drill.Check
			for i, c := range out.Report.Readiness.Checks {
				if c.Name == name {
					found = &out.Report.Readiness.Checks[i]
				}
			}
			if found == nil || found.Status != drill.CheckPass {
				t.Errorf("check %s: %+v, want pass", name, found)
			}
		}
		if w, _ := env.Sandbox.DatabaseWriter(); w != env.Sandbox.Primary().Name {
			t.Errorf("a dry run moved the writer to %s", w)
		}
	})
	t.Run("writer not in the primary region", func(t *testing.T) {
		t.Parallel()
		env := startEnv(t, nil)
		sb := env.Sandbox
		if err := sb.PromoteSecondary(); err != nil {
			t.Fatal(err)
		}
		if !sb.AwaitDatabaseWriter(sb.Secondary().Name, 10*time.Second) {
			t.Fatal("the replica's switchover did not finish")
		}
		out, err := env.Run(context.Background(), local.RunOptions{Input: input(nil), VisitorInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		rep := out.Report
		if rep.Verdict != drill.Fail || !strings.Contains(rep.Summary, "database") {
			t.Errorf("verdict %s, summary %q: want a failed run naming the database check", rep.Verdict, rep.Summary)
		}
		if got := sb.PABChanges(); len(got) != 0 {
			t.Errorf("the bucket was changed: %v", got)
		}
		if w, _ := sb.DatabaseWriter(); w != sb.Secondary().Name {
			t.Errorf("the writer moved to %s: a run that was not ready must change nothing", w)
		}
		assertRestored(t, env, nil)
	})
}

// TestOperatorCoversTheDatabase: a drill stopped after its switch over, with the
// event lost: drill status shows the writer away from the recorded one, drill unlock
// refuses while it is, and drill restore switches it back and releases the lock.
func TestOperatorCoversTheDatabase(t *testing.T) {
	env := startEnv(t, nil)
	sb := env.Sandbox
	raw := stageInput(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	_, err := env.Run(ctx, local.RunOptions{Input: raw, NoSafetyNet: true, VisitorInterval: -1, OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "SwitchDatabaseBack" {
			once.Do(cancel) // stopped as the switch back begins: the writer is in the secondary region
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !sb.AwaitDatabaseWriter(sb.Secondary().Name, 5*time.Second) {
		t.Fatal("the switch over did not finish")
	}
	ops := env.Operator()
	bucket := sb.Config().PrimaryBucket
	s, err := operator.Inspect(context.Background(), ops, bucket)
	if err != nil || s == nil {
		t.Fatalf("inspect: %+v, %v", s, err)
	}
	if s.Writer != sb.Secondary().Name || s.Lock.Database == nil || !s.Lock.Database.Switched() {
		t.Errorf("status: writer %q, record %+v", s.Writer, s.Lock.Database)
	}
	// A person put the bucket back by hand; the block can no longer land: only the
	// writer is left away.
	if err := pab.Set(context.Background(), pab.PerRegion(env.S3)(sb.Primary().Name), bucket, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(local.SafetyNetSettle + 100*time.Millisecond)
	if _, err := operator.Unlock(context.Background(), ops, bucket, false); err == nil || !strings.Contains(err.Error(), "not back in "+sb.Primary().Name) {
		t.Errorf("unlock: %v, want it refused while the writer is away", err)
	}
	res, err := operator.Restore(context.Background(), ops, bucket, false)
	if err != nil {
		t.Fatalf("drill restore: %v", err)
	}
	if res.Database == nil || !res.Database.Back || !res.Database.SentBack {
		t.Errorf("restore's database part: %+v", res.Database)
	}
	if w, st := sb.DatabaseWriter(); w != sb.Primary().Name || st != "" {
		t.Errorf("writer %s (%s) after drill restore", w, st)
	}
	assertRestored(t, env, nil)
}

// TestChangedBucketStillGetsItsWriterBack: someone changes the bucket while the drill
// has the global database switched over; the restore leaves the bucket to them
// (BucketChangedDuringDrill, lock kept) but still switches the writer back.
func TestChangedBucketStillGetsItsWriterBack(t *testing.T) {
	env := startEnv(t, nil)
	sb := env.Sandbox
	raw := stageInput(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	out, err := env.Run(ctx, local.RunOptions{Input: raw, VisitorInterval: -1, OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "SwitchDatabaseBack" {
			once.Do(func() {
				// A person sets their own configuration, then the execution is stopped.
				if err := pab.Set(context.Background(), pab.PerRegion(env.S3)(sb.Primary().Name), sb.Config().PrimaryBucket, partial); err != nil {
					t.Error(err)
				}
				cancel()
			})
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	var changed *drill.BucketChangedDuringDrill
	if !errors.As(out.SafetyErr, &changed) {
		t.Fatalf("safety net: %v, want BucketChangedDuringDrill", out.SafetyErr)
	}
	if !sb.AwaitDatabaseWriter(sb.Primary().Name, 5*time.Second) {
		w, st := sb.DatabaseWriter()
		t.Errorf("writer %s (%s): the changed bucket kept the writer away", w, st)
	}
	if got, _ := sb.PublicAccessBlock(sb.Config().PrimaryBucket); got == nil || *got != *partial {
		t.Errorf("bucket %+v, want the person's %+v kept", got, partial)
	}
	if lock, _ := env.Ledger.Lock(context.Background(), sb.Config().PrimaryBucket); lock == nil || lock.Status != drill.TicketChanged {
		t.Errorf("lock %+v, want it kept, changed", lock)
	}
}

// stageInput is the quick drill's input (fastInput) with the database stage on and
// sign-ups every 200 ms, and extra's fields over it.
func stageInput(extra map[string]any) json.RawMessage {
	var in map[string]any
	_ = json.Unmarshal([]byte(fastInput), &in)
	in["globalCluster"], in["databaseWriteIntervalMs"] = local.GlobalClusterInput(), 200
	for k, v := range extra {
		in[k] = v
	}
	b, _ := json.Marshal(in)
	return b
}

// TestSomeoneElsesSwitchIsNeverUndone: while the stage waits to send its switch,
// someone else switches the global database over: the stage does not take that switch
// for its own, restore never switches it back, and the run ends with
// DatabaseChangedDuringDrill (which pages) and its lock kept for a person.
func TestSomeoneElsesSwitchIsNeverUndone(t *testing.T) {
	env := startEnv(t, nil)
	sb := env.Sandbox
	var once sync.Once
	out, err := env.Run(context.Background(), local.RunOptions{Input: stageInput(map[string]any{"databaseWriteIntervalMs": 500}), FastRetries: true, VisitorInterval: -1,
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == "SwitchDatabase" {
				once.Do(func() {
					// Within the stage's lead (3 × 500 ms), after it recorded the writer.
					time.AfterFunc(500*time.Millisecond, func() {
						if err := sb.PromoteSecondary(); err != nil {
							t.Error(err)
						}
					})
				})
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != asl.StatusFailed || out.Result.Error != drill.RestoreFailed && !strings.Contains(out.Result.Cause+out.Result.Error, "DatabaseChangedDuringDrill") {
		t.Errorf("ended %s %s: %.300s", out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	var changed *drill.DatabaseChangedDuringDrill
	if !errors.As(out.SafetyErr, &changed) {
		t.Errorf("safety net: %v, want DatabaseChangedDuringDrill", out.SafetyErr)
	}
	time.Sleep(500 * time.Millisecond)
	if w, st := sb.DatabaseWriter(); w != sb.Secondary().Name || st != "" {
		t.Errorf("writer %s (%s): someone else's switch was undone", w, st)
	}
	if lock, _ := env.Ledger.Lock(context.Background(), sb.Config().PrimaryBucket); lock == nil {
		t.Error("the lock was released: a person must decide where the writer belongs")
	}
	if got, _ := sb.PublicAccessBlock(sb.Config().PrimaryBucket); got != nil {
		t.Errorf("bucket %+v, want its prior (none) back", got)
	}
}
