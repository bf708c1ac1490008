package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// alarmActions are where every alarm of the stack publishes: the drill's own topic
// (its email subscriber, when notifyEmail is set) and, when alarmTopicArn is set, the
// team's existing topic. Synth refuses a deployment with neither (ConfigFromContext):
// the safety promise's "a person is told at once" needs someone on the other end.
// Nothing is granted for the team's topic: CloudWatch publishes to it, and the topic's
// own policy (and its KMS key's, if encrypted) must let cloudwatch.amazonaws.com do so,
// as the default policy of a topic in the stack's account does. A CloudFormation rule
// stops a deployment in another region than the topic's: an alarm publishes only to a
// topic in its own region.
func alarmActions(stack awscdk.Stack, cfg *Config, topic awssns.ITopic) []awscloudwatch.IAlarmAction {
	actions := []awscloudwatch.IAlarmAction{awscloudwatchactions.NewSnsAction(topic)}
	if cfg.AlarmTopicArn == "" {
		return actions
	}
	team := awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(cfg.AlarmTopicArn))
	awscdk.NewCfnRule(stack, jsii.String("AlarmTopicInStackRegion"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionEquals(jsii.String(AlarmTopicRegion(cfg.AlarmTopicArn)), awscdk.Aws_REGION()),
			AssertDescription: jsii.String(CtxAlarmTopicArn + " " + cfg.AlarmTopicArn + " is in another region than this stack: " +
				"CloudWatch alarms publish only to a topic in their own region; deploy the stack in the topic's region or name a topic in the stack's"),
		}},
	})
	return append(actions, awscloudwatchactions.NewSnsAction(team))
}

// alarmsProps is what the alarms watch and whom they tell.
type alarmsProps struct {
	Config       *Config
	StateMachine awsstepfunctions.StateMachine
	Sweeper      awslambda.Function
	DLQ          awssqs.Queue
	Actions      []awscloudwatch.IAlarmAction
	// NotReadyRule matches the runs stopped not ready or unverified: ExecutionsFailed
	// leaves them out (the NotReady alarm and the rule's message tell of them).
	NotReadyRule awsevents.Rule
}

