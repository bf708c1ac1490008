package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSummaryOfARealRun runs go test -json on a small module written here (a pass, a
// failure with its message, a skip with its reason, a subtest, a package without
// tests, a package that does not build) and checks testlog's lines: one per package,
// the failure's output at once, the skips with their reasons at the end, and the
// closing line.
func TestSummaryOfARealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: this test runs go test on a module of its own")
	}
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/unishop/failover-drill\n\ngo 1.22\n")
	write("a/a_test.go", `package a

import "testing"

func TestPass(t *testing.T) {
	t.Run("sub", func(t *testing.T) {})
}
func TestFail(t *testing.T) { t.Log("context line"); t.Fatal("the cart is gone") }
func TestSkip(t *testing.T) { t.Skip("SKIP: no chromium on PATH") }
`)
	write("b/b.go", "package b\n")
	write("c/c_test.go", "package c\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) { undefined() }\n")

	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	raw, _ := cmd.Output() // exit 1: a test fails, on purpose

	var buf bytes.Buffer
	s := newSummary(&buf, time.Now)
	s.read(bytes.NewReader(raw), time.Hour)
	s.close()
	out := buf.String()
	for _, want := range []string{
		"--- FAIL: a TestFail", "context line", "the cart is gone",
		"FAIL  a ", "1 failed, 1 skipped",
		"-     b ", "no tests",
		"FAIL  c ", "undefined: undefined",
		"skipped (1):\n  a TestSkip: SKIP: no chromium on PATH\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "=== RUN") {
		t.Errorf("go test's framing in the output:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "2 passed, 1 failed, 1 skipped" {
		t.Errorf("closing line %q, want %q\n%s", last, "2 passed, 1 failed, 1 skipped", out)
	}
	if s.failedPackages != 2 {
		t.Errorf("%d failed packages, want 2 (a test failed in a, c does not build)", s.failedPackages)
	}
}

// TestHeartbeat: while a package runs, a line every tick names it and its time.
func TestHeartbeat(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	s := newSummary(&buf, func() time.Time { return now })
	s.handle(event{Action: "start", Package: "github.com/unishop/failover-drill/functions"})
	now = now.Add(90 * time.Second)
	s.heartbeat()
	if got := buf.String(); got != "...   1m30s elapsed, still running: functions (1m30s)\n" {
		t.Errorf("heartbeat %q", got)
	}
	s.handle(event{Action: "pass", Package: "github.com/unishop/failover-drill/functions", Elapsed: 90})
	buf.Reset()
	s.heartbeat()
	if buf.Len() != 0 {
		t.Errorf("a heartbeat with nothing running: %q", buf.String())
	}
}
