package local_test

// The fault matrix of the safety promise (README, "Safety"): each test ends with the
// bucket exactly as it was and no lock left, or, where that is impossible, with a
// distinct error and an alarm's signal (the sweeper's stranded finding).

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// assertStranded checks that the lost safety net left what the sweeper must fix: the
// bucket blocked and the lock held.
func assertStranded(t *testing.T, env *local.Env) {
	t.Helper()
	sc := env.Sandbox.Config()
	if got, _ := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != drill.BlockAll {
		t.Fatalf("bucket %+v before the sweep, want the drill's block (else the case proves nothing)", got)
	}
	if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); !held {
		t.Fatal("no lock before the sweep")
	}
}

// sweepUntil sweeps as the schedule would until a sweep reports want for the lock, and
// returns that finding and when it was reported.
func sweepUntil(t *testing.T, env *local.Env, want string) (sweeper.Finding, time.Time) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := env.Sweep(context.Background())
		for _, f := range res.Findings {
			if f.Outcome == want {
				return f, time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sweep reported %s: last %+v, %v", want, res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The safety net is one best-effort event. Drop it after every way an execution can
// end with the bucket blocked; the sweeper, which depends on no event, restores it
// once the execution's block-bucket can no longer be running (Settle after its end).
func TestSweeperRestoresWhenTheSafetyNetEventIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       func(cancel context.CancelFunc) local.RunOptions
		wantStatus string
		wantError  string
		// The sweeper's record names the state, from the execution's history.
		wantHistory drill.HistoryFacts
	}{
		{name: "after a stop", wantStatus: asl.StatusAborted, wantHistory: drill.HistoryFacts{InterruptedState: "AwaitFailover"}, opts: func(cancel context.CancelFunc) local.RunOptions {
			var once sync.Once
			return local.RunOptions{OnEvent: func(ev asl.Event) {
				if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
					once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
				}
			}}
		}},
		{name: "after a timeout", wantStatus: asl.StatusTimedOut, wantError: "States.Timeout", wantHistory: drill.HistoryFacts{
			InterruptedState: "AwaitFailover", Error: "States.Timeout", Cause: "the execution ran longer than its TimeoutSeconds (4)"}, opts: func(context.CancelFunc) local.RunOptions {
			return local.RunOptions{ExecutionTimeout: 4 * time.Second, Faults: []local.Fault{{State: "AwaitFailover", Hang: true}}}
		}},
		{name: "after exhausted restore retries", wantStatus: asl.StatusFailed, wantError: drill.RestoreFailed, wantHistory: drill.HistoryFacts{
			FailedState: "RestoreAfterFailure", Error: "Lambda.ServiceException"}, opts: func(context.CancelFunc) local.RunOptions {
			return local.RunOptions{FastRetries: true, Faults: []local.Fault{
				{State: "AwaitFailover", Err: injected},
				{State: "RestoreAfterFailure", Err: &local.NamedError{Type: "Lambda.ServiceException", Msg: "restore keeps crashing"}, Times: 7},
			}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startEnv(t, partial)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := tc.opts(cancel)
			o.Input, o.NoSafetyNet = json.RawMessage(fastInput), true
			out, err := env.Run(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if out.Result.Status != tc.wantStatus || out.Result.Error != tc.wantError {
				t.Fatalf("execution %s %s (%s), want %s %s", out.Result.Status, out.Result.Error, out.Result.Cause, tc.wantStatus, tc.wantError)
			}
			if tc.wantError == drill.RestoreFailed && !strings.Contains(out.Result.Cause, "may still be blocked") {
				t.Errorf("cause %q does not say the bucket may still be blocked", out.Result.Cause)
			}
			assertStranded(t, env)

			// Within Settle of the end the sweeper leaves it: a block-bucket the execution
			// started may still be running.
			if res, _ := env.Sweep(context.Background()); len(res.Findings) != 1 || res.Findings[0].Outcome != sweeper.Settling ||
				res.Findings[0].Status != tc.wantStatus {
				t.Errorf("sweep right after the end: %+v", res.Findings)
			}
			f, at := sweepUntil(t, env, sweeper.Restored)
			if f.Restore == nil || !f.Restore.MatchesPrior || f.ExecutionArn != out.ID.ExecutionArn {
				t.Errorf("finding %+v", f)
			}
			// The bound in the replica: Settle (local.SafetyNetSettle) + one sweep
			// interval (100 ms here) + the restore.
			ended, _ := env.Sandbox.DescribedExecution(out.ID.ExecutionArn)
			if took := at.Sub(ended.Stop); took < local.SafetyNetSettle || took > local.SafetyNetSettle+2*time.Second {
				t.Errorf("restored %v after the execution ended, want Settle (%v) plus a sweep", took, local.SafetyNetSettle)
			}
			assertRestored(t, env, partial)
			if tk := runTicket(t, env, out.ID); tk.Status != drill.TicketRestored {
				t.Errorf("run ticket %s", tk.Status)
			}
			if res, err := env.Sweep(context.Background()); err != nil || len(res.Findings) != 0 {
				t.Errorf("a later sweep: %+v, %v", res, err)
			}
			rec := restoreRecord(t, env, out.ID, drill.ReasonSweeper)
			got := rec.ExecutionHistory
			if rec.HistoryError != "" || got == nil || got.InterruptedState != tc.wantHistory.InterruptedState || got.FailedState != tc.wantHistory.FailedState ||
				got.Error != tc.wantHistory.Error || tc.wantHistory.Cause != "" && got.Cause != tc.wantHistory.Cause {
				t.Errorf("sweeper's record: history %+v (%s), want %+v", got, rec.HistoryError, tc.wantHistory)
			}
			if tc.wantHistory.FailedState != "" && !strings.Contains(got.Cause, "restore keeps crashing") {
				t.Errorf("failed state's cause %q, want the original error in full", got.Cause)
			}
		})
	}
}

// The run ticket lives under runs/, which the lifecycle rule expires; the lock never
// expires and carries the same restore data. A restore after the ticket is gone
// restores from the lock, by the sweeper or by a late safety net.
func TestRunTicketExpiredOrDeleted(t *testing.T) {
	for _, via := range []string{"sweeper", "late safety net"} {
		t.Run(via, func(t *testing.T) {
			env := startEnv(t, partial)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			out, err := env.Run(ctx, local.RunOptions{Input: json.RawMessage(fastInput), NoSafetyNet: true, OnEvent: func(ev asl.Event) {
				if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
					once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			assertStranded(t, env)
			sc := env.Sandbox.Config()
			if gone := env.Sandbox.Expire(sc.LedgerBucket, "runs/", 0); len(gone) == 0 {
				t.Fatal("nothing expired")
			}
			var res *drill.RestoreResult
			if via == "sweeper" {
				f, _ := sweepUntil(t, env, sweeper.Restored)
				res = f.Restore
			} else {
				r, err := env.Restore.Handle(context.Background(), local.SafetyNetInput(out.ID))
				if err != nil {
					t.Fatal(err)
				}
				res = &r
			}
			if !res.TicketMissing || !res.MatchesPrior || res.NothingToRestore || !pab.Equal(res.Prior, partial) {
				t.Errorf("restore %+v, want it from the lock, matching", res)
			}
			assertRestored(t, env, partial)
		})
	}
}

// Step Functions accepts an execution name again 90 days after it closed, with the
// same ARN. A run that reuses the name of a stuck one is refused by the stuck run's
// lock, never picks up its ticket, and never touches its lock; the sweeper then puts
// back the stuck run's own prior and records it with the stuck run's evidence, which
// the new run's, in a folder of its own, never overwrites.
func TestExecutionNameReusedAfterAStuckRun(t *testing.T) {
	// The stuck run's block must not reach the website while the new run's Preflight
	// looks (that run must meet the lock, not a site already failed over): propagation
	// far longer than the test, which never needs the block to take effect.
	env, err := local.Start(sandbox.Config{PrimaryPAB: partial, PropagationDelay: time.Hour, ReplicationLag: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	stuck, err := env.Run(ctx, local.RunOptions{Name: "drill-w23", Input: json.RawMessage(fastInput), NoSafetyNet: true, OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
			once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	assertStranded(t, env)
	stuckEvidence := evidence(t, env, stuck.ID)

	again, err := env.Run(context.Background(), local.RunOptions{Name: "drill-w23", Input: json.RawMessage(fastInput)})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID.ExecutionArn != stuck.ID.ExecutionArn || again.ID.StartTime.Equal(stuck.ID.StartTime) {
		t.Fatalf("ids %v and %v: want the same ARN, another start", again.ID, stuck.ID)
	}
	if again.Result.Status != asl.StatusFailed || again.Result.Error != "LockHeld" || !strings.Contains(again.Result.Cause, stuck.ID.StartTime.String()) {
		t.Fatalf("the new run: %s %s %s, want LockHeld naming the stuck run's start", again.Result.Status, again.Result.Error, again.Result.Cause)
	}
	if again.SafetyErr != nil || !again.SafetyNet.NothingToRestore {
		t.Errorf("the new run's safety net: %+v, %v", again.SafetyNet, again.SafetyErr)
	}
	assertStranded(t, env) // the new run touched neither the bucket nor the stuck run's lock

	f, _ := sweepUntil(t, env, sweeper.Restored)
	if !f.StartTime.Equal(stuck.ID.StartTime) || !strings.HasPrefix(f.Status, "replaced by the run started") {
		t.Errorf("finding %+v, want the stuck run's, its ARN now naming the new run", f)
	}
	assertRestored(t, env, partial)

	// Each run's evidence is in its own folder: the stuck run's sample logs as it left
	// them, and the sweeper's record of its restore with it; the new run's report, logs
	// and safety net's record in another.
	sweepRecord := drill.RestoreRecordFile(drill.ReasonSweeper)
	assertKept(t, env, stuck.ID, stuckEvidence, drill.SamplesFile(drill.ModeSteady), drill.SamplesFile(drill.ModeFailover), sweepRecord)
	if rec := restoreRecord(t, env, stuck.ID, drill.ReasonSweeper); !rec.StartTime.Equal(stuck.ID.StartTime) || rec.Result == nil || !rec.Result.MatchesPrior {
		t.Errorf("the sweeper's record in the stuck run's folder: %+v", rec)
	}
	assertKept(t, env, again.ID, nil, drill.FileReport, drill.FileReportHTML, drill.SamplesFile(drill.ModeSteady), drill.RestoreRecordFile(drill.ReasonSafetyNet))
	if _, ok := evidence(t, env, again.ID)[sweepRecord]; ok {
		t.Error("the sweeper's restore of the stuck run is recorded with the new run")
	}
}

// A year later the same name runs again after a clean run. The bucket's configuration
// changed in between: the new run records and restores the configuration it finds,
// never the old run's ticket. The old run's report, page, sample logs and the safety
// net's record stay in the ledger as they were, beside the new run's.
func TestExecutionNameReusedAfterACleanRun(t *testing.T) {
	env := startEnv(t, partial)
	first, err := env.Run(context.Background(), local.RunOptions{Name: "drill-w23", Input: json.RawMessage(fastInput)})
	if err != nil || first.Report.Verdict != drill.Pass {
		t.Fatalf("first run: %+v, %v", first.Report, err)
	}
	firstEvidence := evidence(t, env, first.ID)
	now := &drill.PublicAccessBlock{BlockPublicPolicy: true}
	sc := env.Sandbox.Config()
	if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, now); err != nil {
		t.Fatal(err)
	}
	second, err := env.Run(context.Background(), local.RunOptions{Name: "drill-w23", Input: json.RawMessage(fastInput)})
	if err != nil || second.Report.Verdict != drill.Pass {
		t.Fatalf("second run: %+v, %v", second.Report, err)
	}
	if !pab.Equal(second.Report.Restore.Prior, now) {
		t.Errorf("second run's prior %s, want the configuration it found, %s", pab.String(second.Report.Restore.Prior), pab.String(now))
	}
	if tk := runTicket(t, env, first.ID); !pab.Equal(tk.Prior, partial) || tk.Status != drill.TicketRestored {
		t.Errorf("the first run's ticket changed: %+v", tk)
	}
	assertRestored(t, env, now)

	// The first run's evidence is still in the ledger, byte for byte: its report, its
	// page, its sample logs and the safety net's record; the second run's is beside it.
	all := []string{drill.FileReport, drill.FileReportHTML, drill.SamplesFile(drill.ModeSteady), drill.SamplesFile(drill.ModeFailover),
		drill.SamplesFile(drill.ModeRecovery), drill.RestoreRecordFile(drill.ReasonSafetyNet)}
	assertKept(t, env, first.ID, firstEvidence, all...)
	assertKept(t, env, second.ID, nil, all...)
	var stored drill.Report
	if err := json.Unmarshal(evidence(t, env, first.ID)[drill.FileReport], &stored); err != nil || !stored.StartedAt.Equal(first.ID.StartTime.Time()) ||
		!pab.Equal(stored.Restore.Prior, partial) || stored.Samples[drill.ModeFailover] != drill.SamplesKey("drill-w23", first.ID.StartTime, drill.ModeFailover) {
		t.Errorf("the first run's report: started %v, prior %s, samples %v, %v", stored.StartedAt, pab.String(stored.Restore.Prior), stored.Samples, err)
	}
	if second.Report.Samples[drill.ModeFailover] != drill.SamplesKey("drill-w23", second.ID.StartTime, drill.ModeFailover) {
		t.Errorf("the second run's report names sample logs %v", second.Report.Samples)
	}
	if rec := restoreRecord(t, env, first.ID, drill.ReasonSafetyNet); !rec.StartTime.Equal(first.ID.StartTime) || rec.ExecutionStatus != asl.StatusSucceeded {
		t.Errorf("the first run's safety net record: %+v", rec)
	}
	folders, err := ledger.Folders(context.Background(), env.S3(sc.PrimaryRegion), sc.LedgerBucket, drill.RunFolder{Execution: "drill-w23"}.Prefix())
	if err != nil || len(folders) != 2 || folders[0].Prefix() != drill.FolderOf(first.ID).Prefix() || folders[1].Prefix() != drill.FolderOf(second.ID).Prefix() {
		t.Errorf("the name's runs in the ledger: %+v, %v; want the two runs' folders", folders, err)
	}
}

// evidence is every object in run id's folder in the ledger, by file name.
func evidence(t *testing.T, env *local.Env, id drill.RunID) map[string][]byte {
	t.Helper()
	sc := env.Sandbox.Config()
	out, err := env.S3(sc.PrimaryRegion).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{
		Bucket: aws.String(sc.LedgerBucket), Prefix: aws.String(drill.FolderOf(id).Prefix())})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		body, _ := env.Sandbox.Object(sc.LedgerBucket, key)
		files[strings.TrimPrefix(key, drill.FolderOf(id).Prefix())] = body
	}
	return files
}

// assertKept checks that run id's folder holds every file of want and each file of
// before unchanged.
func assertKept(t *testing.T, env *local.Env, id drill.RunID, before map[string][]byte, want ...string) {
	t.Helper()
	now := evidence(t, env, id)
	for _, f := range want {
		if _, ok := now[f]; !ok {
			t.Errorf("%s: no %s in its folder (%v)", id, f, slices.Sorted(maps.Keys(now)))
		}
	}
	for f, body := range before {
		if !bytes.Equal(now[f], body) {
			t.Errorf("%s: %s%s changed or is gone", id, drill.FolderOf(id).Prefix(), f)
		}
	}
}

// restoreRecord reads the restore recorded in run id's folder for reason.
func restoreRecord(t *testing.T, env *local.Env, id drill.RunID, reason string) drill.RestoreRecord {
	t.Helper()
	var rec drill.RestoreRecord
	if err := json.Unmarshal(evidence(t, env, id)[drill.RestoreRecordFile(reason)], &rec); err != nil {
		t.Errorf("%s: restore record %s: %v", id, reason, err)
	}
	return rec
}

// Someone changes the bucket during the drill. Restore keeps their settings and the
// lock and fails with a distinct error the report names; the sweeper reports the lock
// stranded (its alarm) until a person acts.
func TestHumanChangeMidDrill(t *testing.T) {
	env := startEnv(t, partial)
	sc := env.Sandbox.Config()
	human := &drill.PublicAccessBlock{BlockPublicPolicy: true, RestrictPublicBuckets: true}
	var once sync.Once
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput), OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
			once.Do(func() {
				if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, human); err != nil {
					t.Error(err)
				}
			})
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != asl.StatusFailed || out.Result.Error != "BucketChangedDuringDrill" || !strings.Contains(out.Result.Cause, "may still be blocked") {
		t.Fatalf("execution %s %s: %s", out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	if out.Report.Error == nil || !strings.Contains(strings.Join(out.Report.Reasons, " "), "BucketChangedDuringDrill") {
		t.Errorf("report does not name the error: %+v %v", out.Report.Error, out.Report.Reasons)
	}
	if out.SafetyErr == nil || !strings.Contains(out.SafetyErr.Error(), "changed during the drill") {
		t.Errorf("safety net: %v, want the same refusal", out.SafetyErr)
	}
	if got, _ := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != *human {
		t.Errorf("bucket %+v, want the person's %+v kept", got, human)
	}
	if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); !held {
		t.Error("lock released: nobody would see the run")
	}
	f, _ := sweepUntil(t, env, sweeper.Stranded)
	if !strings.Contains(f.Error, "BucketChangedDuringDrill") && !strings.Contains(f.Error, "changed during the drill") {
		t.Errorf("stranded finding %+v", f)
	}

	// Runbook step 4: the owner decides the bucket must block all public access and sets
	// it. No sweep undoes it or releases the lock: each one reports the lock (its alarm)
	// until a person runs drill unlock.
	if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, &drill.BlockAll); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res, err := env.Sweep(context.Background())
		if err != nil || res.Counts[sweeper.Stranded] != 1 || res.Counts[sweeper.Restored] != 0 {
			t.Errorf("sweep after the owner's block: %+v, %v; want the lock reported stranded", res, err)
		}
	}
	if got, _ := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != drill.BlockAll {
		t.Errorf("bucket %+v: the owner's block was undone", got)
	}
	if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); !held {
		t.Fatal("the lock was released without a person")
	}
	if _, err := operator.Unlock(context.Background(), env.Operator(), sc.PrimaryBucket, false); err != nil {
		t.Fatal(err)
	}
	if res, err := env.Sweep(context.Background()); err != nil || len(res.Findings) != 0 {
		t.Errorf("sweep after drill unlock: %+v, %v", res, err)
	}
	// A late duplicate of the safety-net event changes nothing either.
	if _, err := env.Restore.Handle(context.Background(), local.SafetyNetInput(out.ID)); err != nil {
		t.Errorf("duplicate safety-net event after unlock: %v", err)
	}
	if got, _ := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != drill.BlockAll {
		t.Errorf("bucket %+v after unlock", got)
	}
}

// After a drill restored the bucket, a person or a security tool (an AWS Config
// remediation) blocks all public access on purpose. A duplicate safety-net event, or
// an operator's restore of the run, later must leave it blocked.
func TestDeliberateBlockAfterADrillIsKept(t *testing.T) {
	env := startEnv(t, nil) // the bucket had no Block Public Access configuration at all
	sc := env.Sandbox.Config()
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Report.Verdict != drill.Pass || out.SafetyErr != nil {
		t.Fatalf("verdict %s %v; safety net %v", out.Report.Verdict, out.Report.Reasons, out.SafetyErr)
	}
	assertRestored(t, env, nil)
	// Long after the run's last block could land (local.SafetyNetSettle after it was sent).
	time.Sleep(local.SafetyNetSettle)
	if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, &drill.BlockAll); err != nil {
		t.Fatal(err)
	}
	changes := len(env.Sandbox.PABChanges())
	res, err := env.Restore.Handle(context.Background(), local.SafetyNetInput(out.ID))
	if err != nil || res.ChangedAfterRestore == "" || res.MatchesPrior || !pab.Equal(res.ReadBack, &drill.BlockAll) {
		t.Errorf("duplicate safety-net event: %+v, %v; want the block reported, left", res, err)
	}
	if got := len(env.Sandbox.PABChanges()); got != changes {
		t.Errorf("the later restore wrote the bucket: %v", env.Sandbox.PABChanges()[changes:])
	}
	if got, _ := env.Sandbox.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != drill.BlockAll {
		t.Errorf("bucket %+v: the deliberate block was undone", got)
	}
}

