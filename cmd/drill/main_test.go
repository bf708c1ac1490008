package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalJSONReport(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := runLocal(context.Background(), []string{
		"--json", "-propagation", "200ms", "-replication-lag", "20ms", "-prior", "partial",
		"-input", `{"probeIntervalMs":50,"stableWindowSeconds":1,"stableSharePercent":95}`, "-out", dir, "-name", "cli-test",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	// stdout is exactly one JSON document with the fields the issue promises.
	var rep map[string]any
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		t.Error("stdout holds more than the report")
	}
	for _, path := range []string{"verdict", "failover.seconds", "failover.servedRegion", "recovery.seconds",
		"userVisibleErrors", "cart.intact", "restore.matchesPrior", "steps", "sandbox.truth.failoverSeconds"} {
		if _, ok := lookup(rep, path); !ok {
			t.Errorf("report lacks %s", path)
		}
	}
	if v, _ := lookup(rep, "verdict"); v != "pass" {
		t.Errorf("verdict %v", v)
	}
	if !strings.Contains(stderr.String(), "AwaitFailover") || !strings.Contains(stderr.String(), "verdict: PASS") {
		t.Errorf("timeline missing from stderr:\n%s", stderr.String())
	}
	// The report and every probe mode's samples, as the ledger keeps them.
	for _, f := range []string{"report.json", "report.html", "samples-steady.json", "samples-failover.json", "samples-recovery.json"} {
		if _, err := os.Stat(filepath.Join(dir, "cli-test", f)); err != nil {
			t.Errorf("report file: %v", err)
		}
	}
}

func TestLocalExitCodes(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want int
		says string
	}{
		{name: "invalid input: nothing starts", args: []string{"-input", `{"items":0,"bogus":1}`}, want: 2, says: "--input: invalid input: bogus: unknown field; items: 0 is outside 1..20"},
		{name: "input not an object", args: []string{"-input", `[]`}, want: 2, says: `--input: must be a JSON object like {} or {"items":5}, got an array`},
		{name: "bad prior flag", args: []string{"-prior", "sideways"}, want: 2, says: "-prior"},
		{name: "unknown flag", args: []string{"-nope"}, want: 2, says: "-nope"},
		// Zero is "the default" inside the sandbox's config: refused, not replaced.
		{name: "no edge server", args: []string{"-edges", "0"}, want: 2, says: "-edges: 0 is outside 1..64"},
		{name: "zero response timeout", args: []string{"-response-timeout", "0"}, want: 2, says: "-response-timeout: 0s must be above 0"},
		{name: "zero connect timeout", args: []string{"-connect-timeout", "0s"}, want: 2, says: "-connect-timeout: 0s must be above 0"},
		{name: "every bad sandbox flag at once", args: []string{"-edges", "0", "-secondary-fail", "101", "-primary-outage", "slow", "-flap-from", "1"}, want: 2,
			says: `-flap-from: 1 is outside 0 to below 1; -secondary-fail: 101 is outside 0..100; -edges: 0 is outside 1..64; -primary-outage: "slow" is not forbidden, hang or blackhole`},
		{name: "negative cold start", args: []string{"-cold-start", "-1s"}, want: 2, says: "-cold-start: -1s is negative"},
		{name: "alarm at a state the flow does not have", args: []string{"-alarm-at", "Nowhere"}, want: 2, says: `-alarm-at "Nowhere": want a duration (3s) or one of the flow's states`},
		{name: "alarm at a state, a bad delay", args: []string{"-alarm-at", "AwaitFailover+soon"}, want: 2, says: `-alarm-at "AwaitFailover+soon": "soon" is not a duration`},
		{name: "out is a file", args: []string{"-out", "main_test.go"}, want: 2, says: "-out main_test.go: not a directory"},
		{name: "svg into a directory that does not exist", args: []string{"-svg", "/nonexistent/x.svg"}, want: 2, says: "-svg /nonexistent/x.svg: its directory /nonexistent does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runLocal(context.Background(), append([]string{"-out", t.TempDir()}, tt.args...), &stdout, &stderr)
			if code != tt.want {
				t.Errorf("exit %d, want %d", code, tt.want)
			}
			all := stdout.String() + stderr.String()
			if !strings.Contains(all, tt.says) {
				t.Errorf("output does not say %q:\n%s", tt.says, all)
			}
			// Refused before anything started: no sandbox, no execution, the error once.
			if strings.Contains(all, "sandbox up") || strings.Contains(all, "execution started") {
				t.Errorf("started something before refusing:\n%s", all)
			}
			if n := strings.Count(all, tt.says); n != 1 && tt.want == 2 && strings.HasPrefix(tt.says, "--input") {
				t.Errorf("the error printed %d times:\n%s", n, all)
			}
		})
	}
}

// The "done when": a lab whose origin group does not fail over on 403 stops
// within seconds, the sandbox's own change log shows the primary bucket never
// written, and the reason names 403 and the origin group; a dry run of a healthy lab
// exits 0 with verdict ready and never writes the bucket either.
func TestLocalReadinessExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		verdict string
		says    []string
	}{
		{"origin group without 403", []string{"-failover-codes", "500,502,503,504"}, 1, "fail", []string{"403", "origin group"}},
		{"dry run", []string{"-input", `{"dryRun":true}`}, 0, "ready", []string{"ready"}},
		{"dry run of a lab with its secondary down", []string{"-input", `{"dryRun":true}`, "-secondary-down"}, 1, "not-ready", []string{"secondary-origin"}},
		{"account-level Block Public Access", []string{"-account-block"}, 1, "fail", []string{"account-level Block Public Access"}},
		// A dry run whose distribution check was skipped proves nothing about failover:
		// it is not ready, and says which checks it skipped.
		{"dry run without a distribution ID", []string{"-input", `{"dryRun":true,"distributionId":""}`}, exitUnverified, "unverified",
			[]string{"unverified", "distribution", "secondary-origin", "replication", "distributionId"}},
		// A drill whose distribution check was skipped must not block a lab that
		// cannot fail over: it stops before the block, naming the skipped checks.
		{"drill without a distribution ID, origin group without 403", []string{"-failover-codes", "500,502,503,504", "-input", `{"distributionId":""}`}, 1, "fail",
			[]string{"skipped", "did not guard the block", "allowSkippedChecks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			began := time.Now()
			code := runLocal(context.Background(), append([]string{"--json", "-out", t.TempDir()}, tc.args...), &stdout, &stderr)
			took := time.Since(began)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			var rep struct {
				Verdict string
				Reasons []string
				Summary string
				Sandbox struct{ PrimaryBucketChanges []string }
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", rep.Verdict, tc.verdict)
			}
			for _, s := range tc.says {
				if !strings.Contains(strings.Join(rep.Reasons, " ")+rep.Summary, s) {
					t.Errorf("reasons do not say %q: %v", s, rep.Reasons)
				}
			}
			if rep.Sandbox.PrimaryBucketChanges == nil || len(rep.Sandbox.PrimaryBucketChanges) != 0 {
				t.Errorf("the sandbox's change log shows the primary bucket written: %v", rep.Sandbox.PrimaryBucketChanges)
			}
			t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
		})
	}
}

func TestSandboxPrintsURLs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runSandbox(context.Background(), []string{"-for", "100ms"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"Open it in a browser", "us-east-1", "us-west-1", "S3 endpoint", "website", "shop API", "http://127.0.0.1:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	// A person's output: the URLs, and no structured log line (those need -v or --log-json).
	if stderr.Len() != 0 || !strings.HasPrefix(stdout.String(), "The Unicorn Shop") {
		t.Errorf("human output with log lines:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}
