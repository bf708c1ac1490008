package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
)

// runRestore restores a bucket from its lock with the operator's credentials and the
// function's own checks, waits, as the safety net does, until no block of the run can
// land any more, looks again, and then releases the lock.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer, newOps opsFactory) int {
	c := newCLI("drill restore", args, stdout, stderr)
	fs := flag.NewFlagSet("drill restore", flag.ContinueOnError)
	var of opsFlags
	of.register(c, fs)
	bucket := fs.String("bucket", "", "the locked bucket to put back (drill status lists them)")
	of.bucket = bucket
	force := fs.Bool("force", false, "restore even while the lock's execution runs, or when Step Functions cannot say")
	if code, ok := of.setup(c, fs, args, "--ledger BUCKET --bucket BUCKET [--force] [--region REGION] [-v]"); !ok {
		return code
	}
	env, code, ok := of.env(ctx, c, newOps)
	if !ok {
		return code
	}
	res, err := operator.Restore(ctx, of.clients(env, c.logger()), *bucket, *force)
	var changed *drill.BucketChangedDuringDrill
	switch {
	case errors.As(err, &changed):
		fmt.Fprintf(stderr, "drill restore: %v\n", err)
		return exitFail
	case errors.Is(err, operator.ErrRunning):
		fmt.Fprintf(stderr, "drill restore: %v\n", err)
		return exitFail
	case err != nil:
		return c.awsFail(err)
	}
	released := "lock released"
	if res.WaitedSeconds > 0 {
		released = fmt.Sprintf("waited %.0f s until no block of the run could land, looked again; lock released", res.WaitedSeconds)
	}
	switch {
	case res.NothingToRestore:
		fmt.Fprintf(stdout, "%s: nothing to restore (the drill had not blocked it); %s\n", *bucket, released)
	case res.ChangedAfterRestore != "":
		fmt.Fprintf(stdout, "%s: already restored by its run; %s; %s\n", *bucket, res.ChangedAfterRestore, released)
	default:
		fmt.Fprintf(stdout, "%s: restored to %s, reads back %s (matches: %v); %s\n", *bucket, pab.String(res.Prior), pab.String(res.ReadBack), res.MatchesPrior, released)
	}
	if res.CartError != "" {
		fmt.Fprintf(stdout, "synthetic cart not cleared: %s\n", res.CartError)
	}
	return exitPass
}
