package asl

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/statemachine"
)

// Typed errors named like the drill's (internal/drill): the Go type name is the error name.
type (
	InvalidInput             struct{}
	RestoreMismatch          struct{}
	BucketChangedDuringDrill struct{}
)

func (*InvalidInput) Error() string             { return "invalid input: distribution missing" }
func (*RestoreMismatch) Error() string          { return "restored block reads back differently" }
func (*BucketChangedDuringDrill) Error() string { return "bucket changed during the drill" }

type RecoveryTimeout struct{ Msg string }

func (e *RecoveryTimeout) Error() string { return "recovery timeout: " + e.Msg }

// drillSubs has a dummy value for every placeholder of the real flow.
func drillSubs() map[string]string {
	subs := map[string]string{
		"DistributionDomain": "d111.cloudfront.net", "PrimaryBucket": "ui-primary",
		"PrimaryRegion": "us-east-1", "SecondaryRegion": "us-west-2",
		"DistributionId": "E2QWRUHAPOMQZL", "MaxReplicationLagSeconds": "30", "GlobalCluster": "-",
		"StableSharePercent": "99", "StableWindowSeconds": "5", "MaxErrorRatePercent": "1", "MaxErrorRunSeconds": "5", "MaxLatencyP95Ms": "3000",
	}
	for _, fn := range []string{"SeedCart", "BlockBucket", "Probe", "Restore", "Report", "Readiness", "Database"} {
		subs[fn+"FunctionArn"] = "arn:aws:lambda:us-east-1:123456789012:function:drill-" + fn
	}
	return subs
}

func fnARN(name string) string { return drillSubs()[name+"FunctionArn"] }

// drill is a set of stub functions for the real flow; fail, when set, may make one fail.
type drill struct {
	mu    sync.Mutex
	calls []string                   // "Probe:steady", "SeedCart", ...
	got   map[string]json.RawMessage // last payload per call name
	fail  func(call string) error
	// result, when set and returning non-nil, replaces a call's canned output.
	result func(call string) json.RawMessage
}

func (d *drill) tasks() map[string]TaskFunc {
	tasks := map[string]TaskFunc{}
	for _, fn := range []string{"SeedCart", "BlockBucket", "Probe", "Restore", "Report", "Readiness", "Database"} {
		tasks[fnARN(fn)] = func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
			var in struct{ Mode, Reason string }
			_ = json.Unmarshal(p, &in)
			call := fn
			if in.Mode != "" {
				call += ":" + in.Mode
			}
			if in.Reason != "" {
				call += ":" + in.Reason
			}
			d.mu.Lock()
			d.calls = append(d.calls, call)
			if d.got == nil {
				d.got = map[string]json.RawMessage{}
			}
			d.got[call] = p
			d.mu.Unlock()
			if d.fail != nil {
				if err := d.fail(call); err != nil {
					return nil, err
				}
			}
			if d.result != nil {
				if out := d.result(call); out != nil {
					return out, nil
				}
			}
			switch call {
			case "Readiness:checks", "Readiness:replication":
				return json.RawMessage(`{"ready":true,"proceed":true,"dryRun":false,"summary":"ready","checks":[],"stopAlarms":["HighErrorRate"],"origin":{"connectionAttempts":3}}`), nil
			case "SeedCart":
				return json.RawMessage(`{"user":"u1","items":2}`), nil
			case "BlockBucket":
				return json.RawMessage(`{"blockSentAt":"2026-03-01T10:00:04.950Z","blockedAt":"2026-03-01T10:00:05Z","dryRun":false}`), nil
			case "Probe:failover":
				return json.RawMessage(`{"failoverSeconds":42.5}`), nil
			case "Restore:flow", "Restore:failure":
				return json.RawMessage(`{"restoredAt":"2026-03-01T10:02:00Z"}`), nil
			case "Report":
				var r struct {
					State struct{ Error *json.RawMessage }
				}
				_ = json.Unmarshal(p, &r)
				if r.State.Error != nil {
					return json.RawMessage(`{"verdict":"fail","summary":"drill failed"}`), nil
				}
				return json.RawMessage(`{"verdict":"pass","summary":"failover in 42.5s","report":"s3://ledger/runs/x/report.json"}`), nil
			}
			return json.RawMessage(`{"ok":true}`), nil
		}
	}
	return tasks
}

