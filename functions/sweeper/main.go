// Command sweeper is the Lambda a schedule runs every few minutes, whatever events were
// lost: it lists the ledger's locks, asks Step Functions whether each lock's execution
// still runs, and restores (with restore's own code) every lock whose execution has
// ended. It only wires: the logic is internal/sweeper. It needs LEDGER_BUCKET.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/sweeper"
)

func main() {
	log := lambdamain.Logger(drill.FuncSweeper)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	cfg := awsconf.MustLoad(log)
	s3For := awsconf.AWSFactory(cfg)
	led := &ledger.Ledger{S3: s3For(""), Bucket: env[drill.EnvLedgerBucket]}
	// The sweeper only restores runs that ended more than Settle ago (its reason is not
	// the safety net's, so restore does not wait); Settle 0 is restore.DefaultSettle,
	// the bound on a late block restore undoes on a restored run.
	states := sfn.NewFromConfig(cfg)
	r := &restore.Handler{
		S3:      pab.PerRegion(s3For),
		Ledger:  led,
		Cart:    shop.New(lambdamain.HTTPClient(5 * time.Second)),
		History: states,
		// A run of the database stage recorded the global database's writer: restore
		// switches it back (the deployment grants RDS only with globalCluster).
		Database: &database.PutBack{RDS: database.AWSClients(cfg), Log: log},
		Log:      log,
		Now:      time.Now,
	}
	h := &sweeper.Handler{
		Ledger:  led,
		SFN:     states,
		Restore: r.Handle,
		Settle:  restore.DefaultSettle,
		Now:     time.Now,
		Log:     log,
		Metrics: os.Stdout, // CloudWatch turns these EMF lines into metrics
	}
	lambdamain.Start(h.Handle)
}
