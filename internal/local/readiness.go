package local

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/readiness"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/sandbox/cloudwatch"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// LocalAlarmEvery is how often the local probe reads the stop alarms: the sandbox's
// alarms change at a set moment, not once a period.
const LocalAlarmEvery = 100 * time.Millisecond

// LocalAlarmUnreadableLimit is how long the local probe lets the stop alarms go
// unread before it stops the drill: ten reads, as on AWS six (probe's default).
const LocalAlarmUnreadableLimit = time.Second

// LocalReplicationPoll is how often the local replication check reads the cart.
const LocalReplicationPoll = 50 * time.Millisecond

// readinessHandler is the readiness function deployed onto the sandbox: the real SDK
// clients at its control plane, signed as the function (the replica enforces its
// policy), an HTTP client whose "DNS" resolves the website
// endpoints' real host names (as the distribution's configuration names them) to the
// sandbox's listeners, and the sandbox's stop alarms as the deployment's.
func readinessHandler(sb *sandbox.Sandbox, log *slog.Logger) (*readiness.Handler, stopalarm.API) {
	sc := sb.Config()
	clients := readiness.SandboxClients(sc.PrimaryRegion, sb.CloudFrontURL(), sb.S3ControlURL(), sb.CloudWatchURL(), drill.FuncReadiness)
	// The probe reads the alarms with its own client, signed as itself.
	probeAlarms := readiness.SandboxClients(sc.PrimaryRegion, sb.CloudFrontURL(), sb.S3ControlURL(), sb.CloudWatchURL(), drill.FuncProbe).CloudWatch
	httpClient := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) { return sb.Dial(network, addr) },
		},
	}
	return &readiness.Handler{
		CloudFront:         clients.CloudFront,
		S3Control:          clients.S3Control,
		Alarms:             clients.CloudWatch,
		HTTP:               httpClient,
		Shop:               shop.New(httpClient),
		AccountID:          func(context.Context) string { return sandbox.AccountID },
		DeployedStopAlarms: sc.StopAlarms,
		ReplicationPoll:    LocalReplicationPoll,
		Database: func(region string) database.API {
			return awsrds.NewFromConfig(awsconf.SandboxConfigAs(region, drill.FuncReadiness), func(o *awsrds.Options) { o.BaseEndpoint = aws.String(sb.RDSEndpoint()) })
		},
		Log: log.With("function", drill.FuncReadiness),
		Now: time.Now,
	}, probeAlarms
}

// AlarmTrigger makes the sandbox's first stop alarm go to ALARM during a run: After
// past the moment State is entered, or past the execution's start when State is "".
type AlarmTrigger struct {
	State string
	After time.Duration
}

// alarmEvents wraps onEvent so the trigger fires at its moment.
func (e *Env) alarmEvents(t *AlarmTrigger, onEvent func(asl.Event)) func(asl.Event) {
	if t == nil {
		return onEvent
	}
	names := e.Sandbox.Config().StopAlarms
	fired := false
	return func(ev asl.Event) {
		if !fired && len(names) > 0 && ((t.State == "" && ev.Type == asl.ExecutionStarted) || (t.State != "" && ev.Type == asl.StateEntered && ev.State == t.State)) {
			fired = true
			e.Sandbox.SetAlarmStateAt(names[0], cloudwatch.Alarm, "Threshold Crossed: injected by drill local -alarm-at", ev.At.Add(t.After))
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
}
