package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// opsEnv builds the operator's clients: S3 for a region ("" keeps the configured one)
// and Step Functions for a region.
type opsEnv struct {
	S3  func(region string) *s3.Client
	SFN func(region string) sweeper.ExecutionAPI
}

type opsFactory func(ctx context.Context) (opsEnv, error)

// awsOps uses the default AWS configuration: the operator's own credentials.
func awsOps(ctx context.Context) (opsEnv, error) {
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return opsEnv{}, err
	}
	return opsEnv{
		S3: awsconf.AWSFactory(cfg),
		SFN: func(region string) sweeper.ExecutionAPI {
			return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.Region = region })
		},
	}, nil
}

// opsFlags are the flags every operator command takes.
type opsFlags struct {
	ledger, region string
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.ledger, "ledger", "", "the ledger bucket (stack output LedgerBucketName)")
	fs.StringVar(&o.region, "region", "", "the ledger's region (the stack's; default: the configured region)")
	fs.Bool("v", false, "show the AWS SDK's errors in full")
}

func (o *opsFlags) check() error {
	switch {
	case o.ledger == "":
		return errors.New("--ledger is required: the stack output LedgerBucketName")
	case !bucketName.MatchString(o.ledger):
		return fmt.Errorf("--ledger %q is not a bucket name", o.ledger)
	}
	return nil
}

func (o *opsFlags) clients(env opsEnv, log *slog.Logger) operator.Clients {
	return operator.Clients{
		Ledger: &ledger.Ledger{S3: env.S3(o.region), Bucket: o.ledger},
		S3:     pab.PerRegion(env.S3),
		SFN:    env.SFN,
		Cart:   shop.New(&http.Client{Timeout: 5 * time.Second}),
		Log:    log,
	}
}

// runStatus prints every lock: its execution and that execution's state, the bucket's
// current settings against the prior. Exit 0 when nothing needs a person, 1 when a
// lock's execution has ended (or is unknown) or its bucket was changed, 3 on errors.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer, newOps opsFactory) int {
	fs := flag.NewFlagSet("drill status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var of opsFlags
	of.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := of.check(); err != nil {
		fmt.Fprintln(stderr, "drill status:", err)
		return exitUsage
	}
	env, err := newOps(ctx)
	if err != nil {
		return awsFail(stderr, "drill status", err)
	}
	locks, err := operator.Status(ctx, of.clients(env, discard()))
	if err != nil {
		return awsFail(stderr, "drill status", err)
	}
	fmt.Fprintf(stdout, "ledger s3://%s: %d lock(s)\n", of.ledger, len(locks))
	code := exitPass
	for _, s := range locks {
		l := s.Lock
		fmt.Fprintf(stdout, "\nbucket      %s (%s), locked since %s\n", l.Bucket, l.Region, l.CreatedAt.Format(time.RFC3339))
		fmt.Fprintf(stdout, "execution   %s\n            %s\n", l.ID(), orDash(l.ExecutionArn))
		if s.ExecErr != "" {
			fmt.Fprintf(stdout, "state       unknown: %s\n", s.ExecErr)
		} else {
			fmt.Fprintf(stdout, "state       %s\n", s.Execution.Status)
		}
		prior := "not recorded (the drill had not read it yet)"
		if l.Status == drill.TicketHeld || l.Status == drill.TicketChanged {
			prior = pab.String(l.Prior)
		}
		fmt.Fprintf(stdout, "prior       %s\n", prior)
		restoreCmd := fmt.Sprintf("drill restore --ledger %s --bucket %s", of.ledger, l.Bucket)
		switch s.Bucket {
		case operator.BucketUnknown:
			fmt.Fprintf(stdout, "bucket now  unknown: %s\n", s.BucketErr)
		case operator.BucketBlocked:
			fmt.Fprintf(stdout, "bucket now  %s: the drill's block\n", pab.String(s.Current))
		case operator.BucketPrior:
			fmt.Fprintf(stdout, "bucket now  %s: the prior, nothing to put back\n", pab.String(s.Current))
		case operator.BucketChanged:
			if l.Status == drill.TicketChanged {
				fmt.Fprintf(stdout, "bucket now  %s: CHANGED during the drill (restore found someone else's settings; no restore writes it again)\n", pab.String(s.Current))
			} else {
				fmt.Fprintf(stdout, "bucket now  %s: CHANGED during the drill (neither the block nor the prior)\n", pab.String(s.Current))
			}
		default:
			fmt.Fprintf(stdout, "bucket now  %s: untouched by the drill\n", pab.String(s.Current))
		}
		if !s.NeedsAction() {
			fmt.Fprintln(stdout, "action      none: the execution runs and restores the bucket itself")
			continue
		}
		code = exitFail
		switch s.Bucket {
		case operator.BucketChanged:
			fmt.Fprintf(stdout, "action      decide what the bucket must hold and set it by hand (%s would refuse), then: drill unlock --ledger %s --bucket %s\n",
				restoreCmd, of.ledger, l.Bucket)
		default:
			fmt.Fprintf(stdout, "action      %s   (the sweeper does this within minutes once the execution ended)\n", restoreCmd)
		}
	}
	return code
}

