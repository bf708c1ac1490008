package probe_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
)

// alarms answers DescribeAlarms: the alarm is in ALARM from the n-th call on (0: never);
// fail, when set, makes the n-th call fail with its error.
type alarms struct {
	from  int32
	calls atomic.Int32
	fail  func(n int32) error
}

func (a *alarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	n := a.calls.Add(1)
	if a.fail != nil {
		if err := a.fail(n); err != nil {
			return nil, err
		}
	}
	state := types.StateValueOk
	if a.from > 0 && n >= a.from {
		state = types.StateValueAlarm
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, name := range in.AlarmNames {
		out.MetricAlarms = append(out.MetricAlarms, types.MetricAlarm{AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("5xx above 1%")})
	}
	return out, nil
}

// A stop alarm entering ALARM while the probe waits ends it with *drill.StopAlarm,
// naming the alarm and the state; an alarm that stays OK changes nothing.
func TestStopAlarmEndsTheWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		from   int32
		during string
	}{
		{"failover stopped", drill.ModeFailover, 3, "AwaitFailover"},
		{"recovery stopped", drill.ModeRecovery, 2, "AwaitRecovery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDistribution(t, always(fromPrimary)) // never fails over: only the alarm can end it early
			h, _ := newHandler()
			a := &alarms{from: tc.from}
			h.Alarms, h.AlarmEvery = a, 20*time.Millisecond
			since := time.Now()
			began := time.Now()
			_, err := h.Handle(ctx(t), drill.ProbeInput{Mode: tc.mode, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 10}),
				Since: &since, Seed: seed(), StopAlarms: []string{"HighErrorRate"}})
			var sa *drill.StopAlarm
			if !errors.As(err, &sa) || sa.Alarm != "HighErrorRate" || sa.During != tc.during || drill.ErrorName(drill.Classify(err)) != "StopAlarm" {
				t.Fatalf("err %v (%T), want StopAlarm HighErrorRate during %s", err, err, tc.during)
			}
			if el := time.Since(began); el > 2*time.Second {
				t.Errorf("stopped after %v; the alarm went off after about %d reads every 20 ms", el, tc.from)
			}
		})
	}
	t.Run("alarm stays OK", func(t *testing.T) {
		d := newDistribution(t, always(fromSecondary))
		h, _ := newHandler()
		a := &alarms{}
		h.Alarms, h.AlarmEvery = a, 10*time.Millisecond
		since := time.Now()
		secondaryShop(t, d, seed().User.UUID, seed().Cart)
		res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d.URL, nil), Since: &since, Seed: seed(), StopAlarms: []string{"HighErrorRate"}})
		if err != nil || res.ServedRegion != secondary {
			t.Fatalf("%v %+v", err, res)
		}
		if a.calls.Load() == 0 {
			t.Error("the alarm was never read")
		}
	})
}

