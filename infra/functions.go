package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/unishop/failover-drill/internal/drill"
)

// The drill's Lambda functions: one spec each, one builder of them all.

// LogRetention is how long every log group of the stack keeps its events; the groups
// survive cdk destroy and expire their events all the same.
const LogRetention = awslogs.RetentionDays_THREE_MONTHS

// functionSpec is one Lambda function of the drill: its construct, and its facts as
// drill.Functions declares them (placeholder, timeout, memory, environment).
type functionSpec struct {
	name        string // folder under functions/ (drill.Func*)
	id          string // construct ID
	description string
	placeholder string        // from drill.Functions: its ARN's ${Placeholder}; "" for the sweeper
	timeout     time.Duration // from drill.Functions: the Lambda timeout
}

// withFacts fills each spec's facts from drill.Functions, the one table of them.
func withFacts(specs []functionSpec) []functionSpec {
	for i, s := range specs {
		f := drillFunction(s.name)
		specs[i].placeholder, specs[i].timeout = f.Placeholder, f.Timeout
	}
	return specs
}

// drillFunction is name's row of drill.Functions; a name the table lacks is a bug.
func drillFunction(name string) drill.Function {
	f, ok := drill.FunctionNamed(name)
	if !ok {
		panic("function " + name + " is not in drill.Functions")
	}
	return f
}

// memoryMB is the function's memory, declared once in drill.FunctionMemoryMB (the cost
// per drill uses it too).
func (s functionSpec) memoryMB() float64 {
	mb, ok := drill.FunctionMemoryMB[s.name]
	if !ok {
		panic("no memory size declared for function " + s.name + " in drill.FunctionMemoryMB")
	}
	return float64(mb)
}

// functionSpecs are the seven functions of the flow, in flow order, and the sweeper.
var functionSpecs = withFacts([]functionSpec{
	{name: drill.FuncReadiness, id: "ReadinessFunction",
		description: "Failover drill: checks that the lab can fail over before anything is changed (distribution, secondary, account Block Public Access, stop alarms, replication)"},
	{name: drill.FuncProbe, id: "ProbeFunction",
		description: "Failover drill: samples the CloudFront distribution (steady state, failover, recovery)"},
	{name: drill.FuncSeedCart, id: "SeedCartFunction",
		description: "Failover drill: signs up a synthetic user and fills its cart"},
	{name: drill.FuncBlock, id: "BlockBucketFunction",
		description: "Failover drill: takes the lock, writes the restore ticket, blocks public access on the primary bucket"},
	{name: drill.FuncDatabase, id: "DatabaseFunction",
		description: "Failover drill: switches the users' Aurora global database over and back (opt-in), measuring sign-ups"},
	{name: drill.FuncRestore, id: "RestoreFunction",
		description: "Failover drill: restores the primary bucket's public access block from the ticket"},
	{name: drill.FuncReport, id: "ReportFunction",
		description: "Failover drill: judges the drill and writes the report to the ledger"},
	{name: drill.FuncSweeper, id: "SweeperFunction",
		description: "Failover drill: restores every lock whose execution has ended, whatever events were lost"},
})

// FunctionNames are the folders under functions/ that the stack deploys.
func FunctionNames() []string {
	names := make([]string, len(functionSpecs))
	for i, s := range functionSpecs {
		names[i] = s.name
	}
	return names
}

// functionsProps is what the functions need: the configuration (readiness's stop
// alarms), the builder of their code and the ledger they are told about.
type functionsProps struct {
	Config  *Config
	Builder FunctionBuilder
	Ledger  awss3.IBucket
}

// newFunctions builds every function of functionSpecs, keyed by name (drill.Func*).
// Their grants come later (grantFunctions): some name the state machine, which names
// the functions.
func newFunctions(stack awscdk.Stack, p functionsProps) map[string]awslambda.Function {
	fns := map[string]awslambda.Function{}
	for _, spec := range functionSpecs {
		fns[spec.name] = newGoFunction(stack, p.Builder, spec, functionEnv(spec.name, p.Config, p.Ledger))
	}
	return fns
}

// functionEnv is the environment each function needs, and nothing more: the variables
// drill.Functions names for it.
func functionEnv(name string, cfg *Config, ledger awss3.IBucket) map[string]*string {
	var env map[string]*string
	for _, v := range drillFunction(name).Env {
		if env == nil {
			env = map[string]*string{}
		}
		switch v {
		case drill.EnvLedgerBucket:
			env[v] = ledger.BucketName()
		case drill.EnvStopAlarms:
			env[v] = jsii.String(stopAlarmsJSON(cfg))
		default:
			panic("drill.Functions names " + v + " for " + name + ": the stack has no value for it")
		}
	}
	return env
}

// newGoFunction is the one place a drill function is defined: provided.al2023 on arm64,
// built by builder, its own role (logs + X-Ray only until granted more), its own log group.
func newGoFunction(stack awscdk.Stack, builder FunctionBuilder, spec functionSpec, env map[string]*string) awslambda.Function {
	dir, err := builder.AssetDir(spec.name)
	if err != nil {
		panic(err)
	}
	// Retained by cdk destroy: the logs are the evidence of what a drill did to the
	// bucket; they expire after LogRetention all the same.
	logs := awslogs.NewLogGroup(stack, jsii.String(spec.id+"Logs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// An explicit role instead of AWSLambdaBasicExecutionRole: it may write only to
	// this function's log group.
	role := awsiam.NewRole(stack, jsii.String(spec.id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Role of the failover drill's " + spec.name + " function"),
	})
	logs.GrantWrite(role)

	var envp *map[string]*string
	if len(env) > 0 {
		envp = &env
	}
	fn := awslambda.NewFunction(stack, jsii.String(spec.id), &awslambda.FunctionProps{
		Description:   jsii.String(spec.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(dir), nil),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(spec.timeout.Seconds())),
		MemorySize:    jsii.Number(spec.memoryMB()),
		Environment:   envp,
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource must be *."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
	return fn
}
