package probe_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
)

// hangAfter is a distribution that serves the primary until blockedAt, answers errs
// (503) for the requests arriving in the next errFor, and then never answers (an
// origin that accepts connections and hangs, CloudFront still waiting on it).
func hangAfter(t *testing.T, blockedAt time.Time, errFor time.Duration) *distribution {
	t.Helper()
	return newDistribution(t, func(_ string, now time.Time) answer {
		switch {
		case now.Before(blockedAt):
			return fromPrimary
		case now.Before(blockedAt.Add(errFor)):
			return answer{status: 503, cache: "Error from cloudfront"}
		}
		return answer{status: 200, region: secondary, delay: time.Minute}
	})
}

// The origin hangs after the block: no answer arrives. The probe must not read the
// silence as "the distribution kept serving the primary": the requests are pending,
// visitors are waiting, and the figures and the diagnosis say so.
func TestHangingOriginIsDiagnosedAndCounted(t *testing.T) {
	t.Parallel()
	blockedAt := time.Now().Add(100 * time.Millisecond)
	d := hangAfter(t, blockedAt, 0)
	h, st := newHandler()
	in := drill.ProbeInput{Mode: drill.ModeFailover, Execution: "hang", StartTime: runStart, Since: &blockedAt, Seed: seed(),
		Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 2, "maxLatencyP95Ms": 500})}
	_, err := h.Handle(ctx(t), in)
	var ft *drill.FailoverTimeout
	if !errors.As(err, &ft) {
		t.Fatalf("error %v, want FailoverTimeout", err)
	}
	if !strings.Contains(ft.Msg, "diagnosis: no answers (origin hangs)") || strings.Contains(ft.Msg, "kept serving") {
		t.Errorf("diagnosis %q, want no answers (origin hangs)", ft.Msg)
	}
	if !strings.Contains(ft.Msg, "unanswered") {
		t.Errorf("summary %q does not say how many requests were unanswered", ft.Msg)
	}
	// The report's reading of the log.
	l := st.logs[drill.SamplesKey("hang", runStart, drill.ModeFailover)]
	cfg, _ := drill.ParseConfig(in.Config)
	p := measure.ForConfig(cfg, drill.ModeFailover, blockedAt, time.Duration(l.ConfigIntervalMs*float64(time.Millisecond)))
	p.End, p.RequestTimeout = l.End, time.Duration(l.RequestTimeoutMs)*time.Millisecond
	v := measure.Analyse(l.Unpack(), p).Visitors
	if v.Unanswered == 0 || v.Unanswered < v.Samples || v.Slow == 0 || v.Latency.P95Ms < 1000 || v.Latency.Censored == 0 {
		t.Errorf("visitors %+v: want the pending requests counted, slow, and in p95 at what they waited", v)
	}
}

// An error, then silence: the error budget is spent as time passes (each answer's
// outcome holds until the next one arrives), not only when another answer arrives.
func TestErrorBudgetSpentWhileAnswersArePending(t *testing.T) {
	t.Parallel()
	blockedAt := time.Now().Add(100 * time.Millisecond)
	d := hangAfter(t, blockedAt, 40*time.Millisecond)
	h, _ := newHandler()
	began := time.Now()
	_, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Execution: "budget", StartTime: runStart, Since: &blockedAt, Seed: seed(),
		Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 4, "errorBudgetSeconds": 2, "errorBudgetPercent": 20})})
	var ft *drill.FailoverTimeout
	if !errors.As(err, &ft) || !strings.Contains(ft.Msg, "error budget spent") {
		t.Fatalf("error %v, want the error budget spent", err)
	}
	// 20% of 2 s: 400 ms of errors after the first 503, well before the 4 s timeout.
	if took := time.Since(began); took > 2500*time.Millisecond {
		t.Errorf("the budget was spent after %v, want about 0.6 s", took)
	}
}