// runRestore restores a bucket from its lock with the operator's credentials and the
// function's own checks, then releases the lock.
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
	switch {
	case res.NothingToRestore:
		fmt.Fprintf(stdout, "%s: nothing to restore (the drill had not blocked it); lock released\n", *bucket)
	case res.ChangedAfterRestore != "":
		fmt.Fprintf(stdout, "%s: already restored by its run; %s; lock released\n", *bucket, res.ChangedAfterRestore)
	default:
		fmt.Fprintf(stdout, "%s: restored to %s, reads back %s (matches: %v); lock released\n", *bucket, pab.String(res.Prior), pab.String(res.ReadBack), res.MatchesPrior)
	}
	if res.CartError != "" {
		fmt.Fprintf(stdout, "synthetic cart not cleared: %s\n", res.CartError)
	}
	return exitPass
}

// runUnlock releases a lock by hand, after a confirmation naming the bucket. It changes
// nothing on the bucket: it prints what the bucket should hold.
func runUnlock(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, newOps opsFactory) int {
	fs := flag.NewFlagSet("drill unlock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var of opsFlags
	of.register(fs)
	bucket := fs.String("bucket", "", "the locked bucket")
	confirm := fs.String("confirm", "", "the bucket's name again, to confirm without a prompt (scripts)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := of.check(); err != nil {
		fmt.Fprintln(stderr, "drill unlock:", err)
		return exitUsage
	}
	if !bucketName.MatchString(*bucket) {
		fmt.Fprintf(stderr, "drill unlock: --bucket %q is not a bucket name\n", *bucket)
		return exitUsage
	}
	answer := *confirm
	if answer == "" {
		fmt.Fprintf(stderr, "Release the drill's lock on bucket %s? This changes nothing on the bucket: it only lets drills run again.\n"+
			"Type the bucket name to confirm: ", *bucket)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		answer = strings.TrimSpace(line)
	}
	if answer != *bucket {
		fmt.Fprintf(stderr, "drill unlock: not confirmed (%q is not %q); nothing released\n", answer, *bucket)
		return exitFail
	}
	env, err := newOps(ctx)
	if err != nil {
		return awsFail(stderr, "drill unlock", err)
	}
	lock, err := operator.Unlock(ctx, of.clients(env, discard()), *bucket)
	if err != nil {
		return awsFail(stderr, "drill unlock", err)
	}
	fmt.Fprintf(stdout, "released the lock of %s on %s\n", lock.ID(), *bucket)
	if lock.Status == drill.TicketHeld || lock.Status == drill.TicketChanged {
		fmt.Fprintf(stdout, "its prior (what the bucket held before the drill): %s\n", pab.String(lock.Prior))
	}
	return exitPass
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// awsFail prints an AWS error once, as a one-line hint when credentials or the region
// are missing (the SDK's chain under -v), and returns exit 3.
func awsFail(stderr io.Writer, command string, err error) int {
	c := &cmdIO{name: command, stderr: stderr, stdout: io.Discard, verbose: sdkVerbose}
	return c.fail(exitNoVerdict, "AWS", err)
}
