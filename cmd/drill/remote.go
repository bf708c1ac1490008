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
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/remote"
	"github.com/unishop/failover-drill/internal/report"
)

// Exit codes of drill local, drill start and drill report: the verdict, for CI.
const (
	exitPass      = 0 // the drill passed, or the dry run is ready
	exitFail      = 1 // the drill ran and failed, or the dry run is not ready (or, for report, there is no report)
	exitUsage     = 2 // bad flags or input: nothing was started
	exitNoVerdict = 3 // AWS could not be reached, an API call failed, or the wait ended first
	// exitUnverified: a dry run found nothing failing but skipped a readiness check,
	// so readiness is not proven (the report names the checks and what to do).
	exitUnverified = 4
	// exitSkipped: a dry run that a drill on the same state machine disturbed; it
	// proves nothing either way: run it again once the drill has ended.
	exitSkipped = 5
)

// verdictExit is a report's verdict as the exit code.
func verdictExit(verdict string) int {
	switch verdict {
	case drill.Pass, drill.Ready:
		return exitPass
	case drill.NotVerified:
		return exitUnverified
	case drill.SkippedBusy:
		return exitSkipped
	}
	return exitFail
}

// EnvStateMachineARN is drill start's default for --state-machine.
const EnvStateMachineARN = "DRILL_STATE_MACHINE_ARN"

// sfnClient is what drill start calls; *sfn.Client in production.
type sfnClient interface {
	remote.StartAPI
	remote.DescribeAPI
}

// sfnFactory and s3Factory build the clients for a region ("" keeps the configured
// one). main passes the AWS ones; tests pass clients pointed at httptest servers.
type (
	sfnFactory func(ctx context.Context, region string) (sfnClient, error)
	s3Factory  func(ctx context.Context, region string) (history.LedgerAPI, error)
)

// errNoRegion: the configuration names no region and --region was not given.
var errNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION")

// heartbeat is how often drill start --wait says the execution is still running, so
// CI systems that kill silent jobs do not.
const heartbeat = time.Minute

