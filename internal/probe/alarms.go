package probe

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// DefaultAlarmEvery is how often the stop alarms are read while the probe waits. A
// CloudWatch alarm evaluates once a period (a minute, typically), so reading it more
// often than every few seconds learns nothing sooner.
const DefaultAlarmEvery = 5 * time.Second

// DefaultAlarmUnreadableLimit is how long the stop alarms may go unread (from a failed
// read to the next good one) before the probe stops the drill: six reads at
// DefaultAlarmEvery, half of a one-minute alarm period. Throttling or a blip of a few
// seconds passes; a stop condition that stays unreadable is not taken for one that is
// OK.
const DefaultAlarmUnreadableLimit = 30 * time.Second

// MaxAlarmErrorBytes bounds the last read error kept in the alarm watch (it travels in
// the Step Functions payload).
const MaxAlarmErrorBytes = 1000

// alarmWatcher reads the stop alarms while the probe waits and keeps what it saw.
type alarmWatcher struct {
	h      *Handler
	names  []string
	during string
	every  time.Duration
	limit  time.Duration

	mu          sync.Mutex
	watch       drill.AlarmWatch
	failedSince time.Time // zero while the last read succeeded
}

// watchAlarms reads the stop alarms at once and then every AlarmEvery until the
// returned stop is called. The first alarm found in ALARM cancels ctx with a
// *drill.StopAlarm as its cause. A failed read is logged and tried again at the next
// turn; when the alarms stay unreadable for longer than AlarmUnreadableLimit, ctx is
// cancelled with a *drill.StopAlarmsUnreadable: the drill stops and restores. stop
// returns how the alarms were watched (nil when none were named).
func (h *Handler) watchAlarms(ctx context.Context, cancel context.CancelCauseFunc, names []string, during string) (stop func() *drill.AlarmWatch) {
	if len(names) == 0 {
		return func() *drill.AlarmWatch { return nil }
	}
	w := &alarmWatcher{h: h, names: names, during: during, every: h.AlarmEvery, limit: h.AlarmUnreadableLimit}
	if w.every <= 0 {
		w.every = DefaultAlarmEvery
	}
	if w.limit <= 0 {
		w.limit = DefaultAlarmUnreadableLimit
	}
	w.watch = drill.AlarmWatch{Alarms: names, LimitSeconds: w.limit.Seconds()}
	if h.Alarms == nil {
		// Named but not readable at all: the same as every read failing.
		h.logger().Warn("stop alarms named but no CloudWatch client configured", "alarms", names)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if w.read(ctx, cancel) {
				return
			}
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(w.every):
			}
		}
	}()
	return func() *drill.AlarmWatch {
		close(done)
		wg.Wait()
		return w.finish()
	}
}

// read reads the alarms once; true when it cancelled ctx.
func (w *alarmWatcher) read(ctx context.Context, cancel context.CancelCauseFunc) bool {
	var states []stopalarm.State
	err := errors.New("no CloudWatch client configured")
	if w.h.Alarms != nil {
		states, err = stopalarm.Describe(ctx, w.h.Alarms, w.names)
	}
	if ctx.Err() != nil {
		return false // the wait ended meanwhile: not a failed read
	}
	now := w.h.now()
	w.mu.Lock()
	w.watch.Reads++
	if err != nil {
		w.watch.FailedReads++
		w.watch.LastError = err.Error()
		if len(w.watch.LastError) > MaxAlarmErrorBytes {
			w.watch.LastError = w.watch.LastError[:MaxAlarmErrorBytes]
		}
		if w.failedSince.IsZero() {
			w.failedSince = now
		}
		gap := now.Sub(w.failedSince)
		w.mu.Unlock()
		w.h.logger().Warn("cannot read the stop alarms; trying again", "alarms", w.names, "unreadableSeconds", gap.Seconds(), "error", err)
		if gap > w.limit {
			w.h.logger().Warn("stop alarms unreadable beyond the limit: stopping", "alarms", w.names, "during", w.during, "limitSeconds", w.limit.Seconds())
			cancel(&drill.StopAlarmsUnreadable{Alarms: w.names, During: w.during, Seconds: drill.Seconds(gap), LimitSeconds: w.limit.Seconds(), Err: err.Error()})
			return true
		}
		return false
	}
	w.closeGap(now)
	w.mu.Unlock()
	for _, s := range states {
		if s.InAlarm() {
			w.h.logger().Warn("stop alarm in ALARM: stopping", "alarm", s.Name, "during", w.during, "reason", s.Reason)
			cancel(&drill.StopAlarm{Alarm: s.Name, During: w.during, Reason: s.Reason})
			return true
		}
	}
	return false
}

// closeGap ends a stretch without a good read at now. Call with mu held.
func (w *alarmWatcher) closeGap(now time.Time) {
	if w.failedSince.IsZero() {
		return
	}
	gap := drill.Seconds(now.Sub(w.failedSince))
	w.watch.UnwatchedSeconds = math.Round((w.watch.UnwatchedSeconds+gap)*1000) / 1000
	w.watch.LongestUnwatchedSeconds = max(w.watch.LongestUnwatchedSeconds, gap)
	w.failedSince = time.Time{}
}

// finish is the watch, a stretch still open counted to now.
func (w *alarmWatcher) finish() *drill.AlarmWatch {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeGap(w.h.now())
	out := w.watch
	return &out
}

// stopAlarmCause is the *drill.StopAlarm or *drill.StopAlarmsUnreadable that cancelled
// ctx, if one did.
func stopAlarmCause(ctx context.Context) error {
	var sa *drill.StopAlarm
	if errors.As(context.Cause(ctx), &sa) {
		return sa
	}
	var su *drill.StopAlarmsUnreadable
	if errors.As(context.Cause(ctx), &su) {
		return su
	}
	return nil
}
