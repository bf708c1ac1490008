package cost

import (
	"math"
	"testing"
)

func TestRunsPerMonth(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want float64
	}{
		{"rate(5 minutes)", 8766},
		{"rate(1 hour)", 730.5},
		{"cron(30 * * * ? *)", 730.5},
		{"cron(0 0/6 * * ? *)", 121.75},
		{"cron(0 0 * * ? *)", 30.4375},
		{"cron(0 0 ? * MON *)", 30.4375 / 7},
	} {
		got, err := RunsPerMonth(tc.expr)
		if err != nil || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("RunsPerMonth(%s) = %v, %v; want %v", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{"cron(0/5 * * * ? *)", "cron(0 6 1 * ? *)", "every hour"} {
		if _, err := RunsPerMonth(bad); err == nil {
			t.Errorf("RunsPerMonth(%s) priced it", bad)
		}
	}
}

// A small template: two alarms (one metric math over two metrics), a dashboard, a key,
// a sweeper every 5 minutes (128 MB, 120 s timeout) and an hourly schedule of the state
// machine.
func TestStandingFromTemplate(t *testing.T) {
	tmpl := map[string]any{"Resources": map[string]any{
		"A1":   map[string]any{"Type": "AWS::CloudWatch::Alarm", "Properties": map[string]any{"MetricName": "Errors"}},
		"A2":   map[string]any{"Type": "AWS::CloudWatch::Alarm", "Properties": map[string]any{"Metrics": []any{map[string]any{"Expression": "a+b"}, map[string]any{"MetricStat": map[string]any{}}, map[string]any{"MetricStat": map[string]any{}}}}},
		"D":    map[string]any{"Type": "AWS::CloudWatch::Dashboard"},
		"K":    map[string]any{"Type": "AWS::KMS::Key"},
		"Fn":   map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"MemorySize": 128.0, "Timeout": 120.0}},
		"S":    map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": map[string]any{"ScheduleExpression": "rate(5 minutes)", "Target": map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}}}},
		"Dry":  map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": map[string]any{"ScheduleExpression": "cron(30 * * * ? *)", "Target": map[string]any{"Arn": map[string]any{"Ref": "SM"}}}},
		"Else": map[string]any{"Type": "AWS::SQS::Queue"},
	}}
	s, err := StandingFromTemplate(tmpl, StandingInput{SweepBilledMs: 1000, ContinuousMetrics: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"CloudWatch alarms":                              0.3,
		"CloudWatch dashboards":                          3,
		"CloudWatch custom metrics written continuously": 1.2,
		"KMS customer managed keys":                      1,
		"EventBridge Scheduler invocations":              round((8766+730.5)*1e-6, 4),
		"Lambda requests (scheduled functions)":          round(8766*0.2e-6, 4),
		"Lambda compute (scheduled functions, arm64)":    round(8766*0.125*1*0.0000133334, 4),
	}
	for _, l := range s.Lines {
		if w, ok := want[l.Item]; !ok || math.Abs(l.USD-w) > 1e-9 {
			t.Errorf("%s: $%v, want $%v", l.Item, l.USD, w)
		}
	}
	if len(s.Lines) != len(want) || s.MonthlyUSD != 5.53 || len(s.Notes) == 0 {
		t.Errorf("standing %+v, want $5.53 a month in %d lines, with notes", s, len(want))
	}
	// Without a measured sweep, the timeout bounds it.
	b, _ := StandingFromTemplate(tmpl, StandingInput{ContinuousMetrics: 4})
	if b.MonthlyUSD <= s.MonthlyUSD {
		t.Errorf("bound $%v not above $%v", b.MonthlyUSD, s.MonthlyUSD)
	}
}
