// Package history reads the reports of many drills, from the ledger bucket or from a
// local reports folder, and says how the drill has been doing: one line per run, the
// pass rate, the failover and recovery percentiles, the trend, and an index page with
// a trend chart.
package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
)

// Run is one drill, as history shows it. A figure the run did not measure is nil.
type Run struct {
	Execution string    `json:"execution"`
	Time      time.Time `json:"time"`
	Verdict   string    `json:"verdict"`
	Ending    string    `json:"ending,omitempty"`
	// FailoverSeconds and RecoverySeconds are the stable times; nil when the switch was
	// not measured or never became stable.
	FailoverSeconds *float64 `json:"failoverSeconds,omitempty"`
	RecoverySeconds *float64 `json:"recoverySeconds,omitempty"`
	Errors          *int     `json:"userVisibleErrors,omitempty"`
	// ReplicationSeconds: how long the seeded cart took to be readable in the
	// secondary region, when the run measured it.
	ReplicationSeconds *float64 `json:"replicationSeconds,omitempty"`
	CostUSD            *float64 `json:"costUsd,omitempty"`
	// The database stage's figures, when the run had it: the write outage of the
	// switch over and the acknowledged writes lost (both switches).
	DatabaseOutageSeconds *float64 `json:"databaseOutageSeconds,omitempty"`
	LostWrites            *int     `json:"lostWrites,omitempty"`
	// Report is where the run's report page is: a path relative to the index page, or a
	// URL.
	Report string `json:"report"`
}

// record is a report as history reads it: the fields it shows, including those of
// newer reports (replication) an older CLI may not know.
type record struct {
	drill.Report
	Replication *struct {
		Seconds  float64 `json:"seconds"`
		Measured bool    `json:"measured"`
	} `json:"replication"`
}

// FromReport turns a report.json into a Run; report is the link to its page.
func FromReport(raw []byte, link string) (Run, error) {
	if _, err := drill.ParseReport(raw); err != nil {
		return Run{}, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Run{}, fmt.Errorf("not a drill report: %w", err)
	}
	r := rec.Report
	run := Run{Execution: r.Execution, Time: r.StartedAt, Verdict: r.Verdict, Report: link}
	if r.Ending != nil {
		run.Ending = r.Ending.Kind
	}
	if r.Failover.Stable && r.Failover.Seconds > 0 {
		run.FailoverSeconds = ptr(r.Failover.Seconds)
	}
	if r.Recovery.Stable && r.Recovery.Seconds > 0 {
		run.RecoverySeconds = ptr(r.Recovery.Seconds)
	}
	run.Errors = r.UserVisibleErrors
	if rp := rec.Replication; rp != nil && rp.Measured {
		run.ReplicationSeconds = ptr(rp.Seconds)
	}
	if r.Cost != nil {
		run.CostUSD = ptr(r.Cost.EstimatedUSD)
	}
	if d := r.Database; d != nil {
		run.LostWrites = ptr(d.LostWrites)
		if d.Over != nil {
			run.DatabaseOutageSeconds = d.Over.Writes.OutageSeconds
		}
	}
	return run, nil
}

// Problem is a report history could not read; the other runs are still shown.
type Problem struct {
	Where string
	Err   error
}

func (p Problem) Error() string { return p.Where + ": " + p.Err.Error() }

// FromDir reads <dir>/<execution>/report.json (drill local's -out folder), links each
// run's report.html relative to dir, and returns the runs oldest first.
func FromDir(dir string) ([]Run, []Problem, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no reports folder %s: run drill local first, or pass --dir or --ledger", dir)
		}
		return nil, nil, err
	}
	var runs []Run
	var problems []Problem
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name(), "report.json")
		raw, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			problems = append(problems, Problem{path, err})
			continue
		}
		run, err := FromReport(raw, e.Name()+"/report.html")
		if err != nil {
			problems = append(problems, Problem{path, err})
			continue
		}
		runs = append(runs, run)
	}
	Sort(runs)
	return runs, problems, nil
}

// FromLedger lists the runs in the ledger, each run's folder once (two runs of one
// name are two runs), reads the last runs (oldest first by ledger.Folder.When; last <= 0:
// all) and links each run's report.html in the S3 console of region. A run stopped or
// timed out before its Report state has no report: it is listed from the restore the
// safety net (or the sweeper) recorded after it, so the pass rate counts it. Runs of
// versions before the start was in the key are read from their legacy folders.
func FromLedger(ctx context.Context, api ledger.ReadAPI, bucket, region string, last int) ([]Run, []Problem, error) {
	folders, err := ledger.Folders(ctx, api, bucket, "runs/")
	if err != nil {
		return nil, nil, err
	}
	folders = slices.DeleteFunc(folders, func(f ledger.Folder) bool { return !f.IsRun() })
	if last > 0 && len(folders) > last {
		folders = folders[len(folders)-last:]
	}
	var runs []Run
	var problems []Problem
	for _, f := range folders {
		key, link := f.Key(drill.FileReport), f.Key(drill.FileReportHTML)
		if !f.Has(drill.FileReport) {
			key = f.Key(f.Record())
			link = key // the restore record itself
		}
		raw, err := ledger.GetObject(ctx, api, bucket, key)
		if err != nil {
			problems = append(problems, Problem{"s3://" + bucket + "/" + key, err})
			continue
		}
		url := fmt.Sprintf("https://%s.console.aws.amazon.com/s3/object/%s?region=%s&prefix=%s", orDefault(region, "us-east-1"), bucket, orDefault(region, "us-east-1"), link)
		var run Run
		if f.Has(drill.FileReport) {
			run, err = FromReport(raw, url)
		} else {
			run, err = FromRestoreRecord(raw, url)
		}
		if err != nil {
			problems = append(problems, Problem{"s3://" + bucket + "/" + key, err})
			continue
		}
		runs = append(runs, run)
	}
	Sort(runs)
	return runs, problems, nil
}