func runStart(ctx context.Context, args []string, stdout, stderr io.Writer, newSFN sfnFactory) int {
	c := newCLI("drill start", args, stdout, stderr)
	fs := flag.NewFlagSet("drill start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arnFlag := fs.String("state-machine", "", "ARN of the deployed state machine (stack output StateMachineArn; default $"+EnvStateMachineARN+")")
	input := fs.String("input", "{}", "execution input, a JSON object; fields left out take the deployed defaults")
	name := fs.String("name", "", "execution name (default: one Step Functions picks); also the report's folder in the ledger")
	wait := fs.Bool("wait", false, "wait for the execution to end; the exit code is then the verdict")
	timeout := fs.Duration("timeout", 90*time.Minute, "with --wait: stop waiting after this long (0: no limit); the execution keeps running")
	poll := fs.Duration("poll", 5*time.Second, "with --wait: how often to ask Step Functions")
	fs.BoolVar(&c.json, "json", false, "print one JSON object on stdout whatever the exit code (the report, {executionArn,status,error,cause}, or {error,message}); progress goes to stderr")
	region := fs.String("region", "", "AWS region (default: the state machine ARN's region)")
	fs.BoolVar(&c.verbose, "v", false, "show the AWS SDK's errors in full")
	if err := fs.Parse(args); err != nil {
		return c.flagError(err)
	}
	usageErr := c.usage
	asJSON := &c.json
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	arn, arnSource := *arnFlag, "--state-machine"
	if arn == "" {
		arn, arnSource = os.Getenv(EnvStateMachineARN), EnvStateMachineARN
	}
	if arn == "" {
		return usageErr("--state-machine (or $%s) is required: the stack output StateMachineArn", EnvStateMachineARN)
	}
	arnRegion, err := remote.StateMachineRegion(arn)
	if err != nil {
		return usageErr("%s: %v", arnSource, err)
	}
	switch {
	case *region == "":
		*region = arnRegion
	case *region != arnRegion:
		return usageErr("--region %s: the state machine is in %s", *region, arnRegion)
	}
	if err := remote.CheckInput(*input); err != nil {
		return usageErr("--input: %v", err)
	}
	if *name != "" {
		if err := remote.CheckName(*name); err != nil {
			return usageErr("--name: %v", err)
		}
	}
	if *poll <= 0 {
		return usageErr("--poll %s: must be positive", *poll)
	}
	if *timeout < 0 {
		return usageErr("--timeout %s: must be 0 (no limit) or positive", *timeout)
	}

	client, err := newSFN(ctx, *region)
	if err != nil {
		return c.fail(exitNoVerdict, "AWS", err)
	}
	execARN, err := remote.Start(ctx, client, arn, *input, *name)
	if err != nil {
		return c.fail(exitNoVerdict, "AWS", err)
	}
	if !*wait {
		if *asJSON {
			c.writeJSONOnce(map[string]string{"executionArn": execARN})
		} else {
			fmt.Fprintln(stdout, execARN)
		}
		return exitPass
	}

	progress := stdout
	if *asJSON {
		progress = stderr
	}
	fmt.Fprintf(progress, "execution %s\n", execARN)
	waitCtx := ctx
	if *timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	began := time.Now()
	var lastStatus types.ExecutionStatus
	var lastPrint time.Time
	ex, err := remote.Wait(waitCtx, client, execARN, *poll, func(e remote.Execution) {
		if e.Status != lastStatus || time.Since(lastPrint) >= heartbeat {
			fmt.Fprintf(progress, "%8.0fs  %s\n", time.Since(began).Seconds(), e.Status)
			lastStatus, lastPrint = e.Status, time.Now()
		}
	})
	if err != nil {
		// Ctrl-C, --timeout or a failed DescribeExecution: there is no verdict, and the
		// execution is left running on purpose (see README, "From CI").
		msg := err.Error()
		if h, ok := awsHint(err); ok {
			msg = h.text
		}
		fmt.Fprintf(stderr, "drill start: %s\n", msg)
		fmt.Fprintf(stderr, "the execution keeps running; it restores the bucket itself when it ends.\n"+
			"  follow it: aws stepfunctions describe-execution --execution-arn %s\n"+
			"  stop it:   aws stepfunctions stop-execution --execution-arn %s\n"+
			"             (a stopped execution is ABORTED; the safety net, or within minutes the sweeper, then restores the bucket from its lock)\n", execARN, execARN)
		if *asJSON {
			c.writeJSONOnce(statusJSON{ExecutionARN: execARN, Status: string(ex.Status), Error: "NoVerdict", Cause: msg})
		}
		return exitNoVerdict
	}
	return finish(ex, c, progress)
}

// statusJSON is drill start --json's output when there is no report to print.
type statusJSON struct {
	ExecutionARN string `json:"executionArn"`
	Status       string `json:"status"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// finish prints a finished execution and returns its verdict as the exit code.
func finish(ex remote.Execution, c *cmdIO, progress io.Writer) int {
	asJSON, stderr := c.json, c.stderr
	name := ex.Name
	if name == "" {
		name = ex.ARN[strings.LastIndex(ex.ARN, ":")+1:]
	}
	reportHint := func() {
		start := ""
		if !ex.Start.IsZero() {
			start = " --start " + drill.At(ex.Start).String() // the name may have other runs
		}
		fmt.Fprintf(progress, "report              drill report --ledger <LedgerBucketName> --execution %s%s\n", name, start)
	}
	if ex.Status != types.ExecutionStatusSucceeded {
		fmt.Fprintf(progress, "\nstatus: %s\n", ex.Status)
		fmt.Fprintf(progress, "error               %s\n", orDash(ex.Error))
		fmt.Fprintf(progress, "cause               %s\n", orDash(drill.CauseMessage(ex.Cause)))
		if ex.Status == types.ExecutionStatusTimedOut || ex.Status == types.ExecutionStatusAborted {
			fmt.Fprintln(progress, "safety net          no Catch ran: the safety net restores the bucket by its ticket (alarm UndeliveredEvents if it cannot)")
		}
		reportHint()
		if asJSON {
			c.writeJSONOnce(statusJSON{ExecutionARN: ex.ARN, Status: string(ex.Status), Error: ex.Error, Cause: drill.CauseMessage(ex.Cause)})
		}
		if ex.Error == drill.ErrorName(&drill.Unverified{}) {
			return exitUnverified // a dry run that skipped a check: its cause names them
		}
		return exitFail
	}
	rep, err := remote.ParseReport([]byte(ex.Output))
	if err != nil {
		fmt.Fprintf(stderr, "drill start: execution SUCCEEDED but its output is %v\n", err)
		if asJSON {
			c.writeJSONOnce(statusJSON{ExecutionARN: ex.ARN, Status: string(ex.Status), Error: "NotAReport", Cause: err.Error()})
		}
		return exitFail
	}
	printReport(progress, rep)
	reportHint()
	if asJSON {
		c.writeRawJSONOnce([]byte(ex.Output))
	}
	return verdictExit(rep.Verdict)
}

// bucketName is S3's rule for bucket names, as far as a typo check needs.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

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

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeRawJSON prints a JSON document as stored, indented, so unknown fields survive.
func writeRawJSON(w io.Writer, raw []byte) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, _ = w.Write(buf.Bytes())
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

// printRecords prints each restore that ran after the execution ended.
func printRecords(w io.Writer, records []drill.RestoreRecord) {
	for _, rec := range records {
		fmt.Fprintf(w, "%-19s %s\n", strings.ReplaceAll(rec.Reason, "-", " "), recordLine(rec))
		if line := historyLine(rec); line != "" {
			fmt.Fprintf(w, "%-19s %s\n", "", line)
		}
	}
}

// historyLine is which state the execution was in when it was stopped or timed out,
// or which state failed it, with the error in full, as its history told the restore;
// or why the history could not tell; "" when the restore did not ask.
func historyLine(rec drill.RestoreRecord) string {
	var line string
	if f := rec.ExecutionHistory; f != nil {
		switch {
		case f.InterruptedState != "":
			line = "interrupted in state " + f.InterruptedState
		case f.FailedState != "":
			line = "failed in state " + f.FailedState
		case rec.ExecutionStatus == "ABORTED" || rec.ExecutionStatus == "TIMED_OUT":
			line = "stopped between two states"
		}
		var parts []string
		for _, p := range []string{f.Error, f.Cause} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			line += " (" + strings.Join(parts, ": ") + ")"
		}
	}
	if rec.HistoryError != "" {
		if line != "" {
			line += "; "
		}
		line += "execution history not read in full: " + rec.HistoryError
	}
	return line
}

func recordLine(rec drill.RestoreRecord) string {
	when := rec.At.UTC().Format(time.RFC3339)
	if rec.ExecutionStatus != "" {
		when += ", after the execution ended " + rec.ExecutionStatus
	}
	r := rec.Result
	switch {
	case rec.Error != "":
		return when + ": restore FAILED, the bucket may still be blocked: " + rec.Error
	case r == nil:
		return when + ": no result recorded"
	case r.NothingToRestore:
		return when + ": nothing to restore (the bucket was never blocked)"
	case r.AlreadyRestored:
		return fmt.Sprintf("%s: already restored; read back %s, matches the prior %s: %v", when, pabString(r.ReadBack), pabString(r.Prior), r.MatchesPrior)
	}
	return fmt.Sprintf("%s: put back %s, read back %s, matches the prior: %v", when, pabString(r.Prior), pabString(r.ReadBack), r.MatchesPrior)
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
