package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
)

// TestStartJUnit: drill start --wait --junit writes the result as JUnit XML, through
// the real SDK against a fake Step Functions: a pass is a passed case, a failed drill
// a <failure> with its reasons, a FAILED execution a <failure> with its error, a wait
// that ended an <error>. --junit without --wait, or into a missing folder, starts
// nothing.
func TestStartJUnit(t *testing.T) {
	pass, fail := string(testReport(t, drill.Pass)), string(testReport(t, drill.Fail))
	succeeded := func(out string) map[string]any { return map[string]any{"status": "SUCCEEDED", "output": out} }
	for _, tt := range []struct {
		name     string
		script   fakeScript
		extra    []string
		exit     int
		failures int
		errors   int
		has      []string // substrings of the XML
	}{
		{"pass", fakeScript{final: succeeded(pass)}, nil, 0, 0, 0, []string{`name="ci-j"`, "verdict: PASS"}},
		{"verdict fail", fakeScript{final: succeeded(fail)}, nil, 1, 1, 0, []string{`<failure message=`, `type="fail"`, "cart not intact"}},
		{"execution FAILED", fakeScript{final: map[string]any{"status": "FAILED", "error": "DrillFailed", "cause": "bucket changed"}}, nil, 1, 1, 0,
			[]string{`message="DrillFailed: bucket changed"`, `type="FAILED"`}},
		{"wait ended", fakeScript{running: 1 << 30}, []string{"--timeout", "50ms"}, exitNoVerdict, 0, 1, []string{"<error message="}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeSFN{fakeScript: tt.script, t: t})
			defer srv.Close()
			file := filepath.Join(t.TempDir(), "drill.xml")
			args := append([]string{"--state-machine", testSM, "--wait", "--poll", "1ms", "--name", "ci-j", "--junit", file}, tt.extra...)
			var stdout, stderr bytes.Buffer
			var region string
			if code := runStart(context.Background(), args, &stdout, &stderr, sfnAt(t, srv.URL, &region)); code != tt.exit {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.exit, stdout.String(), stderr.String())
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc junitSuites
			if err := xml.Unmarshal(raw, &doc); err != nil || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 1 {
				t.Fatalf("not one suite of one case: %v\n%s", err, raw)
			}
			s := doc.Suites[0]
			if s.Tests != 1 || s.Failures != tt.failures || s.Errors != tt.errors || s.Cases[0].Name != "ci-j" {
				t.Errorf("suite tests %d failures %d errors %d case %q; want 1 %d %d ci-j\n%s", s.Tests, s.Failures, s.Errors, s.Cases[0].Name, tt.failures, tt.errors, raw)
			}
			for _, want := range tt.has {
				if !strings.Contains(string(raw), want) {
					t.Errorf("XML lacks %s:\n%s", want, raw)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"--state-machine", testSM, "--junit", filepath.Join(t.TempDir(), "x.xml")},
		{"--state-machine", testSM, "--wait", "--junit", "/nonexistent/x.xml"},
	} {
		var stdout, stderr bytes.Buffer
		noSFN := func(context.Context, string) (sfnClient, error) {
			t.Fatal("started with a bad --junit")
			return nil, nil
		}
		if code := runStart(context.Background(), args, &stdout, &stderr, noSFN); code != exitUsage || !strings.Contains(stderr.String(), "--junit") {
			t.Errorf("%v: exit %d, want 2 naming --junit: %s", args, code, stderr.String())
		}
	}
}
