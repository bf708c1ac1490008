package main

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/statemachine"
)

// FailoverDrillStackProps configures the stack. The stack is environment-agnostic.
type FailoverDrillStackProps struct {
	awscdk.StackProps
	// Config is the deployment configuration; nil reads and validates it from the CDK
	// context of scope (a bad value panics with a message naming the context key).
	Config *Config
	// Functions builds the Lambda code; nil builds functions/<name> with the local Go
	// toolchain (GoBuilder).
	Functions FunctionBuilder
	// Now is the moment of synth (nil: time.Now); the drill schedule's start date is
	// computed from it.
	Now func() time.Time
}

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

// functionSpecs are the six functions of the flow, in flow order, and the sweeper.
var functionSpecs = withFacts([]functionSpec{
	{name: drill.FuncReadiness, id: "ReadinessFunction",
		description: "Failover drill: checks that the lab can fail over before anything is changed (distribution, secondary, account Block Public Access, stop alarms, replication)"},
	{name: drill.FuncProbe, id: "ProbeFunction",
		description: "Failover drill: samples the CloudFront distribution (steady state, failover, recovery)"},
	{name: drill.FuncSeedCart, id: "SeedCartFunction",
		description: "Failover drill: signs up a synthetic user and fills its cart"},
	{name: drill.FuncBlock, id: "BlockBucketFunction",
		description: "Failover drill: takes the lock, writes the restore ticket, blocks public access on the primary bucket"},
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

// DefinitionSubstitutions maps every ${Placeholder} of the ASL (drill.Placeholders) to
// its value:
// functionARNs is keyed by function name (drill.Func*).
func DefinitionSubstitutions(cfg Config, functionARNs map[string]string) (map[string]string, error) {
	subs := map[string]string{
		"DistributionDomain": cfg.DistributionDomain,
		"PrimaryBucket":      cfg.PrimaryBucket,
		"PrimaryRegion":      cfg.PrimaryRegion,
		"SecondaryRegion":    cfg.SecondaryRegion,
		"DistributionId":     cfg.DistributionID,
		// A whole number validated at synth: States.StringToJson makes it a number.
		"MaxReplicationLagSeconds": fmt.Sprint(cfg.MaxReplicationLagSeconds),
	}
	maps.Copy(subs, drill.LimitSubstitutions(cfg.drillConfig()))
	for _, s := range functionSpecs {
		if s.placeholder == "" {
			continue
		}
		arn, ok := functionARNs[s.name]
		if !ok || arn == "" {
			return nil, fmt.Errorf("definition substitutions: no ARN for function %s", s.name)
		}
		subs[s.placeholder] = arn
	}
	return subs, nil
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9]*)\}`)

// Placeholders are the distinct ${Name} placeholders of an ASL document, sorted.
func Placeholders(asl string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(asl, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// CheckSubstitutions fails when a placeholder of asl has no substitution or a
// substitution has no placeholder: CloudFormation would leave the one in the deployed
// definition and silently ignore the other.
func CheckSubstitutions(asl string, subs map[string]string) error {
	names := Placeholders(asl)
	var missing, unused []string
	for _, n := range names {
		if _, ok := subs[n]; !ok {
			missing = append(missing, n)
		}
	}
	for k := range subs {
		if !slices.Contains(names, k) {
			unused = append(unused, k)
		}
	}
	if len(missing)+len(unused) > 0 {
		sort.Strings(unused)
		return fmt.Errorf("state machine definition: placeholders without substitution %v, substitutions without placeholder %v", missing, unused)
	}
	return nil
}

// NewFailoverDrillStack deploys the drill: seven Go functions (drill.Functions: six in the
// flow and the sweeper), the state machine from
// statemachine/failover-drill.asl.json, the ledger bucket, the safety net, an optional
// schedule, and notifications.
func NewFailoverDrillStack(scope constructs.Construct, id string, props *FailoverDrillStackProps) awscdk.Stack {
	if props == nil {
		props = &FailoverDrillStackProps{}
	}
	sprops := props.StackProps
	if sprops.Description == nil {
		sprops.Description = jsii.String("Failover drill: block the primary UI bucket, prove CloudFront fails over with the cart intact, restore, report")
	}
	stack := awscdk.NewStack(scope, &id, &sprops)

	cfg := props.Config
	if cfg == nil {
		c, err := ConfigFromContext(contextOf(stack.Node()))
		if err != nil {
			panic(err)
		}
		cfg = &c
	}
	builder := props.Functions
	if builder == nil {
		b, err := NewGoBuilder()
		if err != nil {
			panic(err)
		}
		builder = b
	}

	ledger := newLedger(stack, cfg)
	fns := map[string]awslambda.Function{}
	for _, spec := range functionSpecs {
		fns[spec.name] = newGoFunction(stack, builder, spec, functionEnv(spec.name, cfg, ledger))
	}

	sm := newStateMachine(stack, cfg, fns)
	// After the state machine: the sweeper's policy names its executions (the state
	// machine does not name the sweeper, so there is no cycle).
	grantFunctions(stack, cfg, ledger, sm, fns)

	// Failed deliveries of the safety net and of notifications land here; an alarm
	// reports any message in it.
	dlq := awssqs.NewQueue(stack, jsii.String("DeliveryDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the safety-net and notification rule targets and of the restore function's async invocations; a DLQ of a DLQ adds nothing."),
	}}, nil)

	newSafetyNet(stack, sm, fns[drill.FuncRestore], dlq)
	newSweeper(stack, fns[drill.FuncSweeper], dlq)
	now := props.Now
	if now == nil {
		now = time.Now
	}
	if cfg.Schedule != "" {
		newSchedule(stack, cfg, sm, dlq, now())
	}
	topic := newNotifications(stack, cfg, sm, ledger, dlq)
	actions := alarmActions(stack, cfg, topic)
	newContinuousReadiness(stack, cfg, sm, topic, actions, dlq, now())
	newAlarms(stack, cfg, sm, fns[drill.FuncSweeper], dlq, actions)
	newDashboard(stack, cfg, actions)

	awscdk.NewCfnOutput(stack, jsii.String("StateMachineArn"), &awscdk.CfnOutputProps{
		Value: sm.StateMachineArn(), Description: jsii.String("The failover drill state machine"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("LedgerBucketName"), &awscdk.CfnOutputProps{
		Value: ledger.BucketName(), Description: jsii.String("Locks, restore tickets and reports (runs/<execution>/<start>/report.json, report.html)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TopicArn"), &awscdk.CfnOutputProps{
		Value: topic.TopicArn(), Description: jsii.String("Drill results and alarms"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("StartCommand"), &awscdk.CfnOutputProps{
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("aws stepfunctions start-execution --state-machine-arn "),
			sm.StateMachineArn(),
			jsii.String(" --input '{}'"),
		}),
		Description: jsii.String("Starts a drill with the deployed defaults"),
	})
	return stack
}

func contextOf(node constructs.Node) func(string) any {
	return func(key string) any { return node.TryGetContext(jsii.String(key)) }
}

// newLedger is the drill's state: locks/<bucket>.json (the lock, which carries the
// restore data: never expires) and runs/<execution>/ (the run ticket
// ticket-<start>.json, and each run's folder <start>/ with report.json, report.html,
// the sample logs and the restore records: expire after reportRetentionDays).
func newLedger(stack awscdk.Stack, cfg *Config) awss3.Bucket {
	days := awscdk.Duration_Days(jsii.Number(float64(cfg.ReportRetentionDays)))
	ledger := awss3.NewBucket(stack, jsii.String("Ledger"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		// Locks and tickets say how to put a target bucket back: they outlive the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("ExpireRuns"),
				Prefix:                              jsii.String("runs/"),
				Expiration:                          days,
				NoncurrentVersionExpiration:         days,
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
			{
				Id:                          jsii.String("TidyLockVersions"),
				Prefix:                      jsii.String("locks/"),
				NoncurrentVersionExpiration: days,
				ExpiredObjectDeleteMarker:   jsii.Bool(true),
			},
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(ledger, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The ledger is private, versioned and written only by this stack's drill functions (locks, restore tickets, reports); " +
			"every write is already recorded in the versions and the functions' logs, so a separate access-log bucket would add cost without audit value."),
	}}, nil)
	return ledger
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
	logs := awslogs.NewLogGroup(stack, jsii.String(spec.id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_THREE_MONTHS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
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

// TargetBucketARN is arn:<partition>:s3:::<bucket>: the only bucket whose public access
// block the drill may read or change.
func TargetBucketARN(stack awscdk.Stack, bucket string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:  jsii.String("s3"),
		Region:   jsii.String(""),
		Account:  jsii.String(""),
		Resource: jsii.String(bucket),
	})
}

func newStateMachine(stack awscdk.Stack, cfg *Config, fns map[string]awslambda.Function) awsstepfunctions.StateMachine {
	arns := map[string]string{}
	var fnARNs []*string
	for _, spec := range functionSpecs {
		if spec.placeholder == "" {
			continue
		}
		arn := fns[spec.name].FunctionArn()
		arns[spec.name] = *arn
		fnARNs = append(fnARNs, arn)
	}
	subs, err := DefinitionSubstitutions(*cfg, arns)
	if err != nil {
		panic(err)
	}
	if err := CheckSubstitutions(statemachine.Definition, subs); err != nil {
		panic(err)
	}
	cfnSubs := map[string]*string{}
	for k, v := range subs {
		cfnSubs[k] = jsii.String(v)
	}

	logs := awslogs.NewLogGroup(stack, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource policy small.
		LogGroupName:  jsii.String("/aws/vendedlogs/states/" + *stack.StackName()),
		Retention:     awslogs.RetentionDays_THREE_MONTHS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// The execution timeout is the ASL's own TimeoutSeconds (17950, which covers the
	// flow's worst case, statemachine.WorstCase): CDK's Timeout prop does not apply to a
	// string definition.
	sm := awsstepfunctions.NewStateMachine(stack, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		// Inline (not an S3 asset) so template assertions can read the flow; CloudFormation
		// fills the ${Placeholders} from DefinitionSubstitutions.
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(statemachine.Definition)),
		DefinitionSubstitutions: &cfnSubs,
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		TracingEnabled:          jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Execution data holds the synthetic user's email and session details.
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	// Exactly the six functions of the flow, unqualified ARNs as the ASL names them.
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeDrillFunctions"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &fnARNs,
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(sm.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Step Functions logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, " +
			"PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, " +
			"GetSamplingRules, GetSamplingTargets) support no resource-level permissions, so their resource must be *."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
	return sm
}

// executionStatusPattern matches this state machine's executions ending in statuses.
func executionStatusPattern(sm awsstepfunctions.IStateMachine, statuses ...string) *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.states"),
		DetailType: jsii.Strings("Step Functions Execution Status Change"),
		Detail: &map[string]interface{}{
			"status":          jsii.Strings(statuses...),
			"stateMachineArn": &[]*string{sm.StateMachineArn()},
		},
	}
}

// newNotifications: an encrypted topic receiving every drill result and the alarms.
func newNotifications(stack awscdk.Stack, cfg *Config, sm awsstepfunctions.StateMachine, ledger awss3.IBucket, dlq awssqs.Queue) awssns.Topic {
	key := awskms.NewKey(stack, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the failover drill's notification topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	// EventBridge and CloudWatch alarms publish to an encrypted topic only if the key
	// lets them (an AWS-managed key would not).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AllowEventBridgeAndAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{
			awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
			awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil),
		},
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources: jsii.Strings("*"), // in a key policy, * is this key
	}), nil)
	topic := awssns.NewTopic(stack, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Failover drill"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowAlarmsToPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike": map[string]interface{}{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
				ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))
	if cfg.NotifyEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.NotifyEmail), nil))
	}

	execution := awsevents.EventField_FromPath(jsii.String("$.detail.name"))
	startDate := awsevents.EventField_FromPath(jsii.String("$.detail.startDate"))
	results := awsevents.NewRule(stack, jsii.String("DrillResults"), &awsevents.RuleProps{
		Description:  jsii.String("Failover drill results: every finished execution"),
		EventPattern: executionStatusPattern(sm, "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
	})
	results.AddTarget(awseventstargets.NewSnsTopic(topic, &awseventstargets.SnsTopicProps{
		Message: awsevents.RuleTargetInput_FromObject(map[string]interface{}{
			"drill":        "failover-drill",
			"execution":    execution,
			"status":       awsevents.EventField_FromPath(jsii.String("$.detail.status")),
			"executionArn": awsevents.EventField_FromPath(jsii.String("$.detail.executionArn")),
			// The run's folder is runs/<name>/<start>/, but the event gives the start in
			// epoch milliseconds, which a transformer cannot format: the message names
			// the name's folder and the command that shows this run's report.
			"startDate": startDate,
			"reports":   "s3://" + *ledger.BucketName() + "/runs/" + *execution + "/",
			"report":    "drill report --ledger " + *ledger.BucketName() + " --execution " + *execution + " --start " + *startDate,
		}),
		RetryAttempts:   jsii.Number(20),
		DeadLetterQueue: dlq,
	}))

	return topic
}
