// Command report is the Lambda that judges the drill from the state machine's document
// and writes report.json and report.html to the ledger. It only wires: the logic is
// internal/report. It needs LEDGER_BUCKET; it reads the state machine's executions
// (states:ListExecutions, DescribeExecution) to tell a dry run a drill disturbed.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/report"
)

func main() {
	log := lambdamain.Logger(drill.FuncReport)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	cfg := awsconf.MustLoad(log)
	h := &report.Handler{
		Ledger:  &ledger.Ledger{S3: awsconf.AWSFactory(cfg)(""), Bucket: env[drill.EnvLedgerBucket]},
		Log:     log,
		Now:     time.Now,
		Metrics: os.Stdout, // CloudWatch turns these EMF lines into metrics
		// A dry run that did not end ready: did a drill of this state machine run meanwhile?
		Executions: sfn.NewFromConfig(cfg),
	}
	lambdamain.Start(h.Handle)
}
