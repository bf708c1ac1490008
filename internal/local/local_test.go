package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// Fast but realistic in shape: the block takes 300 ms to reach the website endpoint,
// the probe samples the page every 50 ms, and a switch is stable once the new origin
// serves 95% of 1 s windows (config.json every 13.5 ms).
const fastInput = `{"probeIntervalMs":50,"steadySamples":3,"failoverTimeoutSeconds":20,"stableWindowSeconds":1,"stableSharePercent":95}`

var partial = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}

func startEnv(t *testing.T, prior *drill.PublicAccessBlock) *local.Env {
	t.Helper()
	env, err := local.Start(sandbox.Config{
		PrimaryPAB:       prior,
		PropagationDelay: 300 * time.Millisecond,
		ReplicationLag:   50 * time.Millisecond,
		// The database stage writes on for the DNS cache time after each switch.
		DBDNSCacheTTL: 500 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// assertRestored checks the promise: the primary bucket has exactly its prior
// configuration and no lock is left behind.
func assertRestored(t *testing.T, env *local.Env, prior *drill.PublicAccessBlock) {
	t.Helper()
	sc := env.Sandbox.Config()
	got, ok := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket)
	switch {
	case prior == nil && ok:
		t.Errorf("bucket has %+v, want no configuration (as before the drill)", *got)
	case prior != nil && !ok:
		t.Errorf("bucket has no configuration, want %+v", *prior)
	case prior != nil && *got != *prior:
		t.Errorf("bucket has %+v, want %+v", *got, *prior)
	}
	if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); held {
		t.Error("lock still held after the drill")
	}
}

// assertRestoredByTheFlow checks what the flow's own catches leave when the safety net
// is off: the bucket back at the prior, and the lock either released or kept, marked
// restored and settling, because a block of the run could still land when the failure
// path restored; then the sweeper, which depends on no event, finishes the last look
// once the execution has been over for Settle and releases it.
func assertRestoredByTheFlow(t *testing.T, env *local.Env, prior *drill.PublicAccessBlock) {
	t.Helper()
	sc := env.Sandbox.Config()
	if body, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); held {
		var lock drill.Ticket
		if err := json.Unmarshal(body, &lock); err != nil || lock.Status != drill.TicketRestored || lock.SettlingUntil == nil {
			t.Fatalf("lock %s after the drill: want it released, or restored and settling (%v)", body, err)
		}
		sweepUntil(t, env, sweeper.Restored)
	}
	assertRestored(t, env, prior)
}

func statesEntered(res asl.Result) []string {
	var s []string
	for _, ev := range res.Events {
		if ev.Type == "StateEntered" {
			s = append(s, ev.State)
		}
	}
	return s
}

