// Package local runs the whole drill offline: it starts the sandbox (the lab replica),
// deploys onto it the way infra/ deploys on AWS (each function's SDK clients signed as
// that function, held by the replica's IAM to the function's policy from
// internal/policy), and executes the real statemachine/failover-drill.asl.json with
// the in-process runner, telling the sandbox's Step Functions stand-in about each
// execution. After the execution it plays the part of the EventBridge safety net; the
// sweeper (Env.Sweep) is the schedule's. Meanwhile an independent visitor requests the
// site through the CloudFront stand-in: what it saw is the sandbox's truth the report
// is compared with.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/seedcart"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/sweeper"
	"github.com/unishop/failover-drill/statemachine"
)

// SafetyNetSettle is block-bucket's longest life here: on AWS that is
// restore.DefaultSettle; here the functions run in-process and a late one is over in
// well under this. The safety net's second look comes this long after the run's
// block was sent, and restore undoes a block on a restored run only until then.
const SafetyNetSettle = time.Second

// DatabasePollEvery is how often the replica's database switches are looked at: they
// take seconds here (sandbox.Config.DBSwitchoverTime), minutes on AWS.
const DatabasePollEvery = 100 * time.Millisecond

// DatabaseTail is how long the stage goes on writing after a switch here: the
// replica's DNS cache time and a second, so a stale client's writes are seen.
func DatabaseTail(sc sandbox.Config) time.Duration { return sc.DBDNSCacheTTL + time.Second }

// GlobalClusterInput is the execution input field that turns the database stage on
// for the replica's global database.
func GlobalClusterInput() string { return sandbox.GlobalClusterID }

// FunctionARN is the ARN the local deployment substitutes for a function name.
func FunctionARN(name string) string {
	return "arn:aws:lambda:local:000000000000:function:failover-drill-" + name
}

// StateMachineARN is the local deployment's state machine, in the primary region.
func StateMachineARN(region string) string {
	return "arn:aws:states:" + region + ":000000000000:stateMachine:failover-drill"
}

// Policies are the local deployment's IAM: each function's statements from
// internal/policy, filled for this sandbox. Functions with no AWS access get none, so
// the replica denies them everything. The local deployment is one with the database
// stage's context (the replica has the users' global database): its RDS grants are
// there, and the stage runs when the input names the global cluster (drill local
// -database).
func Policies(sc sandbox.Config, stateMachineArn string) map[string][]policy.Statement {
	v := policy.Values{
		TargetBucketArn:     "arn:aws:s3:::" + sc.PrimaryBucket,
		LedgerArn:           "arn:aws:s3:::" + sc.LedgerBucket,
		Executions:          strings.Replace(stateMachineArn, ":stateMachine:", ":execution:", 1),
		StateMachineArn:     stateMachineArn,
		DistributionArn:     sandbox.DistributionARN(),
		GlobalClusterArn:    "arn:aws:rds::" + sandbox.AccountID + ":global-cluster:" + sandbox.GlobalClusterID,
		PrimaryClusterArn:   "arn:aws:rds:" + sc.PrimaryRegion + ":" + sandbox.AccountID + ":cluster:" + sandbox.GlobalClusterID + "-" + sc.PrimaryRegion,
		SecondaryClusterArn: "arn:aws:rds:" + sc.SecondaryRegion + ":" + sandbox.AccountID + ":cluster:" + sandbox.GlobalClusterID + "-" + sc.SecondaryRegion,
	}
	out := map[string][]policy.Statement{}
	for _, fn := range drill.FunctionNames() {
		out[fn] = append([]policy.Statement{}, policy.For(fn, v)...)
	}
	return out
}

// Env is a running replica with the drill deployed onto it. Ledger and S3 act as the
// operator (no policy); Restore and Sweeper as their functions.
type Env struct {
	Sandbox         *sandbox.Sandbox
	Machine         *asl.Machine
	StateMachineArn string
	Ledger          *ledger.Ledger
	S3              awsconf.S3Factory
	Block           *block.Handler
	Restore         *restore.Handler
	Sweeper         *sweeper.Handler
	tasks           map[string]asl.TaskFunc
	log             *slog.Logger
	s3Requests      *requestCounter
}

