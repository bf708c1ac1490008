package main

import (
	"encoding/json"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
)

// ReadinessTimeout is the readiness function's Lambda timeout: the replication check
// waits up to maxReplicationLagSeconds (at most 300 s), and the state's
// TimeoutSeconds (390) is above it.
const ReadinessTimeout = 6 * time.Minute

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

// AlarmARN is a stop alarm's ARN, in the stack's region and account.
func AlarmARN(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String(name),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// suppressAccountRead explains to cdk-nag the one * of the readiness role: the grants
// themselves come from internal/policy (readiness: GetDistributionConfig on the
// deployed distribution only, GetAccountPublicAccessBlock, DescribeAlarms on the
// stopAlarms only; probe-cloudfront: DescribeAlarms on the same alarms).
func suppressAccountRead(fns map[string]awslambda.Function) {
	cdknag.NagSuppressions_AddResourceSuppressions(fns[drill.FuncReadiness].Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("s3:GetAccountPublicAccessBlock has no resource type in the Service Authorization Reference, so its resource must be *; " +
			"it reads only the caller's own account's Block Public Access (the account of the function's ARN)."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
}

// newContinuousReadiness: with readinessSchedule, an EventBridge Scheduler schedule
// starts dry runs ({"dryRun": true}); it never fires at deploy time (ScheduleStart), and a failed start is
// retried and then kept in the DLQ. Always: an alarm on the report's DryRunReady
// metric, and a notification naming the failed checks of every run stopped NotReady
// (the execution's cause lists them).
func newContinuousReadiness(stack awscdk.Stack, cfg *Config, sm awsstepfunctions.IStateMachine, topic awssns.ITopic, actions []awscloudwatch.IAlarmAction, dlq awssqs.IQueue, now time.Time) {
	if cfg.ReadinessSchedule != "" {
		props := &awsscheduler.ScheduleProps{
			Description: jsii.String("Starts a failover drill dry run: every readiness check, no change to the bucket"),
			Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(cfg.ReadinessSchedule), awscdk.TimeZone_ETC_UTC()),
			Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
				Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{"dryRun": true}),
				// A dry run changes nothing and the lock refuses a second one: retrying is safe.
				RetryAttempts:   jsii.Number(3),
				DeadLetterQueue: dlq,
			}),
		}
		props.Start = ScheduleStart(cfg.ReadinessSchedule, now) // the drill schedule's rule
		awsscheduler.NewSchedule(stack, jsii.String("ReadinessSchedule"), props)
	}

	alarm := awscloudwatch.NewAlarm(stack, jsii.String("NotReady"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A failover drill dry run found the lab not ready to fail over: the ReadinessNotReady notification on this topic names the failed check"),
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

	rule := awsevents.NewRule(stack, jsii.String("ReadinessNotReady"), &awsevents.RuleProps{
		Description: jsii.String("Failover drill: a run stopped because a readiness check failed; the message names the check"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]interface{}{
				"status":          jsii.Strings("FAILED"),
				"stateMachineArn": &[]*string{sm.StateMachineArn()},
				"error":           jsii.Strings(drill.ErrorName(&drill.NotReady{})),
			},
		},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(topic, &awseventstargets.SnsTopicProps{
		Message: awsevents.RuleTargetInput_FromObject(map[string]interface{}{
			"drill":     "failover-drill",
			"readiness": "not ready",
			"execution": awsevents.EventField_FromPath(jsii.String("$.detail.name")),
			"error":     awsevents.EventField_FromPath(jsii.String("$.detail.error")),
			"cause":     awsevents.EventField_FromPath(jsii.String("$.detail.cause")),
		}),
		RetryAttempts:   jsii.Number(20),
		DeadLetterQueue: dlq,
	}))
}
