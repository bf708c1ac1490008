package main

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
)

// ReadinessTimeout is the readiness function's Lambda timeout (drill.Functions): the
// replication check waits up to maxReplicationLagSeconds (at most 300 s), and the
// state's TimeoutSeconds (390) is above it.
var ReadinessTimeout = drillFunction(drill.FuncReadiness).Timeout

func stopAlarmsJSON(cfg *Config) string {
	alarms := cfg.StopAlarms
	if alarms == nil {
		alarms = []string{}
	}
	b, _ := json.Marshal(alarms)
	return string(b)
}

// DistributionARN is the deployed distribution's ARN (CloudFront ARNs have no region).
func DistributionARN(stack awscdk.Stack, id string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudfront"), Region: jsii.String(""),
		Resource: jsii.String("distribution"), ResourceName: jsii.String(id),
	})
}

// readinessProps is what continuous readiness needs: the schedule, the state machine
// it starts, the topic its message goes to, whom its alarm tells, the DLQ.
type readinessProps struct {
	Config        *Config
	StateMachine  awsstepfunctions.IStateMachine
	Notifications *notifications
	Actions       []awscloudwatch.IAlarmAction
	DLQ           awssqs.IQueue
}

// newContinuousReadiness: with readinessSchedule, an EventBridge Scheduler schedule
// starts dry runs ({"dryRun": true}); it never fires at deploy time, a rate fires on a
// grid ReadinessOffset off the drills' (SchedulerExpression), and a failed start is
// retried for at most ScheduleMaxEventAge and then kept in the DLQ. Always: an alarm on the report's DryRunReady
// metric, and a notification naming the failed checks of every run stopped NotReady
// (the execution's cause lists them).
//
// It returns its alarm, and the rule, whose matches the ExecutionsFailed alarm leaves
// out: a run stopped not ready raises NotReady only.
func newContinuousReadiness(stack awscdk.Stack, p readinessProps) (awscloudwatch.Alarm, awsevents.Rule) {
	cfg, sm, n, actions, dlq := p.Config, p.StateMachine, p.Notifications, p.Actions, p.DLQ
	if cfg.ReadinessSchedule != "" {
		props := &awsscheduler.ScheduleProps{
			Description: jsii.String("Starts a failover drill dry run: every readiness check, no change to the bucket"),
			Schedule:    awsscheduler.ScheduleExpression_Expression(mustSchedulerExpression(cfg.ReadinessSchedule, ReadinessOffset), awscdk.TimeZone_ETC_UTC()),
			Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
				Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{"dryRun": true}),
				// A dry run changes nothing and the lock refuses a second one: retrying is
				// safe; one started more than ScheduleMaxEventAge late is not wanted.
				RetryAttempts:   jsii.Number(3),
				MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(ScheduleMaxEventAge.Seconds())),
				DeadLetterQueue: dlq,
			}),
		}
		awsscheduler.NewSchedule(stack, jsii.String("ReadinessSchedule"), props)
	}

	alarm := awscloudwatch.NewAlarm(stack, jsii.String("NotReady"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A failover drill dry run found the lab not ready to fail over, or could not check it all (unverified): the ReadinessNotReady notification on this topic names the failed or skipped check"),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(report.MetricsNamespace), MetricName: jsii.String("DryRunReady"),
			DimensionsMap: &map[string]*string{"Bucket": jsii.String(cfg.PrimaryBucket)},
			Period:        awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Minimum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(actions...)
	alarm.AddOkAction(actions...)

	rule := awsevents.NewRule(stack, jsii.String("ReadinessNotReady"), &awsevents.RuleProps{
		Description: jsii.String("Failover drill: a run stopped because a readiness check failed or was skipped, or a dry run that skipped a check; the message names the check"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]interface{}{
				"status":          jsii.Strings("FAILED"),
				"stateMachineArn": &[]*string{sm.StateMachineArn()},
				// Not ready (a check failed, or a drill's check was skipped), and a dry
				// run that skipped a check (unverified): the cause names the checks.
				"error": notReadyErrors(),
			},
		},
	})
	n.publishFrom(rule, awsevents.RuleTargetInput_FromObject(map[string]interface{}{
		"drill":     "failover-drill",
		"readiness": "not ready or unverified",
		"execution": awsevents.EventField_FromPath(jsii.String("$.detail.name")),
		"error":     awsevents.EventField_FromPath(jsii.String("$.detail.error")),
		"cause":     awsevents.EventField_FromPath(jsii.String("$.detail.cause")),
	}))
	return alarm, rule
}
