package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// JUnit XML, which CI systems (GitHub Actions' test reporters, GitLab, Jenkins) show
// natively: one test suite, "failover-drill", with one test case, the execution. A
// failed drill is a <failure> with its reasons; a run without a verdict (the wait ended,
// AWS could not answer) is an <error>; a dry run that proves nothing either way
// (unverified, skipped) is <skipped>. The printed report is the case's system-out.

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// junitText is text kept as written, line breaks included (CDATA).
type junitText struct {
	Text string `xml:",cdata"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitResult is one run's outcome, as JUnit needs it.
type junitResult struct {
	Execution string
	Started   time.Time
	Took      time.Duration
	Exit      int    // the command's exit code: which kind of outcome
	Verdict   string // the report's, or the execution's status when there is none
	Message   string // the summary, or the error and cause
	Reasons   []string
	Output    string // what the command printed for the run
}

// writeJUnit writes the run as JUnit XML to file.
func writeJUnit(file string, r junitResult) error {
	c := junitCase{ClassName: "failover-drill", Name: r.Execution, Time: seconds(r.Took)}
	if r.Output != "" {
		c.SystemOut = &junitText{r.Output}
	}
	s := junitSuite{Name: "failover-drill", Tests: 1, Time: c.Time}
	if !r.Started.IsZero() {
		s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	p := &junitProblem{Message: r.Message, Type: r.Verdict, Text: strings.Join(r.Reasons, "\n")}
	switch r.Exit {
	case exitPass:
	case exitUnverified, exitSkipped:
		c.Skipped, s.Skipped = p, 1
	case exitFail:
		c.Failure, s.Failures = p, 1
	default:
		c.Error, s.Errors = p, 1
	}
	s.Cases = []junitCase{c}
	out, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append([]byte(xml.Header), append(out, '\n')...), 0o644); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// reportResult is a finished run's JUnit outcome from its report.
func reportResult(rep *drill.Report, exit int, took time.Duration, output string) junitResult {
	return junitResult{Execution: rep.Execution, Started: rep.StartedAt, Took: took, Exit: exit,
		Verdict: rep.Verdict, Message: rep.Summary, Reasons: rep.Reasons, Output: output}
}
