package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
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

// Now is the synth time, the reference for the readiness schedule's start; tests set it.
var Now = time.Now

func stopAlarmsJSON(cfg *Config) string {
	alarms := cfg.StopAlarms
	if alarms == nil {
		alarms = []string{}
	}
	b, _ := json.Marshal(alarms)
	return string(b)
}

// grantReadiness holds every grant of the readiness work, in one place:
//
//	readiness  cloudfront:GetDistributionConfig on the deployed distribution (distributionId) only;
//	           s3:GetAccountPublicAccessBlock (no resource type exists: Resource *, and it reads only the caller's account);
//	           cloudwatch:DescribeAlarms on the stopAlarms alarms' ARNs only
//	probe      cloudwatch:DescribeAlarms on the same ARNs only, to watch them during the awaits
//
// Without distributionId or stopAlarms the matching statement is left out, and the
// check says why it is skipped.
func grantReadiness(stack awscdk.Stack, cfg *Config, fns map[string]awslambda.Function) {
	fn := fns[drill.FuncReadiness]
	if cfg.DistributionID != "" {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("ReadDeployedDistribution"),
			Actions: jsii.Strings("cloudfront:GetDistributionConfig"),
			Resources: &[]*string{stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudfront"), Region: jsii.String(""),
				Resource: jsii.String("distribution"), ResourceName: jsii.String(cfg.DistributionID),
			})},
		}))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadAccountPublicAccessBlock"),
		Actions:   jsii.Strings("s3:GetAccountPublicAccessBlock"),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("s3:GetAccountPublicAccessBlock has no resource type in the Service Authorization Reference, so its resource must be *; " +
			"it reads only the caller's own account's Block Public Access (the account of the function's ARN)."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
	if len(cfg.StopAlarms) > 0 {
		var arns []*string
		for _, n := range cfg.StopAlarms {
			arns = append(arns, stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String(n),
				ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			}))
		}
		for _, f := range []awslambda.Function{fn, fns[drill.FuncProbe]} {
			f.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ReadStopAlarms"),
				Actions:   jsii.Strings("cloudwatch:DescribeAlarms"),
				Resources: &arns,
			}))
		}
	}
}

// rateInterval is a rate() expression's interval, 0 for cron.
var rateExpression = regexp.MustCompile(`^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$`)

func rateInterval(expr string) time.Duration {
	m := rateExpression.FindStringSubmatch(expr)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit
}

// ScheduleLead is the least time between a deploy (synth) and the first dry run.
const ScheduleLead = time.Hour

// readinessStart is a rate schedule's start date: EventBridge Scheduler starts a rate
// schedule at once when it has none. The start is the first multiple of the interval
// (since Go's zero time) at least ScheduleLead after the synth: never at deploy time,
// never in the past (which Scheduler refuses), and on the same grid whenever the
// stack is synthesized, so a redeploy does not move the runs. Cron: nil (a cron
// schedule starts nothing at creation). The safety issue's drill schedule uses the
// same rule.
func readinessStart(expr string, now time.Time) *time.Time {
	d := rateInterval(expr)
	if d <= 0 {
		return nil
	}
	earliest := now.Add(ScheduleLead).UTC()
	start := earliest.Truncate(d)
	if start.Before(earliest) {
		start = start.Add(d)
	}
	return &start
}

// newContinuousReadiness: with readinessSchedule, an EventBridge Scheduler schedule
// starts dry runs ({"dryRun": true}); it never fires at deploy time (readinessStart), and a failed start is
// retried and then kept in the DLQ. Always: an alarm on the report's DryRunReady
// metric, and a notification naming the failed checks of every run stopped NotReady
// (the execution's cause lists them).
func newContinuousReadiness(stack awscdk.Stack, cfg *Config, sm awsstepfunctions.IStateMachine, topic awssns.ITopic, dlq awssqs.IQueue) {
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
		props.Start = readinessStart(cfg.ReadinessSchedule, Now())
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
	alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))

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
