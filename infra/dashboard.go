package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/report"
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

// newDashboard graphs every drill's figures across drills, from the metrics the report
// already writes (no new permission: EMF is the Lambda's log), and alarms when a
// drill's stable failover is above the target.
func newDashboard(stack awscdk.Stack, cfg *Config, actions []awscloudwatch.IAlarmAction) {
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
	d.AddWidgets(
		graph("Failover and recovery (stable, seconds)", []awscloudwatch.IMetric{failover, drillMetric(cfg, report.MetricRecoverySeconds, "Maximum", "stable recovery (s)")}, targetLine),
		graph("Drills passed and restores failed", []awscloudwatch.IMetric{drillMetric(cfg, "DrillPassed", "Sum", "passed"), drillMetric(cfg, report.MetricRestoreFailed, "Sum", "restore failed")}, nil),
	)
	d.AddWidgets(
		graph("What visitors saw", []awscloudwatch.IMetric{drillMetric(cfg, "UserVisibleErrors", "Maximum", "user-visible errors"), drillMetric(cfg, "ErrorRatePercent", "Maximum", "error rate (%)"), drillMetric(cfg, "SlowAnswers", "Maximum", "slow answers")}, nil),
		graph("Latency p95 (ms) and replication (s)", []awscloudwatch.IMetric{drillMetric(cfg, "LatencyP95Ms", "Maximum", "latency p95 (ms)"), drillMetric(cfg, "ReplicationSeconds", "Maximum", "replication (s)")}, nil),
	)
	d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Failover target"), Alarms: &[]interfacesawscloudwatch.IAlarmRef{alarm}, Width: jsii.Number(24),
	}))
	awscdk.NewCfnOutput(stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{
		Value: d.DashboardName(), Description: jsii.String("CloudWatch dashboard of every drill's figures"),
	})
}
