// Command report is the Lambda that judges the drill from the state machine's document
// and writes report.json and report.html to the ledger. It only wires: the logic is
// internal/report. It needs LEDGER_BUCKET.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/report"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", drill.FuncReport)
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
	h := &report.Handler{
		Ledger: &ledger.Ledger{S3: awsconf.AWSFactory(cfg)(""), Bucket: ledgerBucket},
		Log:    log,
		Now:    time.Now,
	}
	lambda.Start(func(ctx context.Context, in drill.ReportInput) (drill.Report, error) {
		r, err := h.Handle(ctx, in)
		return r, drill.Classify(err)
	})
}
