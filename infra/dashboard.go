package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// drillMetric is one of the figures the report function writes as CloudWatch Embedded
// Metric Format (report.EMF), per target bucket.
func drillMetric(cfg *Config, name, stat, label string) awscloudwatch.Metric {
	props := &awscloudwatch.MetricProps{
		Namespace:     jsii.String(report.MetricsNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Bucket": jsii.String(cfg.PrimaryBucket)},
		Statistic:     jsii.String(stat),
		Period:        awscdk.Duration_Hours(jsii.Number(1)),
	}
	if label != "" {
		props.Label = jsii.String(label)
	}
	return awscloudwatch.NewMetric(props)
}

// dashboardProps is what the dashboard shows.
type dashboardProps struct {
	Config       *Config
	Actions      []awscloudwatch.IAlarmAction
	StateMachine awsstepfunctions.StateMachine
	DLQ          awssqs.Queue
	// Alarms are every other alarm of the stack; the dashboard adds its own.
	Alarms []awscloudwatch.IAlarm
}

// newDashboard is the page for the person on call: every alarm's state first, then the
// safety signals (executions by status, the DLQ's depth and arrivals, what the sweeper
// found), then every drill's figures across drills, from the metrics the report and the
// sweeper already write (no new permission: EMF is the Lambda's log). It also alarms
// when a drill's stable failover is above the target.
func newDashboard(stack awscdk.Stack, p dashboardProps) {
	cfg, actions := p.Config, p.Actions
	target := float64(cfg.FailoverTargetSeconds)
	failover := drillMetric(cfg, report.MetricFailoverSeconds, "Maximum", "stable failover (s)")
	alarm := awscloudwatch.NewAlarm(stack, jsii.String("FailoverAboveTarget"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A drill's stable failover took longer than failoverTargetSeconds: read its report (drill history shows the trend)"),
		// Five-minute periods: the datapoint a drill writes is seen at once.
		Metric: drillMetric(cfg, report.MetricFailoverSeconds, "Maximum", "").With(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}),
		Threshold:          jsii.Number(target),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(actions...)
	alarm.AddOkAction(actions...)

	targetLine := &[]*awscloudwatch.HorizontalAnnotation{{Value: jsii.Number(target), Label: jsii.String("failoverTargetSeconds"), Color: jsii.String("#d62728")}}
	graph := func(title string, left []awscloudwatch.IMetric, annotations *[]*awscloudwatch.HorizontalAnnotation) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6),
			LeftAnnotations: annotations, View: awscloudwatch.GraphWidgetView_TIME_SERIES,
		})
	}
	d := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		Start: jsii.String("-P30D"),
	})
	all := make([]interfacesawscloudwatch.IAlarmRef, 0, len(p.Alarms)+1)
	for _, a := range p.Alarms {
		all = append(all, a)
	}
	all = append(all, alarm)
	if cfg.GlobalCluster != "" {
		// The database stage's promise to the users: no acknowledged write lost.
		lost := awscloudwatch.NewAlarm(stack, jsii.String("DatabaseLostWrites"), &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String("A drill's database stage found acknowledged sign-ups missing after a switchover (lost writes): read its report, database section"),
			Metric: drillMetric(cfg, report.MetricDatabaseLostWrites, "Maximum", "").With(&awscloudwatch.MetricOptions{
				Period: awscdk.Duration_Minutes(jsii.Number(5)),
			}),
			Threshold:          jsii.Number(0),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		lost.AddAlarmAction(actions...)
		lost.AddOkAction(actions...)
		all = append(all, lost)
	}
	d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Every alarm of the drill"), Alarms: &all, Width: jsii.Number(24), Height: jsii.Number(4),
	}))
	hourly := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Hours(jsii.Number(1)), Statistic: jsii.String("Sum")}
	sm := p.StateMachine
	d.AddWidgets(
		graph("Executions by status (per hour)", []awscloudwatch.IMetric{
			sm.MetricSucceeded(hourly).With(&awscloudwatch.MetricOptions{Label: jsii.String("succeeded")}),
			sm.MetricFailed(hourly).With(&awscloudwatch.MetricOptions{Label: jsii.String("failed")}),
			sm.MetricTimedOut(hourly).With(&awscloudwatch.MetricOptions{Label: jsii.String("timed out")}),
			sm.MetricAborted(hourly).With(&awscloudwatch.MetricOptions{Label: jsii.String("aborted")}),
		}, nil),
		graph("Undelivered events (DLQ)", []awscloudwatch.IMetric{
			p.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"), Label: jsii.String("waiting in the DLQ")}),
			p.DLQ.MetricNumberOfMessagesSent(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"), Label: jsii.String("new in the DLQ")}),
		}, nil),
	)
	d.AddWidgets(
		graph("Sweeper findings (per sweep, every 5 min)", []awscloudwatch.IMetric{
			sweeperMetric(sweeper.MetricLocks, "Maximum").With(&awscloudwatch.MetricOptions{Label: jsii.String("locks")}),
			sweeperMetric(sweeper.MetricRestored, "Sum").With(&awscloudwatch.MetricOptions{Label: jsii.String("restored by the sweeper")}),
			sweeperMetric(sweeper.MetricStranded, "Maximum").With(&awscloudwatch.MetricOptions{Label: jsii.String("stranded")}),
			sweeperMetric(sweeper.MetricUnchecked, "Maximum").With(&awscloudwatch.MetricOptions{Label: jsii.String("unchecked")}),
			sweeperMetric(sweeper.MetricUnreadable, "Maximum").With(&awscloudwatch.MetricOptions{Label: jsii.String("unreadable")}),
		}, nil),
		graph("Failover and recovery (stable, seconds)", []awscloudwatch.IMetric{failover, drillMetric(cfg, report.MetricRecoverySeconds, "Maximum", "stable recovery (s)")}, targetLine),
	)
	d.AddWidgets(
		graph("Drills passed and restores failed", []awscloudwatch.IMetric{drillMetric(cfg, "DrillPassed", "Sum", "passed"), drillMetric(cfg, report.MetricRestoreFailed, "Sum", "restore failed")}, nil),
		graph("What visitors saw", []awscloudwatch.IMetric{drillMetric(cfg, "UserVisibleErrors", "Maximum", "user-visible errors"), drillMetric(cfg, "ErrorRatePercent", "Maximum", "error rate (%)"), drillMetric(cfg, "SlowAnswers", "Maximum", "slow answers")}, nil),
	)
	d.AddWidgets(
		graph("Latency p95 (ms) and replication (s)", []awscloudwatch.IMetric{drillMetric(cfg, "LatencyP95Ms", "Maximum", "latency p95 (ms)"), drillMetric(cfg, "ReplicationSeconds", "Maximum", "replication (s)")}, nil),
		graph("Dry runs ready (1) or not (0)", []awscloudwatch.IMetric{drillMetric(cfg, "DryRunReady", "Minimum", "ready")}, nil),
	)
	if cfg.GlobalCluster != "" {
		d.AddWidgets(
			graph("Database switchover and back (s)", []awscloudwatch.IMetric{
				drillMetric(cfg, "DatabaseSwitchSeconds", "Maximum", "switch over (s)"), drillMetric(cfg, "DatabaseSwitchWriteOutageSeconds", "Maximum", "write outage over (s)"),
				drillMetric(cfg, "DatabaseSwitchBackSeconds", "Maximum", "switch back (s)"), drillMetric(cfg, "DatabaseSwitchBackWriteOutageSeconds", "Maximum", "write outage back (s)"),
			}, nil),
			graph("Database lost writes", []awscloudwatch.IMetric{drillMetric(cfg, report.MetricDatabaseLostWrites, "Maximum", "lost writes")}, nil),
		)
	}
	awscdk.NewCfnOutput(stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{
		Value: d.DashboardName(), Description: jsii.String("CloudWatch dashboard for the person on call: every alarm, executions, DLQ, sweeper, every drill's figures"),
	})
}
