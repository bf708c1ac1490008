package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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
	settle         time.Duration
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.ledger, "ledger", "", "the ledger bucket (stack output LedgerBucketName)")
	fs.StringVar(&o.region, "region", "", "the ledger's region (the stack's; default: the configured region)")
	fs.Bool("v", false, "show the AWS SDK's errors in full")
	fs.DurationVar(&o.settle, "settle", restore.DefaultSettle, "how long after a run's block was sent it can still land: block-bucket's longest life (the deployed stack's; the sandbox's is "+local.SafetyNetSettle.String()+")")
}

func (o *opsFlags) check() error {
	switch {
	case o.ledger == "":
		return errors.New("--ledger is required: the stack output LedgerBucketName")
	case !bucketName.MatchString(o.ledger):
		return fmt.Errorf("--ledger %q is not a bucket name", o.ledger)
	case o.settle <= 0 || o.settle > time.Hour:
		return fmt.Errorf("--settle %s: want a duration above 0 and at most 1h", o.settle)
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
		Settle: o.settle,
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
