package report_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
)

// failedAfterBlock is passing() with AwaitFailover failed: the failure path's restore
// ran, AwaitRecovery never did.
func failedAfterBlock() (drill.ReportInput, report.Logs) {
	in, logs := passing()
	in.State.Failover, in.State.Recovery = nil, nil
	in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: "the secondary never served stably"}
	delete(logs, drill.ModeRecovery)
	return in, logs
}

// Every figure of the coverage is the stretch no probe sampled.
func TestCoverageNamesTheUnsampledStretches(t *testing.T) {
	in, logs := passing()
	c := report.Build(in, logs, at(12)).Coverage
	if c == nil || *c.BlockToFirstSampleSeconds != 0.05 || *c.FailoverEndToRestoreSeconds != 0.5 || *c.RestoreToFirstSampleSeconds != 0.05 ||
		c.UnsampledSeconds != 0.6 || c.SpanSeconds != 8.1 || c.UnsampledPercent != 7.4 {
		t.Errorf("coverage %+v, want 0.05 + 0.5 + 0.05 = 0.6 s of 8.1 s", c)
	}
	// Without the logs, from the probes' own start and end.
	c = report.Build(in, nil, at(12)).Coverage
	if c == nil || *c.BlockToFirstSampleSeconds != 0.1 || *c.FailoverEndToRestoreSeconds != 0.5 || *c.RestoreToFirstSampleSeconds != 0.5 {
		t.Errorf("coverage from the summaries %+v, want 0.1, 0.5, 0.5", c)
	}
}

// After a failure the recovery check is the recovery: its figures are the report's,
// and a primary it saw serving is no alarm; one it did not see, or a check that
// failed, is (PrimaryNotServing, the metric), while the original error stays the error.
func TestRecoveryCheckAfterFailure(t *testing.T) {
	restoredAt := at(8.5)
	check := logOf(drill.ModeRecoveryCheck, &restoredAt, 8.55, 12, switchAt(9.5, "us-west-1", "us-east-1"))

	in, logs := failedAfterBlock()
	logs[drill.ModeRecoveryCheck] = check
	r := report.Build(in, logs, at(12))
	if !r.Recovery.ByCheck || !r.Recovery.Stable || r.Recovery.Phases == nil || r.PrimaryNotServing || r.Error == nil || r.Error.Error != "FailoverTimeout" {
		t.Errorf("recovery %+v not serving %v error %+v: want the check's stable recovery, no alarm, the original error", r.Recovery, r.PrimaryNotServing, r.Error)
	}
	if c := r.Coverage; c == nil || c.RestoreToFirstSampleSeconds == nil || *c.RestoreToFirstSampleSeconds != 0.05 {
		t.Errorf("coverage %+v, want the check's first sample 0.05 s after the restore", c)
	}
	if metric(t, r) != 0 {
		t.Error("PrimaryNotServingAfterDrill 1 for a primary the check saw serving")
	}

	// The check saw the secondary all along: the primary does not serve.
	in, logs = failedAfterBlock()
	logs[drill.ModeRecoveryCheck] = logOf(drill.ModeRecoveryCheck, &restoredAt, 8.55, 12, func(float64) string { return "us-west-1" })
	logs[drill.ModeRecoveryCheck].Ended = drill.EndedTimeout
	r = report.Build(in, logs, at(12))
	if !r.PrimaryNotServing || !hasReason(r, "recovery check did not see us-east-1 serve stably") || !hasReason(r, "primary not serving") || metric(t, r) != 1 {
		t.Errorf("not serving %v reasons %q: want the alarm and the check's reason", r.PrimaryNotServing, r.Reasons)
	}

	// The check itself failed: nobody saw the primary serve.
	in, logs = failedAfterBlock()
	in.State.RecoveryCheckError = &drill.ErrorInfo{Error: "States.Timeout", Cause: "the check timed out"}
	r = report.Build(in, logs, at(12))
	if !r.PrimaryNotServing || !hasReason(r, "recovery check failed: States.Timeout") ||
		metric(t, r) != 1 || r.Error.Error != "FailoverTimeout" {
		t.Errorf("not serving %v reasons %q recovery %q error %+v", r.PrimaryNotServing, r.Reasons, r.Recovery.NotMeasured, r.Error)
	}

	// Never blocked: nothing to recover, no alarm.
	in, logs = failedAfterBlock()
	in.State.Block = nil
	if r = report.Build(in, logs, at(12)); r.PrimaryNotServing || metric(t, r) != 0 {
		t.Error("an unblocked bucket raised PrimaryNotServing")
	}
}

func hasReason(r drill.Report, s string) bool {
	for _, x := range r.Reasons {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

func metric(t *testing.T, r drill.Report) float64 {
	t.Helper()
	line, err := report.EMF(r, at(20))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatal(err)
	}
	v, ok := doc[report.MetricPrimaryNotServing].(float64)
	if !ok {
		t.Fatalf("no %s in %s", report.MetricPrimaryNotServing, line)
	}
	return v
}

// A block that takes effect after the failover timeout: the failover probe saw only
// the primary, the restore came, and then the block landed and switched visitors to
// the secondary for a while. The recovery check saw it: the report names the late
// switch (when, how long, which region) and gives no recovery figure.
func TestLateBlockIsReportedNotRecovered(t *testing.T) {
	restoredAt := at(8.5)
	in, logs := failedAfterBlock()
	logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 8, func(float64) string { return "us-east-1" })
	logs[drill.ModeFailover].Ended = drill.EndedTimeout
	// The block lands 20 s after it was sent (23.9), the restore 20 s after it (28.5).
	logs[drill.ModeRecoveryCheck] = logOf(drill.ModeRecoveryCheck, &restoredAt, 8.55, 40, func(t float64) string {
		if t >= 23.9 && t < 28.5 {
			return "us-west-1"
		}
		return "us-east-1"
	})
	r := report.Build(in, logs, at(41))
	l := r.Failover.Late
	if l == nil || l.Region != "us-west-1" || l.FromSeconds < 20 || l.FromSeconds > 20.2 || l.ToSeconds < 24.5 || l.ToSeconds > 24.7 || l.WatchEndedSeconds != 4.1 || l.Mode != drill.ModeRecoveryCheck {
		t.Fatalf("late switch %+v, want us-west-1 from about 20.0 s to 24.6 s after the block, after the watch ended at 4.1 s", l)
	}
	if r.Recovery.Stable || r.Recovery.Seconds != 0 || r.Recovery.Phases != nil || !strings.Contains(r.Recovery.NotMeasured, "never seen") {
		t.Errorf("recovery %+v, want no figure: the failover was never seen", r.Recovery)
	}
	if !hasReason(r, "late block: us-west-1 served from 20.") || !hasReason(r, "recovery: not measured") {
		t.Errorf("reasons %q, want the late block and no recovery figure", r.Reasons)
	}
	if !strings.Contains(r.Summary, "late switch to us-west-1 at 20.") || strings.Contains(r.Summary, "recovery stable") {
		t.Errorf("summary %q", r.Summary)
	}
	// The check saw the primary serve stably after the late switch: no alarm.
	if r.PrimaryNotServing {
		t.Error("PrimaryNotServing for a primary the check saw serving after the late switch")
	}
}
