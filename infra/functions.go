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

// functionSpec is one Lambda function of the drill.
type functionSpec struct {
	name        string // folder under functions/ (drill.Func*)
	id          string // construct ID
	placeholder string // its ARN's ${Placeholder} in the ASL; "" for the sweeper, which the flow never calls
	description string
	timeout     time.Duration
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

// functionSpecs are the six functions of the flow, in flow order, and the sweeper.
var functionSpecs = []functionSpec{
	{drill.FuncReadiness, "ReadinessFunction", "ReadinessFunctionArn",
		"Failover drill: checks that the lab can fail over before anything is changed (distribution, secondary, account Block Public Access, stop alarms, replication)", ReadinessTimeout},
	{drill.FuncProbe, "ProbeFunction", "ProbeFunctionArn",
		"Failover drill: samples the CloudFront distribution (steady state, failover, recovery)", 15 * time.Minute},
	{drill.FuncSeedCart, "SeedCartFunction", "SeedCartFunctionArn",
		"Failover drill: signs up a synthetic user and fills its cart", 2 * time.Minute},
	{drill.FuncBlock, "BlockBucketFunction", "BlockBucketFunctionArn",
		"Failover drill: takes the lock, writes the restore ticket, blocks public access on the primary bucket", drill.BlockTimeout},
	{drill.FuncRestore, "RestoreFunction", "RestoreFunctionArn",
		"Failover drill: restores the primary bucket's public access block from the ticket", 3 * time.Minute},
	{drill.FuncReport, "ReportFunction", "ReportFunctionArn",
		"Failover drill: judges the drill and writes the report to the ledger", 1 * time.Minute},
	// One restore takes seconds (the cart clean-up is bounded at 20 s); the timeout stays
	// well under the schedule's interval, and enters the sweeper's time bound.
	{drill.FuncSweeper, "SweeperFunction", "",
		"Failover drill: restores every lock whose execution has ended, whatever events were lost", SweeperTimeout},
}

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

// functionEnv is the environment each function needs, and nothing more.
func functionEnv(name string, cfg *Config, ledger awss3.IBucket) map[string]*string {
	switch name {
	case drill.FuncBlock, drill.FuncRestore, drill.FuncReport, drill.FuncSweeper, drill.FuncProbe:
		// Restore needs no target: the run's ticket names the bucket and its region.
		// The probe writes only its sample logs there.
		return map[string]*string{drill.EnvLedgerBucket: ledger.BucketName()}
	case drill.FuncReadiness:
		return map[string]*string{drill.EnvStopAlarms: jsii.String(stopAlarmsJSON(cfg))}
	default: // seed-cart: configuration arrives in the payload
		return nil
	}
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