func (d *drill) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func runDrill(t *testing.T, d *drill, input string) (Result, *clock) {
	t.Helper()
	m, err := Load(statemachine.Definition, drillSubs())
	if err != nil {
		t.Fatalf("Load the real flow: %v", err)
	}
	c := newClock()
	o := opts(c, nil)
	o.Tasks = d.tasks()
	o.StateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:failover-drill"
	return m.Run(t.Context(), "drill-1", json.RawMessage(input), o), c
}

func TestRealFlowLoads(t *testing.T) {
	m, err := Load(statemachine.Definition, drillSubs())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Configure", "MergeInput", "Readiness", "Ready", "Preflight", "SeedCart", "Replication", "Replicated", "BlockBucket", "IsDryRun",
		"AwaitFailover", "DatabaseStage", "SwitchDatabase", "SwitchDatabaseBack", "Restore", "Restored", "AwaitRecovery", "ReleaseLock", "Report", "Verdict", "Passed", "Unverified", "DrillFailed",
		"NotReady", "RestoreAfterFailure", "RestoredAfterFailure", "RecoveryCheck", "ReportAfterFailure", "NoCause",
		"RestoreOutcome", "RestoreErrorWithCause", "DryRunDisturbed", "SkippedDrillInProgress", "BucketMayBeBlocked", "WhyRestoreFailed", "FailBucketChanged", "FailRestoreFailed",
		"ErrorWithCause", "FailWithCause"}
	if got := m.States(); !reflect.DeepEqual(got, want) {
		t.Errorf("States() = %v", got)
	}
	if got := len(m.Functions()); got != 7 {
		t.Errorf("Functions() = %v, want the 7 function ARNs", m.Functions())
	}
	// Every substitution key is used and every placeholder needs one.
	for name := range drillSubs() {
		t.Run("without "+name, func(t *testing.T) {
			subs := drillSubs()
			delete(subs, name)
			_, err := Load(statemachine.Definition, subs)
			assertErrContains(t, err, `"`+name+`"`)
		})
	}
}

