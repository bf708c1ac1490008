// Command probe-cloudfront is the Lambda that samples the distribution (modes steady,
// failover, recovery), checks the seeded cart through the secondary API, writes its
// full sample log to the ledger, and watches the stop alarms while it waits. It only
// wires: the logic is internal/probe. It needs LEDGER_BUCKET (its only grant there:
// runs/*/<start>/samples-*.json, its run's folder); the distribution, the stop alarms
// and the origin settings come in the payload. Its other AWS access is
// cloudwatch:DescribeAlarms (on *: the only scope under which CloudWatch returns
// composite alarms).
package main

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := lambdamain.Logger(drill.FuncProbe)
	env := lambdamain.RequireEnv(log, drill.EnvLedgerBucket)
	// The cart check's client gives up after 10 s. Samples share its transport but not
	// its timeout: each waits probe.RequestTimeout, derived from the distribution's
	// origin settings, so a slow failover is measured as slow, not as an error.
	httpClient := lambdamain.HTTPClient(10 * time.Second)
	cfg := awsconf.MustLoad(log)
	h := &probe.Handler{
		HTTP:    httpClient,
		Shop:    shop.New(httpClient),
		Log:     log,
		Now:     time.Now,
		Sleep:   clock.Sleep,
		Samples: &ledger.Ledger{S3: awsconf.AWSFactory(cfg)(""), Bucket: env[drill.EnvLedgerBucket]},
		Alarms:  cloudwatch.NewFromConfig(cfg),
	}
	lambdamain.Start(h.Handle)
}
