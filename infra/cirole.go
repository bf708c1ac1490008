package main

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/policy"
)

// GitHub's OIDC provider: its issuer and the audience configure-aws-credentials asks for.
const (
	GitHubOIDCHost     = "token.actions.githubusercontent.com"
	GitHubOIDCAudience = "sts.amazonaws.com"
)

// CIWaitLimit is the longest drill start --wait waits (its --timeout default), and
// CISessionDuration the CI role's MaxSessionDuration: the wait, the report fetched
// after it, and the build before it fit in one session (the example workflow asks for
// exactly this duration).
const (
	CIWaitLimit       = 90 * time.Minute
	CISessionDuration = 2 * time.Hour
)

// CICommands are the drill commands the example workflow runs with the role.
var CICommands = []string{"start", "report"}

// ciRoleProps is what the CI role needs: the repository to trust, and the resources
// its commands touch.
type ciRoleProps struct {
	Config       *Config
	Ledger       awss3.IBucket
	StateMachine awsstepfunctions.StateMachine
}

// CISubject is the OIDC subject of a workflow run of repo on ref, as GitHub sends it for
// a job with no environment (schedule, workflow_dispatch, push).
func CISubject(repo, ref string) string { return "repo:" + repo + ":" + "ref:" + ref }

// newCIRole creates the role the example workflow (examples/github-actions/drill.yml)
// assumes with GitHub's OIDC tokens: trusted only for githubRepository on githubRef
// (aud and sub), for at most CISessionDuration, and granted exactly what the commands it
// runs need (internal/policy.Commands: drill start --wait, drill report). The account's
// GitHub provider is named by githubOidcProviderArn (an account holds one per URL); with
// none, the stack creates it.
func newCIRole(stack awscdk.Stack, p ciRoleProps) awsiam.Role {
	cfg := p.Config
	providerARN := jsii.String(cfg.GitHubOIDCProviderArn)
	if cfg.GitHubOIDCProviderArn == "" {
		provider := awsiam.NewCfnOIDCProvider(stack, jsii.String("GitHubOIDCProvider"), &awsiam.CfnOIDCProviderProps{
			Url:          jsii.String("https://" + GitHubOIDCHost),
			ClientIdList: jsii.Strings(GitHubOIDCAudience),
		})
		providerARN = provider.AttrArn()
	}
	role := awsiam.NewRole(stack, jsii.String("CIRole"), &awsiam.RoleProps{
		Description: jsii.String("Assumed by " + cfg.GitHubRepository + "'s failover drill workflow on " + cfg.GitHubRef + " (GitHub OIDC): drill start --wait and drill report"),
		AssumedBy: awsiam.NewWebIdentityPrincipal(providerARN, &map[string]interface{}{
			"StringEquals": map[string]interface{}{
				GitHubOIDCHost + ":aud": GitHubOIDCAudience,
				GitHubOIDCHost + ":sub": CISubject(cfg.GitHubRepository, cfg.GitHubRef),
			},
		}),
		MaxSessionDuration: awscdk.Duration_Seconds(jsii.Number(CISessionDuration.Seconds())),
	})
	values := PolicyValues(stack, cfg, p.Ledger, p.StateMachine)
	for _, cmd := range CICommands {
		for _, st := range policy.CommandFor(cmd, values) {
			role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(st.Sid),
				Actions:   jsii.Strings(st.Actions...),
				Resources: jsii.Strings(st.Resources...),
			}))
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("drill report reads any run's report, page, sample logs and restore records (runs/<execution>/<start>/...), and drill start --wait polls the execution it started: " +
			"keys and execution ARNs unknown at deploy time; limited to those key patterns of this stack's ledger and to this state machine's executions (internal/policy.Commands)."),
		AppliesTo: &[]interface{}{
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::` + ledgerARNPattern + `\/runs\/\*\/(report\.json|report\.html|samples-\*\.json|restore-\*\.json)$/g`)},
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<StateMachine[0-9A-F]{8}\.Name>:\*$/g`)},
		},
	}}, jsii.Bool(true))
	awscdk.NewCfnOutput(stack, jsii.String("CIRoleArn"), &awscdk.CfnOutputProps{
		Value:       role.RoleArn(),
		Description: jsii.String(fmt.Sprintf("The role the drill workflow assumes (role-to-assume, with role-duration-seconds %d)", int(CISessionDuration.Seconds()))),
	})
	return role
}
