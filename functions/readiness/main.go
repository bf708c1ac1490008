// Command readiness is the Lambda that checks, before the drill changes anything, that
// the lab can fail over and back: the distribution's configuration, the secondary
// origin, the account-level Block Public Access and the stop alarms; after SeedCart,
// the replication of the seeded cart. It only wires: the logic is internal/readiness.
// STOP_ALARMS (a JSON list, maybe empty) names the deployment's stop alarms; the
// account whose Block Public Access is read is the one in the function's own ARN.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/database"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/lambdamain"
	"github.com/unishop/failover-drill/internal/readiness"
	"github.com/unishop/failover-drill/internal/shop"
)

func main() {
	log := lambdamain.Logger(drill.FuncReadiness)
	var alarms []string
	if raw := os.Getenv(drill.EnvStopAlarms); raw != "" {
		if err := json.Unmarshal([]byte(raw), &alarms); err != nil {
			log.Error("environment variable "+drill.EnvStopAlarms+" is not a JSON list of alarm names", "error", err)
			os.Exit(1)
		}
	}
	cfg, err := awsconf.Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	clients := readiness.AWSClients(cfg)
	httpClient := lambdamain.HTTPClient(10 * time.Second)
	h := &readiness.Handler{
		CloudFront:         clients.CloudFront,
		S3Control:          clients.S3Control,
		Alarms:             clients.CloudWatch,
		HTTP:               httpClient,
		Shop:               shop.New(httpClient),
		AccountID:          accountOfFunction,
		DeployedStopAlarms: alarms,
		// The database stage's checks (granted only with globalCluster context).
		Database: database.AWSClients(cfg),
		Log:      log,
		Now:      time.Now,
	}
	lambdamain.Start(h.Handle)
}

// accountOfFunction is the account field of the invoked function's ARN
// (arn:aws:lambda:<region>:<account>:function:<name>).
func accountOfFunction(ctx context.Context) string {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return ""
	}
	if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) > 4 {
		return parts[4]
	}
	return ""
}
