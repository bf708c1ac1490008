package cost

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
)

// StandingPrices are the published monthly and per-request prices the deployed stack
// is billed by while no drill runs (us-east-1, on-demand, without free tiers, read on
// PricesAsOf).
var StandingPrices = struct {
	// AlarmMetric: CloudWatch standard-resolution alarm, $0.10 per alarm metric per
	// month; a metric-math alarm is billed for each metric its expression reads.
	AlarmMetric float64
	// Dashboard: CloudWatch dashboard, $3.00 per dashboard per month.
	Dashboard float64
	// CustomMetric: CloudWatch custom metric (the Embedded Metric Format lines), $0.30
	// per metric per month (first 10,000), prorated by the hour it receives data.
	CustomMetric float64
	// KMSKey: a customer managed KMS key, $1.00 per month.
	KMSKey float64
	// SchedulerInvocation: EventBridge Scheduler, $1.00 per million invocations.
	SchedulerInvocation float64
}{
	AlarmMetric:         0.10,
	Dashboard:           3.00,
	CustomMetric:        0.30,
	KMSKey:              1.00,
	SchedulerInvocation: 1.00 / 1e6,
}

// HoursPerMonth is the month the prices mean: 365.25 days / 12.
const HoursPerMonth = 730.5

// Standing is the stack's standing monthly cost, line by line.
type Standing struct {
	Lines      []drill.CostLine
	MonthlyUSD float64
	PricesAsOf string
	// Notes are what the figure leaves out, each with why.
	Notes []string
}

// StandingInput is what the template alone does not say.
type StandingInput struct {
	// SweepBilledMs is the billed duration of one sweep; 0 takes the sweeper's timeout
	// from the template (an upper bound).
	SweepBilledMs int64
	// ContinuousMetrics are the custom metrics written all month long whatever the
	// drills do (the sweeper's, every sweep; a dry run's, every dry run).
	ContinuousMetrics int
}

// StandingFromTemplate prices what a synthesized CloudFormation template keeps
// running: its alarms (per alarm metric), dashboards, KMS keys, schedules (invocations
// a month, from their expressions) and the Lambda functions the schedules invoke
// (requests and compute at the function's memory, each for sweepBilledMs, or its
// timeout), and the custom metrics written continuously. A schedule that starts the
// state machine is counted as invocations only: what each drill or dry run costs is
// the report's own cost figure.
func StandingFromTemplate(tmpl map[string]any, in StandingInput) (Standing, error) {
	res, _ := tmpl["Resources"].(map[string]any)
	ids := make([]string, 0, len(res))
	for id := range res {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var alarmMetrics, dashboards, keys int
	var invocations float64
	type invoked struct{ perMonth, memoryMB, timeoutS float64 }
	var lambdas []invoked
	var starts float64
	for _, id := range ids {
		r, _ := res[id].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::CloudWatch::Alarm":
			alarmMetrics += alarmMetricCount(props)
		case "AWS::CloudWatch::Dashboard":
			dashboards++
		case "AWS::KMS::Key":
			keys++
		case "AWS::Scheduler::Schedule":
			expr, _ := props["ScheduleExpression"].(string)
			n, err := RunsPerMonth(expr)
			if err != nil {
				return Standing{}, fmt.Errorf("schedule %s: %w", id, err)
			}
			invocations += n
			target, _ := props["Target"].(map[string]any)
			fnID := getAttTarget(target["Arn"])
			if fn, ok := res[fnID].(map[string]any); ok && fn["Type"] == "AWS::Lambda::Function" {
				fp, _ := fn["Properties"].(map[string]any)
				mem, _ := fp["MemorySize"].(float64)
				timeout, _ := fp["Timeout"].(float64)
				lambdas = append(lambdas, invoked{n, mem, timeout})
			} else {
				starts += n
			}
		}
	}
	s := Standing{PricesAsOf: PricesAsOf}
	line := func(item string, qty float64, unit string, price float64) {
		s.Lines = append(s.Lines, drill.CostLine{Item: item, Quantity: round(qty, 2), Unit: unit, UnitPrice: price, USD: round(qty*price, 4)})
	}
	line("CloudWatch alarms", float64(alarmMetrics), "alarm metrics", StandingPrices.AlarmMetric)
	line("CloudWatch dashboards", float64(dashboards), "dashboards", StandingPrices.Dashboard)
	line("CloudWatch custom metrics written continuously", float64(in.ContinuousMetrics), "metrics", StandingPrices.CustomMetric)
	line("KMS customer managed keys", float64(keys), "keys", StandingPrices.KMSKey)
	line("EventBridge Scheduler invocations", invocations, "invocations", StandingPrices.SchedulerInvocation)
	var requests, gbs float64
	bound := in.SweepBilledMs == 0
	for _, l := range lambdas {
		ms := float64(in.SweepBilledMs)
		if bound {
			ms = l.timeoutS * 1000
		}
		requests += l.perMonth
		gbs += l.perMonth * l.memoryMB / 1024 * ms / 1000
	}
	line("Lambda requests (scheduled functions)", requests, "requests", Prices.LambdaRequest)
	gbItem := "Lambda compute (scheduled functions, arm64)"
	if bound {
		gbItem += ", at most: every run billed its timeout"
	}
	line(gbItem, gbs, "GB-s", Prices.LambdaGBSecondArm)
	for _, l := range s.Lines {
		s.MonthlyUSD += l.USD
	}
	s.MonthlyUSD = round(s.MonthlyUSD, 2)
	if starts > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%.0f scheduled executions a month are counted as Scheduler invocations only: each run's own cost (state transitions, Lambda, requests) is the report's cost figure", starts))
	}
	s.Notes = append(s.Notes,
		"CloudWatch Logs ingestion and storage, S3 storage and requests of the ledger, SNS deliveries and X-Ray traces grow with the drills run and are not standing costs",
		"custom metrics a drill writes (FailoverSeconds and the other report figures) are billed only for the hours they receive data")
	return s, nil
}

