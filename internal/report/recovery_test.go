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
	if c == nil || *c.BlockToFirstSampleSeconds != 0.05 || *c.FailoverEndToRestoreSeconds != 1.5 || *c.RestoreToFirstSampleSeconds != 0.05 ||
		c.UnsampledSeconds != 1.6 || c.SpanSeconds != 7.1 || c.UnsampledPercent != 22.5 {
		t.Errorf("coverage %+v, want 0.05 + 1.5 + 0.05 = 1.6 s of 7.1 s", c)
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
	check := logOf(drill.ModeRecoveryCheck, &restoredAt, 8.55, 11, switchAt(9.5, "us-west-1", "us-east-1"))

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
	logs[drill.ModeRecoveryCheck] = logOf(drill.ModeRecoveryCheck, &restoredAt, 8.55, 11, func(float64) string { return "us-west-1" })
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
