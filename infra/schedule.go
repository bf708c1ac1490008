package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

// ScheduleLead is the least time between a deploy (synth) and the first drill a rate
// schedule starts.
const ScheduleLead = time.Hour

// ScheduleStart is the start date of a rate schedule synthesized at now: EventBridge
// Scheduler starts a rate schedule at once when it has none, which would drill the
// shop the moment the stack deploys. The start is the first multiple of the rate's
// interval at least ScheduleLead after now, so the runs fall on
// the same grid whenever the stack is synthesized: a redeploy never moves them (it may
// only skip a run less than ScheduleLead away), and the start is never in the past,
// which Scheduler refuses. The grid is Go's absolute time (multiples of the interval
// since 0001-01-01T00:00:00Z, a Monday): rate(1 day) runs at 00:00 UTC, rate(7 days)
// on Mondays. Cron schedules start nothing at creation: nil.
func ScheduleStart(expr string, now time.Time) *time.Time {
	d, ok := rateInterval(expr)
	if !ok {
		return nil
	}
	earliest := now.Add(ScheduleLead).UTC()
	start := earliest.Truncate(d)
	if start.Before(earliest) {
		start = start.Add(d)
	}
	return &start
}

// newSchedule starts the drill with input {} (the deployed defaults) on cfg.Schedule,
// never at deploy time. A failed StartExecution (throttling, 5xx) is retried, then
// lands in dlq; a retry that starts a second drill is refused by the bucket's lock.
func newSchedule(stack awscdk.Stack, cfg *Config, sm awsstepfunctions.IStateMachine, dlq awssqs.IQueue, now time.Time) {
	awsscheduler.NewSchedule(stack, jsii.String("Schedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String("Starts the failover drill with the deployed defaults"),
		Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(cfg.Schedule), awscdk.TimeZone_ETC_UTC()),
		Start:       ScheduleStart(cfg.Schedule, now),
		Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
			Input:           awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{}),
			RetryAttempts:   jsii.Number(3),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(1)),
			DeadLetterQueue: dlq,
		}),
	})
}
