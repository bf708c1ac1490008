package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
)

func checks(failing string) []drill.Check {
	var out []drill.Check
	for _, n := range drill.CheckNames {
		c := drill.Check{Name: n, Status: drill.CheckPass, Evidence: []string{"read " + n}}
		if n == failing {
			c = drill.Check{Name: n, Status: drill.CheckFail, Reason: "origin group g fails over on [500 502 503 504] only, not on 403", Action: "add 403"}
		}
		out = append(out, c)
	}
	return out
}

// dryRun is the state of a dry run that went well: readiness, preflight, seed,
// replication, a dry BlockBucket and a Restore that found nothing to restore.
func dryRun() drill.ReportInput {
	in, _ := passing()
	in.State.Config = json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket","dryRun":true}`)
	in.State.Readiness = &drill.Step[drill.ReadinessResult]{Payload: drill.ReadinessResult{Timing: timing(0, 0.5), Ready: true, DryRun: true, Checks: checks(""), ReplicationSeconds: ptr(0.42)}}
	in.State.Block = &drill.Step[drill.BlockResult]{Payload: drill.BlockResult{Timing: timing(3, 3.1), Bucket: "ui-bucket", Prior: partial, DryRun: true}}
	in.State.Failover, in.State.Recovery = nil, nil
	in.State.Restore = &drill.Step[drill.RestoreResult]{Payload: drill.RestoreResult{Timing: timing(3.1, 3.2), NothingToRestore: true, MatchesPrior: true}}
	return in
}

func TestDryRunVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*drill.ReportInput)
		want   string
		says   string
	}{
		{"ready", func(*drill.ReportInput) {}, drill.Ready, "ready: distribution=pass"},
		{"a check failed", func(in *drill.ReportInput) {
			in.State.Readiness.Payload.Ready = false
			in.State.Readiness.Payload.Checks = checks(drill.CheckDistribution)
			in.State.Error = &drill.ErrorInfo{Error: "NotReady", Cause: "not ready"}
			in.State.Block, in.State.Restore = nil, nil
		}, drill.Unready, "readiness distribution: origin group g fails over on [500 502 503 504] only, not on 403 (do: add 403)"},
		{"lock held by another drill", func(in *drill.ReportInput) {
			in.State.Error = &drill.ErrorInfo{Error: "LockHeld", Cause: "bucket ui-bucket is locked by drill w23"}
			in.State.Block = nil
		}, drill.Unready, "LockHeld"},
		{"block was not a dry run", func(in *drill.ReportInput) { in.State.Block.Payload.DryRun = false }, drill.Unready, "not proved"},
		{"restore found something", func(in *drill.ReportInput) { in.State.Restore.Payload.NothingToRestore = false }, drill.Unready, "may have been changed"},
		{"a check skipped, nothing failed", func(in *drill.ReportInput) {
			skipCheck(in, drill.CheckDistribution)
		}, drill.NotVerified, "unverified: skipped distribution: no distributionId is configured"},
		{"a check skipped and one failed", func(in *drill.ReportInput) {
			skipCheck(in, drill.CheckDistribution)
			in.State.Readiness.Payload.Checks[2] = checks(drill.CheckAccountPAB)[2]
			in.State.Error = &drill.ErrorInfo{Error: "NotReady", Cause: "not ready"}
			in.State.Block, in.State.Restore = nil, nil
		}, drill.Unready, "account-public-access-block=fail"},
		{"replication never checked", func(in *drill.ReportInput) {
			in.State.Readiness.Payload.Checks = in.State.Readiness.Payload.Checks[:4]
		}, drill.Unready, "replication check did not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := dryRun()
			tc.change(&in)
			r := report.Build(in, nil, at(20))
			if r.Verdict != tc.want || !r.DryRun || !strings.Contains(r.Summary+strings.Join(r.Reasons, "; "), tc.says) {
				t.Fatalf("verdict %s (want %s) summary %q reasons %v, want it to say %q", r.Verdict, tc.want, r.Summary, r.Reasons, tc.says)
			}
			if len(r.Readiness.Checks) == 0 {
				t.Error("the report lists no check")
			}
			html, err := report.HTML(r, nil)
			if err != nil || !bytes.Contains(html, []byte("<h2>Readiness</h2>")) {
				t.Errorf("report.html lacks the readiness table: %v", err)
			}
		})
	}
}

// skipCheck makes a check of in's readiness skipped, as without a distributionId.
func skipCheck(in *drill.ReportInput, name string) {
	rr := &in.State.Readiness.Payload
	rr.Ready = false
	for i, c := range rr.Checks {
		if c.Name == name {
			rr.Checks[i] = drill.Check{Name: name, Status: drill.CheckSkipped, Evidence: []string{},
				Reason: "no distributionId is configured, so the configuration of d111.cloudfront.net cannot be read", Action: "deploy with -c distributionId=<ID>"}
		}
	}
}

