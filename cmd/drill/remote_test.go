package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/sandbox"
)

const (
	testSM     = "arn:aws:states:us-east-2:123456789012:stateMachine:failover-drill"
	testRegion = "us-east-2"
)

func testExecARN(name string) string {
	return "arn:aws:states:us-east-2:123456789012:execution:failover-drill:" + name
}

// testReport is a report as the Report function writes it.
func testReport(t *testing.T, verdict string) []byte {
	t.Helper()
	var rep drill.Report
	rep.Execution = "ci-1"
	rep.Verdict = verdict
	rep.Summary = "drill " + verdict
	if verdict == drill.Fail {
		rep.Reasons = []string{"cart not intact: 1 of 3 unicorns through the secondary API"}
	}
	rep.Failover.Seconds, rep.Failover.ServedRegion = 12.345, "us-west-1"
	rep.Recovery.Seconds, rep.Recovery.ServedRegion = 8.5, "us-east-1"
	errs := 2
	rep.UserVisibleErrors = &errs
	rep.Cart.Intact = verdict == drill.Pass
	rep.Cart.Expected = []string{"a", "b", "c"}
	rep.Cart.Got = []string{"a", "b", "c"}
	rep.Restore.MatchesPrior = true
	rep.DryRun = verdict == drill.Ready || verdict == drill.SkippedBusy
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apiError is an error answer in the awsJson1_0 protocol.
type apiError struct {
	status int
	typ    string
}

// fakeScript is what a fake Step Functions answers: RUNNING for the first `running`
// polls, then `final`.
type fakeScript struct {
	running     int
	final       map[string]any // DescribeExecution's answer once the execution ended
	startErr    *apiError
	describeErr *apiError
	onDescribe  func(n int) // called with the poll number, before answering
}

// fakeSFN speaks the Step Functions awsJson1_0 protocol for StartExecution and
// DescribeExecution, as its script says, and records the requests.
type fakeSFN struct {
	fakeScript
	t         *testing.T
	mu        sync.Mutex
	starts    []map[string]any
	describes int
}

func (f *fakeSFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("%s %s, want POST /", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.0" {
		f.t.Errorf("Content-Type %q", ct)
	}
	if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/"+testRegion+"/states/aws4_request") {
		f.t.Errorf("request not signed for states in %s: %q", testRegion, auth)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		// A client that gave up mid-request (the wait's deadline) sends half a body;
		// a malformed one fails the cases' body assertions.
		writeAPIError(w, apiError{400, "SerializationException"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "AWSStepFunctions.StartExecution":
		f.starts = append(f.starts, body)
		if f.startErr != nil {
			writeAPIError(w, *f.startErr)
			return
		}
		name, _ := body["name"].(string)
		if name == "" {
			name = "0b9f1c1e-generated"
		}
		writeAmzJSON(w, map[string]any{"executionArn": testExecARN(name), "startDate": 1.7e9})
	case "AWSStepFunctions.DescribeExecution":
		f.describes++
		if f.onDescribe != nil {
			f.onDescribe(f.describes)
		}
		if f.describeErr != nil {
			writeAPIError(w, *f.describeErr)
			return
		}
		arn, _ := body["executionArn"].(string)
		if len(f.starts) == 0 || !strings.HasPrefix(arn, testExecARN("")) {
			f.t.Errorf("DescribeExecution of %q", arn)
		}
		answer := map[string]any{"executionArn": arn, "name": arn[strings.LastIndex(arn, ":")+1:],
			"stateMachineArn": testSM, "status": "RUNNING", "startDate": 1.7e9}
		if f.describes > f.running {
			for k, v := range f.final {
				answer[k] = v
			}
		}
		writeAmzJSON(w, answer)
	default:
		writeAPIError(w, apiError{400, "UnknownOperationException"})
	}
}

func writeAmzJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + e.typ, "message": "fake: " + e.typ})
}

// sfnAt is a real SDK client pointed at url, with dummy static credentials.
func sfnAt(t *testing.T, url string, gotRegion *string, optFns ...func(*sfn.Options)) sfnFactory {
	t.Helper()
	return func(_ context.Context, region string) (sfnClient, error) {
		*gotRegion = region
		return sfn.NewFromConfig(awsconf.SandboxConfig(region), append([]func(*sfn.Options){func(o *sfn.Options) {
			o.BaseEndpoint = aws.String(url)
		}}, optFns...)...), nil
	}
}

