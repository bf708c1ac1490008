package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
)

// TestJSONIsOneObjectWhateverTheExitCode: with --json, stdout holds exactly one JSON
// object for every exit code of every command that takes --json, and the error is
// printed once on stderr.
func TestJSONIsOneObjectWhateverTheExitCode(t *testing.T) {
	pass, fail := string(testReport(t, drill.Pass)), string(testReport(t, drill.Fail))
	startWith := func(final map[string]any, closed bool) func(args []string, stdout, stderr *bytes.Buffer) int {
		return func(args []string, stdout, stderr *bytes.Buffer) int {
			fake := &fakeSFN{t: t, fakeScript: fakeScript{final: final}}
			srv := httptest.NewServer(fake)
			if closed {
				srv.Close()
			} else {
				defer srv.Close()
			}
			var region string
			return runStart(context.Background(), args, stdout, stderr, sfnAt(t, srv.URL, &region))
		}
	}
	noS3 := func(context.Context, string) (s3Reader, error) { return nil, errNoRegion }
	noLedger := func(context.Context, string) (s3Reader, error) { return nil, errNoRegion }
	wait := []string{"--json", "--state-machine", testSM, "--wait", "--poll", "1ms"}
	for _, tt := range []struct {
		name string
		run  func(args []string, stdout, stderr *bytes.Buffer) int
		args []string
		want int
		key  string // a field the object must have
	}{
		{"start pass", startWith(map[string]any{"status": "SUCCEEDED", "output": pass}, false), wait, 0, "verdict"},
		{"start fail", startWith(map[string]any{"status": "SUCCEEDED", "output": fail}, false), wait, 1, "verdict"},
		{"start failed execution", startWith(map[string]any{"status": "FAILED", "error": "DrillFailed", "cause": "x"}, false), wait, 1, "status"},
		{"start usage", startWith(nil, false), []string{"--json", "--state-machine", "nope"}, 2, "message"},
		{"start flag error", startWith(nil, false), []string{"--json", "--bogus"}, 2, "message"},
		{"start unreachable", startWith(nil, true), wait, 3, "message"},
		{"report usage", func(a []string, o, e *bytes.Buffer) int { return runReport(context.Background(), a, o, e, noS3) },
			[]string{"--json", "--ledger", "Bad_Bucket", "--execution", "x"}, 2, "message"},
		{"report no region", func(a []string, o, e *bytes.Buffer) int { return runReport(context.Background(), a, o, e, noS3) },
			[]string{"--json", "--ledger", "ledger-bucket", "--execution", "x"}, 2, "message"},
		{"history no region", func(a []string, o, e *bytes.Buffer) int {
			return runHistory(context.Background(), a, o, e, noLedger)
		}, []string{"--json", "--ledger", "ledger-bucket"}, 2, "message"},
		{"history no folder", func(a []string, o, e *bytes.Buffer) int {
			return runHistory(context.Background(), a, o, e, noLedger)
		}, []string{"--json", "--dir", t.TempDir() + "/none"}, 2, "message"},
		{"local usage", func(a []string, o, e *bytes.Buffer) int { return runLocal(context.Background(), a, o, e) },
			[]string{"--json", "-input", `{"items":0,"bogus":1}`}, 2, "message"},
		{"local fail", func(a []string, o, e *bytes.Buffer) int { return runLocal(context.Background(), a, o, e) },
			[]string{"--json", "-out", t.TempDir(), "-propagation", "200ms", "-input", `{"failoverTimeoutSeconds":1,"stableWindowSeconds":1,"stableSharePercent":95,"probeIntervalMs":50}`}, 1, "verdict"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := tt.run(tt.args, &stdout, &stderr); code != tt.want {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tt.want, stderr.String())
			}
			var doc map[string]any
			dec := json.NewDecoder(&stdout)
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout.String())
			}
			if dec.More() {
				t.Errorf("stdout holds more than one JSON object")
			}
			if _, ok := doc[tt.key]; !ok {
				t.Errorf("object lacks %q: %v", tt.key, doc)
			}
			if msg, ok := doc["message"].(string); ok && strings.Count(stderr.String(), msg) != 1 {
				t.Errorf("stderr should say %q exactly once:\n%s", msg, stderr.String())
			}
		})
	}
}

// TestNoCredentialsGiveAHint: with no credentials anywhere, drill start says in one
// line what to set, and shows the SDK's chain only under -v.
func TestNoCredentialsGiveAHint(t *testing.T) {
	noAWSConfig(t)
	for _, verbose := range []bool{false, true} {
		args := []string{"--state-machine", testSM}
		if verbose {
			args = append(args, "-v")
		}
		sdkVerbose = verbose
		var stdout, stderr bytes.Buffer
		if code := runStart(context.Background(), args, &stdout, &stderr, awsSFN); code != exitNoVerdict {
			t.Errorf("exit %d, want %d", code, exitNoVerdict)
		}
		msg := stderr.String()
		if !strings.HasPrefix(msg, "drill start: no AWS credentials: set AWS_PROFILE") || !strings.Contains(msg, "AWS_ACCESS_KEY_ID") {
			t.Errorf("no one-line hint:\n%s", msg)
		}
		if hasSDK := strings.Contains(msg, "SDK: "); hasSDK != verbose {
			t.Errorf("-v %v: the SDK's error shown %v:\n%s", verbose, hasSDK, msg)
		}
		if !verbose && strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("more than one line without -v:\n%s", msg)
		}
	}
	sdkVerbose = false
}

// noAWSConfig leaves the SDK no credentials anywhere: no keys, no profile, no files,
// no instance metadata.
func noAWSConfig(t *testing.T) {
	empty := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", empty)
	t.Setenv("AWS_CONFIG_FILE", empty+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // no IMDS here, and no waiting for it
}
