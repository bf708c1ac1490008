// Command probe-cloudfront is the Lambda that samples the distribution (modes steady,
// failover, recovery) and checks the seeded cart through the secondary API. It only
// wires: the logic is internal/probe. It needs no environment variables: the
// distribution and the stop alarms to watch come in the payload. Its only AWS access
// is cloudwatch:DescribeAlarms on the deployment's stop alarms.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	// A sample not answered within 10 s counts as a user-visible error (a visitor
	// would have given up too); it also bounds how long one tick can delay the schedule.
	httpClient := lambdamain.HTTPClient(10 * time.Second)
	log := lambdamain.Logger(drill.FuncProbe)
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	h := &probe.Handler{
		HTTP:   httpClient,
		Shop:   shop.New(httpClient),
		Log:    log,
		Now:    time.Now,
		Sleep:  clock.Sleep,
		Alarms: cloudwatch.NewFromConfig(cfg),
	}
	lambdamain.Start(h.Handle)
}
