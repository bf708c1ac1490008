// Package lambdamain is the wiring every function's main.go shares: a JSON logger,
// required environment, the AWS configuration, an HTTP client, and lambda.Start with
// the drill's error classification. Each main.go stays a few lines of wiring.
package lambdamain

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/unishop/failover-drill/internal/drill"
)

// Logger logs JSON to stderr (CloudWatch Logs), tagged with the function's name.
func Logger(function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
}

// RequireEnv reads names once at cold start; a missing one stops the function before
// it serves anything, naming the variable.
func RequireEnv(log *slog.Logger, names ...string) map[string]string {
	env := make(map[string]string, len(names))
	for _, name := range names {
		if env[name] = os.Getenv(name); env[name] == "" {
			log.Error("missing required environment variable "+name, "variable", name)
			os.Exit(1)
		}
	}
	return env
}

// HTTPClient is built once per cold start. timeout bounds a whole request: what a
// visitor would wait before giving up.
func HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: timeout / 2, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   timeout / 2,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       60 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		},
	}
}

// Start serves h. Its error goes through drill.Classify, so the Lambda error type is
// the typed error's name the state machine retries or catches, not "wrapError".
func Start[In, Out any](h func(context.Context, In) (Out, error)) {
	lambda.Start(func(ctx context.Context, in In) (Out, error) {
		out, err := h(ctx, in)
		return out, drill.Classify(err)
	})
}
