// Command block-bucket is the Lambda that stores a restore ticket in the ledger and
// then blocks all public access on the primary UI bucket. It only wires: the logic is
// internal/block. It needs LEDGER_BUCKET.
package main

import (
	"time"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
)

func main() {
	log := lambdamain.Logger(drill.FuncBlock)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	s3For := awsconf.MustFactory(log)
	h := &block.Handler{
		S3:     pab.PerRegion(s3For),
		Ledger: &ledger.Ledger{S3: s3For(""), Bucket: env[drill.EnvLedgerBucket]},
		Log:    log,
		Now:    time.Now,
	}
	lambdamain.Start(h.Handle)
}
