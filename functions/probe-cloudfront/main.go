// Command probe-cloudfront is the Lambda that samples the distribution (modes steady,
// failover, recovery) and checks the seeded cart through the secondary API. It only
// wires: the logic is internal/probe. It needs no environment variables: the
// distribution comes in the payload's config.
package main

import (
	"time"

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
	h := &probe.Handler{
		HTTP:  httpClient,
		Shop:  shop.New(httpClient),
		Log:   lambdamain.Logger(drill.FuncProbe),
		Now:   time.Now,
		Sleep: clock.Sleep,
	}
	lambdamain.Start(h.Handle)
}
