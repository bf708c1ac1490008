// Command seed-cart is the Lambda that signs up the drill's synthetic user and fills its
// cart through the primary API. It only wires: the logic is internal/seedcart. It
// needs no environment variables: the distribution comes in the payload's config.
package main

import (
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/seedcart"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := lambdamain.Logger(drill.FuncSeedCart)
	// A shop call over 10 s is a transient failure; the step's own timeout is 2 min.
	h := &seedcart.Handler{Shop: shop.New(lambdamain.HTTPClient(10 * time.Second)), Log: log, Now: time.Now}
	lambdamain.Start(h.Handle)
}
