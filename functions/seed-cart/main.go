// Command seed-cart is the Lambda that signs up the drill's synthetic user and fills its
// cart through the primary API. It only wires: the logic is internal/seedcart. It
// needs no environment variables: the distribution comes in the payload's config.
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/seedcart"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", drill.FuncSeedCart)
	h := &seedcart.Handler{Shop: shop.New(newHTTPClient()), Log: log, Now: time.Now}
	lambda.Start(func(ctx context.Context, in drill.SeedInput) (drill.SeedResult, error) {
		r, err := h.Handle(ctx, in)
		return r, drill.Classify(err)
	})
}

// newHTTPClient is built once per cold start. A shop call taking more than 10 s is
// treated as a transient failure; the step's own timeout is 120 s.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			IdleConnTimeout:       60 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		},
	}
}
