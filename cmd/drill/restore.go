package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
)

// runRestore restores a bucket from its lock with the operator's credentials and the
// function's own checks, waits, as the safety net does, until no block of the run can
// land any more, looks again, and then releases the lock.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer, newOps opsFactory) int {
	fs := flag.NewFlagSet("drill restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var of opsFlags
	of.register(fs)
	bucket := fs.String("bucket", "", "the locked bucket to put back (drill status lists them)")
	force := fs.Bool("force", false, "restore even while the lock's execution runs, or when Step Functions cannot say")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := of.check(); err != nil {
		fmt.Fprintln(stderr, "drill restore:", err)
		return exitUsage
	}
	if !bucketName.MatchString(*bucket) {
		fmt.Fprintf(stderr, "drill restore: --bucket %q is not a bucket name\n", *bucket)
		return exitUsage
	}
	env, err := newOps(ctx)
	if err != nil {
		return awsFail(stderr, "drill restore", err)
	}
	res, err := operator.Restore(ctx, of.clients(env, slog.New(slog.NewTextHandler(stderr, nil))), *bucket, *force)
	var changed *drill.BucketChangedDuringDrill
	switch {
	case errors.As(err, &changed):
		fmt.Fprintf(stderr, "drill restore: %v\n", err)
		return exitFail
	case errors.Is(err, operator.ErrRunning):
		fmt.Fprintf(stderr, "drill restore: %v\n", err)
		return exitFail
	case err != nil:
		return awsFail(stderr, "drill restore", err)
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