// Start starts the sandbox and deploys the drill onto it, the way infra/ deploys it on AWS.
func Start(cfg sandbox.Config, log *slog.Logger) (*Env, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sb, err := sandbox.Start(cfg)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	sc := sb.Config()
	subs := map[string]string{
		"DistributionId":           sandbox.DistributionID,
		"MaxReplicationLagSeconds": fmt.Sprint(drill.Defaults.MaxReplicationLagSeconds),
		// As a deployment without globalCluster context: the input turns the stage on.
		"GlobalCluster":      "",
		"DistributionDomain": sb.DistributionURL(),
		"PrimaryBucket":      sc.PrimaryBucket,
		"PrimaryRegion":      sc.PrimaryRegion,
		"SecondaryRegion":    sc.SecondaryRegion,
	}
	maps.Copy(subs, drill.LimitSubstitutions(drill.Defaults))
	for _, f := range drill.Functions { // each function's ARN, as infra/ substitutes it
		if f.Placeholder != "" {
			subs[f.Placeholder] = FunctionARN(f.Name)
		}
	}
	m, err := asl.Load(statemachine.Definition, subs)
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("load state machine: %w", err)
	}

	smArn := StateMachineARN(sc.PrimaryRegion)
	sb.SetPolicies(Policies(sc, smArn))

	// Each function's clients are its own, signed as the function, as each Lambda's
	// are its role's.
	counter := &requestCounter{ops: map[string]int{}}
	s3As := func(fn string) awsconf.S3Factory {
		return awsconf.SandboxFactoryAs(sb.S3Endpoints(), fn, counter.option)
	}
	paAs := func(fn string) func(region string) pab.API { return pab.PerRegion(s3As(fn)) }
	rdsAs := func(fn string) func(region string) database.API {
		return func(region string) database.API {
			return awsrds.NewFromConfig(awsconf.SandboxConfigAs(region, fn), func(o *awsrds.Options) { o.BaseEndpoint = aws.String(sb.RDSEndpoint()) })
		}
	}
	putBackAs := func(fn string) *database.PutBack {
		return &database.PutBack{RDS: rdsAs(fn), PollEvery: DatabasePollEvery, Log: log.With("function", fn), Now: time.Now}
	}
	ledgerAs := func(fn string) *ledger.Ledger {
		return &ledger.Ledger{S3: s3As(fn)(sc.PrimaryRegion), Bucket: sc.LedgerBucket}
	}
	// One HTTP client per "cold start", as in the Lambdas; loopback needs no TLS. The
	// probe keeps many requests in flight: its transport keeps that many connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	shopClient := shop.New(httpClient)

	admin := awsconf.SandboxFactory(sb.S3Endpoints())
	e := &Env{Sandbox: sb, Machine: m, StateMachineArn: smArn, S3: admin, log: log, s3Requests: counter,
		Ledger: &ledger.Ledger{S3: admin(sc.PrimaryRegion), Bucket: sc.LedgerBucket}}
	e.Restore = &restore.Handler{S3: paAs(drill.FuncRestore), Ledger: ledgerAs(drill.FuncRestore), Cart: shopClient, Settle: SafetyNetSettle,
		History: awsconf.SandboxSFN(sb.SFNEndpoint(), sc.PrimaryRegion, drill.FuncRestore), Database: putBackAs(drill.FuncRestore),
		Log: log.With("function", drill.FuncRestore), Now: time.Now}
	sweepRestore := &restore.Handler{S3: paAs(drill.FuncSweeper), Ledger: ledgerAs(drill.FuncSweeper), Cart: shopClient, Settle: SafetyNetSettle,
		History: awsconf.SandboxSFN(sb.SFNEndpoint(), sc.PrimaryRegion, drill.FuncSweeper), Database: putBackAs(drill.FuncSweeper),
		Log: log.With("function", drill.FuncSweeper), Now: time.Now}
	e.Sweeper = &sweeper.Handler{
		Ledger: ledgerAs(drill.FuncSweeper), SFN: awsconf.SandboxSFN(sb.SFNEndpoint(), sc.PrimaryRegion, drill.FuncSweeper),
		Restore: sweepRestore.Handle, Settle: SafetyNetSettle, Now: time.Now, Log: log.With("function", drill.FuncSweeper),
	}
	seed := &seedcart.Handler{Shop: shopClient, Log: log.With("function", drill.FuncSeedCart), Now: time.Now}
	// A block takes effect here once block-bucket has sent it (SafetyNetSettle) and the
	// sandbox has propagated it: the recovery check watches that long.
	prb := &probe.Handler{HTTP: httpClient, Shop: shopClient, Log: log.With("function", drill.FuncProbe), Now: time.Now, Samples: ledgerAs(drill.FuncProbe),
		Settle: SafetyNetSettle + sc.PropagationDelay + sc.PropagationFlap}
	blk := &block.Handler{S3: paAs(drill.FuncBlock), Ledger: ledgerAs(drill.FuncBlock), Log: log.With("function", drill.FuncBlock), Now: time.Now}
	e.Block = blk
	rep := &report.Handler{Ledger: ledgerAs(drill.FuncReport), Log: log.With("function", drill.FuncReport), Now: time.Now,
		Executions: awsconf.SandboxSFN(sb.SFNEndpoint(), sc.PrimaryRegion, drill.FuncReport)}
	db := &database.Handler{RDS: rdsAs(drill.FuncDatabase), Ledger: ledgerAs(drill.FuncDatabase), Shop: shopClient,
		PollEvery: DatabasePollEvery, Tail: DatabaseTail(sc), Log: log.With("function", drill.FuncDatabase), Now: time.Now}
	rdy, alarms := readinessHandler(sb, log)
	prb.Alarms, prb.AlarmEvery, prb.AlarmUnreadableLimit = alarms, LocalAlarmEvery, LocalAlarmUnreadableLimit
	e.tasks = map[string]asl.TaskFunc{
		FunctionARN(drill.FuncSeedCart):  task(seed.Handle),
		FunctionARN(drill.FuncProbe):     task(prb.Handle),
		FunctionARN(drill.FuncBlock):     task(blk.Handle),
		FunctionARN(drill.FuncRestore):   task(e.Restore.Handle),
		FunctionARN(drill.FuncReport):    task(rep.Handle),
		FunctionARN(drill.FuncReadiness): task(rdy.Handle),
		FunctionARN(drill.FuncDatabase):  task(db.Handle),
	}
	return e, nil
}

