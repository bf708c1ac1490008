package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// SweeperTimeout is the sweeper function's Lambda timeout (drill.Functions): a sweep
// restores one lock in seconds, so it is ample, and it stays under the schedule's interval.
var SweeperTimeout = drillFunction(drill.FuncSweeper).Timeout

// safetyNetProps is what the safety net and the sweeper need: the executions to
// watch, the functions that restore, the DLQ.
type safetyNetProps struct {
	StateMachine awsstepfunctions.IStateMachine
	Restore      awslambda.Function
	Sweeper      awslambda.Function
	DLQ          awssqs.IQueue
}

// newSafetyNet restores by ticket whenever an execution ends: when it fails, times out
// or is stopped, including where no Catch ran, and also when it succeeds, because a
// block-bucket invocation the state machine retried may still be running and land its
// block late (restore then waits it out and undoes it). The rule retries delivery;
// what still fails lands in dlq. Step Functions delivers these events best effort: the
// sweeper is what does not depend on them.
func newSafetyNet(stack awscdk.Stack, p safetyNetProps) {
	sm, restore, dlq := p.StateMachine, p.Restore, p.DLQ
	rule := awsevents.NewRule(stack, jsii.String("SafetyNet"), &awsevents.RuleProps{
		Description:  jsii.String("Failover drill safety net: make sure the primary bucket is restored whenever a drill execution ends"),
		EventPattern: executionStatusPattern(sm, "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(restore, &awseventstargets.LambdaFunctionProps{
		// The execution's identity: a reused name gets the same ARN, so the start tells
		// the runs apart (detail.startDate is epoch milliseconds; restore reads both forms).
		Event: awsevents.RuleTargetInput_FromObject(map[string]interface{}{
			"execution":    awsevents.EventField_FromPath(jsii.String("$.detail.name")),
			"executionArn": awsevents.EventField_FromPath(jsii.String("$.detail.executionArn")),
			"startTime":    awsevents.EventField_FromPath(jsii.String("$.detail.startDate")),
			// How it ended: recorded with the restore, next to the report.
			"status": awsevents.EventField_FromPath(jsii.String("$.detail.status")),
			"reason": drill.ReasonSafetyNet,
		}),
		RetryAttempts:   jsii.Number(20),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(6)),
		DeadLetterQueue: dlq,
	}))
	// The rule invokes restore asynchronously: Lambda retries a failed restore, then
	// records the event in the DLQ instead of dropping it.
	restore.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})
}

// newSweeper runs the sweeper every sweeper.Interval, always (not tied to the drill's
// own schedule): the safety net that depends on no event. A failed sweep is not
// retried by Lambda (the next sweep is the retry, and sweeps must not pile up); a
// schedule that cannot invoke it retries, then lands in dlq.
func newSweeper(stack awscdk.Stack, p safetyNetProps) {
	fn, dlq := p.Sweeper, p.DLQ
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(float64(sweeper.Interval / time.Minute))),
	})
	role := awsiam.NewRole(stack, jsii.String("SweeperScheduleRole"), &awsiam.RoleProps{
		// Only this account's Scheduler, for schedules of the default group (this stack's
		// schedules are there), as the role CDK generates for the other schedules.
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil), &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike": map[string]interface{}{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("scheduler"), Resource: jsii.String("schedule-group"), ResourceName: jsii.String("default"),
			})},
		}),
		Description: jsii.String("Lets EventBridge Scheduler invoke the failover drill's sweeper"),
	})
	awsscheduler.NewSchedule(stack, jsii.String("SweeperSchedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String("Failover drill sweeper: restores every lock whose execution has ended, whatever events were lost"),
		Schedule:    awsscheduler.ScheduleExpression_Rate(awscdk.Duration_Minutes(jsii.Number(float64(sweeper.Interval / time.Minute)))),
		Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
			Input:           awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{}),
			Role:            role,
			RetryAttempts:   jsii.Number(3),
			MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(float64(sweeper.Interval / time.Minute))),
			DeadLetterQueue: dlq,
		}),
	})
	// After the schedule: its target adds the invoke grant to the role's policy.
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("CDK's Lambda schedule target grants lambda:InvokeFunction on the sweeper function and its versions (<function ARN>:*); " +
			"it is this one function only, and the schedule invokes the unqualified ARN."),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<SweeperFunction[0-9A-F]{8}\.Arn>:\*$/g`)}},
	}}, jsii.Bool(true))
}
