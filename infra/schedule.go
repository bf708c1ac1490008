package main

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
)

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

// SchedulerExpression is the expression the stack gives EventBridge Scheduler for a
// schedule context value, on the grid moved by offset (the dry runs': ReadinessOffset).
//
// Scheduler starts a rate schedule that has no StartDate at once ("If you do not
// provide a StartDate for a rate-based schedule, your schedule begins to invoke its
// target immediately", Scheduler user guide, "Schedule types"), which would drill the
// shop the moment the stack deploys; a StartDate computed at synth would make the
// template depend on the day it was synthesized (and go stale in a saved cdk.out, since
// Scheduler refuses a start in the past). So a rate becomes the cron on the same grid
// (multiples of the interval from Monday 00:00 UTC): a cron fires only at its times,
// never at creation, and needs no start date. rate(1 hour) is cron(0 * * * ? *),
// rate(2 hours) cron(0 0/2 * * ? *), rate(1 day) cron(0 0 * * ? *), rate(7 days)
// cron(0 0 ? * MON *); with offset 30 min the minute is 30. A rate with no such grid
// (rate(5 days)) is refused by checkSchedule. A cron is used as written.
func SchedulerExpression(expr string, offset time.Duration) (string, error) {
	d, ok := rateInterval(expr)
	if !ok {
		return expr, nil
	}
	minute := int(offset%time.Hour) / int(time.Minute)
	hour := int(offset / time.Hour)
	switch {
	case d%time.Hour == 0 && d < 24*time.Hour && (24*time.Hour)%d == 0:
		if d == time.Hour {
			return fmt.Sprintf("cron(%d * * * ? *)", minute), nil
		}
		return fmt.Sprintf("cron(%d %d/%d * * ? *)", minute, hour, int(d/time.Hour)), nil
	case d == 24*time.Hour:
		return fmt.Sprintf("cron(%d %d * * ? *)", minute, hour), nil
	case d == 7*24*time.Hour:
		return fmt.Sprintf("cron(%d %d ? * MON *)", minute, hour), nil
	}
	return "", fmt.Errorf("%q has no fixed daily or weekly grid (a rate must divide a day, or be 1 day or 7 days): use a cron, e.g. cron(0 6 ? * MON *)", expr)
}

// mustSchedulerExpression is SchedulerExpression for a value checkSchedule accepted.
func mustSchedulerExpression(expr string, offset time.Duration) *string {
	e, err := SchedulerExpression(expr, offset)
	if err != nil {
		panic(err)
	}
	return jsii.String(e)
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

// scheduleProps is what the drill's schedule needs.
type scheduleProps struct {
	Config       *Config
	StateMachine awsstepfunctions.IStateMachine
	DLQ          awssqs.IQueue
}

// newSchedule starts the drill with input {} (the deployed defaults) on cfg.Schedule,
// never at deploy time. A failed StartExecution (throttling, 5xx) is retried, then
// lands in dlq; a retry that starts a second drill is refused by the bucket's lock.
func newSchedule(stack awscdk.Stack, p scheduleProps) {
	cfg, sm, dlq := p.Config, p.StateMachine, p.DLQ
	awsscheduler.NewSchedule(stack, jsii.String("Schedule"), &awsscheduler.ScheduleProps{
		Description: jsii.String("Starts the failover drill with the deployed defaults"),
		Schedule:    awsscheduler.ScheduleExpression_Expression(mustSchedulerExpression(cfg.Schedule, 0), awscdk.TimeZone_ETC_UTC()),
		Target: awsschedulertargets.NewStepFunctionsStartExecution(sm, &awsschedulertargets.ScheduleTargetBaseProps{
			Input:           awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{}),
			RetryAttempts:   jsii.Number(3),
			MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(ScheduleMaxEventAge.Seconds())),
			DeadLetterQueue: dlq,
		}),
	})
}