func TestStart(t *testing.T) {
	pass, fail, ready := string(testReport(t, drill.Pass)), string(testReport(t, drill.Fail)), string(testReport(t, drill.Ready))
	succeeded := func(out string) map[string]any { return map[string]any{"status": "SUCCEEDED", "output": out} }
	wait := []string{"--state-machine", testSM, "--wait", "--poll", "1ms", "--name", "ci-1"}
	for _, tt := range []struct {
		name      string
		env       string // DRILL_STATE_MACHINE_ARN
		args      []string
		fake      fakeScript
		unreached bool // the fake's server is closed: AWS cannot be reached
		want      int
		starts    int            // StartExecution calls
		startBody map[string]any // the StartExecution body, if starts == 1
		describes int            // DescribeExecution calls, -1: don't check
		stdout    []string       // lines (substrings) stdout must hold
		stderr    []string       // and stderr
		jsonOut   map[string]any // stdout as one JSON document, fields compared
	}{
		{
			name: "pass after two RUNNING polls", args: append(wait, "--input", `{"items":5}`),
			fake: fakeScript{running: 2, final: succeeded(pass)}, want: 0, starts: 1, describes: 3,
			startBody: map[string]any{"stateMachineArn": testSM, "input": `{"items":5}`, "name": "ci-1"},
			stdout: []string{"execution " + testExecARN("ci-1"), "RUNNING\n", "SUCCEEDED\n", "verdict: PASS",
				"failover            12.345 s to us-west-1", "recovery            8.500 s to us-east-1",
				"user-visible errors 2", "cart intact         true (3 of 3 unicorns)",
				"report              drill report --ledger <LedgerBucketName> --execution ci-1 --start 2023-11-14T22:13:20.000Z"},
		},
		{
			name: "drill failed: FAILED with error and cause", args: wait,
			fake: fakeScript{running: 2, final: map[string]any{"status": "FAILED", "error": "DrillFailed", "cause": "cart not intact"}},
			want: 1, starts: 1, describes: 3,
			stdout: []string{"status: FAILED", "error               DrillFailed", "cause               cart not intact"},
		},
		{
			name: "execution succeeded but verdict fail", args: wait,
			fake: fakeScript{final: succeeded(fail)}, want: 1, starts: 1, describes: 1,
			stdout: []string{"verdict: FAIL", "  - cart not intact: 1 of 3", "cart intact         false"},
		},
		{
			name: "dry run ready: exit 0", args: append(wait, "--input", `{"dryRun":true}`),
			fake: fakeScript{final: succeeded(ready)}, want: 0, starts: 1, describes: 1,
			stdout: []string{"verdict: READY", "dry run             the bucket was read, never written"},
		},
		{
			name: "dry run not ready: exit 1 with the failed check", args: append(wait, "--input", `{"dryRun":true}`),
			fake: fakeScript{final: map[string]any{"status": "FAILED", "error": "NotReady", "cause": "not ready, nothing was changed: distribution: origin group g fails over on [500] only, not on 403"}},
			want: 1, starts: 1, describes: 1,
			stdout: []string{"error               NotReady", "not on 403"},
		},
		{
			name: "dry run unverified: exit 4 with the skipped checks", args: append(wait, "--input", `{"dryRun":true}`),
			fake: fakeScript{final: map[string]any{"status": "FAILED", "error": "Unverified", "cause": "unverified: skipped distribution: no distributionId is configured"}},
			want: 4, starts: 1, describes: 1,
			stdout: []string{"error               Unverified", "skipped distribution"},
		},
		{
			name: "dry run a drill disturbed: exit 5", args: append(wait, "--input", `{"dryRun":true}`),
			fake: fakeScript{final: succeeded(string(testReport(t, drill.SkippedBusy)))}, want: 5, starts: 1, describes: 1,
			stdout: []string{"verdict: SKIPPED"},
		},
		{
			name: "timed out: safety net", args: wait,
			fake: fakeScript{running: 1, final: map[string]any{"status": "TIMED_OUT"}}, want: 1, starts: 1, describes: 2,
			stdout: []string{"status: TIMED_OUT", "safety net"},
		},
		{
			name: "output is not a report", args: wait,
			fake: fakeScript{final: succeeded(`{"hello":"world"}`)}, want: 1, starts: 1, describes: 1,
			stderr: []string{"SUCCEEDED but its output is not a drill report"},
		},
		{
			name: "json: the report on stdout", args: append(wait, "--json"),
			fake: fakeScript{running: 2, final: succeeded(pass)}, want: 0, starts: 1, describes: 3,
			jsonOut: map[string]any{"verdict": "pass", "execution": "ci-1"}, stderr: []string{"verdict: PASS", "SUCCEEDED"},
		},
		{
			name: "json: status, error and cause", args: append(wait, "--json"),
			fake: fakeScript{final: map[string]any{"status": "ABORTED", "error": "States.Aborted", "cause": "stopped by ops"}},
			want: 1, starts: 1, describes: 1,
			jsonOut: map[string]any{"status": "ABORTED", "error": "States.Aborted", "cause": "stopped by ops", "executionArn": testExecARN("ci-1")},
		},
		{
			name: "no wait: print the execution ARN", args: []string{"--state-machine", testSM},
			fake: fakeScript{}, want: 0, starts: 1, describes: 0,
			startBody: map[string]any{"stateMachineArn": testSM, "input": "{}"},
			stdout:    []string{testExecARN("0b9f1c1e-generated") + "\n"},
		},
		{
			name: "ARN from the environment", env: testSM, args: []string{"--json"},
			fake: fakeScript{}, want: 0, starts: 1, describes: 0,
			jsonOut: map[string]any{"executionArn": testExecARN("0b9f1c1e-generated")},
		},
		{
			name: "wait timeout: no verdict, execution left running", args: append(wait, "--timeout", "30ms", "--poll", "5ms"),
			fake: fakeScript{running: 1 << 30}, want: 3, starts: 1, describes: -1,
			stderr: []string{"stopped waiting: context deadline exceeded", "keeps running",
				"stop-execution --execution-arn " + testExecARN("ci-1"), "safety net"},
		},
		{
			name: "describe fails: no verdict", args: append(wait, "--json"),
			fake: fakeScript{describeErr: &apiError{400, "AccessDeniedException"}}, want: 3, starts: 1, describes: 1,
			stderr:  []string{"AccessDeniedException", "keeps running"},
			jsonOut: map[string]any{"status": "RUNNING", "error": "NoVerdict"},
		},
		{
			name: "state machine does not exist", args: wait,
			fake: fakeScript{startErr: &apiError{400, "StateMachineDoesNotExist"}}, want: 3, starts: 1, describes: 0,
			stderr: []string{"StateMachineDoesNotExist"},
		},
		{
			name: "AWS unreachable", args: wait, unreached: true, want: 3, describes: -1,
			stderr: []string{"start execution of " + testSM},
		},
		{name: "no ARN", args: []string{"--wait"}, want: 2, stderr: []string{"--state-machine (or $DRILL_STATE_MACHINE_ARN) is required"}},
		{name: "malformed ARN", args: []string{"--state-machine", "arn:aws:states:us-east-2:123:stateMachine:x"}, want: 2, stderr: []string{"--state-machine:", "not a state machine ARN"}},
		{name: "malformed ARN from env", env: "failover-drill", want: 2, stderr: []string{"DRILL_STATE_MACHINE_ARN:", "not a state machine ARN"}},
		{name: "input not an object", args: []string{"--state-machine", testSM, "--input", `[1]`}, want: 2, stderr: []string{"--input: must be a JSON object"}},
		{name: "input not JSON", args: []string{"--state-machine", testSM, "--input", `{items:3}`}, want: 2, stderr: []string{"--input: must be a JSON object"}},
		{name: "input with a typo", args: []string{"--state-machine", testSM, "--input", `{"itmes":3,"probeIntervalMs":1}`}, want: 2, stderr: []string{"--input: invalid input: itmes: unknown field; probeIntervalMs: 1 is outside 10..10000"}},
		{name: "bad name", args: []string{"--state-machine", testSM, "--name", "ci run"}, want: 2, stderr: []string{"--name:"}},
		{name: "region differs from the ARN's", args: []string{"--state-machine", testSM, "--region", "eu-west-1"}, want: 2, stderr: []string{"--region eu-west-1: the state machine is in us-east-2"}},
		{name: "bad poll", args: []string{"--state-machine", testSM, "--wait", "--poll", "0s"}, want: 2, stderr: []string{"--poll"}},
		{name: "unknown flag", args: []string{"--nope"}, want: 2, stderr: []string{"-nope"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvStateMachineARN, tt.env)
			fake := &fakeSFN{fakeScript: tt.fake, t: t}
			srv := httptest.NewServer(fake)
			var gotRegion string
			var opts []func(*sfn.Options)
			if tt.unreached {
				srv.Close()
				opts = append(opts, func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
			} else {
				defer srv.Close()
			}
			var stdout, stderr bytes.Buffer
			code := runStart(context.Background(), tt.args, &stdout, &stderr, sfnAt(t, srv.URL, &gotRegion, opts...))
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout.String(), stderr.String())
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.starts) != tt.starts {
				t.Errorf("%d StartExecution calls, want %d", len(fake.starts), tt.starts)
			}
			if tt.starts > 0 && gotRegion != testRegion {
				t.Errorf("client region %q, want the ARN's %q", gotRegion, testRegion)
			}
			if tt.startBody != nil && len(fake.starts) == 1 && !reflect.DeepEqual(fake.starts[0], tt.startBody) {
				t.Errorf("StartExecution body %v, want %v", fake.starts[0], tt.startBody)
			}
			if tt.describes >= 0 && fake.describes != tt.describes {
				t.Errorf("%d DescribeExecution calls, want %d", fake.describes, tt.describes)
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
			if tt.jsonOut != nil {
				checkJSONDoc(t, stdout.Bytes(), tt.jsonOut)
			}
		})
	}
}

// TestStartInterrupted: Ctrl-C while waiting ends the wait, not the execution.
func TestStartInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeSFN{t: t, fakeScript: fakeScript{running: 1 << 30, onDescribe: func(n int) {
		if n == 2 {
			cancel()
		}
	}}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var region string
	var stdout, stderr bytes.Buffer
	code := runStart(ctx, []string{"--state-machine", testSM, "--wait", "--poll", "1ms"}, &stdout, &stderr, sfnAt(t, srv.URL, &region))
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	for _, s := range []string{"context canceled", "the execution keeps running", "aws stepfunctions stop-execution --execution-arn", "ABORTED"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
		}
	}
	if strings.Contains(stdout.String(), "verdict") {
		t.Errorf("a verdict without an end:\n%s", stdout.String())
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

// The production factories have the shape the commands take.
var (
	_ sfnFactory = awsSFN
	_ s3Factory  = awsS3
)
