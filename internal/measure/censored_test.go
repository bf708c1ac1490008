package measure_test

import (
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
)

// pending is a config.json request sent at s and still unanswered when the probe
// stopped at stop.
func pending(s, stop float64) drill.Sample {
	return drill.Sample{SentAt: at(s), At: at(stop), Path: measure.PathConfig, Unanswered: true}
}

// The origin hangs from 1 s on and the probe stops at 8 s: every request after 1 s is
// still unanswered. Visitors waited up to 7 s; the figures must say so: slow (past the
// 500 ms limit), in the percentiles at what they had waited, and no error before the
// request timeout.
func TestUnansweredRequestsAreCensoredNotInvisible(t *testing.T) {
	s := series(0.05, 1, 0.002, func(float64) (int, string) { return 200, primary })
	for i := 10; i < 80; i++ {
		s = append(s, pending(float64(i)/10, 8))
	}
	p := params()
	p.End, p.RequestTimeout = at(8), 30*time.Second
	ph := measure.Analyse(s, p)
	v := ph.Visitors
	if v.Unanswered != 70 || ph.Unanswered != 70 || v.Samples != 10 || v.Errors != 0 {
		t.Errorf("answers %d unanswered %d (phases %d) errors %d, want 10, 70, 0", v.Samples, v.Unanswered, ph.Unanswered, v.Errors)
	}
	// Pending longer than 500 ms: sent before 7.5 s.
	if v.Slow != 65 {
		t.Errorf("slow %d, want the 65 requests waiting longer than 500 ms", v.Slow)
	}
	if v.Latency.Censored != 70 || v.Latency.P95Ms < 6500 || v.Latency.MaxMs < 6999 || v.Latency.P50Ms < 2900 {
		t.Errorf("latency %+v, want the waits counted: p50 over 3 s, p95 over 6.5 s, max 7 s", v.Latency)
	}
	if ph.Latency.Before.Censored != 70 {
		t.Errorf("phase latency %+v, want the unanswered requests in it", ph.Latency)
	}

	// With a 5 s request timeout, a request that had waited 5 s gave up (a visitor would
	// have): a timeout error at SentAt + 5 s, in the error figures.
	p.RequestTimeout = 5 * time.Second
	ph = measure.Analyse(s, p)
	v = ph.Visitors
	if v.Errors != 21 || v.Outcomes["timeout"] != 21 || v.Unanswered != 49 || v.FirstError == nil || !near(v.FirstError.Seconds, 6) {
		t.Errorf("errors %d (%v) unanswered %d first %+v, want the 21 requests sent by 3 s timed out from 6 s on", v.Errors, v.Outcomes, v.Unanswered, v.FirstError)
	}
	if v.ErrorRatePercent < 20 {
		t.Errorf("error rate %.2f%%, want the 2 s of timeouts before the stop in it", v.ErrorRatePercent)
	}
}

// The error budget is judged as time passes, not only when an answer arrives: an
// error followed by silence spends it, and so do requests pending past the point a
// visitor gives up, with no answer arriving at all.
func TestBudgetSpentWhileAnswersArePending(t *testing.T) {
	b := measure.Budget{Window: 2 * time.Second, Percent: 10, GiveUp: 3 * time.Second}
	for _, s := range series(0, 1, 0.01, func(float64) (int, string) { return 200, primary }) {
		if spent, _ := b.Add(s); spent {
			t.Fatal("spent on good answers")
		}
	}
	// One error at 1.01 s, then nothing arrives: at 1.1 s 90 ms of errors, at 1.3 s 290 ms.
	if spent, _ := b.Add(cfg(1, 0.01, 503, "")); spent {
		t.Fatal("spent at the error's arrival")
	}
	if spent, et := b.Check(at(1.1), at(1.05)); spent || et != 90*time.Millisecond {
		t.Errorf("at 1.1 s: spent %v after %v of errors, want not yet, 90 ms", spent, et)
	}
	if spent, et := b.Check(at(1.3), at(1.05)); !spent || et != 290*time.Millisecond {
		t.Errorf("at 1.3 s: spent %v after %v, want spent after 290 ms", spent, et)
	}

	// Only good answers, then every request pending: nothing is an error until the
	// oldest has waited GiveUp (3 s); from then on it is.
	g := measure.Budget{Window: 2 * time.Second, Percent: 10, GiveUp: 3 * time.Second}
	for _, s := range series(0, 1, 0.01, func(float64) (int, string) { return 200, primary }) {
		g.Add(s)
	}
	if spent, et := g.Check(at(4), at(1.05)); spent || et != 0 {
		t.Errorf("pending 2.95 s: spent %v after %v, want nothing yet", spent, et)
	}
	if spent, et := g.Check(at(4.3), at(1.05)); !spent || et != 250*time.Millisecond {
		t.Errorf("pending 3.25 s: spent %v after %v, want spent after 250 ms", spent, et)
	}
}