// newAlarms tells a person, on the topic, about every way a drill can end badly and
// every sign that the bucket may still be blocked, and tells again when it is over
// (every alarm sends OK as well):
//
//   - ExecutionsFailed (other than a run stopped not ready, which raises NotReady
//     only), ExecutionsTimedOut, ExecutionsAborted: an execution ended so (AWS/States);
//   - RestoreFailed: a drill's restore did not finish (the report's metric);
//   - PrimaryNotServingAfterDrill: a drill blocked the bucket and the primary was not
//     seen serving stably after the restore (the report's metric, from AwaitRecovery
//     or the failure path's recovery check);
//   - SweeperFoundStrandedLock: a lock whose execution has ended could not be restored
//     (or checked): the bucket may still be blocked. In ALARM while the lock stays
//     stranded, OK once it is gone: a deployment drills one bucket, whose one lock
//     refuses a new drill until it is cleared, so a new stranded lock always follows
//     an OK and pages again;
//   - SweeperFoundUnreadableLock: an object under locks/ could not be read or decoded;
//     the sweep goes on with every other lock, and this one is reported every sweep;
//   - SweeperRestoredLock: the sweeper restored a lock the event-driven safety net
//     missed (the bucket was blocked for minutes longer than it should have been);
//   - SweeperFailing: two sweeps in a row failed (one failure is retried by the next
//     sweep five minutes later, and shows on the dashboard); SweeperNotRunning: the
//     sweeper has not run for 15 min;
//   - UndeliveredEvents: a new message reached the DLQ in the last minute (a
//     safety-net, sweeper or schedule invocation, or a notification, could not be
//     delivered). It counts messages sent, not messages waiting: the alarm returns to
//     OK after a minute without one, so the next undelivered event pages again even
//     while earlier ones still wait in the queue (the dashboard shows its depth).
//
// It returns the alarms, for the dashboard.
func newAlarms(stack awscdk.Stack, p alarmsProps) []awscloudwatch.IAlarm {
	cfg, sm, sweep, dlq, actions := p.Config, p.StateMachine, p.Sweeper, p.DLQ, p.Actions
	fiveMin := awscdk.Duration_Minutes(jsii.Number(5))
	var alarms []awscloudwatch.IAlarm
	alarm := func(id, description string, metric awscloudwatch.IMetric, op awscloudwatch.ComparisonOperator, periods float64, missing awscloudwatch.TreatMissingData) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(periods),
			ComparisonOperator: op,
			TreatMissingData:   missing,
		})
		a.AddAlarmAction(actions...)
		a.AddOkAction(actions...)
		alarms = append(alarms, a)
	}
	atLeastOnce := func(id, description string, metric awscloudwatch.IMetric) {
		alarm(id, description, metric, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1, awscloudwatch.TreatMissingData_NOT_BREACHING)
	}
	sum := &awscloudwatch.MetricOptions{Period: fiveMin, Statistic: jsii.String("Sum")}

	atLeastOnce("ExecutionsFailed", "A failover drill execution failed (other than stopped not ready: that is the NotReady alarm): read its report in the ledger; if the error is RestoreFailed or BucketChangedDuringDrill, the primary bucket may still be blocked (drill status)",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			// Failed executions less those the ReadinessNotReady rule matched (each
			// not-ready or unverified run): both counted when the execution ends.
			Expression: jsii.String("FILL(failed, 0) - FILL(notready, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"failed": sm.MetricFailed(sum),
				"notready": awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("TriggeredRules"),
					DimensionsMap: &map[string]*string{"RuleName": p.NotReadyRule.RuleName()}, Period: fiveMin, Statistic: jsii.String("Sum"),
				}),
			},
			Label:  jsii.String("failed, not counting not ready"),
			Period: fiveMin,
		}))
	atLeastOnce("ExecutionsTimedOut", "A failover drill execution timed out: the sweeper restores its bucket within minutes; check drill status",
		sm.MetricTimedOut(sum))
	atLeastOnce("ExecutionsAborted", "A failover drill execution was stopped: the safety net and the sweeper restore its bucket; check drill status",
		sm.MetricAborted(sum))
	atLeastOnce("RestoreFailed", "A drill's restore did not finish: the primary bucket may still be blocked. Run drill status now, then drill restore or fix it by hand (runbook: docs/operate.md)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(report.MetricsNamespace), MetricName: jsii.String(report.MetricRestoreFailed),
			DimensionsMap: &map[string]*string{"Bucket": jsii.String(cfg.PrimaryBucket)}, Period: fiveMin, Statistic: jsii.String("Sum"),
		}))
	atLeastOnce("PrimaryNotServingAfterDrill", "A drill blocked the primary bucket and the primary was not seen serving again after the restore: the shop may be broken. Open the site now, then drill status and the run's report (runbook: docs/operate.md)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(report.MetricsNamespace), MetricName: jsii.String(report.MetricPrimaryNotServing),
			DimensionsMap: &map[string]*string{"Bucket": jsii.String(cfg.PrimaryBucket)}, Period: fiveMin, Statistic: jsii.String("Sum"),
		}))
	atLeastOnce("SweeperFoundStrandedLock", "A drill lock whose execution has ended could not be restored or checked by the sweeper: the primary bucket may still be blocked. Run drill status now (runbook: docs/operate.md)",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("stranded + unchecked"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"stranded":  sweeperMetric(sweeper.MetricStranded, "Maximum"),
				"unchecked": sweeperMetric(sweeper.MetricUnchecked, "Maximum"),
			},
			Period: fiveMin,
		}))
	atLeastOnce("SweeperFoundUnreadableLock", "An object under the ledger's locks/ could not be read or decoded: the sweeper goes on with every other lock, but cannot restore the bucket this one names. Run drill status now: it names the key (runbook: docs/operate.md)",
		sweeperMetric(sweeper.MetricUnreadable, "Maximum"))
	atLeastOnce("SweeperRestoredLock", "The sweeper restored a bucket whose execution had ended without the event-driven safety net restoring it (a lost event or a failed restore): the bucket was blocked longer than a drill should block it",
		sweeperMetric(sweeper.MetricRestored, "Sum"))
	alarm("SweeperFailing", "Two sweeps in a row failed (the drill's sweeper cannot list the ledger's locks, or it crashes): no lock is restored without its event. Check its logs",
		sweep.MetricErrors(sum), awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, SweeperFailuresInARow, awscloudwatch.TreatMissingData_NOT_BREACHING)
	alarm("SweeperNotRunning", "The drill's sweeper has not run for 15 minutes: nothing restores a bucket whose safety-net event was lost. Check its schedule",
		sweep.MetricInvocations(sum), awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 3, awscloudwatch.TreatMissingData_BREACHING)
	atLeastOnce("UndeliveredEvents", "A safety-net restore, a sweep, a scheduled drill or a notification could not be delivered and was put in the DLQ: check the DLQ and the primary bucket's public access block NOW",
		dlq.MetricNumberOfMessagesSent(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Sum")}))
	return alarms
}

// SweeperFailuresInARow is how many failed sweeps in a row page: one is retried by the
// next sweep.
const SweeperFailuresInARow = 2

// sweeperMetric is one of the figures the sweeper writes per sweep.
func sweeperMetric(name, stat string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(sweeper.MetricsNamespace), MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{sweeper.MetricDimension: jsii.String(drill.FuncSweeper)},
		Period:        awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(stat),
	})
}
