// Command report is the Lambda that judges the drill from the state machine's document
// and writes report.json and report.html to the ledger. It only wires: the logic is
// internal/report. It needs LEDGER_BUCKET.
package main

import (
	"os"
	"time"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/report"
)

func main() {
	log := lambdamain.Logger(drill.FuncReport)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	h := &report.Handler{
		Ledger:  &ledger.Ledger{S3: awsconf.MustFactory(log)(""), Bucket: env[drill.EnvLedgerBucket]},
		Log:     log,
		Now:     time.Now,
		Metrics: os.Stdout, // CloudWatch turns these EMF lines into metrics
	}
	lambdamain.Start(h.Handle)
}
