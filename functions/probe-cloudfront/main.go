// Command probe-cloudfront is the Lambda that samples the distribution (modes steady,
// failover, recovery) and checks the seeded cart through the secondary API. It only
// wires: the logic is internal/probe. It needs no environment variables: the
// distribution comes in the payload's config.
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
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", drill.FuncProbe)
	httpClient := newHTTPClient()
	h := &probe.Handler{
		HTTP:  httpClient,
		Shop:  shop.New(httpClient),
		Log:   log,
		Now:   time.Now,
		Sleep: probe.SleepContext,
	}
	lambda.Start(func(ctx context.Context, in drill.ProbeInput) (drill.ProbeResult, error) {
		r, err := h.Handle(ctx, in)
		return r, drill.Classify(err)
	})
}

// newHTTPClient is built once per cold start. A sample not answered within 10 s
// counts as a user-visible error (a visitor would have given up too); it also bounds
// how long one tick can delay the schedule.
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
