package report

import (
	"math"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// span is when a probe mode sampled: its first request and the end of its sampling;
// zero when unknown.
type span struct{ first, end time.Time }

// spanOf reads a mode's span from its sample log, else from the probe's result (its
// start stands for its first request: the first tick is within one interval of it).
func spanOf(log *drill.SampleLog, step *drill.Step[drill.ProbeResult]) span {
	if log != nil && len(log.Samples) > 0 {
		first := log.Samples[0].SentMs
		for _, s := range log.Samples {
			first = math.Min(first, s.SentMs)
		}
		return span{first: log.Start.Add(time.Duration(first * float64(time.Millisecond))), end: log.End}
	}
	if step != nil && !step.Payload.StartedAt.IsZero() {
		return span{first: step.Payload.StartedAt, end: step.Payload.FinishedAt}
	}
	return span{}
}

// coverage is what no probe sampled from the block to the end of the last probe after
// it (or to the restore, when none ran after it); nil without a block.
func coverage(blockedAt, restoredAt *time.Time, fo, rc span) *drill.Coverage {
	if blockedAt == nil {
		return nil
	}
	c := &drill.Coverage{}
	gap := func(from, to time.Time) *float64 {
		if from.IsZero() || to.IsZero() {
			return nil
		}
		return ptr(drill.Seconds(max(to.Sub(from), 0)))
	}
	var restored time.Time
	if restoredAt != nil {
		restored = *restoredAt
	}
	c.BlockToFirstSampleSeconds = gap(*blockedAt, fo.first)
	if !fo.first.IsZero() {
		c.FailoverEndToRestoreSeconds = gap(fo.end, restored)
	}
	c.RestoreToFirstSampleSeconds = gap(restored, rc.first)
	end := restored
	for _, s := range []span{fo, rc} {
		if s.end.After(end) {
			end = s.end
		}
	}
	if !end.After(*blockedAt) {
		return c
	}
	total := end.Sub(*blockedAt)
	watched := time.Duration(0)
	for _, s := range []span{fo, rc} {
		if s.first.IsZero() || s.end.IsZero() {
			continue
		}
		from, to := maxT(s.first, *blockedAt), s.end
		if to.After(from) {
			watched += to.Sub(from)
		}
	}
	c.SpanSeconds = drill.Seconds(total)
	c.UnsampledSeconds = drill.Seconds(max(total-watched, 0))
	c.UnsampledPercent = math.Round(1000*float64(max(total-watched, 0))/float64(total)) / 10
	return c
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