// A drill stopped because a check was skipped (no allowSkippedChecks) names the
// skipped check, why it could not run, and the switch that would let it go on; one
// that went on with allowSkippedChecks records it, and its summary names the check.
func TestSkippedChecksInADrill(t *testing.T) {
	in, _ := passing()
	in.State.Readiness = &drill.Step[drill.ReadinessResult]{Payload: drill.ReadinessResult{Checks: checks("")}}
	skipCheck(&in, drill.CheckDistribution)
	in.State.Error = &drill.ErrorInfo{Error: "NotReady", Cause: "not ready, nothing was changed: 1 check was skipped"}
	in.State.Preflight, in.State.Seed, in.State.Block, in.State.Failover, in.State.Recovery = nil, nil, nil, nil, nil
	in.State.Restore.Payload = drill.RestoreResult{NothingToRestore: true, MatchesPrior: true}
	r := report.Build(in, nil, at(5))
	reasons := strings.Join(r.Reasons, "\n")
	if r.Verdict != drill.Fail || !strings.Contains(reasons, "readiness distribution: skipped, so it did not guard the block: no distributionId") ||
		!strings.Contains(reasons, "allowSkippedChecks") || strings.Join(r.Readiness.Skipped, ",") != drill.CheckDistribution {
		t.Errorf("verdict %s skipped %v reasons:\n%s", r.Verdict, r.Readiness.Skipped, reasons)
	}

	in, logs := passing()
	in.State.Config = json.RawMessage(strings.Replace(string(in.State.Config), "{", `{"distributionId":"","allowSkippedChecks":true,`, 1))
	in.State.Readiness = &drill.Step[drill.ReadinessResult]{Payload: drill.ReadinessResult{Checks: checks(""), Proceed: true, AllowSkippedChecks: true}}
	skipCheck(&in, drill.CheckDistribution)
	r = report.Build(in, logs, at(20))
	if r.Verdict != drill.Pass || !r.Readiness.AllowSkippedChecks || !strings.HasSuffix(r.Summary, "readiness checks skipped (allowSkippedChecks): distribution") {
		t.Errorf("verdict %s allowSkippedChecks %v summary %q", r.Verdict, r.Readiness.AllowSkippedChecks, r.Summary)
	}
}

// A real drill stopped by readiness fails with the failed checks as its reasons, and
// nothing about failover or recovery it never meant to run.
func TestNotReadyDrillNamesTheCheck(t *testing.T) {
	in, _ := passing()
	in.State.Readiness = &drill.Step[drill.ReadinessResult]{Payload: drill.ReadinessResult{Checks: checks(drill.CheckDistribution)}}
	in.State.Error = &drill.ErrorInfo{Error: "NotReady", Cause: "not ready, nothing was changed: distribution: ..."}
	in.State.Preflight, in.State.Seed, in.State.Block, in.State.Failover, in.State.Recovery = nil, nil, nil, nil, nil
	in.State.Restore.Payload = drill.RestoreResult{NothingToRestore: true, MatchesPrior: true}
	r := report.Build(in, nil, at(5))
	if r.Verdict != drill.Fail || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "not on 403") || !strings.Contains(r.Reasons[0], "readiness distribution") {
		t.Fatalf("verdict %s reasons %v", r.Verdict, r.Reasons)
	}
}

func TestEMFDryRunReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    drill.ReportInput
		ready float64
	}{
		{"ready", dryRun(), 1},
		{"not ready", func() drill.ReportInput {
			in := dryRun()
			in.State.Block = nil
			return in
		}(), 0},
		{"unverified", func() drill.ReportInput {
			in := dryRun()
			skipCheck(&in, drill.CheckDistribution)
			return in
		}(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, err := report.EMF(report.Build(tc.in, nil, at(20)), at(20))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatal(err)
			}
			if doc["DryRunReady"] != tc.ready || doc["ReplicationSeconds"] != 0.42 {
				t.Errorf("EMF %s", line)
			}
			if _, ok := doc["DrillPassed"]; ok {
				t.Errorf("a dry run reported DrillPassed: %s", line)
			}
		})
	}
}

// How long the stop alarms went unwatched is in the report, both waits added up, and
// its summary says so even when the drill passed.
func TestStopAlarmsUnwatchedAreReported(t *testing.T) {
	in, logs := passing()
	in.State.Failover.Payload.AlarmWatch = &drill.AlarmWatch{Alarms: []string{"HighErrorRate"}, Reads: 10, FailedReads: 2, UnwatchedSeconds: 6.5, LongestUnwatchedSeconds: 6.5, LimitSeconds: 30, LastError: "Throttling"}
	in.State.Recovery.Payload.AlarmWatch = &drill.AlarmWatch{Alarms: []string{"HighErrorRate"}, Reads: 4, LimitSeconds: 30}
	r := report.Build(in, logs, at(20))
	w := r.StopAlarms
	if w == nil || w.Reads != 14 || w.FailedReads != 2 || w.UnwatchedSeconds != 6.5 || w.LastError != "Throttling" {
		t.Fatalf("stop alarms %+v", w)
	}
	if r.Verdict != drill.Pass || !strings.Contains(r.Summary, "stop alarms unwatched for 6.5 s (2 of 14 reads failed") {
		t.Errorf("verdict %s summary %q", r.Verdict, r.Summary)
	}
	if html, err := report.HTML(r, logs); err != nil || !bytes.Contains(html, []byte("<h2>Stop alarms</h2>")) || !bytes.Contains(html, []byte("6.5 s in all")) {
		t.Errorf("report.html does not show the unwatched stop alarms: %v", err)
	}
	if r := report.Build(func() drill.ReportInput { in, _ := passing(); return in }(), logs, at(20)); r.StopAlarms != nil {
		t.Errorf("no alarms watched, yet stop alarms %+v", r.StopAlarms)
	}
}