// ClientAs is an S3 client factory signed as principal (a function's name: held to its
// policy).
func (e *Env) ClientAs(principal string) awsconf.S3Factory {
	return awsconf.SandboxFactoryAs(e.Sandbox.S3Endpoints(), principal)
}

// Close stops the sandbox.
func (e *Env) Close() error { return e.Sandbox.Close() }

// task adapts a typed handler to the runner the way lambda.Start adapts it to Lambda:
// JSON in, JSON out, and the error classified so its type name is the Lambda error type.
func task[In, Out any](h func(context.Context, In) (Out, error)) asl.TaskFunc {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, &drill.InvalidInput{Problems: []string{"payload: " + err.Error()}}
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, drill.Classify(err)
		}
		return json.Marshal(out)
	}
}

// Fault disturbs one state's invocation, to prove the flow's catches and the safety
// net. By default it fails without running the handler; After runs the handler and then
// fails (a crash after the side effect). Detached models a Lambda that outlives its
// execution: the handler runs on, uncancellable, Delay after the invocation began,
// while the invocation itself returns only when the execution is stopped. Hang never
// answers: the invocation returns only when the execution is stopped or times out.
type Fault struct {
	State    string // the Task state, e.g. "AwaitFailover"
	Err      error
	After    bool
	Detached bool
	Hang     bool
	Delay    time.Duration // Detached only
	Times    int           // how many invocations from that state are disturbed; 0 means 1
}

