// Command switch-database is the Lambda of the opt-in database stage: it records the
// global database's writer in the run's ticket and lock, switches the global database
// over to the secondary region's cluster (mode over) or back (mode back) with
// SwitchoverGlobalCluster, and measures what the shop's users' writes lived. It only
// wires: the logic is internal/database. It needs LEDGER_BUCKET.
package main

import (
	"time"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := lambdamain.Logger(drill.FuncDatabase)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	cfg := awsconf.MustLoad(log)
	s3For := awsconf.AWSFactory(cfg)
	h := &database.Handler{
		RDS:    database.AWSClients(cfg),
		Ledger: &ledger.Ledger{S3: s3For(""), Bucket: env[drill.EnvLedgerBucket]},
		// Each sign-up and log-in is short: a hanging one must not hold the cadence.
		Shop: shop.New(lambdamain.HTTPClient(5 * time.Second)),
		Log:  log,
		Now:  time.Now,
	}
	lambdamain.Start(h.Handle)
}
