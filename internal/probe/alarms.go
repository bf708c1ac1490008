package probe

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// DefaultAlarmEvery is how often the stop alarms are read while the probe waits. A
// CloudWatch alarm evaluates once a period (a minute, typically), so reading it more
// often than every few seconds learns nothing sooner.
const DefaultAlarmEvery = 5 * time.Second

// watchAlarms reads the stop alarms at once and then every AlarmEvery until the
// returned stop is called; the first alarm found in ALARM cancels ctx with a
// *drill.StopAlarm as its cause. A failed read is logged and tried again at the next
// turn: the readiness check has already proved the alarms readable.
func (h *Handler) watchAlarms(ctx context.Context, cancel context.CancelCauseFunc, names []string, during string) (stop func()) {
	if len(names) == 0 || h.Alarms == nil {
		if len(names) > 0 {
			h.logger().Warn("stop alarms named but no CloudWatch client configured: not watched", "alarms", names)
		}
		return func() {}
	}
	every := h.AlarmEvery
	if every <= 0 {
		every = DefaultAlarmEvery
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			states, err := stopalarm.Describe(ctx, h.Alarms, names)
			if err != nil && ctx.Err() == nil {
				h.logger().Warn("cannot read the stop alarms; trying again", "alarms", names, "error", err)
			}
			for _, s := range states {
				if s.InAlarm() {
					h.logger().Warn("stop alarm in ALARM: stopping", "alarm", s.Name, "during", during, "reason", s.Reason)
					cancel(&drill.StopAlarm{Alarm: s.Name, During: during, Reason: s.Reason})
					return
				}
			}
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// stopAlarmCause is the *drill.StopAlarm that cancelled ctx, if one did.
func stopAlarmCause(ctx context.Context) *drill.StopAlarm {
	var sa *drill.StopAlarm
	if errors.As(context.Cause(ctx), &sa) {
		return sa
	}
	return nil
}