// FromRestoreRecord is a run that never wrote its report, from the restore recorded
// after it ended: a failed run (it never judged itself), ended as the record says.
func FromRestoreRecord(raw []byte, link string) (Run, error) {
	var rec drill.RestoreRecord
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Execution == "" {
		return Run{}, fmt.Errorf("not a restore record: %v", err)
	}
	run := Run{Execution: rec.Execution, Time: rec.StartTime.Time(), Verdict: drill.Fail, Report: link}
	switch rec.ExecutionStatus {
	case "ABORTED":
		run.Ending = drill.EndAborted
	case "TIMED_OUT":
		run.Ending = drill.EndTimedOut
	case "":
		run.Ending = "no report"
	default:
		run.Ending = "no report, " + strings.ToLower(rec.ExecutionStatus)
	}
	if rec.Error != "" {
		run.Ending += ", restore failed"
	}
	return run, nil
}

// Sort puts runs oldest first.
func Sort(runs []Run) {
	slices.SortStableFunc(runs, func(a, b Run) int { return a.Time.Compare(b.Time) })
}

// Summary is what the runs say together.
type Summary struct {
	Runs int `json:"runs"`
	// DryRuns are runs that changed nothing (verdict ready or not-ready): listed, not
	// counted in the pass rate.
	DryRuns  int     `json:"dryRuns"`
	Passed   int     `json:"passed"`
	PassRate float64 `json:"passRatePercent"`
	// Failover and Recovery are the percentiles of the measured stable times.
	Failover Percentiles `json:"failover"`
	Recovery Percentiles `json:"recovery"`
	// Trend compares the stable failover of the newer half of the runs with the older
	// half's (medians); empty with fewer than four measured runs.
	Trend string `json:"trend"`
}

// Percentiles of the runs that measured a figure.
type Percentiles struct {
	Measured int      `json:"measured"`
	P50      *float64 `json:"p50Seconds,omitempty"`
	P95      *float64 `json:"p95Seconds,omitempty"`
}

// Summarise computes the summary of runs (oldest first).
func Summarise(runs []Run) Summary {
	s := Summary{Runs: len(runs)}
	var fo, rc []float64
	for _, r := range runs {
		if r.Ending == drill.EndDryRun || r.Verdict == drill.Ready || r.Verdict == drill.Unready {
			s.DryRuns++
		}
		if r.Verdict == drill.Pass {
			s.Passed++
		}
		if r.FailoverSeconds != nil {
			fo = append(fo, *r.FailoverSeconds)
		}
		if r.RecoverySeconds != nil {
			rc = append(rc, *r.RecoverySeconds)
		}
	}
	if drills := s.Runs - s.DryRuns; drills > 0 {
		s.PassRate = round(100*float64(s.Passed)/float64(drills), 1)
	}
	s.Failover, s.Recovery = percentiles(fo), percentiles(rc)
	s.Trend = trend(fo)
	return s
}

func percentiles(v []float64) Percentiles {
	p := Percentiles{Measured: len(v)}
	if len(v) == 0 {
		return p
	}
	p.P50, p.P95 = ptr(quantile(v, 0.50)), ptr(quantile(v, 0.95))
	return p
}

// trend says whether the failover got slower or faster: the median of the newer half
// of the measured runs against the older half's.
func trend(fo []float64) string {
	if len(fo) < 4 {
		return fmt.Sprintf("not enough runs for a trend (%d measured failovers; 4 needed)", len(fo))
	}
	half := len(fo) / 2
	older, newer := quantile(fo[:half], 0.5), quantile(fo[len(fo)-half:], 0.5)
	d := newer - older
	switch {
	case math.Abs(d) < 0.05*older:
		return fmt.Sprintf("steady: failover median %.3f s in the newer %d runs, %.3f s in the older %d", newer, half, older, half)
	case d > 0:
		return fmt.Sprintf("slower: failover median %.3f s in the newer %d runs, up %.3f s from %.3f s in the older %d", newer, half, d, older, half)
	}
	return fmt.Sprintf("faster: failover median %.3f s in the newer %d runs, down %.3f s from %.3f s in the older %d", newer, half, -d, older, half)
}

// quantile is the q-th quantile of v, by linear interpolation between order statistics.
func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return round(s[lo]+(s[hi]-s[lo])*(pos-float64(lo)), 3)
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

func ptr[T any](v T) *T { return &v }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
