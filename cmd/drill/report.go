package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/remote"
	"github.com/unishop/failover-drill/internal/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, newS3 s3Factory) int {
	c := newCLI("drill report", args, stdout, stderr)
	fs := flag.NewFlagSet("drill report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ledger := fs.String("ledger", "", "the ledger bucket (stack output LedgerBucketName)")
	execution := fs.String("execution", "", "the execution name")
	startFlag := fs.String("start", "", "the run's start, when several runs share the name (RFC 3339 as drill report prints it, or epoch milliseconds); default: the latest run")
	region := fs.String("region", "", "AWS region of the ledger bucket (default: the configured region)")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON on stdout (any other ending prints one {error,message} object)")
	htmlFile := fs.String("html", "", "also save the run's report.html to this file")
	fs.BoolVar(&c.verbose, "v", false, "show the AWS SDK's errors in full")
	if err := fs.Parse(args); err != nil {
		return c.flagError(err)
	}
	usageErr := c.usage
	asJSON := &c.json
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *ledger == "":
		return usageErr("--ledger is required: the stack output LedgerBucketName")
	case !bucketName.MatchString(*ledger):
		return usageErr("--ledger %q is not a bucket name", *ledger)
	case *execution == "":
		return usageErr("--execution is required: the execution name")
	}
	if err := remote.CheckName(*execution); err != nil {
		return usageErr("--execution: %v", err)
	}
	var start drill.Instant
	if *startFlag != "" {
		var err error
		if start, err = drill.ParseInstant(*startFlag); err != nil {
			return usageErr("--start %q: want the run's start as RFC 3339 (2025-06-01T12:00:00.123Z) or epoch milliseconds", *startFlag)
		}
	}

	client, err := newS3(ctx, *region)
	if errors.Is(err, errNoRegion) {
		return c.fail(exitUsage, "NoRegion", err)
	}
	if err != nil {
		return c.fail(exitNoVerdict, "AWS", err)
	}
	fail := func(err error) int {
		var nf *remote.NotFoundError
		if errors.As(err, &nf) {
			return c.fail(exitFail, "NotFound", err)
		}
		return c.fail(exitNoVerdict, "AWS", err)
	}
	// Every run of the name: a name may be reused (Step Functions accepts it again 90
	// days after its execution closed), and each run has its own folder.
	runs, err := runsNamed(ctx, client, *ledger, *execution, !start.IsZero())
	if err != nil {
		return fail(err)
	}
	if len(runs) == 0 {
		return c.fail(exitFail, "NotFound", fmt.Errorf("no run named %s in s3://%s/%s (no report and no restore record): is the execution name right, and has the run reached its report?",
			*execution, *ledger, drill.RunFolder{Execution: *execution}.Prefix()))
	}
	run := runs[len(runs)-1]
	if !start.IsZero() {
		i := slices.IndexFunc(runs, func(r namedRun) bool { return r.start.Equal(start) })
		if i < 0 {
			return c.fail(exitFail, "NotFound", fmt.Errorf("no run named %s started at %s in s3://%s; its runs started at %s",
				*execution, start, *ledger, startsOf(runs)))
		}
		run = runs[i]
	}
	others := slices.DeleteFunc(slices.Clone(runs), func(r namedRun) bool { return r.Prefix() == run.Prefix() })

	key := run.Key(drill.FileReport)
	// The restores that ran after the execution ended (safety net, sweeper, a person)
	// are recorded next to the report: shown with it, or instead of it when the
	// execution never reached its Report state (stopped, timed out).
	records, recErr := restoreRecords(ctx, client, *ledger, run.Folder)
	if recErr != nil {
		fmt.Fprintf(stderr, "drill report: the restores after the execution could not be read: %v\n", recErr)
	}
	if !run.Has(drill.FileReport) && len(records) > 0 {
		code := noReport(c, *execution, key, *ledger, records)
		printOthers(c, *execution, run, others)
		return code
	}
	raw, err := remote.GetObject(ctx, client, *ledger, key)
	if err != nil {
		return fail(err)
	}
	rep, err := remote.ParseReport(raw)
	if err != nil {
		return c.fail(exitFail, "NotAReport", fmt.Errorf("s3://%s/%s is %v", *ledger, key, err))
	}
	if *htmlFile != "" {
		// The page is drawn again from the run's sample logs when they are there (the
		// picture of this CLI's version); otherwise the stored report.html is saved.
		html, err := pageFromLogs(ctx, client, *ledger, run.Folder, rep)
		if err == nil && html == nil {
			html, err = remote.GetObject(ctx, client, *ledger, run.Key(drill.FileReportHTML))
		}
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(*htmlFile, html, 0o644); err != nil {
			return c.fail(exitFail, "Write", err)
		}
	}
	if *asJSON {
		c.writeRawJSONOnce(withRecords(raw, records, otherRunsJSON(*ledger, others)))
		if *htmlFile != "" {
			fmt.Fprintf(stderr, "html saved to %s\n", *htmlFile)
		}
	} else {
		printReport(stdout, rep)
		printRecords(stdout, records)
		fmt.Fprintf(stdout, "report              s3://%s/%s\n", *ledger, key)
		if *htmlFile != "" {
			fmt.Fprintf(stdout, "html                %s\n", *htmlFile)
		}
	}
	printOthers(c, *execution, run, others)
	return verdictExit(rep.Verdict)
}