func TestDrillPasses(t *testing.T) {
	for _, tt := range []struct {
		name  string
		prior *drill.PublicAccessBlock
	}{
		{name: "no prior configuration", prior: nil},
		{name: "partial prior configuration", prior: partial},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := startEnv(t, tt.prior)
			out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput)})
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Report
			if out.Result.Status != "SUCCEEDED" || rep.Verdict != drill.Pass {
				t.Fatalf("status %s verdict %s reasons %v error %s %s", out.Result.Status, rep.Verdict, rep.Reasons, out.Result.Error, out.Result.Cause)
			}
			sc := env.Sandbox.Config()
			if rep.Failover.ServedRegion != sc.SecondaryRegion || rep.Recovery.ServedRegion != sc.PrimaryRegion {
				t.Errorf("served regions: failover %q recovery %q", rep.Failover.ServedRegion, rep.Recovery.ServedRegion)
			}
			if !rep.Cart.Intact || len(rep.Cart.Expected) != 3 {
				t.Errorf("cart: %+v", rep.Cart)
			}
			if !rep.Restore.MatchesPrior {
				t.Error("restore.matchesPrior is false")
			}
			// The block needs 300 ms to propagate: failover cannot be faster, and the
			// independent visitor's stable time lies within the drill's bound.
			if rep.Failover.Seconds < 0.3 || rep.Sandbox == nil || rep.Sandbox.Truth.FailoverSeconds < 0.3 {
				t.Fatalf("failover %.3f s, truth %+v: faster than the propagation delay", rep.Failover.Seconds, rep.Sandbox)
			}
			if !rep.Sandbox.FailoverWithinBound || !rep.Sandbox.RecoveryWithinBound {
				t.Errorf("truth failover %.3f s recovery %.3f s outside the drill's bounds %+v / %+v",
					rep.Sandbox.Truth.FailoverSeconds, rep.Sandbox.Truth.RecoverySeconds, rep.Failover.Phases.Stable, rep.Recovery.Phases.Stable)
			}
			if rep.Recovery.Seconds < 0.3 {
				t.Errorf("recovery %.3f s is faster than the propagation delay", rep.Recovery.Seconds)
			}
			for mode, key := range map[string]string{drill.ModeSteady: "", drill.ModeFailover: "", drill.ModeRecovery: ""} {
				if _, ok := env.Sandbox.Object(sc.LedgerBucket, drill.SamplesKey(out.Name, out.ID.StartTime, mode)); !ok || key != "" {
					t.Errorf("no %s sample log in the ledger", mode)
				}
			}
			if n, _ := rep.Errors(); n != 0 {
				t.Errorf("userVisibleErrors = %d, want 0 (CloudFront fails over on 403)", n)
			}
			wantSteps := []string{"Configure", "MergeInput", "Readiness", "Ready", "Preflight", "SeedCart", "Replication", "Replicated",
				"BlockBucket", "IsDryRun", "AwaitFailover", "DatabaseStage", "Restore", "Restored", "AwaitRecovery", "ReleaseLock", "Report", "Verdict", "Passed"}
			var names []string
			for _, s := range rep.Steps {
				names = append(names, s.Name)
				if s.End.Before(s.Start) || s.Status != "succeeded" {
					t.Errorf("step %+v", s)
				}
			}
			if !slices.Equal(names, wantSteps) {
				t.Errorf("steps %v, want %v", names, wantSteps)
			}
			if _, ok := env.Sandbox.Object(sc.LedgerBucket, drill.ReportHTMLKey(out.Name, out.ID.StartTime)); !ok {
				t.Error("report.html not in the ledger")
			}
			ticket := runTicket(t, env, out.ID)
			if ticket.Status != drill.TicketRestored || ticket.Seed == nil {
				t.Fatalf("run ticket %+v", ticket)
			}
			for _, region := range []string{sc.PrimaryRegion, sc.SecondaryRegion} {
				if cart := waitCart(env, region, ticket.Seed.UserUUID, 0); len(cart) != 0 {
					t.Errorf("seeded cart not cleared in %s: %v", region, cart)
				}
			}
			assertRestored(t, env, tt.prior)
		})
	}
}

