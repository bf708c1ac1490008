package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer, newS3 s3Factory) int {
	c := newCLI("drill report", args, stdout, stderr)
	fs := flag.NewFlagSet("drill report", flag.ContinueOnError)
	bucket := fs.String("ledger", "", "the ledger bucket (stack output LedgerBucketName); without it the run is read from the local reports folder")
	execution := fs.String("execution", "", "the execution name")
	dir := fs.String("dir", "drill-reports", "without --ledger: the local reports folder (drill local's -out) holding <execution>/report.json")
	startFlag := fs.String("start", "", "the run's start, when several runs share the name (RFC 3339 as drill report prints it, or epoch milliseconds); default: the latest run")
	region := fs.String("region", "", "AWS region of the ledger bucket (default: the configured region)")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON on stdout (any other ending prints one {error,message} object)")
	htmlFile := fs.String("html", "", "also save the run's report.html to this file")
	fs.BoolVar(&c.verbose, "v", false, "show the AWS SDK's errors in full")
	// A local run's folder may come first (drill report drill-reports/local-x --json).
	var folder string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		folder, args = args[0], args[1:]
	}
	if code, ok := c.parse(fs, args, "--ledger BUCKET --execution NAME [--start START] | [--dir DIR] --execution NAME | FOLDER   [flags]"); !ok {
		return code
	}
	usageErr := c.usage
	if folder == "" && fs.NArg() == 1 {
		folder = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(fs.NArg()-1))
	}
	if err := fileDirExists("--html", *htmlFile); err != nil {
		return usageErr("%v", err)
	}
	if *bucket == "" {
		// A local run: drill local wrote its folder.
		switch {
		case folder != "" && *execution != "":
			return usageErr("give a run's folder or --execution, not both")
		case folder == "" && *execution == "":
			return usageErr("--execution NAME (a run in --dir %s), a run's folder, or --ledger BUCKET (the stack output LedgerBucketName) is required", *dir)
		case *startFlag != "":
			return usageErr("--start picks among a name's runs in the ledger; a local run's folder is its own (give the folder)")
		case folder == "":
			if err := drill.CheckName(*execution); err != nil {
				return usageErr("--execution: %v", err)
			}
			folder = filepath.Join(*dir, *execution)
		}
		return localReport(c, folder, *htmlFile)
	}
	switch {
	case folder != "":
		return usageErr("a run's folder is read locally: leave out --ledger, or give --execution instead of %q", folder)
	case !bucketName.MatchString(*bucket):
		return usageErr("--ledger %q is not a bucket name", *bucket)
	case *execution == "":
		return usageErr("--execution is required: the execution name")
	}
	if err := drill.CheckName(*execution); err != nil {
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
	return ledgerReport(ctx, c, client, *bucket, *execution, start, *htmlFile)
}

