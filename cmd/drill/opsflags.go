package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/shop"
)

// opsFlags are the flags every operator command takes.
type opsFlags struct {
	ledger, region string
	bucket         *string // the locked bucket, for restore and unlock (nil: status)
	settle         time.Duration
}

func (o *opsFlags) register(c *cmdIO, fs *flag.FlagSet) {
	fs.StringVar(&o.ledger, "ledger", "", "the ledger bucket (stack output LedgerBucketName)")
	fs.StringVar(&o.region, "region", "", "the ledger's region (the stack's; default: the configured region)")
	c.logFlags(fs, "show the AWS SDK's errors in full, and the command's logs")
	fs.DurationVar(&o.settle, "settle", restore.DefaultSettle, "how long after a run's block was sent it can still land: block-bucket's longest life (the deployed stack's; the sandbox's is "+local.SafetyNetSettle.String()+")")
}

func (o *opsFlags) check() error {
	switch {
	case o.ledger == "":
		return errors.New("--ledger is required: the stack output LedgerBucketName")
	case !bucketName.MatchString(o.ledger):
		return fmt.Errorf("--ledger %q is not a bucket name", o.ledger)
	case o.bucket != nil && !bucketName.MatchString(*o.bucket):
		return fmt.Errorf("--bucket %q is not a bucket name", *o.bucket)
	case o.settle <= 0 || o.settle > time.Hour:
		return fmt.Errorf("--settle %s: want a duration above 0 and at most 1h", o.settle)
	}
	return nil
}

// setup is the one way in of status, restore and unlock: the flags checked before
// anything is called (exit 2, a short usage on a wrong flag, 0 on -h), then the AWS
// configuration, with the same one-line region and credentials hints as drill report.
// ok false: the command ends with code.
func (o *opsFlags) setup(c *cmdIO, fs *flag.FlagSet, args []string, synopsis string) (code int, ok bool) {
	if code, ok := c.parse(fs, args, synopsis); !ok {
		return code, false
	}
	if fs.NArg() > 0 {
		return c.usage("unexpected argument %q", fs.Arg(0)), false
	}
	if err := o.check(); err != nil {
		return c.usage("%v", err), false
	}
	return 0, true
}

// env builds the operator's clients; no region given nor configured is a usage error,
// as in drill report.
func (o *opsFlags) env(ctx context.Context, c *cmdIO, newOps opsFactory) (opsEnv, int, bool) {
	env, err := newOps(ctx)
	if err != nil {
		return env, c.awsFail(err), false
	}
	if o.region == "" && env.Region == "" {
		return env, c.fail(exitUsage, "NoRegion", errNoRegion), false
	}
	return env, 0, true
}

func (o *opsFlags) clients(env opsEnv, log *slog.Logger) operator.Clients {
	c := operator.Clients{
		Ledger: &ledger.Ledger{S3: env.S3(o.region), Bucket: o.ledger},
		S3:     pab.PerRegion(env.S3),
		SFN:    env.SFN,
		Cart:   shop.New(&http.Client{Timeout: 5 * time.Second}),
		Log:    log,
		Settle: o.settle,
	}
	if env.RDS != nil {
		c.Database = &database.PutBack{RDS: env.RDS, Log: log}
	}
	return c
}
