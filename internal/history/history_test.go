package history_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// report is a report.json of a run started at minute m with the given figures (0: not
// measured).
func report(t *testing.T, name string, m int, verdict string, failover, recovery float64, errs int) []byte {
	t.Helper()
	var r drill.Report
	r.Execution, r.Verdict = name, verdict
	r.StartedAt = time.Date(2026, 11, 1, 6, m, 0, 0, time.UTC)
	if failover > 0 {
		r.Failover.Seconds, r.Failover.Stable = failover, true
	}
	if recovery > 0 {
		r.Recovery.Seconds, r.Recovery.Stable = recovery, true
	}
	r.UserVisibleErrors = &errs
	r.Ending = &drill.Ending{Kind: drill.EndPassed, Touched: []string{}}
	if verdict == drill.Fail {
		r.Ending.Kind = drill.EndFailed
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSummary(t *testing.T) {
	var runs []history.Run
	for i, f := range []float64{10, 12, 11, 20, 22, 0} {
		verdict := drill.Pass
		if f == 0 || f > 15 {
			verdict = drill.Fail
		}
		r, err := history.FromReport(report(t, "r", i, verdict, f, f/2, i), "r/report.html")
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	s := history.Summarise(runs)
	if s.Runs != 6 || s.Passed != 3 || s.PassRate != 50 {
		t.Errorf("summary %+v", s)
	}
	if s.Failover.Measured != 5 || *s.Failover.P50 != 12 || *s.Failover.P95 != 21.6 {
		t.Errorf("failover percentiles %+v: want p50 12, p95 21.6 of 10 11 12 20 22", s.Failover)
	}
	if !strings.HasPrefix(s.Trend, "slower: failover median 21.000 s in the newer 2 runs, up 10.000 s") {
		t.Errorf("trend %q", s.Trend)
	}
	if runs[5].FailoverSeconds != nil {
		t.Error("a run that did not measure the failover has a figure")
	}
	line := history.Line(runs[5])
	if !strings.Contains(line, "failover -") || !strings.Contains(line, "errors 5") {
		t.Errorf("line %q", line)
	}
	if got := history.Summarise(runs[:3]).Trend; !strings.HasPrefix(got, "not enough runs") {
		t.Errorf("trend of 3 runs %q", got)
	}
}

func TestFromDirAndIndexPage(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"local-b", "local-a"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "report.json"), report(t, name, 10-i, drill.Pass, 1.5+float64(i), 1.2, 0), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "stray.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, problems, err := history.FromDir(dir)
	if err != nil || len(problems) > 0 || len(runs) != 2 {
		t.Fatalf("runs %v problems %v err %v", runs, problems, err)
	}
	if runs[0].Execution != "local-a" || runs[1].Report != "local-b/report.html" {
		t.Errorf("runs not oldest first, or links wrong: %+v", runs)
	}
	page := string(history.HTML(runs, history.Summarise(runs), dir))
	for _, want := range []string{"<svg", "<polyline", `href="local-a/report.html"`, "2 runs, 2 passed (100.0%)"} {
		if !strings.Contains(page, want) {
			t.Errorf("index page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("index page holds a script")
	}
}

// TestFromLedger reads the reports from the replica's ledger as a principal held to
// exactly policy.Commands["history"]: the grants the README documents suffice. Runs
// are read from their own folders and from the legacy ones of the previous version;
// each run is a row, however many runs share its name.
func TestFromLedger(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := sb.Config()
	sb.SetPolicies(map[string][]policy.Statement{
		"drill-history": policy.CommandFor("history", policy.Values{LedgerArn: "arn:aws:s3:::" + cfg.LedgerBucket}),
	})
	admin := awsconf.SandboxFactory(sb.S3Endpoints())(cfg.PrimaryRegion)
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := admin.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(cfg.LedgerBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	minute := func(m int) drill.Instant { return drill.At(time.Date(2026, 11, 1, 6, m, 0, 0, time.UTC)) }
	record := func(name string, m int, status string) []byte {
		b, _ := json.Marshal(drill.RestoreRecord{Execution: name, ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:failover-drill:" + name,
			StartTime: minute(m), Reason: drill.ReasonSafetyNet, ExecutionStatus: status, Result: &drill.RestoreResult{MatchesPrior: true}})
		return b
	}
	// Runs of the previous version, in their legacy folders (runs/<name>/): ci-1's
	// report with the safety net's record beside it (the report counts), and ci-4,
	// stopped, with only the safety net's record.
	put("runs/ci-1/report.json", report(t, "ci-1", 1, drill.Pass, 30, 20, 0))
	put("runs/ci-1/restore-safety-net.json", record("ci-1", 1, "SUCCEEDED"))
	put("runs/ci-4/restore-safety-net.json", record("ci-4", 4, "ABORTED"))
	// Runs in their own folders (runs/<name>/<start>/).
	put(drill.ReportKey("ci-2", minute(2)), report(t, "ci-2", 2, drill.Fail, 0, 0, 3))
	put(drill.SamplesKey("ci-2", minute(2), drill.ModeSteady), []byte(`{}`))
	put(drill.RunTicketKey(drill.RunID{Execution: "ci-2", StartTime: minute(2)}), []byte(`{}`))
	put(drill.ReportKey("ci-3", minute(3)), []byte(`{"hello":"world"}`))
	put(drill.LockKey("other-bucket"), []byte(`{}`))
	// ci-1 ran again, twice: a passed run, and one stopped before its report.
	put(drill.ReportKey("ci-1", minute(5)), report(t, "ci-1", 5, drill.Pass, 31, 21, 0))
	put(drill.RestoreRecordKey("ci-1", minute(6), drill.ReasonSafetyNet), record("ci-1", 6, "ABORTED"))

	api := awsconf.SandboxFactoryAs(sb.S3Endpoints(), "drill-history")(cfg.PrimaryRegion)
	runs, problems, err := history.FromLedger(context.Background(), api, cfg.LedgerBucket, cfg.PrimaryRegion, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Execution+" "+r.Time.Format("15:04")+" "+r.Verdict)
	}
	// Each run is a row: ci-1's three runs are three rows.
	want := []string{"ci-1 06:01 pass", "ci-2 06:02 fail", "ci-4 06:04 fail", "ci-1 06:05 pass", "ci-1 06:06 fail"}
	if !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
	if runs[1].Errors == nil || *runs[1].Errors != 3 {
		t.Errorf("ci-2 errors %v", runs[1].Errors)
	}
	if r := runs[2]; r.Ending != drill.EndAborted || !strings.Contains(r.Report, "runs/ci-4/restore-safety-net.json") {
		t.Errorf("the stopped run %+v, want it listed as failed, aborted, linking its restore record", r)
	}
	if r := runs[4]; r.Ending != drill.EndAborted || !strings.Contains(r.Report, "runs/ci-1/"+drill.KeyTime(minute(6))+"/restore-safety-net.json") {
		t.Errorf("the stopped rerun %+v, want it linking its own restore record", r)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "ci-3") {
		t.Errorf("problems %v, want the one that is not a report", problems)
	}
	if !strings.Contains(runs[0].Report, "prefix=runs/ci-1/report.html") || !strings.Contains(runs[3].Report, "prefix=runs/ci-1/"+drill.KeyTime(minute(5))+"/report.html") {
		t.Errorf("links %q, %q", runs[0].Report, runs[3].Report)
	}
	// The same principal may not read anything else of the ledger.
	_, err = api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(cfg.LedgerBucket), Key: aws.String(drill.SamplesKey("ci-2", minute(2), drill.ModeSteady))})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("reading a sample log: %v, want AccessDenied", err)
	}
}