// S3 answers 409 ConditionalRequestConflict when conditional requests race: every
// conditional call of the drill loses its first race and is retried.
func TestConflictOnEveryConditionalCall(t *testing.T) {
	env := startEnv(t, partial)
	env.Sandbox.SetConflicts(true)
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Report.Verdict != drill.Pass || out.SafetyErr != nil {
		t.Fatalf("verdict %s %v %s %s; safety net %v", out.Report.Verdict, out.Report.Reasons, out.Result.Error, out.Result.Cause, out.SafetyErr)
	}
	assertRestored(t, env, partial)
}

// The replica holds each function to its deployed policy. A drill aimed (by its input)
// at a bucket outside the policy (here the ledger itself, in the same region) is
// refused with S3's AccessDenied before anything changes, and leaves nothing behind.
func TestAccessDeniedFromTheEnforcedPolicy(t *testing.T) {
	env := startEnv(t, partial)
	sc := env.Sandbox.Config()
	// No distributionId, and explicitly allowed to go on without its check: the check
	// would otherwise stop the drill first, since the distribution's primary member is
	// not this bucket (TestReadinessChecksFail), and the policy would never be reached.
	input := `{"probeIntervalMs":50,"failoverTimeoutSeconds":20,"distributionId":"","allowSkippedChecks":true,"primaryBucket":"` + sc.LedgerBucket + `"}`
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(input)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Status != asl.StatusFailed || !strings.Contains(out.Result.Cause, "AccessDenied") ||
		!strings.Contains(out.Result.Cause, "s3:GetBucketPublicAccessBlock") {
		t.Fatalf("execution %s %s: %s", out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	if n := len(env.Sandbox.PABChanges()); n != 0 {
		t.Errorf("%d configuration changes", n)
	}
	for _, b := range []string{sc.PrimaryBucket, sc.LedgerBucket} {
		if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(b)); held {
			t.Errorf("lock on %s left behind", b)
		}
	}
	if tk := runTicket(t, env, out.ID); tk.Status != drill.TicketAbandoned {
		t.Errorf("run ticket %s, want abandoned", tk.Status)
	}
}

// Ten drills started at once on one bucket: exactly one runs, the others are refused
// by its lock, and nothing is left behind.
func TestTenDrillsAtOnce(t *testing.T) {
	env := startEnv(t, partial)
	const n = 10
	var arrived sync.WaitGroup
	arrived.Add(n)
	outs := make([]*local.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			out, err := env.Run(context.Background(), local.RunOptions{
				Name: "ten-" + string(rune('a'+i)), Input: json.RawMessage(fastInput), VisitorInterval: -1,
				OnEvent: func(ev asl.Event) {
					if ev.Type == asl.StateEntered && ev.State == "BlockBucket" {
						// All ten reach the lock together.
						once.Do(func() { arrived.Done(); arrived.Wait() })
					}
				},
			})
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	ran, refused := 0, 0
	for _, out := range outs {
		if out == nil {
			t.Fatal("a run did not finish")
		}
		switch {
		case out.Result.Status == asl.StatusSucceeded && out.Report.Verdict == drill.Pass:
			ran++
		case out.Result.Error == "LockHeld":
			refused++
			if tk := runTicket(t, env, out.ID); tk.Status != drill.TicketAbandoned {
				t.Errorf("%s: run ticket %s, want abandoned", out.Name, tk.Status)
			}
		default:
			t.Errorf("%s: %s %s %s", out.Name, out.Result.Status, out.Result.Error, out.Result.Cause)
		}
		if out.SafetyErr != nil {
			t.Errorf("%s: safety net %v", out.Name, out.SafetyErr)
		}
	}
	if ran != 1 || refused != n-1 {
		t.Errorf("%d ran, %d refused; want 1 and %d", ran, refused, n-1)
	}
	changes := env.Sandbox.PABChanges()
	if len(changes) != 2 || *changes[0].Config != drill.BlockAll || *changes[1].Config != *partial {
		t.Errorf("configuration changes %+v, want one block and one restore", changes)
	}
	assertRestored(t, env, partial)
}

// Least privilege, checked against the enforcing replica: block-bucket can release the
// lock it took when it gives up (the policy once lacked s3:DeleteObject, and the lock
// then stayed forever), and report cannot write a run ticket.
func TestPoliciesCoverEveryCodePath(t *testing.T) {
	env := startEnv(t, &drill.BlockAll) // a prior block-bucket refuses to record
	sc := env.Sandbox.Config()
	id := drill.RunID{Execution: "gives-up", ExecutionArn: asl.ExecutionARN(env.StateMachineArn, "gives-up"), StartTime: drill.At(time.Now())}
	cfg, _ := json.Marshal(map[string]string{"distribution": env.Sandbox.DistributionURL(), "primaryBucket": sc.PrimaryBucket, "primaryRegion": sc.PrimaryRegion})
	blockIn := drill.BlockInput{Config: cfg, Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime}

	for _, tc := range []struct {
		name     string
		without  string // Sid removed from block-bucket's policy
		wantLock bool
	}{
		{name: "the policy before: the lock stays", without: "LedgerReleaseLocks", wantLock: true},
		{name: "the policy now: released"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := local.Policies(sc, env.StateMachineArn)
			for i, st := range p[drill.FuncBlock] {
				if st.Sid == tc.without {
					p[drill.FuncBlock] = append(p[drill.FuncBlock][:i:i], p[drill.FuncBlock][i+1:]...)
				}
			}
			env.Sandbox.SetPolicies(p)
			defer env.Sandbox.SetPolicies(local.Policies(sc, env.StateMachineArn))
			_, err := env.Block.Handle(context.Background(), blockIn)
			if drill.ErrorName(drill.Classify(err)) != "SteadyStateFailed" {
				t.Fatalf("block-bucket: %v", err)
			}
			_, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket))
			if held != tc.wantLock {
				t.Errorf("lock held %v, want %v", held, tc.wantLock)
			}
			env.Sandbox.Expire(sc.LedgerBucket, "", 0)
		})
	}

	// report: its own files only.
	reportS3 := env.ClientAs(drill.FuncReport)(sc.PrimaryRegion)
	_, err := reportS3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket),
		Key: aws.String(drill.RunTicketKey(id)), Body: strings.NewReader("{}")})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("report writing a run ticket: %v, want AccessDenied", err)
	}
}
