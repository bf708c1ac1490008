// Command testlog runs go test and shows that it is alive: one line per package as it
// finishes (its tests passed, failed and skipped, and its time), the output of every
// failed test in full, a line every minute naming the packages still running, and at
// the end every skipped test with its reason, then one closing line a CI system can
// read: "N passed, N failed, N skipped" (tests and subtests).
//
//	go run ./tools/testlog -count=1 -timeout 20m ./...
//
// Its arguments are go test's; it adds -json and reads the events. Its exit status is
// go test's (1 when a test or a build failed, whatever else happened).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testlog:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testlog:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout, time.Now)
	s.read(out, time.Minute)
	err = cmd.Wait()
	s.close()
	switch {
	case s.failed > 0 || s.failedPackages > 0:
		os.Exit(1)
	case err != nil:
		// go test failed without a failing test or package in its events (a bad flag,
		// a vet failure): its own message is on stderr.
		fmt.Fprintln(os.Stderr, "testlog: go test:", err)
		os.Exit(1)
	}
}

// event is one line of go test -json (cmd/test2json), with the build events of Go
// 1.24 and later.
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
	ImportPath  string // build-output, build-fail
}

// summary turns the events into the lines a person reads as the run goes.
type summary struct {
	w   io.Writer
	now func() time.Time

	began                   time.Time
	passed, failed, skipped int
	packages                int
	failedPackages          int
	running                 map[string]time.Time // package → when its first event came
	output                  map[string][]string  // "pkg\x00test" → its output lines so far
	build                   map[string][]string  // import path → its build output
	counts                  map[string]*[3]int   // package → tests passed, failed, skipped
	skips                   []string             // "pkg TestX: reason", in order
}

func newSummary(w io.Writer, now func() time.Time) *summary {
	return &summary{w: w, now: now, began: now(), running: map[string]time.Time{}, output: map[string][]string{},
		build: map[string][]string{}, counts: map[string]*[3]int{}}
}

// read handles the events of r until it ends, printing every tick which packages are
// still running, so a long package is never a silent minute.
func (s *summary) read(r io.Reader, tick time.Duration) {
	events := make(chan event)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				// Not an event: go test's own line (a build error before -json
				// could frame it). Pass it on as it is.
				events <- event{Action: "raw", Output: sc.Text() + "\n"}
				continue
			}
			events <- e
		}
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			s.handle(e)
		case <-t.C:
			s.heartbeat()
		}
	}
}

func (s *summary) handle(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "raw":
		fmt.Fprint(s.w, e.Output)
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
	case "start":
		s.running[e.Package] = s.now()
	case "output":
		// go test's framing (=== RUN, PAUSE, CONT) says nothing a failure's lines do not.
		if !strings.HasPrefix(e.Output, "=== ") {
			s.output[key] = append(s.output[key], e.Output)
		}
	case "pass", "fail", "skip":
		if e.Test == "" {
			s.packageDone(e)
			return
		}
		c := s.count(e.Package)
		switch e.Action {
		case "pass":
			s.passed++
			c[0]++
		case "fail":
			s.failed++
			c[1]++
			// The failed test's output in full, at once: the reason is not kept for
			// the end of a twenty-minute run.
			fmt.Fprintf(s.w, "--- FAIL: %s %s (%.2fs)\n%s", short(e.Package), e.Test, e.Elapsed, strings.Join(s.output[key], ""))
		case "skip":
			s.skipped++
			c[2]++
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", short(e.Package), e.Test, skipReason(s.output[key])))
		}
		delete(s.output, key)
	}
}

func (s *summary) count(pkg string) *[3]int {
	if s.counts[pkg] == nil {
		s.counts[pkg] = &[3]int{}
	}
	return s.counts[pkg]
}

// packageDone prints the package's line.
func (s *summary) packageDone(e event) {
	delete(s.running, e.Package)
	s.packages++
	c := s.count(e.Package)
	key := e.Package + "\x00"
	switch {
	case e.Action == "skip" || (c[0]+c[1]+c[2] == 0 && e.Action == "pass"):
		fmt.Fprintf(s.w, "-     %-48s no tests\n", short(e.Package))
	case e.Action == "pass":
		fmt.Fprintf(s.w, "ok    %-48s %7.1fs  %s\n", short(e.Package), e.Elapsed, counts(c))
	default:
		s.failedPackages++
		fmt.Fprintf(s.w, "FAIL  %-48s %7.1fs  %s\n", short(e.Package), e.Elapsed, counts(c))
		if e.FailedBuild != "" {
			fmt.Fprint(s.w, strings.Join(s.build[e.FailedBuild], ""))
		}
		if c[1] == 0 {
			// Failed outside any test (a panic, the -timeout, TestMain): its output.
			fmt.Fprint(s.w, strings.Join(s.output[key], ""))
		}
	}
	delete(s.output, key)
}

func counts(c *[3]int) string {
	parts := []string{fmt.Sprintf("%d passed", c[0])}
	if c[1] > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c[1]))
	}
	if c[2] > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", c[2]))
	}
	return strings.Join(parts, ", ")
}

// heartbeat names the packages still running and for how long.
func (s *summary) heartbeat() {
	if len(s.running) == 0 {
		return
	}
	now := s.now()
	var names []string
	for p, since := range s.running {
		names = append(names, fmt.Sprintf("%s (%s)", short(p), now.Sub(since).Round(time.Second)))
	}
	slices.Sort(names)
	fmt.Fprintf(s.w, "...   %s elapsed, still running: %s\n", now.Sub(s.began).Round(time.Second), strings.Join(names, ", "))
}

// close prints the skipped tests with their reasons and the closing line.
func (s *summary) close() {
	if len(s.skips) > 0 {
		fmt.Fprintf(s.w, "\nskipped (%d):\n", len(s.skips))
		for _, l := range s.skips {
			fmt.Fprintf(s.w, "  %s\n", l)
		}
	}
	fmt.Fprintf(s.w, "\n%d packages in %s", s.packages, s.now().Sub(s.began).Round(time.Second))
	if s.failedPackages > 0 {
		fmt.Fprintf(s.w, ", %d FAILED", s.failedPackages)
	}
	fmt.Fprintf(s.w, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}

// skipReason is what a skipped test said (t.Skip's message), without go test's framing.
func skipReason(lines []string) string {
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		// "file_test.go:12: reason": the reason.
		if i := strings.Index(l, ".go:"); i > 0 && !strings.Contains(l[:i], " ") {
			if j := strings.Index(l[i+4:], ": "); j >= 0 {
				l = l[i+4+j+2:]
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return "(no reason given)"
	}
	return strings.Join(out, " / ")
}

// short drops the module's path from a package: internal/asl, not
// github.com/unishop/failover-drill/internal/asl.
func short(pkg string) string {
	const module = "github.com/unishop/failover-drill"
	if pkg == module {
		return "."
	}
	return strings.TrimPrefix(pkg, module+"/")
}
