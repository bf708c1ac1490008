// Command drill runs the failover drill.
//
//	drill local    run a whole drill against a built-in replica of the lab, offline
//	drill sandbox  start only the replica and print its URLs
//	drill public-access  show, block or restore a sandbox bucket's Block Public Access
//	drill start    start the deployed drill on AWS; with --wait the exit code is the verdict
//	drill report   print a run's report again: from the ledger bucket, or a local run's folder
//	drill history  list past drills (local reports or the ledger), their summary and trend
//	drill status   every lock in the ledger, its execution's state, its bucket against the prior
//	drill restore  put a locked bucket back from its lock (the restore function's checks), release the lock
//	drill unlock   release a lock by hand, after a confirmation naming the bucket
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: drill <command> [flags]

commands:
  local    run a complete failover drill against a local replica of the lab
  sandbox  start only the local replica and print its URLs (Ctrl-C stops it)
  public-access  show, block or put back a sandbox bucket's Block Public Access
  start    start the deployed drill on AWS (--wait: exit 0 only on pass or ready)
  report   print a run's report: from the ledger (--ledger), or a local run (--execution, or its folder)
  history  list past drills with a summary (local reports folder, or --ledger); --html writes an index page
  configure  find the lab's distribution and buckets, write cdk.context.json for cdk deploy

operator's way out (docs/operate.md, "Runbook"):
  status   every lock in the ledger, its execution's state, the bucket against the prior
  restore  put a locked bucket back from its lock, with the restore function's checks
  unlock   release a lock by hand, after a confirmation naming the bucket

Run "drill <command> -h" for the command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// Notify installs a handler even when the process was started with SIGINT ignored
	// (a non-interactive shell's background job), so Ctrl-C and kill -INT still stop a
	// drill cleanly (os/signal: "it will no longer be ignored").
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The AWS SDK's own warnings only under -v: the commands say what is missing.
	sdkVerbose = newCLI("", os.Args[2:], io.Discard, io.Discard).verbose
	var code int
	switch os.Args[1] {
	case "local":
		code = runLocal(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "sandbox":
		code = runSandbox(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "public-access":
		code = runPublicAccess(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "start":
		code = runStart(ctx, os.Args[2:], os.Stdout, os.Stderr, awsSFN)
	case "report":
		code = runReport(ctx, os.Args[2:], os.Stdout, os.Stderr, awsS3)
	case "history":
		code = runHistory(ctx, os.Args[2:], os.Stdout, os.Stderr, awsS3)
	case "configure":
		code = runConfigure(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "status":
		code = runStatus(ctx, os.Args[2:], os.Stdout, os.Stderr, awsOps)
	case "restore":
		code = runRestore(ctx, os.Args[2:], os.Stdout, os.Stderr, awsOps)
	case "unlock":
		code = runUnlock(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr, awsOps)
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
	default:
		fmt.Fprintf(os.Stderr, "drill: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}
