package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
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

	// Wherever the page is written, with --dir relative to the working directory, its
	// links resolve: beside the reports folder, inside it, and far from it.
	t.Chdir(filepath.Dir(dir))
	for _, page := range []string{"index.html", filepath.Join(filepath.Base(dir), "index.html"), filepath.Join(t.TempDir(), "far", "away.html")} {
		_ = os.MkdirAll(filepath.Dir(page), 0o755)
		if code := runHistory(context.Background(), []string{"--dir", filepath.Base(dir), "--html", page}, &stdout, &stderr, noLedger); code != 0 {
			t.Fatalf("--html %s: exit %d: %s", page, code, stderr.String())
		}
		html, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		links := regexp.MustCompile(`href="([^"]*report\.html)"`).FindAllStringSubmatch(string(html), -1)
		if len(links) != 2 {
			t.Errorf("--html %s: %d links to reports, want 2", page, len(links))
		}
		for _, l := range links {
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), filepath.FromSlash(l[1]))); err != nil {
				t.Errorf("--html %s: link %s does not resolve from the page: %v", page, l[1], err)
			}
		}
	}

	// drill report reads a local run, by execution in --dir or by its folder, with the
	// same lines and exit code as a run in the ledger; never asking AWS.
	stdout.Reset()
	stderr.Reset()
	if code := runReport(context.Background(), []string{"--dir", dir, "--execution", "hist-1"}, &stdout, &stderr, noLedger); code != 0 ||
		!strings.Contains(stdout.String(), "verdict: PASS") || !strings.Contains(stdout.String(), filepath.Join(dir, "hist-1", "report.json")) {
		t.Errorf("report --dir --execution: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	saved := filepath.Join(t.TempDir(), "r.html")
	if code := runReport(context.Background(), []string{filepath.Join(dir, "hist-2"), "--json", "--html", saved}, &stdout, &stderr, noLedger); code != 0 {
		t.Errorf("report FOLDER --json: exit %d: %s", code, stderr.String())
	}
	var rep drill.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Verdict != drill.Pass || rep.Execution != "hist-2" {
		t.Errorf("report FOLDER --json: %+v %v\n%s", rep.Verdict, err, stdout.String())
	}
	if want, _ := os.ReadFile(filepath.Join(dir, "hist-2", "report.html")); len(want) == 0 || !bytes.Equal(want, must(os.ReadFile(saved))) {
		t.Errorf("--html %s is not the run's report.html", saved)
	}
	stdout.Reset()
	stderr.Reset()
	if code := runReport(context.Background(), []string{"--dir", dir, "--execution", "hist-9"}, &stdout, &stderr, noLedger); code != exitFail ||
		!strings.Contains(stderr.String(), "no report at "+filepath.Join(dir, "hist-9", "report.json")) {
		t.Errorf("report of a run that is not there: exit %d: %s", code, stderr.String())
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

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
