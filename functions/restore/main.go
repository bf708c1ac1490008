// Command restore is the Lambda that puts the primary UI bucket's Block Public Access
// configuration back exactly as the restore ticket recorded it, verifies it, clears
// the synthetic cart and releases the lock. The flow, its failure path and the safety
// net all call it. It only wires: the logic is internal/restore. It needs LEDGER_BUCKET;
// the run's ticket names the bucket and its region.
package main

import (
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
)

func main() {
	log := lambdamain.Logger(drill.FuncRestore)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	cfg := awsconf.MustLoad(log)
	s3For := awsconf.AWSFactory(cfg)
	h := &restore.Handler{
		S3:     pab.PerRegion(s3For),
		Ledger: &ledger.Ledger{S3: s3For(""), Bucket: env[drill.EnvLedgerBucket]},
		// Clearing the cart is best effort: each call is short and never holds up the restore.
		Cart:   shop.New(lambdamain.HTTPClient(5 * time.Second)),
		Settle: restore.DefaultSettle,
		// The safety net's record names the state a stopped or failed execution was in
		// (the execution is in this function's region: the same stack).
		History: sfn.NewFromConfig(cfg),
		// A run of the database stage recorded the global database's writer: restore
		// switches it back (the deployment grants RDS only with globalCluster).
		Database: &database.PutBack{RDS: database.AWSClients(cfg), Log: log},
		Log:      log,
		Now:      time.Now,
	}
	lambdamain.Start(h.Handle)
}