// RunOptions tune one execution.
type RunOptions struct {
	Name    string          // execution name; default local-<time>
	Input   json.RawMessage // execution input; default {}
	OnEvent func(asl.Event)
	Faults  []Fault
	// NoSafetyNet skips the post-execution restore: the flow's own catches alone, or
	// the EventBridge event lost (the sweeper's case).
	NoSafetyNet bool
	// ExecutionTimeout, when positive, replaces the ASL's TimeoutSeconds, so a test can
	// make an execution time out.
	ExecutionTimeout time.Duration
	// FastRetries makes the flow's Retry intervals pass at once (the real ones sum to
	// a minute for RestoreAfterFailure).
	FastRetries bool
	// VisitorInterval is how often an independent visitor requests config.json through
	// the CloudFront stand-in during the run (0: DefaultVisitorInterval; negative: no
	// visitor, no truth). Its answers, judged when they arrived and counting only 2xx
	// as served, are sandbox.truth.
	VisitorInterval time.Duration
	// StopAlarm, when set, makes the sandbox's stop alarm go to ALARM at a moment of the run.
	StopAlarm *AlarmTrigger
	// ColdStart delays every Task invocation's handler, as a Lambda's cold start does
	// on AWS: between the block and AwaitFailover's first request, and between the
	// restore and the recovery's, nothing samples (the report's coverage).
	ColdStart time.Duration
}

// Outcome is what one execution did.
type Outcome struct {
	Name      string
	ID        drill.RunID // the execution's identity: name, ARN, start
	Input     json.RawMessage
	Result    asl.Result
	Report    *drill.Report        // from the ledger, with the local facts added
	SafetyNet *drill.RestoreResult // set when the safety net ran
	SafetyErr error
	Wall      time.Duration
	// Visitor is every sample of the independent visitor, in answer order, and
	// VisitorInterval its interval (0: none ran).
	Visitor         []drill.Sample
	VisitorInterval time.Duration
	// Logs are the probe's sample logs from the ledger, for the report's picture.
	Logs report.Logs
}