func TestRealFlow(t *testing.T) {
	t.Run("happy path reaches Passed with the report payload", func(t *testing.T) {
		d := &drill{}
		res, c := runDrill(t, d, `{"primaryBucket":"override"}`)
		assertStatus(t, res, StatusSucceeded, "")
		assertJSON(t, res.Output, `{"verdict":"pass","summary":"failover in 42.5s","report":"s3://ledger/runs/x/report.json"}`)
		want := []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Probe:failover", "Restore:flow", "Probe:recovery", "Restore:release", "Report"}
		if got := d.Calls(); !reflect.DeepEqual(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
		if last := eventsOf(res, StateEntered); last[len(last)-1] != "StateEntered:Passed" {
			t.Errorf("ended in %v", last)
		}
		if len(c.Sleeps()) != 0 {
			t.Errorf("slept %v", c.Sleeps())
		}
		// The execution input overrides the deployed defaults field by field.
		// The limits arrive as numbers (States.StringToJson of the substituted digits).
		const cfg = `{"distribution":"d111.cloudfront.net","primaryBucket":"override","primaryRegion":"us-east-1","secondaryRegion":"us-west-2",
			"distributionId":"E2QWRUHAPOMQZL","maxReplicationLagSeconds":30,"globalCluster":"-",
			"stableSharePercent":99,"stableWindowSeconds":5,"maxErrorRatePercent":1,"maxErrorRunSeconds":5,"maxLatencyP95Ms":3000}`
		// Each probe names the run by its name and start: its sample log's folder.
		assertJSON(t, d.got["Probe:steady"], `{"mode":"steady","execution":"drill-1","startTime":"2026-03-01T10:00:00.123Z","config":`+cfg+`,"origin":{"connectionAttempts":3}}`)
		// Failover counts from the moment the block's put was sent, the earliest it can
		// have taken effect (blockSentAt), not from its answer (blockedAt).
		assertJSON(t, d.got["Probe:failover"], `{"mode":"failover","execution":"drill-1","startTime":"2026-03-01T10:00:00.123Z","config":`+cfg+`,
			"since":"2026-03-01T10:00:04.950Z","seed":{"user":"u1","items":2},"stopAlarms":["HighErrorRate"],"origin":{"connectionAttempts":3}}`)
		// The execution's identity: its name, its ARN and its start (a reused name gets
		// the same ARN).
		assertJSON(t, d.got["Restore:flow"], `{"execution":"drill-1","executionArn":"arn:aws:states:us-east-1:123456789012:execution:failover-drill:drill-1",
			"startTime":"2026-03-01T10:00:00.123Z","reason":"flow"}`)
		var block map[string]any
		_ = json.Unmarshal(d.got["BlockBucket"], &block)
		if block["executionArn"] != "arn:aws:states:us-east-1:123456789012:execution:failover-drill:drill-1" || block["startTime"] != "2026-03-01T10:00:00.123Z" {
			t.Errorf("block-bucket payload %s lacks the execution's identity", d.got["BlockBucket"])
		}
		var report struct {
			Execution, StartedAt string
			State                map[string]json.RawMessage
		}
		if err := json.Unmarshal(d.got["Report"], &report); err != nil {
			t.Fatal(err)
		}
		if report.Execution != "drill-1" || report.StartedAt != "2026-03-01T10:00:00.123Z" {
			t.Errorf("report payload %s", d.got["Report"])
		}
		for _, k := range []string{"config", "preflight", "seed", "block", "failover", "restore", "recovery"} {
			if _, ok := report.State[k]; !ok {
				t.Errorf("report state has no %q: %s", k, d.got["Report"])
			}
		}
	})

	t.Run("AwaitFailover fails: restore and report run, then FAILED with the first error", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Probe:failover" {
				return &FailoverTimeout{"still primary after 600s"}
			}
			return nil
		}}
		res, c := runDrill(t, d, `{}`)
		assertStatus(t, res, StatusFailed, "FailoverTimeout")
		if want := `{"errorMessage":"failover timeout: still primary after 600s","errorType":"FailoverTimeout"}`; res.Cause != want {
			t.Errorf("cause %q, want %q", res.Cause, want)
		}
		want := []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Probe:failover", "Restore:failure", "Probe:recovery-check", "Report"}
		if got := d.Calls(); !reflect.DeepEqual(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
		wantStates := []string{"StateEntered:Configure", "StateEntered:MergeInput", "StateEntered:Readiness", "StateEntered:Ready",
			"StateEntered:Preflight", "StateEntered:SeedCart", "StateEntered:Replication", "StateEntered:Replicated",
			"StateEntered:BlockBucket", "StateEntered:IsDryRun", "StateEntered:AwaitFailover", "TaskFailed:AwaitFailover", "StateCaught:AwaitFailover",
			"StateEntered:RestoreAfterFailure", "StateEntered:RestoredAfterFailure", "StateEntered:RecoveryCheck",
			"StateEntered:ReportAfterFailure", "StateEntered:NoCause", "StateEntered:RestoreOutcome",
			"StateEntered:DryRunDisturbed", "StateEntered:ErrorWithCause", "StateEntered:FailWithCause", "ExecutionFailed:"}
		if got := eventsOf(res, StateEntered, TaskFailed, StateCaught, ExecutionFailed); !reflect.DeepEqual(got, wantStates) {
			t.Errorf("events\n got %v\nwant %v", got, wantStates)
		}
		if len(c.Sleeps()) != 0 {
			t.Errorf("FailoverTimeout was retried: %v", c.Sleeps())
		}
		var rep struct {
			State struct{ Error struct{ Error string } }
		}
		_ = json.Unmarshal(d.got["Report"], &rep)
		if rep.State.Error.Error != "FailoverTimeout" {
			t.Errorf("the failure report did not get $.error: %s", d.got["Report"])
		}
		// The recovery check looks from the failure path's restore, with no stop alarm.
		var check map[string]json.RawMessage
		_ = json.Unmarshal(d.got["Probe:recovery-check"], &check)
		if string(check["since"]) != `"2026-03-01T10:02:00Z"` || string(check["execution"]) != `"drill-1"` || string(check["startTime"]) != `"2026-03-01T10:00:00.123Z"` || check["config"] == nil ||
			string(check["origin"]) != `{"connectionAttempts":3}` || check["stopAlarms"] != nil {
			t.Errorf("recovery check payload %s", d.got["Probe:recovery-check"])
		}
	})

	t.Run("the recovery check fails or times out: the report still runs and the original error ends the execution", func(t *testing.T) {
		for _, checkErr := range []error{&RecoveryTimeout{"us-east-1 never served stably"}, &TaskError{Name: "States.Timeout", Cause: "the check outlived its 120 s"}} {
			d := &drill{fail: func(call string) error {
				switch call {
				case "Probe:failover":
					return &FailoverTimeout{"still primary after 600s"}
				case "Probe:recovery-check":
					return checkErr
				}
				return nil
			}}
			res, c := runDrill(t, d, `{}`)
			assertStatus(t, res, StatusFailed, "FailoverTimeout")
			if got := d.Calls(); got[len(got)-2] != "Probe:recovery-check" || got[len(got)-1] != "Report" {
				t.Errorf("calls %v, want the check then the report", got)
			}
			var rep struct {
				State struct {
					Error              struct{ Error string }
					RecoveryCheckError struct{ Error string } `json:"recoveryCheckError"`
				}
			}
			_ = json.Unmarshal(d.got["Report"], &rep)
			if rep.State.Error.Error != "FailoverTimeout" || rep.State.RecoveryCheckError.Error == "" {
				t.Errorf("report payload %s: want the original error and the check's", d.got["Report"])
			}
			if len(c.Sleeps()) != 0 {
				t.Errorf("the check was retried: %v", c.Sleeps())
			}
		}
	})

	t.Run("a restore that failed gets no recovery check: the bucket may be blocked", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Probe:failover" || call == "Restore:failure" {
				return &RestoreMismatch{}
			}
			return nil
		}}
		runDrill(t, d, `{}`)
		if got := d.Calls(); slices.Contains(got, "Probe:recovery-check") {
			t.Errorf("calls %v: a check after a failed restore", got)
		}
	})

	t.Run("Preflight InvalidInput fails without running any other Task", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Probe:steady" {
				return &InvalidInput{}
			}
			return nil
		}}
		res, _ := runDrill(t, d, `{"distribution":""}`)
		assertStatus(t, res, StatusFailed, "InvalidInput")
		if got := d.Calls(); !reflect.DeepEqual(got, []string{"Readiness:checks", "Probe:steady"}) {
			t.Errorf("calls %v, want only Preflight's", got)
		}
		if got := eventsOf(res, StateEntered); got[len(got)-1] != "StateEntered:FailWithCause" {
			t.Errorf("path %v", got)
		}
	})

	t.Run("Restore keeps failing: retried with backoff, then the failure path ends RestoreFailed", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Restore:flow" || call == "Restore:failure" {
				return &RestoreMismatch{}
			}
			return nil
		}}
		res, c := runDrill(t, d, `{}`)
		// Not the original error alone: that would read as an ordinary failed drill.
		assertStatus(t, res, StatusFailed, "RestoreFailed")
		for _, want := range []string{"may still be blocked", "Restore: RestoreMismatch", "The drill had failed with: RestoreMismatch"} {
			if !strings.Contains(res.Cause, want) {
				t.Errorf("cause %q lacks %q", res.Cause, want)
			}
		}
		// Restore: 5 retries, x2 from 1s, capped at 20s; RestoreAfterFailure: 6 retries capped at 30s.
		want := append(secs(1, 2, 4, 8, 16), secs(1, 2, 4, 8, 16, 30)...)
		if got := c.Sleeps(); !reflect.DeepEqual(got, want) {
			t.Errorf("sleeps %v, want %v", got, want)
		}
		var rep struct {
			State struct {
				RestoreError struct{ Error string } `json:"restoreError"`
			}
		}
		_ = json.Unmarshal(d.got["Report"], &rep)
		if rep.State.RestoreError.Error != "RestoreMismatch" {
			t.Errorf("report payload %s", d.got["Report"])
		}
		if res.Stop.Sub(res.Start) != 92*time.Second { // 31s + 61s of retry delays
			t.Errorf("execution took %v of fake time", res.Stop.Sub(res.Start))
		}
	})

	t.Run("bucket changed during the drill: restore is not retried, the execution ends with that error", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Restore:flow" || call == "Restore:failure" {
				return &BucketChangedDuringDrill{}
			}
			return nil
		}}
		res, c := runDrill(t, d, `{}`)
		assertStatus(t, res, StatusFailed, "BucketChangedDuringDrill")
		if !strings.Contains(res.Cause, "may still be blocked") {
			t.Errorf("cause %q", res.Cause)
		}
		if got := d.Calls(); !reflect.DeepEqual(got, []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Probe:failover", "Restore:flow", "Restore:failure", "Report"}) {
			t.Errorf("calls %v: a changed bucket is looked at once more, never retried", got)
		}
		if len(c.Sleeps()) != 0 {
			t.Errorf("retried: %v", c.Sleeps())
		}
	})

	// Step Functions may report an error without a cause (the API marks it optional):
	// the failure path must not then die on a missing $.error.Cause or
	// $.restoreError.Cause, an uncatchable States.Runtime that hides the real error.
	// (The aws-local-stepfunctions cross-check cannot hold this case: its Catch always
	// writes a Cause key, error.message, and its JsonMerge copies an undefined one.)
	t.Run("an error without a cause still ends with the original error", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			if call == "Probe:failover" {
				return &TaskError{Name: "Lambda.Unknown", NoCause: true}
			}
			return nil
		}}
		res, _ := runDrill(t, d, `{}`)
		assertStatus(t, res, StatusFailed, "Lambda.Unknown")
		if res.Cause != "" {
			t.Errorf("cause %q, want none (there was none)", res.Cause)
		}
		var rep struct {
			State struct{ Error map[string]any }
		}
		_ = json.Unmarshal(d.got["Report"], &rep)
		if _, has := rep.State.Error["Cause"]; has || rep.State.Error["Error"] != "Lambda.Unknown" {
			t.Errorf("report payload %s: want the error as Step Functions gave it", d.got["Report"])
		}
	})
	t.Run("a restore failing without a cause still ends RestoreFailed", func(t *testing.T) {
		d := &drill{fail: func(call string) error {
			switch call {
			case "Probe:failover":
				return &TaskError{Name: "States.Timeout", NoCause: true}
			case "Restore:failure":
				return &TaskError{Name: "Lambda.Unknown", NoCause: true}
			}
			return nil
		}}
		res, _ := runDrill(t, d, `{}`)
		assertStatus(t, res, StatusFailed, "RestoreFailed")
		for _, want := range []string{"may still be blocked", "Restore: Lambda.Unknown: ", "The drill had failed with: States.Timeout: "} {
			if !strings.Contains(res.Cause, want) {
				t.Errorf("cause %q lacks %q", res.Cause, want)
			}
		}
	})

	t.Run("report verdict fail ends in DrillFailed with the summary", func(t *testing.T) {
		d := &drill{}
		tasks := d.tasks()
		m, err := Load(statemachine.Definition, drillSubs())
		if err != nil {
			t.Fatal(err)
		}
		tasks[fnARN("Report")] = returns(`{"verdict":"fail","summary":"cart lost on the secondary"}`)
		o := opts(newClock(), nil)
		o.Tasks = tasks
		res := m.Run(t.Context(), "drill-2", nil, o)
		assertStatus(t, res, StatusFailed, "DrillFailed")
		if res.Cause != "cart lost on the secondary" {
			t.Errorf("cause %q", res.Cause)
		}
	})
}

