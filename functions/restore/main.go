// Command restore is the Lambda that puts the primary UI bucket's Block Public Access
// configuration back exactly as the restore ticket recorded it, verifies it, clears
// the synthetic cart and releases the lock. The flow, its failure path and the safety
// net all call it. It only wires: the logic is internal/restore. It needs LEDGER_BUCKET;
// the run's ticket names the bucket and its region.
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", drill.FuncRestore)
	env := map[string]string{}
	for _, name := range []string{drill.EnvLedgerBucket} {
		if env[name] = os.Getenv(name); env[name] == "" {
			log.Error("missing required environment variable " + name)
			os.Exit(1)
		}
	}
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	s3For := awsconf.AWSFactory(cfg)
	h := &restore.Handler{
		S3:     pab.PerRegion(s3For),
		Ledger: &ledger.Ledger{S3: s3For(""), Bucket: env[drill.EnvLedgerBucket]},
		Cart:   shop.New(newHTTPClient()),
		Settle: restore.DefaultSettle,
		Log:    log,
		Now:    time.Now,
	}
	lambda.Start(func(ctx context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
		r, err := h.Handle(ctx, in)
		return r, drill.Classify(err)
	})
}

// newHTTPClient is built once per cold start. Clearing the cart is best effort, so
// each call is short: it must never hold up the restore.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   3 * time.Second,
			ResponseHeaderTimeout: 5 * time.Second,
			IdleConnTimeout:       60 * time.Second,
			MaxIdleConnsPerHost:   2,
			ForceAttemptHTTP2:     true,
		},
	}
}
