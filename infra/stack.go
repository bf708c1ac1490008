package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/drill"
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
}

// NewFailoverDrillStack deploys the drill. It reads as the list of its concerns, each
// a construct file taking what it needs as props: the ledger bucket (ledger.go), the
// seven Go functions (functions.go) and their grants (grants.go), the state machine
// from statemachine/failover-drill.asl.json (statemachine.go), the safety net and the
// sweeper (safety.go), the optional schedules (schedule.go, readiness.go), the
// notifications (notifications.go), the alarms (alarms.go), the dashboard
// (dashboard.go) and the optional CI role (cirole.go). Resources keep their construct
// IDs at the stack's root, so their logical IDs, and a deployed stack, do not change.
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

	checkRegion(stack, cfg)
	ledger := newLedger(stack, ledgerProps{Config: cfg})
	fns := newFunctions(stack, functionsProps{Config: cfg, Builder: builder, Ledger: ledger})
	sm := newStateMachine(stack, stateMachineProps{Config: cfg, Functions: fns})
	// After the state machine: the sweeper's policy names its executions (the state
	// machine does not name the sweeper, so there is no cycle).
	grantFunctions(stack, cfg, ledger, sm, fns)

	dlq := newDeliveryDLQ(stack)
	safety := safetyNetProps{StateMachine: sm, Restore: fns[drill.FuncRestore], Sweeper: fns[drill.FuncSweeper], DLQ: dlq}
	newSafetyNet(stack, safety)
	newSweeper(stack, safety)
	if cfg.Schedule != "" {
		newSchedule(stack, scheduleProps{Config: cfg, StateMachine: sm, DLQ: dlq})
	}
	n := newNotifications(stack, notificationsProps{Config: cfg, StateMachine: sm, Ledger: ledger, DLQ: dlq})
	topic := n.Topic
	actions := alarmActions(stack, cfg, topic)
	notReady, notReadyRule := newContinuousReadiness(stack, readinessProps{Config: cfg, StateMachine: sm, Notifications: n, Actions: actions, DLQ: dlq})
	alarms := append([]awscloudwatch.IAlarm{notReady}, newAlarms(stack, alarmsProps{Config: cfg, StateMachine: sm, Sweeper: fns[drill.FuncSweeper], DLQ: dlq,
		Actions: actions, NotReadyRule: notReadyRule})...)
	newDashboard(stack, dashboardProps{Config: cfg, Actions: actions, StateMachine: sm, DLQ: dlq, Alarms: alarms})
	if cfg.GitHubRepository != "" {
		newCIRole(stack, ciRoleProps{Config: cfg, Ledger: ledger, StateMachine: sm})
	}

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

// checkRegion refuses a deployment outside primaryRegion: the readiness and probe
// functions read the stop alarms in the stack's region, the alarms watch metrics
// published there, and the ledger lives with the stack. Known at synth (an env-bound
// stack), it stops synth; otherwise a CloudFormation rule stops the deploy.
func checkRegion(stack awscdk.Stack, cfg *Config) {
	if r := stack.Region(); r != nil && !*awscdk.Token_IsUnresolved(r) && *r != cfg.PrimaryRegion {
		panic(fmt.Sprintf("%s: the stack's region is %s but %s is %s: deploy in %s (the stop alarms, the metrics and the ledger are read in the stack's region)",
			CtxPrimaryRegion, *r, CtxPrimaryRegion, cfg.PrimaryRegion, cfg.PrimaryRegion))
	}
	awscdk.NewCfnRule(stack, jsii.String("StackInPrimaryRegion"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(cfg.PrimaryRegion)),
			AssertDescription: jsii.String("This stack deploys only in " + CtxPrimaryRegion + " " + cfg.PrimaryRegion +
				": the drill reads its stop alarms, metrics and ledger in the stack's region. Deploy with AWS_REGION=" + cfg.PrimaryRegion + ", or set " + CtxPrimaryRegion + " to this region"),
		}},
	})
}

func contextOf(node constructs.Node) func(string) any {
	return func(key string) any { return node.TryGetContext(jsii.String(key)) }
}
