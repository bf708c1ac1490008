package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/unishop/failover-drill/internal/history"
)

// runHistory lists past drills, one line each, and their summary; --html writes an
// index page with a trend chart.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer, newLedger s3Factory) int {
	c := newCLI("drill history", args, stdout, stderr)
	fs := flag.NewFlagSet("drill history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ledger := fs.String("ledger", "", "read the reports from this ledger bucket (stack output LedgerBucketName) instead of the local folder")
	region := fs.String("region", "", "AWS region of the ledger bucket (default: the configured region)")
	dir := fs.String("dir", "drill-reports", "the local reports folder (drill local's -out)")
	last := fs.Int("last", 100, "only the last N runs (0: all)")
	htmlFile := fs.String("html", "", "also write an index page with a trend chart, linking each run's report, to this file")
	fs.BoolVar(&c.json, "json", false, "print {runs, summary} as JSON on stdout")
	fs.BoolVar(&c.verbose, "v", false, "show the AWS SDK's errors in full")
	if err := fs.Parse(args); err != nil {
		return c.flagError(err)
	}
	switch {
	case fs.NArg() > 0:
		return c.usage("unexpected argument %q", fs.Arg(0))
	case *ledger != "" && !bucketName.MatchString(*ledger):
		return c.usage("--ledger %q is not a bucket name", *ledger)
	case *last < 0:
		return c.usage("--last %d: must be 0 (all) or more", *last)
	}

	var runs []history.Run
	var problems []history.Problem
	source := ""
	if *ledger != "" {
		api, err := newLedger(ctx, *region)
		if errors.Is(err, errNoRegion) {
			return c.fail(exitUsage, "NoRegion", err)
		}
		if err != nil {
			return c.fail(exitNoVerdict, "AWS", err)
		}
		runs, problems, err = history.FromLedger(ctx, api, *ledger, *region, *last)
		if err != nil {
			return c.fail(exitNoVerdict, "AWS", err)
		}
		source = "s3://" + *ledger + "/runs/"
	} else {
		var err error
		runs, problems, err = history.FromDir(*dir)
		if err != nil {
			return c.fail(exitUsage, "NoReports", err)
		}
		if *last > 0 && len(runs) > *last {
			runs = runs[len(runs)-*last:]
		}
		source = *dir
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "drill history: skipped %v\n", p)
	}
	sum := history.Summarise(runs)
	out := stdout
	if c.json {
		out = stderr
	}
	history.Write(out, runs, sum)
	if *htmlFile != "" {
		page := history.HTML(runs, sum, source)
		if *ledger == "" {
			// Links are relative to the reports folder: put the index where they resolve.
			rel, err := filepath.Rel(filepath.Dir(*htmlFile), *dir)
			if err == nil && rel != "." {
				for i := range runs {
					runs[i].Report = filepath.ToSlash(filepath.Join(rel, runs[i].Report))
				}
				page = history.HTML(runs, sum, source)
			}
		}
		if err := os.WriteFile(*htmlFile, page, 0o644); err != nil {
			return c.fail(1, "Write", err)
		}
		fmt.Fprintf(out, "index page          %s\n", *htmlFile)
	}
	if c.json {
		c.writeJSONOnce(struct {
			Runs     []history.Run   `json:"runs"`
			Summary  history.Summary `json:"summary"`
			Problems []string        `json:"problems,omitempty"`
		}{runs, sum, problemStrings(problems)})
	}
	return exitPass
}

func problemStrings(ps []history.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}