// Run executes the drill once. ctx cancellation stops the execution (ABORTED), after
// which the safety net still restores the bucket, as the EventBridge rule does on AWS.
func (e *Env) Run(ctx context.Context, o RunOptions) (*Outcome, error) {
	if o.Name == "" {
		o.Name = "local-" + time.Now().UTC().Format("20060102T150405.000")
		o.Name = sanitizeName(o.Name)
	}
	if len(o.Input) == 0 {
		o.Input = json.RawMessage(`{}`)
	}
	start := time.Now()
	e.s3Requests.take() // count this run's requests only
	vis := e.visit(o.VisitorInterval)
	var detached sync.WaitGroup
	defer detached.Wait() // a detached handler's late effects are part of the outcome
	execArn := asl.ExecutionARN(e.StateMachineArn, o.Name)
	opts := asl.Options{
		Tasks:     withColdStart(withFaults(e.tasks, o.Faults, &detached), o.ColdStart),
		ErrorName: errorName,
		OnEvent: e.alarmEvents(o.StopAlarm, func(ev asl.Event) {
			if ev.Type == asl.ExecutionStarted {
				e.Sandbox.ExecutionStarted(execArn, e.StateMachineArn, o.Name, ev.At)
				e.Sandbox.ExecutionInput(execArn, string(o.Input))
			}
			e.Sandbox.ExecutionEvent(execArn, ev, e.Machine.StateType(ev.State))
			if o.OnEvent != nil {
				o.OnEvent(ev)
			}
		}),
		StateMachineArn:  e.StateMachineArn,
		ExecutionTimeout: o.ExecutionTimeout,
	}
	if o.FastRetries {
		opts.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	res := e.Machine.Run(ctx, o.Name, o.Input, opts)
	e.Sandbox.ExecutionEnded(execArn, res.Status, res.Stop, res.Error, res.Cause)
	out := &Outcome{Name: o.Name, Input: o.Input, Result: res,
		ID: drill.RunID{Execution: o.Name, ExecutionArn: execArn, StartTime: drill.At(res.Start)}}
	if !o.NoSafetyNet {
		// The EventBridge rule fires whenever an execution ends, SUCCEEDED included (a
		// retried block-bucket may still be running); it runs on its own clock, so a
		// cancelled ctx must not stop it.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		in := SafetyNetInput(out.ID)
		in.Status = res.Status // the event's detail.status
		r, err := e.Restore.Handle(sctx, in)
		cancel()
		out.SafetyNet, out.SafetyErr = &r, err
	}
	// The visitor goes on through the safety net: its last windows complete meanwhile.
	out.Visitor = vis.stop()
	if vis != nil {
		out.VisitorInterval = vis.interval
	}
	out.Wall = time.Since(start)
	rep, err := e.report(context.WithoutCancel(ctx), out)
	if err != nil {
		return out, err
	}
	out.Report = rep
	return out, nil
}

// SafetyNetInput is what the EventBridge rule sends restore when execution id ends.
func SafetyNetInput(id drill.RunID) drill.RestoreInput {
	return drill.RestoreInput{Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, Reason: drill.ReasonSafetyNet}
}

// Operator is a person's clients for drill status, restore and unlock against the
// replica: unrestricted, as an operator's own credentials are, with the replica's
// Settle.
func (e *Env) Operator() operator.Clients {
	return operator.Clients{
		Ledger: e.Ledger, S3: pab.PerRegion(e.S3), Log: e.log, Settle: SafetyNetSettle, Database: e.operatorPutBack(),
		SFN: func(region string) sweeper.ExecutionAPI {
			return awsconf.SandboxSFN(e.Sandbox.SFNEndpoint(), region, awsconf.SandboxAdmin)
		},
	}
}

// operatorPutBack is a person's database client against the replica: unrestricted.
func (e *Env) operatorPutBack() *database.PutBack {
	return &database.PutBack{RDS: func(region string) database.API {
		return awsrds.NewFromConfig(awsconf.SandboxConfig(region), func(o *awsrds.Options) { o.BaseEndpoint = aws.String(e.Sandbox.RDSEndpoint()) })
	}, PollEvery: DatabasePollEvery, Log: e.log, Now: time.Now}
}

// Sweep runs the sweeper once, as its schedule does on AWS.
func (e *Env) Sweep(ctx context.Context) (sweeper.Result, error) {
	return e.Sweeper.Handle(ctx, sweeper.Input{})
}

func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b)
}

// errorName is the Lambda error type of err: a fault may name a Lambda service error
// ("Lambda.ServiceException"); otherwise the Go type name, as aws-lambda-go reports it.
func errorName(err error) string {
	var named interface{ ErrorType() string }
	if errors.As(err, &named) {
		return named.ErrorType()
	}
	return drill.ErrorName(err)
}

// NamedError is an error with an explicit Lambda error type, for fault injection.
type NamedError struct{ Type, Msg string }

func (e *NamedError) Error() string     { return e.Msg }
func (e *NamedError) ErrorType() string { return e.Type }

func withFaults(tasks map[string]asl.TaskFunc, faults []Fault, detached *sync.WaitGroup) map[string]asl.TaskFunc {
	if len(faults) == 0 {
		return tasks
	}
	left := make([]int, len(faults))
	for i, f := range faults {
		left[i] = max(f.Times, 1)
	}
	out := make(map[string]asl.TaskFunc, len(tasks))
	for arn, next := range tasks {
		out[arn] = func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			for i, f := range faults {
				if f.State != asl.StateName(ctx) || left[i] == 0 {
					continue
				}
				left[i]--
				if f.Hang {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				if f.Detached {
					detached.Add(1)
					go func() {
						defer detached.Done()
						time.Sleep(f.Delay)
						next(context.WithoutCancel(ctx), payload)
					}()
					<-ctx.Done()
					return nil, ctx.Err()
				}
				if f.After {
					if _, err := next(ctx, payload); err != nil {
						return nil, err
					}
				}
				return nil, f.Err
			}
			return next(ctx, payload)
		}
	}
	return out
}
