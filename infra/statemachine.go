package main

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/statemachine"
)

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
		// drill.NoGlobalCluster without the database stage (CloudFormation leaves an
		// empty substitution's placeholder in place): its Choice then skips it.
		"GlobalCluster": cmp.Or(cfg.GlobalCluster, drill.NoGlobalCluster),
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

// stateMachineProps is what the state machine needs: the configuration (its
// substitutions) and the functions it invokes.
type stateMachineProps struct {
	Config    *Config
	Functions map[string]awslambda.Function
}

// newStateMachine is the flow of statemachine/failover-drill.asl.json, its
// placeholders filled, invoking exactly the functions of the flow.
func newStateMachine(stack awscdk.Stack, p stateMachineProps) awsstepfunctions.StateMachine {
	cfg, fns := p.Config, p.Functions
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
		// The stack's own ID in the name: the group survives cdk destroy (evidence), and
		// a stack deployed again under the same name must not collide with it.
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("/aws/vendedlogs/states/" + *stack.StackName() + "-"),
			awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil)),
		}),
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// The execution timeout is the ASL's own TimeoutSeconds (23540, which covers the
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
	// Exactly the five functions, unqualified ARNs as the ASL names them.
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