// alarmMetricCount is how many metrics an alarm is billed for: one, or each metric a
// metric-math alarm reads (expressions are not billed).
func alarmMetricCount(props map[string]any) int {
	ms, ok := props["Metrics"].([]any)
	if !ok {
		return 1
	}
	n := 0
	for _, m := range ms {
		if mm, _ := m.(map[string]any); mm["MetricStat"] != nil {
			n++
		}
	}
	return n
}

func getAttTarget(v any) string {
	m, _ := v.(map[string]any)
	ga, _ := m["Fn::GetAtt"].([]any)
	if len(ga) == 2 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

var (
	rateRe = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRe = regexp.MustCompile(`^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$`)
)

// RunsPerMonth is how many times a Scheduler expression fires in HoursPerMonth: rates,
// and the crons the stack writes (every hour or every n hours at a minute, daily,
// weekly on one day).
func RunsPerMonth(expr string) (float64, error) {
	if m := rateRe.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		hours := map[string]float64{"minute": 1.0 / 60, "hour": 1, "day": 24}[strings.TrimSuffix(m[2], "s")] * float64(n)
		return HoursPerMonth / hours, nil
	}
	m := cronRe.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("%q is not a schedule expression", expr)
	}
	minute, hour, dom, month, dow := m[1], m[2], m[3], m[4], m[5]
	if _, err := strconv.Atoi(minute); err != nil || month != "*" {
		return 0, fmt.Errorf("%q: only crons at one minute of every month are priced", expr)
	}
	perDay := 0.0
	switch {
	case hour == "*":
		perDay = 24
	case strings.HasPrefix(hour, "0/"):
		step, err := strconv.Atoi(strings.TrimPrefix(hour, "0/"))
		if err != nil || step <= 0 {
			return 0, fmt.Errorf("%q: hour step %q", expr, hour)
		}
		perDay = math.Ceil(24 / float64(step))
	default:
		if _, err := strconv.Atoi(hour); err != nil {
			return 0, fmt.Errorf("%q: only one hour, every hour or every n hours are priced", expr)
		}
		perDay = 1
	}
	days := HoursPerMonth / 24
	switch {
	case (dom == "*" || dom == "?") && (dow == "*" || dow == "?"):
	case dom == "?" && len(strings.Split(dow, ",")) == 1 && dow != "*":
		days /= 7
	default:
		return 0, fmt.Errorf("%q: only every day or one day of the week are priced", expr)
	}
	return perDay * days, nil
}
