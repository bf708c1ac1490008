package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
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

// The production factories have the shape the commands take.
var (
	_ sfnFactory = awsSFN
	_ s3Factory  = awsS3
)
