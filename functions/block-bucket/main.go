// Command block-bucket is the Lambda that stores a restore ticket in the ledger and
// then blocks all public access on the primary UI bucket. It only wires: the logic is
// internal/block. It needs LEDGER_BUCKET.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", drill.FuncBlock)
	ledgerBucket := os.Getenv(drill.EnvLedgerBucket)
	if ledgerBucket == "" {
		log.Error("missing required environment variable " + drill.EnvLedgerBucket)
		os.Exit(1)
	}
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	s3For := awsconf.AWSFactory(cfg)
	h := &block.Handler{
		S3:     pab.PerRegion(s3For),
		Ledger: &ledger.Ledger{S3: s3For(""), Bucket: ledgerBucket},
		Log:    log,
		Now:    time.Now,
	}
	lambda.Start(func(ctx context.Context, in drill.BlockInput) (drill.BlockResult, error) {
		r, err := h.Handle(ctx, in)
		return r, drill.Classify(err)
	})
}