func runTicket(t *testing.T, env *local.Env, id drill.RunID) drill.Ticket {
	t.Helper()
	raw, ok := env.Sandbox.Object(env.Sandbox.Config().LedgerBucket, drill.RunTicketKey(id))
	if !ok {
		t.Fatalf("no run ticket for %s", id)
	}
	var tk drill.Ticket
	if err := json.Unmarshal(raw, &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}

// waitCart reads a region's cart until it has n items or replication had ample time.
func waitCart(env *local.Env, region, user string, n int) []string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		cart := env.Sandbox.Cart(region, user)
		if len(cart) == n || time.Now().After(deadline) {
			return cart
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var injected = &local.NamedError{Type: "InjectedFault", Msg: "injected fault"}

// A failure in each state from BlockBucket on still runs Restore through the flow's own
// Catch (the safety net is off here), the execution fails with the original cause,
// and the bucket is back exactly as it was.
func TestFailureInEachStateRestores(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault local.Fault
	}{
		{name: "BlockBucket crashes after blocking", fault: local.Fault{State: "BlockBucket", After: true, Err: injected}},
		{name: "AwaitFailover", fault: local.Fault{State: "AwaitFailover", Err: injected}},
		{name: "Restore", fault: local.Fault{State: "Restore", Err: injected}},
		{name: "Restore crashes after restoring", fault: local.Fault{State: "Restore", After: true, Err: injected}},
		{name: "AwaitRecovery", fault: local.Fault{State: "AwaitRecovery", Err: injected}},
		{name: "Report", fault: local.Fault{State: "Report", Err: injected}},
		{name: "Report crashes after writing", fault: local.Fault{State: "Report", After: true, Err: injected}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := startEnv(t, partial)
			out, err := env.Run(context.Background(), local.RunOptions{
				Input: json.RawMessage(fastInput), Faults: []local.Fault{tt.fault}, NoSafetyNet: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Result.Status != "FAILED" || out.Result.Error != "InjectedFault" {
				t.Fatalf("status %s error %q cause %q, want FAILED with the original InjectedFault", out.Result.Status, out.Result.Error, out.Result.Cause)
			}
			if !slices.Contains(statesEntered(out.Result), "RestoreAfterFailure") {
				t.Errorf("RestoreAfterFailure never ran: %v", statesEntered(out.Result))
			}
			if out.Report.Verdict != drill.Fail {
				t.Errorf("verdict %s, want fail", out.Report.Verdict)
			}
			assertRestoredByTheFlow(t, env, partial)
		})
	}
}

// A stopped execution runs no Catch: the safety net (EventBridge on AWS, Run here)
// restores by ticket.
func TestStoppedExecutionIsRestoredBySafetyNet(t *testing.T) {
	env := startEnv(t, partial)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	out, err := env.Run(ctx, local.RunOptions{
		Input: json.RawMessage(fastInput),
		OnEvent: func(ev asl.Event) {
			if ev.Type == "StateEntered" && ev.State == "AwaitFailover" {
				once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != "ABORTED" {
		t.Fatalf("status %s, want ABORTED", out.Result.Status)
	}
	if slices.Contains(statesEntered(out.Result), "RestoreAfterFailure") {
		t.Error("a stopped execution must not run more states")
	}
	if out.SafetyNet == nil || out.SafetyErr != nil || !out.SafetyNet.MatchesPrior || out.SafetyNet.NothingToRestore {
		t.Fatalf("safety net: %+v, %v", out.SafetyNet, out.SafetyErr)
	}
	assertRestored(t, env, partial)

	// The report tells the truth: aborted, in which state, and what the safety net put back.
	rep := out.Report
	if rep.Status != asl.StatusAborted || rep.InterruptedState != "AwaitFailover" || rep.Verdict != drill.Fail {
		t.Errorf("report status %q interrupted %q verdict %s", rep.Status, rep.InterruptedState, rep.Verdict)
	}
	if rep.SafetyNet == nil || !rep.SafetyNet.MatchesPrior || !pab.Equal(rep.SafetyNet.Prior, partial) || !pab.Equal(rep.SafetyNet.ReadBack, partial) {
		t.Errorf("report safety net %+v", rep.SafetyNet)
	}
	if !rep.Restore.MatchesPrior || !pab.Equal(rep.Restore.Prior, partial) || !pab.Equal(rep.Restore.ReadBack, partial) {
		t.Errorf("report restore %+v, want the safety net's", rep.Restore)
	}
	if !slices.ContainsFunc(rep.Reasons, func(r string) bool { return strings.Contains(r, "aborted in AwaitFailover") }) {
		t.Errorf("reasons %v", rep.Reasons)
	}
	for _, st := range rep.Steps {
		want := "succeeded"
		if st.Name == "AwaitFailover" {
			want = local.StepAborted
		}
		if st.Status != want {
			t.Errorf("step %s: %s, want %s (never ok when interrupted)", st.Name, st.Status, want)
		}
	}
	if rep.Target.PrimaryBucket != env.Sandbox.Config().PrimaryBucket {
		t.Errorf("report target %+v", rep.Target)
	}
	// The safety net's record says the same, from Step Functions' history, as on AWS.
	rec := restoreRecord(t, env, out.ID, drill.ReasonSafetyNet)
	if h := rec.ExecutionHistory; h == nil || h.InterruptedState != "AwaitFailover" || rec.HistoryError != "" || rec.ExecutionStatus != asl.StatusAborted {
		t.Errorf("safety net's record: status %s, history %+v (%s), want ABORTED in AwaitFailover", rec.ExecutionStatus, h, rec.HistoryError)
	}
}

// Without states:GetExecutionHistory the safety net still restores; its record says
// why it names no state.
func TestSafetyNetRestoresWithoutTheHistoryGrant(t *testing.T) {
	env := startEnv(t, partial)
	pol := local.Policies(env.Sandbox.Config(), env.StateMachineArn)
	pol[drill.FuncRestore] = slices.DeleteFunc(pol[drill.FuncRestore], func(st policy.Statement) bool {
		return slices.Contains(st.Actions, "states:GetExecutionHistory")
	})
	env.Sandbox.SetPolicies(pol)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	out, err := env.Run(ctx, local.RunOptions{
		Input: json.RawMessage(fastInput),
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
				once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != asl.StatusAborted || out.SafetyErr != nil || out.SafetyNet == nil || !out.SafetyNet.MatchesPrior {
		t.Fatalf("execution %s, safety net %+v, %v", out.Result.Status, out.SafetyNet, out.SafetyErr)
	}
	assertRestored(t, env, partial)
	rec := restoreRecord(t, env, out.ID, drill.ReasonSafetyNet)
	if rec.Result == nil || !rec.Result.MatchesPrior || rec.ExecutionHistory != nil ||
		!strings.Contains(rec.HistoryError, "AccessDenied") || !strings.Contains(rec.HistoryError, "states:GetExecutionHistory") {
		t.Errorf("record: result %+v, history %+v, historyError %q; want restored, and the denial", rec.Result, rec.ExecutionHistory, rec.HistoryError)
	}
}

func TestInvalidInputTouchesNothing(t *testing.T) {
	env := startEnv(t, partial)
	before := len(env.Sandbox.PABChanges())
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(`{"distribution":"ftp://x","items":0,"colour":"red"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != "FAILED" || out.Result.Error != "InvalidInput" {
		t.Fatalf("status %s error %s", out.Result.Status, out.Result.Error)
	}
	for _, field := range []string{"colour: unknown field", "distribution:", "items:"} {
		if !strings.Contains(out.Result.Cause, field) {
			t.Errorf("cause %q does not name %q", out.Result.Cause, field)
		}
	}
	if got := statesEntered(out.Result); slices.Contains(got, "SeedCart") || slices.Contains(got, "RestoreAfterFailure") {
		t.Errorf("states after invalid input: %v", got)
	}
	if len(env.Sandbox.PABChanges()) != before {
		t.Error("the bucket was touched")
	}
	assertRestored(t, env, partial)
}

func TestInvalidFieldsAreAllNamed(t *testing.T) {
	env := startEnv(t, nil)
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(`{"distribution":"ftp://x","items":0,"primaryBucket":"Bad_Name"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"distribution", "items", "primaryBucket"} {
		if !strings.Contains(out.Result.Cause, field+":") {
			t.Errorf("cause %q does not name %s", out.Result.Cause, field)
		}
	}
}

// S3 throttling and a crashed Lambda are retried; the drill still passes and the
// re-invoked block-bucket keeps the prior configuration from its first ticket. A
// crash (out of memory, the function's own timeout) is what Step Functions reports as
// Lambda.Unknown, not Lambda.ServiceException (the Lambda service's own error).
func TestTransientFaultsAreRetried(t *testing.T) {
	env := startEnv(t, partial)
	env.Sandbox.FailNext("PutPublicAccessBlock", 1, 503)
	env.Sandbox.FailNext("GetObject", 1, 500)
	out, err := env.Run(context.Background(), local.RunOptions{
		Input: json.RawMessage(fastInput),
		Faults: []local.Fault{{State: "BlockBucket", After: true,
			Err: &local.NamedError{Type: "Lambda.Unknown", Msg: "Runtime exited with error: signal: killed (the function crashed after blocking)"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Report.Verdict != drill.Pass {
		t.Fatalf("verdict %s: %v %s %s", out.Report.Verdict, out.Report.Reasons, out.Result.Error, out.Result.Cause)
	}
	retries := 0
	for _, ev := range out.Result.Events {
		if ev.Type == "TaskRetryScheduled" && ev.State == "BlockBucket" {
			retries++
		}
	}
	if retries == 0 {
		t.Error("BlockBucket was never retried")
	}
	if got := out.Report.Restore.Prior; got == nil || *got != *partial {
		t.Errorf("prior in report %+v, want %+v", got, partial)
	}
	assertRestored(t, env, partial)
}

// Another drill's lock stops this one before the bucket is touched.
func TestForeignLockStopsTheDrill(t *testing.T) {
	env := startEnv(t, nil)
	sc := env.Sandbox.Config()
	foreign := drill.Ticket{Bucket: sc.PrimaryBucket, Region: sc.PrimaryRegion, Execution: "someone-else", Status: drill.TicketHeld, CreatedAt: time.Now()}
	if _, _, created, err := env.Ledger.TakeLock(context.Background(), foreign); err != nil || !created {
		t.Fatalf("take foreign lock: created %v, %v", created, err)
	}
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != "FAILED" || out.Result.Error != "LockHeld" {
		t.Fatalf("status %s error %s %s", out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	if n := len(env.Sandbox.PABChanges()); n != 0 {
		t.Errorf("%d configuration changes, want none", n)
	}
	held, err := env.Ledger.Lock(context.Background(), sc.PrimaryBucket)
	if err != nil || held == nil || held.Execution != "someone-else" {
		t.Errorf("foreign lock after the drill: %+v, %v", held, err)
	}
}

func ExampleFunctionARN() {
	fmt.Println(local.FunctionARN(drill.FuncRestore))
	// Output: arn:aws:lambda:local:000000000000:function:failover-drill-restore
}

var _ = errors.New

// Stopping an execution does not stop a block-bucket Lambda already running. Whether
// its block lands after the safety net restored, or it only starts afterwards, the
// bucket ends exactly as it was.
func TestStoppedDuringBlockBucketWithTheLambdaStillRunning(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      local.Fault
		stopAfter  time.Duration
		putDelay   time.Duration
		wantStatus string // the run ticket's final status
	}{
		{name: "its block lands after the safety net restored",
			fault: local.Fault{State: "BlockBucket", Detached: true}, stopAfter: 250 * time.Millisecond,
			putDelay: 600 * time.Millisecond, wantStatus: drill.TicketRestored},
		{name: "it starts only after the safety net ran",
			fault: local.Fault{State: "BlockBucket", Detached: true, Delay: 400 * time.Millisecond}, stopAfter: 50 * time.Millisecond,
			wantStatus: drill.TicketAbandoned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startEnv(t, partial)
			if tc.putDelay > 0 {
				env.Sandbox.DelayNext("PutPublicAccessBlock", 1, tc.putDelay)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			out, err := env.Run(ctx, local.RunOptions{
				Input:  json.RawMessage(fastInput),
				Faults: []local.Fault{tc.fault},
				OnEvent: func(ev asl.Event) {
					if ev.Type == asl.StateEntered && ev.State == "BlockBucket" {
						once.Do(func() { time.AfterFunc(tc.stopAfter, cancel) })
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.Result.Status != asl.StatusAborted || out.SafetyErr != nil {
				t.Fatalf("status %s, safety net %+v %v", out.Result.Status, out.SafetyNet, out.SafetyErr)
			}
			got, _ := env.Sandbox.PublicAccessBlock(env.Sandbox.Config().PrimaryBucket)
			if got == nil || *got != *partial {
				t.Errorf("bucket %+v after everything settled, want %+v", got, *partial)
			}
			if _, held := env.Sandbox.Object(env.Sandbox.Config().LedgerBucket, drill.LockKey(env.Sandbox.Config().PrimaryBucket)); held {
				t.Error("lock left behind")
			}
			if tk := runTicket(t, env, out.ID); tk.Status != tc.wantStatus {
				t.Errorf("run ticket %s, want %s", tk.Status, tc.wantStatus)
			}
			// The race really happened: the block landed after the restore found the prior
			// (which it then need not write), and was undone.
			var ops []string
			for _, c := range env.Sandbox.PABChanges() {
				ops = append(ops, fmt.Sprintf("%s%+v", c.Op, *c.Config))
			}
			if tc.putDelay > 0 {
				want := []string{"put" + fmt.Sprintf("%+v", drill.BlockAll), "put" + fmt.Sprintf("%+v", *partial)}
				if !slices.Equal(ops, want) {
					t.Errorf("configuration changes %v, want the late block, then its undo: %v", ops, want)
				}
			} else if len(ops) != 0 {
				t.Errorf("configuration changes %v, want none", ops)
			}
		})
	}
}

// A broken secondary turns the drill into a real outage; the error budget stops it
// early and the flow restores the bucket.
func TestBrokenSecondaryStopsWithinTheErrorBudget(t *testing.T) {
	env := startEnv(t, partial)
	// The secondary breaks after readiness saw it serving (down from the start, the
	// readiness check stops the drill first: TestSecondaryDownStopsBeforeTheBlock).
	out, err := env.Run(context.Background(), local.RunOptions{
		Input:       json.RawMessage(`{"probeIntervalMs":50,"errorBudgetSeconds":1,"failoverTimeoutSeconds":30}`),
		NoSafetyNet: true,
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == "BlockBucket" {
				env.Sandbox.SetOriginDown(env.Sandbox.Config().SecondaryRegion, true)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != asl.StatusFailed || out.Result.Error != "FailoverTimeout" || !strings.Contains(out.Result.Cause, "error budget spent") {
		t.Fatalf("status %s error %s cause %s", out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	// Propagation (0.3 s) + the budget (1 s) + the restore + the recovery check's look
	// (600 answers, 8 s at 99% over a 30 s horizon): far below the 30 s timeout.
	if wall := out.Result.Stop.Sub(out.Result.Start); wall > 15*time.Second {
		t.Errorf("the drill ran %v with a broken secondary", wall)
	}
	assertRestoredByTheFlow(t, env, partial)
}
