package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

// checkJSONDoc: doc is exactly one JSON object holding want's fields.
func checkJSONDoc(t *testing.T, doc []byte, want map[string]any) {
	t.Helper()
	var got map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, doc)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON document:\n%s", doc)
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestReport(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := sb.Config()
	ledger, primary := cfg.LedgerBucket, cfg.PrimaryRegion
	clients := awsconf.SandboxFactory(sb.S3Endpoints())
	put := func(key string, body []byte) {
		t.Helper()
		_, err := clients(primary).PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(ledger), Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	pass := testReport(t, drill.Pass)
	html := []byte("<!doctype html><title>drill ci-pass</title>")
	// ci-pass was written by the previous version, in its legacy folder
	// (runs/<name>/report.json); the others in their runs' folders
	// (runs/<name>/<start>/report.json).
	put("runs/ci-pass/report.json", pass)
	put("runs/ci-pass/report.html", html)
	s1 := drill.At(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC))
	put(drill.ReportKey("ci-fail", s1), testReport(t, drill.Fail))
	put(drill.ReportKey("not-a-report", s1), []byte(`{"hello":"world"}`))
	// ci-again ran three times: once under the previous version (legacy folder), then
	// twice more after its name became free again.
	again := func(verdict string, start drill.Instant) []byte {
		var rep map[string]any
		_ = json.Unmarshal(testReport(t, verdict), &rep)
		rep["execution"], rep["startedAt"] = "ci-again", start.String()
		b, _ := json.Marshal(rep)
		return b
	}
	a0 := drill.At(time.Date(2025, 9, 1, 6, 0, 0, 0, time.UTC))
	a1 := drill.At(time.Date(2025, 12, 1, 6, 0, 0, 250e6, time.UTC))
	a2 := drill.At(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC))
	put("runs/ci-again/report.json", again(drill.Fail, a0))
	put(drill.ReportKey("ci-again", a1), again(drill.Pass, a1))
	put(drill.ReportKey("ci-again", a2), again(drill.Ready, a2))

	// The configured region, when --region is not given, is the ledger's.
	var gotRegion string
	factory := func(_ context.Context, region string) (history.LedgerAPI, error) {
		gotRegion = region
		if region == "" {
			region = primary
		}
		return clients(region), nil
	}
	htmlFile := filepath.Join(t.TempDir(), "report.html")
	for _, tt := range []struct {
		name    string
		args    []string
		want    int
		stdout  []string
		stderr  []string
		jsonOut bool // stdout is the stored report, structurally
		check   func(*testing.T, string)
	}{
		{
			name: "pass", args: []string{"--ledger", ledger, "--execution", "ci-pass"}, want: 0,
			stdout: []string{"verdict: PASS", "failover            12.345 s to us-west-1", "report              s3://" + ledger + "/runs/ci-pass/report.json"},
		},
		{name: "json", args: []string{"--ledger", ledger, "--execution", "ci-pass", "--json", "--region", primary}, want: 0, jsonOut: true},
		{
			name: "html saved", args: []string{"--ledger", ledger, "--execution", "ci-pass", "--html", htmlFile}, want: 0,
			stdout: []string{"html                " + htmlFile},
			check: func(t *testing.T, _ string) {
				if b, err := os.ReadFile(htmlFile); err != nil || !bytes.Equal(b, html) {
					t.Errorf("html file %q, %v", b, err)
				}
			},
		},
		{name: "fail verdict", args: []string{"--ledger", ledger, "--execution", "ci-fail"}, want: 1, stdout: []string{"verdict: FAIL", "  - cart not intact",
			"report              s3://" + ledger + "/runs/ci-fail/20260302T060000.000Z/report.json"}},
		// A reused name: the latest run, and how to pick another.
		{name: "several runs: the latest", args: []string{"--ledger", ledger, "--execution", "ci-again"}, want: 0,
			stdout: []string{"verdict: READY", "ci-again started 2026-03-02T06:00:00.000Z; 2 other run(s) of this name, started " +
				"2025-09-01T06:00:00.000Z (runs/ci-again/, an older version's folder), 2025-12-01T06:00:00.250Z: pick one with --start <start>"}},
		{name: "several runs: --start", args: []string{"--ledger", ledger, "--execution", "ci-again", "--start", "2025-12-01T06:00:00.250Z"}, want: 0,
			stdout: []string{"verdict: PASS", "ci-again started 2025-12-01T06:00:00.250Z;", "runs/ci-again/20251201T060000.250Z/report.json", "2 other run(s)"}},
		{name: "several runs: --start in epoch milliseconds", args: []string{"--ledger", ledger, "--execution", "ci-again", "--start", fmt.Sprint(a1.Time().UnixMilli())}, want: 0,
			stdout: []string{"ci-again started 2025-12-01T06:00:00.250Z;"}},
		{name: "several runs: --start of the older version's run", args: []string{"--ledger", ledger, "--execution", "ci-again", "--start", "2025-09-01T06:00:00Z"}, want: 1,
			stdout: []string{"verdict: FAIL", "ci-again started 2025-09-01T06:00:00.000Z;", "s3://" + ledger + "/runs/ci-again/report.json"}},
		{name: "several runs: no run at --start", args: []string{"--ledger", ledger, "--execution", "ci-again", "--start", "2026-01-01T00:00:00Z"}, want: 1,
			stderr: []string{"no run named ci-again started at 2026-01-01T00:00:00.000Z", "its runs started at 2025-09-01T06:00:00.000Z"}},
		{name: "several runs: json names the others", args: []string{"--ledger", ledger, "--execution", "ci-again", "--json"}, want: 0,
			stderr: []string{"2 other run(s)"}, check: func(t *testing.T, out string) {
				var doc struct {
					Verdict   string `json:"verdict"`
					OtherRuns []struct {
						StartTime string `json:"startTime"`
						Folder    string `json:"folder"`
					} `json:"otherRuns"`
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Verdict != drill.Ready || len(doc.OtherRuns) != 2 ||
					doc.OtherRuns[1].Folder != "s3://"+ledger+"/runs/ci-again/20251201T060000.250Z/" || doc.OtherRuns[0].StartTime != "2025-09-01T06:00:00.000Z" {
					t.Errorf("json %+v, %v:\n%s", doc, err, out)
				}
			}},
		{name: "bad --start", args: []string{"--ledger", ledger, "--execution", "ci-again", "--start", "last tuesday"}, want: 2, stderr: []string{"--start"}},
		{name: "missing report", args: []string{"--ledger", ledger, "--execution", "ci-nope"}, want: 1, stderr: []string{"no run named ci-nope in s3://" + ledger + "/runs/ci-nope/"}},
		{name: "missing html", args: []string{"--ledger", ledger, "--execution", "ci-fail", "--html", filepath.Join(t.TempDir(), "x.html")}, want: 1,
			stderr: []string{"s3://" + ledger + "/runs/ci-fail/20260302T060000.000Z/report.html"}},
		{name: "missing bucket", args: []string{"--ledger", "no-such-ledger", "--execution", "ci-pass"}, want: 1, stderr: []string{"bucket no-such-ledger does not exist", "runs/ci-pass/"}},
		{name: "not a report", args: []string{"--ledger", ledger, "--execution", "not-a-report"}, want: 1, stderr: []string{"not a drill report"}},
		{name: "ledger in another region", args: []string{"--ledger", ledger, "--execution", "ci-pass", "--region", cfg.SecondaryRegion}, want: 3, stderr: []string{"PermanentRedirect"}},
		{name: "no ledger", args: []string{"--execution", "ci-pass"}, want: 2, stderr: []string{"--ledger is required"}},
		{name: "no execution", args: []string{"--ledger", ledger}, want: 2, stderr: []string{"--execution is required"}},
		{name: "bad execution", args: []string{"--ledger", ledger, "--execution", "../x"}, want: 2, stderr: []string{"--execution:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runReport(context.Background(), tt.args, &stdout, &stderr, factory)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout.String(), stderr.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tt.jsonOut {
				if gotRegion != primary {
					t.Errorf("region %q, want --region's %q", gotRegion, primary)
				}
				var got, want any
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("stdout: %v\n%s", err, stdout.String())
				}
				_ = json.Unmarshal(pass, &want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("stdout %v\nwant %v", got, want)
				}
			}
			if tt.check != nil {
				tt.check(t, stdout.String())
			}
		})
	}
}
