package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// TestReportShowsTheSafetyNet: the safety net records its restore next to the report;
// drill report shows both, and for a stopped execution, which never wrote a report, it
// shows what the safety net put back. It reads as a principal held to exactly the
// grants policy.Commands["report"] declares.
func TestReportShowsTheSafetyNet(t *testing.T) {
	env, err := local.Start(sandbox.Config{PropagationDelay: 200 * time.Millisecond, ReplicationLag: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	sc := env.Sandbox.Config()
	pols := local.Policies(sc, env.StateMachineArn)
	pols["drill-report"] = policy.CommandFor("report", policy.Values{LedgerArn: "arn:aws:s3:::" + sc.LedgerBucket})
	env.Sandbox.SetPolicies(pols)
	input := json.RawMessage(`{"probeIntervalMs":50,"stableWindowSeconds":1,"stableSharePercent":95}`)

	if _, err := env.Run(context.Background(), local.RunOptions{Name: "rec-pass", Input: input}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	if _, err := env.Run(ctx, local.RunOptions{Name: "rec-stopped", Input: input, OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
			once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
		}
	}}); err != nil {
		t.Fatal(err)
	}
	factory := func(context.Context, string) (history.LedgerAPI, error) {
		return awsconf.SandboxFactoryAs(env.Sandbox.S3Endpoints(), "drill-report")(sc.PrimaryRegion), nil
	}

	var stdout, stderr bytes.Buffer
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "rec-pass"}, &stdout, &stderr, factory); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "verdict: PASS") || !strings.Contains(stdout.String(), "safety net          ") ||
		!strings.Contains(stdout.String(), "after the execution ended SUCCEEDED: already restored") {
		t.Errorf("report without the safety net's restore:\n%s%s", stdout.String(), stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "rec-stopped"}, &stdout, &stderr, factory); code != exitFail {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFail, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "the execution ended before its Report state (it ended ABORTED)") ||
		!strings.Contains(stdout.String(), "after the execution ended ABORTED: put back") || !strings.Contains(stdout.String(), "matches the prior: true") ||
		!strings.Contains(stdout.String(), "\n                    interrupted in state AwaitFailover\n") {
		t.Errorf("stopped run:\n%s%s", stdout.String(), stderr.String())
	}

	stdout.Reset()
	if code := runReport(context.Background(), []string{"--json", "--ledger", sc.LedgerBucket, "--execution", "rec-pass"}, &stdout, &stderr, factory); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Verdict  string                `json:"verdict"`
		Restores []drill.RestoreRecord `json:"restores"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Verdict != drill.Pass || len(doc.Restores) != 1 || doc.Restores[0].Reason != drill.ReasonSafetyNet {
		t.Errorf("json %+v %v\n%s", doc, err, stdout.String())
	}
}

// drill report prints, under each restore record, what the execution's history told
// the restore: the interrupted or failed state with its error and cause in full, or
// why it could not be read.
func TestReportPrintsTheHistoryFacts(t *testing.T) {
	cause := strings.Repeat("a long cause, never cut; ", 40)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		rec  drill.RestoreRecord
		want string
	}{
		{"timed out", drill.RestoreRecord{ExecutionStatus: "TIMED_OUT", ExecutionHistory: &drill.HistoryFacts{
			InterruptedState: "AwaitFailover", Error: "States.Timeout", Cause: "the execution ran longer than its TimeoutSeconds (900)"}},
			"interrupted in state AwaitFailover (States.Timeout: the execution ran longer than its TimeoutSeconds (900))"},
		{"failed", drill.RestoreRecord{ExecutionStatus: "FAILED", ExecutionHistory: &drill.HistoryFacts{
			FailedState: "RestoreAfterFailure", Error: "Lambda.ServiceException", Cause: cause}},
			"failed in state RestoreAfterFailure (Lambda.ServiceException: " + cause + ")"},
		{"stopped between states", drill.RestoreRecord{ExecutionStatus: "ABORTED", ExecutionHistory: &drill.HistoryFacts{}},
			"stopped between two states"},
		{"not read", drill.RestoreRecord{ExecutionStatus: "ABORTED", HistoryError: "get execution history x: AccessDeniedException: not authorized"},
			"execution history not read in full: get execution history x: AccessDeniedException: not authorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rec.Reason, tc.rec.At = drill.ReasonSafetyNet, at
			var out bytes.Buffer
			printRecords(&out, []drill.RestoreRecord{tc.rec})
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 2 || lines[1] != strings.Repeat(" ", 20)+tc.want {
				t.Errorf("printed\n%s\nwant a second line\n%s", out.String(), tc.want)
			}
		})
	}
	var out bytes.Buffer
	printRecords(&out, []drill.RestoreRecord{{Reason: drill.ReasonSafetyNet, At: at, ExecutionStatus: "SUCCEEDED"}})
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("a record without history facts: %q, want one line", out.String())
	}
}

// TestReusedNameReportAndHistory: two runs of one name (Step Functions accepts a name
// again 90 days after its execution closed) each keep their evidence. drill report
// shows the latest and says how to pick the other, which --start shows; drill
// history lists both. Each command reads as a principal held to exactly its grants in
// policy.Commands.
func TestReusedNameReportAndHistory(t *testing.T) {
	env, err := local.Start(sandbox.Config{PropagationDelay: 200 * time.Millisecond, ReplicationLag: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	sc := env.Sandbox.Config()
	pols := local.Policies(sc, env.StateMachineArn)
	ledgerValues := policy.Values{LedgerArn: "arn:aws:s3:::" + sc.LedgerBucket}
	pols["drill-report"], pols["drill-history"] = policy.CommandFor("report", ledgerValues), policy.CommandFor("history", ledgerValues)
	env.Sandbox.SetPolicies(pols)
	input := json.RawMessage(`{"probeIntervalMs":50,"stableWindowSeconds":1,"stableSharePercent":95}`)
	var runs []*local.Outcome
	for range 2 {
		out, err := env.Run(context.Background(), local.RunOptions{Name: "drill-w23", Input: input})
		if err != nil || out.Report.Verdict != drill.Pass {
			t.Fatalf("run: %v %+v", err, out)
		}
		runs = append(runs, out)
	}
	first, second := runs[0].ID.StartTime.String(), runs[1].ID.StartTime.String()
	reportAs := func(context.Context, string) (history.LedgerAPI, error) {
		return awsconf.SandboxFactoryAs(env.Sandbox.S3Endpoints(), "drill-report")(sc.PrimaryRegion), nil
	}

	var stdout, stderr bytes.Buffer
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "drill-w23"}, &stdout, &stderr, reportAs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"verdict: PASS", "s3://" + sc.LedgerBucket + "/" + drill.ReportKey("drill-w23", runs[1].ID.StartTime),
		"drill-w23 started " + second + "; 1 other run(s) of this name, started " + first + ": pick one with --start <start>",
		"safety net          ", "after the execution ended SUCCEEDED"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the latest run's report lacks %q:\n%s%s", want, stdout.String(), stderr.String())
		}
	}
	stdout.Reset()
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "drill-w23", "--start", first, "--html", filepath.Join(t.TempDir(), "r.html")},
		&stdout, &stderr, reportAs); code != 0 {
		t.Fatalf("--start %s: exit %d\n%s%s", first, code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), drill.ReportKey("drill-w23", runs[0].ID.StartTime)) || !strings.Contains(stdout.String(), "drill-w23 started "+first+"; 1 other run(s)") {
		t.Errorf("--start %s did not show the first run:\n%s", first, stdout.String())
	}

	historyAs := func(context.Context, string) (history.LedgerAPI, error) {
		return awsconf.SandboxFactoryAs(env.Sandbox.S3Endpoints(), "drill-history")(sc.PrimaryRegion), nil
	}
	stdout.Reset()
	if code := runHistory(context.Background(), []string{"--ledger", sc.LedgerBucket, "--region", sc.PrimaryRegion, "--json"}, &stdout, &stderr, historyAs); code != 0 {
		t.Fatalf("history: exit %d\n%s", code, stderr.String())
	}
	var doc struct {
		Runs []history.Run `json:"runs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Runs) != 2 {
		t.Fatalf("history: %v\n%s", err, stdout.String())
	}
	for i, r := range doc.Runs {
		if r.Execution != "drill-w23" || !r.Time.Equal(runs[i].ID.StartTime.Time()) || !strings.Contains(r.Report, drill.ReportHTMLKey("drill-w23", runs[i].ID.StartTime)) {
			t.Errorf("history row %d %+v, want run %s", i, r, runs[i].ID)
		}
	}
}