// A Restore that had nothing to restore returns no restoredAt: the Restored choice
// skips AwaitRecovery (whose since.$ would otherwise be an uncatchable States.Runtime)
// and the report judges the drill.
func TestRealFlowSkipsRecoveryWithoutRestoredAt(t *testing.T) {
	d := &drill{result: func(call string) json.RawMessage {
		if call == "Restore:flow" {
			return json.RawMessage(`{"nothingToRestore":true}`)
		}
		return nil
	}}
	res, _ := runDrill(t, d, `{}`)
	want := []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Probe:failover", "Restore:flow", "Report"}
	if got := d.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if res.Status != StatusSucceeded {
		t.Errorf("status %s (%s: %s)", res.Status, res.Error, res.Cause)
	}
}

// A failed readiness check stops the drill before anything is changed: no Preflight,
// no seed, no block; the failure path restores (nothing) and reports, and the
// execution fails with NotReady and the checks' summary as its cause.
func TestRealFlowNotReadyStopsBeforeTheBlock(t *testing.T) {
	for _, tc := range []struct {
		name, notReadyCall string
		want               []string
	}{
		{"checks", "Readiness:checks", []string{"Readiness:checks", "Restore:failure", "Report"}},
		{"replication", "Readiness:replication", []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "Restore:failure", "Report"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &drill{result: func(call string) json.RawMessage {
				if call == tc.notReadyCall {
					return json.RawMessage(`{"ready":false,"proceed":false,"summary":"not ready: distribution: no 403","checks":[],"stopAlarms":[]}`)
				}
				return nil
			}}
			res, _ := runDrill(t, d, `{}`)
			assertStatus(t, res, StatusFailed, "NotReady")
			if res.Cause != "not ready: distribution: no 403" {
				t.Errorf("cause %q", res.Cause)
			}
			if got := d.Calls(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
		})
	}
}