// Diagnosis: a failover or recovery that does not happen says why, from what
// visitors saw, before the figures.
func TestDiagnosis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  string
		serve answer
		says  []string
	}{
		{"the primary's 403 is not a failover code", drill.ModeFailover, blocked,
			[]string{"diagnosis: visitors got the primary's 403 from CloudFront", "does not fail over on 403"}},
		{"config.json from the cache", drill.ModeFailover, answer{status: 200, region: primary, cache: "Hit from cloudfront"},
			[]string{"diagnosis: visitors got config.json from the CloudFront cache", "ignores the query string"}},
		{"neither origin answers", drill.ModeFailover, answer{status: 502, cache: "Error from cloudfront"},
			[]string{"CloudFront got no answer it could serve from either origin"}},
		{"the primary keeps serving", drill.ModeFailover, fromPrimary,
			[]string{"diagnosis: the distribution kept serving us-east-1"}},
		{"still 403 after the restore", drill.ModeRecovery, blocked,
			[]string{"visitors still got 403 after the restore"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDistribution(t, always(tc.serve))
			h, _ := newHandler()
			since := time.Now()
			_, err := h.Handle(ctx(t), drill.ProbeInput{Mode: tc.mode, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 1, "errorBudgetPercent": 100, "errorBudgetSeconds": 30}),
				Since: &since, Seed: seed()})
			if err == nil {
				t.Fatal("no timeout")
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}

// Stop alarms that cannot be read are not taken for alarms that are OK. A short
// stretch of failed reads is recorded (how long the alarms went unwatched) and the
// probe goes on; a stretch beyond AlarmUnreadableLimit stops the wait with
// *drill.StopAlarmsUnreadable, which the flow turns into a restore.
func TestUnreadableStopAlarms(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: cloudwatch:DescribeAlarms"}
	t.Run("a stretch within the limit is recorded", func(t *testing.T) {
		d := newDistribution(t, always(fromSecondary))
		h, st := newHandler()
		// Reads 2..6 fail (about 100 ms at 20 ms), then they succeed again.
		a := &alarms{fail: func(n int32) error {
			if n >= 2 && n <= 6 {
				return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
			}
			return nil
		}}
		h.Alarms, h.AlarmEvery, h.AlarmUnreadableLimit = a, 20*time.Millisecond, 2*time.Second
		since := time.Now()
		secondaryShop(t, d, seed().User.UUID, seed().Cart)
		res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Execution: "x", StartTime: runStart, Config: config(t, d.URL, nil), Since: &since, Seed: seed(), StopAlarms: []string{"HighErrorRate"}})
		if err != nil {
			t.Fatal(err)
		}
		w := res.AlarmWatch
		if w == nil || w.FailedReads != 5 || w.UnwatchedSeconds < 0.06 || w.UnwatchedSeconds > 1 || w.LongestUnwatchedSeconds != w.UnwatchedSeconds ||
			!strings.Contains(w.LastError, "Throttling") || w.LimitSeconds != 2 {
			t.Fatalf("alarm watch %+v, want 5 failed reads, about 0.1 s unwatched, the last error", w)
		}
		if l := st.logs[drill.SamplesKey("x", runStart, drill.ModeFailover)]; l.AlarmWatch == nil || l.AlarmWatch.FailedReads != 5 {
			t.Errorf("the sample log does not carry the alarm watch: %+v", l.AlarmWatch)
		}
	})
	t.Run("beyond the limit the drill stops", func(t *testing.T) {
		d := newDistribution(t, always(blocked)) // never stable: only the alarms can end it early
		h, st := newHandler()
		a := &alarms{fail: func(int32) error { return denied }}
		h.Alarms, h.AlarmEvery, h.AlarmUnreadableLimit = a, 20*time.Millisecond, 300*time.Millisecond
		since := time.Now()
		began := time.Now()
		_, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeRecovery, Execution: "x", StartTime: runStart, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 30, "errorBudgetPercent": 100, "errorBudgetSeconds": 30}),
			Since: &since, StopAlarms: []string{"HighErrorRate"}})
		var su *drill.StopAlarmsUnreadable
		if !errors.As(err, &su) || drill.ErrorName(drill.Classify(err)) != "StopAlarmsUnreadable" || su.During != "AwaitRecovery" ||
			su.Seconds <= 0.3 || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "HighErrorRate") {
			t.Fatalf("err %v, want StopAlarmsUnreadable naming the alarm, the state and the error", err)
		}
		if el := time.Since(began); el > 3*time.Second {
			t.Errorf("stopped after %v, the limit is 0.3 s", el)
		}
		if l := st.logs[drill.SamplesKey("x", runStart, drill.ModeRecovery)]; l.AlarmWatch == nil || l.AlarmWatch.UnwatchedSeconds <= 0.3 || l.AlarmWatch.Reads != l.AlarmWatch.FailedReads {
			t.Errorf("sample log's alarm watch %+v, want every read failed and the stretch recorded", l.AlarmWatch)
		}
	})
}
