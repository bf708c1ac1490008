package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/history"
)

// TestTwoLocalRunsThenHistory: drill history lists both runs of drill local, with a
// summary line, and writes an index page linking both reports.
func TestTwoLocalRunsThenHistory(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"hist-1", "hist-2"} {
		var stdout, stderr bytes.Buffer
		code := runLocal(context.Background(), []string{"-propagation", "200ms", "-replication-lag", "20ms", "-out", dir, "-name", name,
			"-input", `{"probeIntervalMs":50,"stableWindowSeconds":1,"stableSharePercent":95}`}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", name, code, stdout.String(), stderr.String())
		}
	}
	noLedger := func(context.Context, string) (s3Reader, error) {
		t.Fatal("drill history asked for AWS without --ledger")
		return nil, nil
	}
	index := filepath.Join(t.TempDir(), "index.html")
	var stdout, stderr bytes.Buffer
	if code := runHistory(context.Background(), []string{"--dir", dir, "--html", index}, &stdout, &stderr, noLedger); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.Contains(lines[0], "hist-1") || !strings.Contains(lines[1], "hist-2") {
		t.Fatalf("want one line per run, oldest first:\n%s", out)
	}
	for _, l := range lines[:2] {
		if !strings.Contains(l, "pass") || strings.Contains(l, "failover -") || strings.Contains(l, "recovery -") {
			t.Errorf("run line lacks its figures: %q", l)
		}
	}
	if !strings.Contains(out, "2 runs, 2 passed (100.0%); failover p50 ") || !strings.Contains(out, "trend: not enough runs") {
		t.Errorf("no summary line:\n%s", out)
	}
	page, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(filepath.Dir(index), dir)
	for _, name := range []string{"hist-1", "hist-2"} {
		link := filepath.ToSlash(filepath.Join(rel, name, "report.html"))
		if !strings.Contains(string(page), `href="`+link+`"`) {
			t.Errorf("index page does not link %s", link)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(index), link)); err != nil {
			t.Errorf("link %s does not resolve: %v", link, err)
		}
	}

	// --json: exactly one object, the same runs.
	stdout.Reset()
	if code := runHistory(context.Background(), []string{"--dir", dir, "--json"}, &stdout, &stderr, noLedger); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Runs    []history.Run   `json:"runs"`
		Summary history.Summary `json:"summary"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&doc); err != nil || dec.More() || len(doc.Runs) != 2 || doc.Summary.Passed != 2 {
		t.Errorf("json %+v, %v", doc, err)
	}
}
