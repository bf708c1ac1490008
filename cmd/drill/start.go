package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/remote"
)

// EnvStateMachineARN is drill start's default for --state-machine.
const EnvStateMachineARN = "DRILL_STATE_MACHINE_ARN"

// heartbeat is how often drill start --wait says the execution is still running, so
// CI systems that kill silent jobs do not.
const heartbeat = time.Minute

func runStart(ctx context.Context, args []string, stdout, stderr io.Writer, newSFN sfnFactory) int {
	c := newCLI("drill start", args, stdout, stderr)
	fs := flag.NewFlagSet("drill start", flag.ContinueOnError)
	arnFlag := fs.String("state-machine", "", "ARN of the deployed state machine (stack output StateMachineArn; default $"+EnvStateMachineARN+")")
	input := fs.String("input", "{}", "execution input, a JSON object; fields left out take the deployed defaults")
	name := fs.String("name", "", "execution name (default: one Step Functions picks); also the report's folder in the ledger")
	wait := fs.Bool("wait", false, "wait for the execution to end; the exit code is then the verdict")
	timeout := fs.Duration("timeout", 90*time.Minute, "with --wait: stop waiting after this long (0: no limit); the execution keeps running")
	poll := fs.Duration("poll", 5*time.Second, "with --wait: how often to ask Step Functions")
	fs.BoolVar(&c.json, "json", false, "print one JSON object on stdout whatever the exit code (the report, {executionArn,status,error,cause}, or {error,message}); progress goes to stderr")
	region := fs.String("region", "", "AWS region (default: the state machine ARN's region)")
	fs.BoolVar(&c.verbose, "v", false, "show the AWS SDK's errors in full")
	junitFile := fs.String("junit", "", "with --wait: also write the result as JUnit XML to this file (one test case, the execution: CI systems show it natively)")
	if code, ok := c.parse(fs, args, "--state-machine ARN [--wait [--junit FILE]] [flags]"); !ok {
		return code
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
	if err := drill.CheckInput(*input); err != nil {
		return usageErr("--input: %v", err)
	}
	if *name != "" {
		if err := drill.CheckName(*name); err != nil {
			return usageErr("--name: %v", err)
		}
	}
	if *poll <= 0 {
		return usageErr("--poll %s: must be positive", *poll)
	}
	if *timeout < 0 {
		return usageErr("--timeout %s: must be 0 (no limit) or positive", *timeout)
	}
	if *junitFile != "" && !*wait {
		return usageErr("--junit needs --wait: without it there is no result to write")
	}
	if err := fileDirExists("--junit", *junitFile); err != nil {
		return usageErr("%v", err)
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

	return waitFor(ctx, c, client, execARN, *timeout, *poll, *junitFile)
}

// waitFor follows the execution until it ends (or the wait does), prints it, writes
// its JUnit XML when asked, and returns its verdict as the exit code.
func waitFor(ctx context.Context, c *cmdIO, client sfnClient, execARN string, timeout, poll time.Duration, junitFile string) int {
	stderr := c.stderr
	progress := c.stdout
	if c.json {
		progress = stderr
	}
	began := time.Now()
	// With --junit, what the command prints for the run is also the test case's output.
	var printed strings.Builder
	if junitFile != "" {
		progress = io.MultiWriter(progress, &printed)
	}
	junit := func(r junitResult) int {
		if junitFile == "" {
			return r.Exit
		}
		r.Took, r.Output = time.Since(began), printed.String()
		if r.Execution == "" {
			r.Execution = execARN[strings.LastIndex(execARN, ":")+1:]
		}
		if err := writeJUnit(junitFile, r); err != nil {
			fmt.Fprintf(stderr, "drill start: %v\n", err)
		}
		return r.Exit
	}
	fmt.Fprintf(progress, "execution %s\n", execARN)
	waitCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var lastStatus types.ExecutionStatus
	var lastPrint time.Time
	ex, err := remote.Wait(waitCtx, client, execARN, poll, func(e remote.Execution) {
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
		if c.json {
			c.writeJSONOnce(statusJSON{ExecutionARN: execARN, Status: string(ex.Status), Error: "NoVerdict", Cause: msg})
		}
		return junit(junitResult{Exit: exitNoVerdict, Verdict: "no verdict", Message: msg})
	}
	code := finish(ex, c, progress)
	result := junitResult{Execution: ex.Name, Started: ex.Start, Exit: code, Verdict: string(ex.Status),
		Message: strings.TrimPrefix(ex.Error+": "+drill.CauseMessage(ex.Cause), ": ")}
	if rep, err := drill.ParseReport([]byte(ex.Output)); err == nil && ex.Status == types.ExecutionStatusSucceeded {
		result = reportResult(rep, code, 0, "")
		result.Execution = ex.Name // the run's own name (the report names it too)
	}
	return junit(result)
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
	rep, err := drill.ParseReport([]byte(ex.Output))
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