// namedRun is one run of a name in the ledger: its folder, and its start (a legacy
// folder's is read from its report or restore record when it is needed).
type namedRun struct {
	history.Folder
	start drill.Instant
}

// runsNamed lists the runs of execution in the ledger, oldest first. A legacy folder
// (written before the start was in the key) has no start in its key: when there are
// several runs, or a start was asked for, it is read from the run's report or restore
// record, so the runs can be ordered and picked.
func runsNamed(ctx context.Context, client history.LedgerAPI, ledger, execution string, needStarts bool) ([]namedRun, error) {
	folders, err := history.Folders(ctx, client, ledger, drill.RunFolder{Execution: execution}.Prefix())
	if err != nil {
		return nil, err
	}
	var runs []namedRun
	for _, f := range folders {
		if f.IsRun() {
			runs = append(runs, namedRun{Folder: f, start: f.Start})
		}
	}
	if len(runs) < 2 && !needStarts {
		return runs, nil
	}
	for i, r := range runs {
		if r.Legacy() {
			runs[i].start = legacyStart(ctx, client, ledger, r.Folder)
		}
	}
	slices.SortStableFunc(runs, func(a, b namedRun) int { return a.start.Time().Compare(b.start.Time()) })
	return runs, nil
}

// legacyStart is the start a legacy folder's report or restore record names (zero
// when neither can be read: the run then counts as the oldest).
func legacyStart(ctx context.Context, client remote.GetObjectAPI, ledger string, f history.Folder) drill.Instant {
	file := drill.FileReport
	if !f.Has(file) {
		file = f.Record()
	}
	raw, err := remote.GetObject(ctx, client, ledger, f.Key(file))
	if err != nil {
		return drill.Instant{}
	}
	var doc struct {
		StartedAt time.Time     `json:"startedAt"`
		StartTime drill.Instant `json:"startTime"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return drill.Instant{}
	}
	if file == drill.FileReport {
		return drill.At(doc.StartedAt)
	}
	return doc.StartTime
}

// startsOf lists the runs' starts, for people: how to pick one with --start.
func startsOf(runs []namedRun) string {
	var out []string
	for _, r := range runs {
		s := r.start.String()
		if s == "" {
			s = "(unknown)"
		}
		if r.Legacy() {
			s += " (" + r.Prefix() + ", an older version's folder)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// printOthers says which run was shown when others share its name, and how to pick one.
func printOthers(c *cmdIO, execution string, run namedRun, others []namedRun) {
	if len(others) == 0 {
		return
	}
	w := c.stdout
	if c.json {
		w = c.stderr
	}
	fmt.Fprintf(w, "run                 %s started %s; %d other run(s) of this name, started %s: pick one with --start <start>\n",
		execution, orDash(run.start.String()), len(others), startsOf(others))
}

// otherRunsJSON lists the other runs of the name for --json.
func otherRunsJSON(ledger string, others []namedRun) []otherRun {
	var out []otherRun
	for _, r := range others {
		out = append(out, otherRun{StartTime: r.start, Folder: "s3://" + ledger + "/" + r.Prefix()})
	}
	return out
}

// otherRun is another run of the same name, in drill report --json's otherRuns.
type otherRun struct {
	StartTime drill.Instant `json:"startTime"`
	Folder    string        `json:"folder"`
}

// pageFromLogs renders report.html from the report and the run's sample logs in the
// ledger; nil when the run has no sample log.
func pageFromLogs(ctx context.Context, client remote.GetObjectAPI, ledger string, f history.Folder, rep *drill.Report) ([]byte, error) {
	logs := report.Logs{}
	for _, mode := range drill.LogModes {
		l, err := readInFolder[drill.SampleLog](ctx, client, ledger, f, drill.SamplesFile(mode))
		if err != nil {
			return nil, err
		}
		if l != nil {
			logs[mode] = l
		}
	}
	if len(logs) == 0 {
		return nil, nil
	}
	return report.HTML(*rep, logs)
}

// restoreRecords reads the restores recorded in the run's folder after the execution
// ended.
func restoreRecords(ctx context.Context, client remote.GetObjectAPI, ledger string, f history.Folder) ([]drill.RestoreRecord, error) {
	var out []drill.RestoreRecord
	for _, reason := range drill.RestoreRecordReasons {
		rec, err := readInFolder[drill.RestoreRecord](ctx, client, ledger, f, drill.RestoreRecordFile(reason))
		if err != nil {
			return out, err
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	return out, nil
}

// readInFolder reads one JSON file of a run's folder; nil when the folder has no such
// file (or it went away since the listing).
func readInFolder[T any](ctx context.Context, client remote.GetObjectAPI, ledger string, f history.Folder, file string) (*T, error) {
	if !f.Has(file) {
		return nil, nil
	}
	key := f.Key(file)
	raw, err := remote.GetObject(ctx, client, ledger, key)
	var nf *remote.NotFoundError
	switch {
	case errors.As(err, &nf):
		return nil, nil
	case err != nil:
		return nil, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", ledger, key, err)
	}
	return &v, nil
}

// noReport: the execution never wrote its report, but restores after its end did run.
func noReport(c *cmdIO, execution, key, ledger string, records []drill.RestoreRecord) int {
	status := ""
	for _, rec := range records {
		if rec.ExecutionStatus != "" {
			status = rec.ExecutionStatus
		}
	}
	msg := fmt.Sprintf("no report at s3://%s/%s: the execution ended before its Report state", ledger, key)
	if status != "" {
		msg += " (it ended " + status + ")"
	}
	fmt.Fprintf(c.stderr, "drill report: %s\n", msg)
	out := c.stdout
	if c.json {
		out = c.stderr
	}
	printRecords(out, records)
	if c.json {
		c.writeJSONOnce(struct {
			Execution string                `json:"execution"`
			Error     string                `json:"error"`
			Message   string                `json:"message"`
			Status    string                `json:"executionStatus,omitempty"`
			Restores  []drill.RestoreRecord `json:"restores"`
			ExitCode  int                   `json:"exitCode"`
		}{execution, "NoReport", msg, status, records, exitFail})
	}
	return exitFail
}

// withRecords adds the restore records to the stored report, as "restores", and the
// other runs of its name, as "otherRuns", keeping the report's own order of fields.
func withRecords(raw []byte, records []drill.RestoreRecord, others []otherRun) []byte {
	var doc map[string]json.RawMessage
	if len(records) == 0 && len(others) == 0 || json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	body := bytes.TrimRight(bytes.TrimSpace(raw), "}")
	for _, f := range []struct {
		name string
		v    any
		n    int
	}{{"restores", records, len(records)}, {"otherRuns", others, len(others)}} {
		if f.n == 0 {
			continue
		}
		js, err := json.Marshal(f.v)
		if err != nil {
			return raw
		}
		body = append(append(body, `,"`+f.name+`":`...), js...)
	}
	return append(body, '}')
}