// A dry run goes from BlockBucket (dry) straight to Restore, which releases the lock,
// and ends Passed with verdict ready: no AwaitFailover, no AwaitRecovery.
func TestRealFlowDryRun(t *testing.T) {
	d := &drill{result: func(call string) json.RawMessage {
		switch call {
		case "BlockBucket":
			return json.RawMessage(`{"dryRun":true,"prior":null}`)
		case "Restore:flow":
			return json.RawMessage(`{"nothingToRestore":true,"matchesPrior":true}`)
		case "Report":
			return json.RawMessage(`{"verdict":"ready","summary":"ready: every check passed"}`)
		}
		return nil
	}}
	res, _ := runDrill(t, d, `{"dryRun":true}`)
	assertStatus(t, res, StatusSucceeded, "")
	want := []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Restore:flow", "Report"}
	if got := d.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	assertJSON(t, res.Output, `{"verdict":"ready","summary":"ready: every check passed"}`)
}

// A dry run's other endings: unverified (a check was skipped, nothing failed) fails as
// Unverified with the report's summary, the skipped checks, as its cause; skipped (a
// drill disturbed it) succeeds, without an alarm, its output the report.
func TestRealFlowDryRunUnverifiedOrSkipped(t *testing.T) {
	for _, tc := range []struct {
		verdict, status, errName string
	}{
		{"unverified", StatusFailed, "Unverified"},
		{"skipped", StatusSucceeded, ""},
		{"not-ready", StatusFailed, "DrillFailed"},
	} {
		t.Run(tc.verdict, func(t *testing.T) {
			summary := tc.verdict + ": distribution skipped"
			d := &drill{result: func(call string) json.RawMessage {
				switch call {
				case "Readiness:checks", "Readiness:replication":
					return json.RawMessage(`{"ready":false,"proceed":true,"dryRun":true,"summary":"unverified","checks":[],"skipped":["distribution"],"stopAlarms":[],"origin":{"connectionAttempts":3}}`)
				case "BlockBucket":
					return json.RawMessage(`{"dryRun":true,"prior":null}`)
				case "Restore:flow":
					return json.RawMessage(`{"nothingToRestore":true,"matchesPrior":true}`)
				case "Report":
					return json.RawMessage(`{"verdict":"` + tc.verdict + `","summary":"` + summary + `"}`)
				}
				return nil
			}}
			res, _ := runDrill(t, d, `{"dryRun":true,"distributionId":""}`)
			assertStatus(t, res, tc.status, tc.errName)
			if tc.status == StatusFailed && res.Cause != summary {
				t.Errorf("cause %q, want the report's summary", res.Cause)
			}
			want := []string{"Readiness:checks", "Probe:steady", "SeedCart", "Readiness:replication", "BlockBucket", "Restore:flow", "Report"}
			if got := d.Calls(); !reflect.DeepEqual(got, want) {
				t.Errorf("calls %v, want %v (a dry run with a skipped check still proves what it can)", got, want)
			}
		})
	}
}

