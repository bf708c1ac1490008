package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/policy"
)

// PolicyValues fills internal/policy's placeholders with this stack's resources:
// tokens that CloudFormation resolves.
func PolicyValues(stack awscdk.Stack, cfg *Config, ledger awss3.IBucket, sm awsstepfunctions.StateMachine) policy.Values {
	v := policy.Values{
		TargetBucketArn: *TargetBucketARN(stack, cfg.PrimaryBucket),
		LedgerArn:       *ledger.BucketArn(),
		Executions: *stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("states"), Resource: jsii.String("execution"),
			ResourceName: sm.StateMachineName(), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}),
	}
	if cfg.DistributionID != "" {
		v.DistributionArn = *DistributionARN(stack, cfg.DistributionID)
	}
	for _, n := range cfg.StopAlarms {
		v.StopAlarmArns = append(v.StopAlarmArns, *AlarmARN(stack, n))
	}
	return v
}

// grantFunctions gives each function exactly the statements internal/policy declares
// for it, the same the local replica enforces; seed-cart has none (it speaks only HTTP
// to the shop).
func grantFunctions(stack awscdk.Stack, cfg *Config, ledger awss3.IBucket, sm awsstepfunctions.StateMachine, fns map[string]awslambda.Function) {
	values := PolicyValues(stack, cfg, ledger, sm)
	for _, spec := range functionSpecs {
		sts := policy.For(spec.name, values)
		if len(sts) == 0 {
			continue
		}
		fn := fns[spec.name]
		for _, st := range sts {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(st.Sid),
				Actions:   jsii.Strings(st.Actions...),
				Resources: jsii.Strings(st.Resources...),
			}))
		}
		cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Ledger object keys are per target bucket (locks/<bucket>.json) and per execution (runs/<execution>/ticket-<start>.json, report.json, report.html, samples-<mode>.json, restore-<reason>.json), " +
				"and execution ARNs per execution, all unknown at deploy time; access is limited to those key patterns of this stack's ledger and to this state machine's executions."),
			AppliesTo: &[]interface{}{
				&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<Ledger[0-9A-F]{8}\.Arn>\/(locks\/\*|runs\/\*\/(ticket-\*|report\.json|report\.html|samples-\*\.json|restore-safety-net\.json|restore-sweeper\.json))$/g`)},
				&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<StateMachine[0-9A-F]{8}\.Name>:\*$/g`)},
			},
		}}, jsii.Bool(true))
	}
}
