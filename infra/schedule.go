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

// ReadinessOffset moves the dry runs' grid off the drills': both are rate grids counted
// from the same origin (rate(7 days) fires Mondays 00:00 UTC, rate(1 hour) on the
// hour), so without it the weekly drill and an hourly dry run start in the same minute
// (Scheduler is precise to the minute) and collide on the bucket's lock and the
// blocked primary. Half an hour apart, a drill has normally ended before the next dry
// run; one that has not meets a dry run that ends skipped, not failed.
const ReadinessOffset = 30 * time.Minute

// ScheduleGap is the least time the drill's and the dry runs' rate grids may come to
// each other (synth refuses a readinessSchedule whose offset grid cannot keep it).
const ScheduleGap = 15 * time.Minute

// ScheduleMaxEventAge bounds how late a scheduled start may still be delivered
// (retries included): Scheduler's default is 24 hours, and a drill or dry run started
// hours late is not wanted; it also stays within ReadinessOffset - ScheduleGap, so a
// late start does not run into the other grid.
const ScheduleMaxEventAge = 15 * time.Minute

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
	return ScheduleStartOffset(expr, now, 0)
}

// ScheduleStartOffset is ScheduleStart on the grid moved by offset (the dry runs':
// ReadinessOffset).
func ScheduleStartOffset(expr string, now time.Time, offset time.Duration) *time.Time {
	d, ok := rateInterval(expr)
	if !ok {
		return nil
	}
	earliest := now.Add(ScheduleLead).UTC()
	start := earliest.Add(-offset).Truncate(d).Add(offset)
	if start.Before(earliest) {
		start = start.Add(d)
	}
	return &start
}

// gridsCollide reports whether a drill on rate grid drill and a dry run on rate grid
// readiness, moved by ReadinessOffset, can start less than ScheduleGap apart, and the
// closest they come. Their starts differ by k*gcd of the two intervals plus the offset
// (Bezout), so it is exact; false when either is not a rate.
func gridsCollide(drill, readiness string) (bool, time.Duration) {
	d1, ok1 := rateInterval(drill)
	d2, ok2 := rateInterval(readiness)
	if !ok1 || !ok2 {
		return false, 0
	}
	g := gcd(d1, d2)
	m := ReadinessOffset % g // the offset's distance past a multiple of g
	closest := min(m, g-m)
	return closest < ScheduleGap, closest
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
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
			MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(ScheduleMaxEventAge.Seconds())),
			DeadLetterQueue: dlq,
		}),
	})
}
