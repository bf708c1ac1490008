package main

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
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
		StateMachineArn: *sm.StateMachineArn(),
		DistributionArn: *DistributionARN(stack, cfg.DistributionID),
	}
	if cfg.GlobalCluster != "" {
		// A global cluster's ARN has no region; each member's names its own.
		v.GlobalClusterArn = *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("rds"), Region: jsii.String(""),
			Resource: jsii.String("global-cluster"), ResourceName: jsii.String(cfg.GlobalCluster), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
		v.PrimaryClusterArn = *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("rds"), Region: jsii.String(cfg.PrimaryRegion),
			Resource: jsii.String("cluster"), ResourceName: jsii.String(cfg.PrimaryCluster), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
		v.SecondaryClusterArn = *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("rds"), Region: jsii.String(cfg.SecondaryRegion),
			Resource: jsii.String("cluster"), ResourceName: jsii.String(cfg.SecondaryCluster), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
	}
	return v
}

// ledgerARNPattern matches the ledger's ARN in cdk-nag's findings: the stack's own
// bucket, or the one it took over (ledgerBucket).
const ledgerARNPattern = `(<Ledger[0-9A-F]{8}\.Arn>|arn:<AWS::Partition>:s3:::[a-z0-9.-]+)`

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
		var ownPolicy awsiam.Policy
		for _, st := range sts {
			ps := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(st.Sid),
				Actions:   jsii.Strings(st.Actions...),
				Resources: jsii.Strings(st.Resources...),
			})
			if !policy.NamesStateMachine(st, values) {
				fn.AddToRolePolicy(ps)
				continue
			}
			// The state machine names the function, and the function depends on its
			// role's default policy: a statement naming the state machine goes into a
			// policy of its own, attached to the role, which nothing depends on.
			if ownPolicy == nil {
				ownPolicy = awsiam.NewPolicy(stack, jsii.String(spec.id+"StateMachineAccess"), &awsiam.PolicyProps{
					Roles: &[]awsiam.IRole{fn.Role()},
				})
			}
			ownPolicy.AddStatements(ps)
		}
		suppressed := []constructs.IConstruct{fn.Role()}
		if ownPolicy != nil {
			suppressed = append(suppressed, ownPolicy)
		}
		for _, c := range suppressed {
			cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("Ledger object keys are per target bucket (locks/<bucket>.json) and per execution (runs/<execution>/ticket-<start>.json, and runs/<execution>/<start>/report.json, report.html, samples-<mode>.json, writes-<mode>.json, restore-<reason>.json), " +
					"and execution ARNs per execution, all unknown at deploy time; access is limited to those key patterns of this stack's ledger and to this state machine's executions."),
				AppliesTo: &[]interface{}{
					&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::` + ledgerARNPattern + `\/(locks\/\*|runs\/\*\/(ticket-\*|\?{8}T\?{6}\.\?{3}Z\/(report\.json|report\.html|samples-\*\.json|writes-\*\.json|restore-safety-net\.json|restore-sweeper\.json)))$/g`)},
					&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<StateMachine[0-9A-F]{8}\.Name>:\*$/g`)},
				},
			}}, jsii.Bool(true))
		}
		if star := starGrants(sts); len(star) > 0 {
			reasons := make([]string, 0, len(star))
			for _, a := range star {
				reasons = append(reasons, a+": "+policy.StarOnly[a])
			}
			cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String("Resource * only where AWS requires it (internal/policy.StarOnly): " + strings.Join(reasons, "; ") + "."),
				AppliesTo: &[]interface{}{jsii.String("Resource::*")},
			}}, jsii.Bool(true))
		}
	}
}

// starGrants are the actions sts grant on *, sorted.
func starGrants(sts []policy.Statement) []string {
	var out []string
	for _, st := range sts {
		if slices.Contains(st.Resources, "*") {
			out = append(out, st.Actions...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