// A dry run that failed while a drill ran: its report (ReportAfterFailure) says skipped,
// and the execution succeeds with the report as its output, without the failure's
// alarm. Any other verdict on the failure path ends with the original error; a failed
// report (no verdict) too.
func TestRealFlowDryRunDisturbedByADrill(t *testing.T) {
	for _, tc := range []struct {
		name, verdict, status, errName string
		reportFails                    bool
	}{
		{"skipped", "skipped", StatusSucceeded, "", false},
		{"not ready", "not-ready", StatusFailed, "SteadyStateFailed", false},
		{"report failed", "", StatusFailed, "SteadyStateFailed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &drill{
				fail: func(call string) error {
					if call == "Probe:steady" {
						return &SteadyStateFailed{"the primary answers 403"}
					}
					if call == "Report" && tc.reportFails {
						return &FailoverTimeout{"no report"}
					}
					return nil
				},
				result: func(call string) json.RawMessage {
					if call == "Report" {
						return json.RawMessage(`{"verdict":"` + tc.verdict + `","summary":"skipped: drill in progress"}`)
					}
					return nil
				},
			}
			res, _ := runDrill(t, d, `{"dryRun":true}`)
			assertStatus(t, res, tc.status, tc.errName)
			if tc.status == StatusSucceeded {
				assertJSON(t, res.Output, `{"verdict":"skipped","summary":"skipped: drill in progress"}`)
			}
			if got := d.Calls(); !slices.Contains(got, "Restore:failure") {
				t.Errorf("calls %v: the failure path's restore did not run", got)
			}
		})
	}
}

type SteadyStateFailed struct{ Msg string }

func (e *SteadyStateFailed) Error() string { return "steady state not met: " + e.Msg }