// ledgerReport prints a run's report from the ledger: the latest run of the name, or
// the one that started at start; with the restores recorded after it, and the other
// runs of its name.
func ledgerReport(ctx context.Context, c *cmdIO, client s3Reader, bucket, execution string, start drill.Instant, htmlFile string) int {
	stdout, stderr := c.stdout, c.stderr
	fail := func(err error) int {
		var nf *ledger.NotFoundError
		if errors.As(err, &nf) {
			return c.fail(exitFail, "NotFound", err)
		}
		return c.fail(exitNoVerdict, "AWS", err)
	}
	// Every run of the name: a name may be reused (Step Functions accepts it again 90
	// days after its execution closed), and each run has its own folder.
	runs, err := ledger.RunsNamed(ctx, client, bucket, execution, !start.IsZero())
	if err != nil {
		return fail(err)
	}
	if len(runs) == 0 {
		return c.fail(exitFail, "NotFound", fmt.Errorf("no run named %s in s3://%s/%s (no report and no restore record): is the execution name right, and has the run reached its report?",
			execution, bucket, drill.RunFolder{Execution: execution}.Prefix()))
	}
	run := runs[len(runs)-1]
	if !start.IsZero() {
		i := slices.IndexFunc(runs, func(r ledger.NamedRun) bool { return r.StartedAt.Equal(start) })
		if i < 0 {
			return c.fail(exitFail, "NotFound", fmt.Errorf("no run named %s started at %s in s3://%s; its runs started at %s",
				execution, start, bucket, startsOf(runs)))
		}
		run = runs[i]
	}
	others := slices.DeleteFunc(slices.Clone(runs), func(r ledger.NamedRun) bool { return r.Prefix() == run.Prefix() })

	key := run.Key(drill.FileReport)
	// The restores that ran after the execution ended (safety net, sweeper, a person)
	// are recorded next to the report: shown with it, or instead of it when the
	// execution never reached its Report state (stopped, timed out).
	records, recErr := ledger.RestoreRecords(ctx, client, bucket, run.Folder)
	if recErr != nil {
		fmt.Fprintf(stderr, "drill report: the restores after the execution could not be read: %v\n", recErr)
	}
	if !run.Has(drill.FileReport) && len(records) > 0 {
		code := noReport(c, execution, key, bucket, records)
		printOthers(c, execution, run, others)
		return code
	}
	raw, err := ledger.GetObject(ctx, client, bucket, key)
	if err != nil {
		return fail(err)
	}
	rep, err := drill.ParseReport(raw)
	if err != nil {
		return c.fail(exitFail, "NotAReport", fmt.Errorf("s3://%s/%s is %v", bucket, key, err))
	}
	if htmlFile != "" {
		// The page is drawn again from the run's sample logs when they are there (the
		// picture of this CLI's version); otherwise the stored report.html is saved.
		html, err := pageFromLogs(ctx, client, bucket, run.Folder, rep)
		if err == nil && html == nil {
			html, err = ledger.GetObject(ctx, client, bucket, run.Key(drill.FileReportHTML))
		}
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(htmlFile, html, 0o644); err != nil {
			return c.fail(exitFail, "Write", err)
		}
	}
	if c.json {
		c.writeRawJSONOnce(withRecords(raw, records, otherRunsJSON(bucket, others)))
		if htmlFile != "" {
			fmt.Fprintf(stderr, "html saved to %s\n", htmlFile)
		}
	} else {
		printReport(stdout, rep)
		printRecords(stdout, records)
		fmt.Fprintf(stdout, "report              s3://%s/%s\n", bucket, key)
		if htmlFile != "" {
			fmt.Fprintf(stdout, "html                %s\n", htmlFile)
		}
	}
	printOthers(c, execution, run, others)
	return verdictExit(rep.Verdict)
}

// startsOf lists the runs' starts, for people: how to pick one with --start.
func startsOf(runs []ledger.NamedRun) string {
	var out []string
	for _, r := range runs {
		s := r.StartedAt.String()
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
func printOthers(c *cmdIO, execution string, run ledger.NamedRun, others []ledger.NamedRun) {
	if len(others) == 0 {
		return
	}
	w := c.stdout
	if c.json {
		w = c.stderr
	}
	fmt.Fprintf(w, "run                 %s started %s; %d other run(s) of this name, started %s: pick one with --start <start>\n",
		execution, orDash(run.StartedAt.String()), len(others), startsOf(others))
}

// otherRunsJSON lists the other runs of the name for --json.
func otherRunsJSON(bucket string, others []ledger.NamedRun) []otherRun {
	var out []otherRun
	for _, r := range others {
		out = append(out, otherRun{StartTime: r.StartedAt, Folder: "s3://" + bucket + "/" + r.Prefix()})
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
func pageFromLogs(ctx context.Context, client ledger.GetObjectAPI, bucket string, f ledger.Folder, rep *drill.Report) ([]byte, error) {
	logs, err := ledger.SampleLogs(ctx, client, bucket, f)
	if err != nil || len(logs) == 0 {
		return nil, err
	}
	return report.HTML(*rep, report.Logs(logs))
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

// localReport prints the report drill local wrote in folder, and saves its page with
// --html: the same lines and exit code as a run read from the ledger.
func localReport(c *cmdIO, folder, htmlFile string) int {
	file := filepath.Join(folder, drill.FileReport)
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return c.fail(exitFail, "NotFound", fmt.Errorf("no report at %s: is it a run's folder (drill local -out, default drill-reports/<execution>)?", file))
	}
	if err != nil {
		return c.fail(exitFail, "Read", err)
	}
	rep, err := drill.ParseReport(raw)
	if err != nil {
		return c.fail(exitFail, "NotAReport", fmt.Errorf("%s is %v", file, err))
	}
	if htmlFile != "" {
		page, err := os.ReadFile(filepath.Join(folder, drill.FileReportHTML))
		if err == nil {
			err = os.WriteFile(htmlFile, page, 0o644)
		}
		if err != nil {
			return c.fail(exitFail, "Write", err)
		}
	}
	if c.json {
		c.writeRawJSONOnce(raw)
		return verdictExit(rep.Verdict)
	}
	printReport(c.stdout, rep)
	fmt.Fprintf(c.stdout, "report              %s\n", file)
	if htmlFile != "" {
		fmt.Fprintf(c.stdout, "html                %s\n", htmlFile)
	}
	return verdictExit(rep.Verdict)
}
