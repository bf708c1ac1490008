package measure_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
)

// The stability decision is checked on synthetic answer streams fed to
// measure.Stability exactly as the probe does: config.json answered at the resolving
// interval (a random phase, 2 ms answers, each checked as it arrives), each answer
// from the old origin with a fixed probability.

// simLimits are the two limits the issue names.
var simLimits = []struct {
	share  int
	window time.Duration
}{{99, 5 * time.Second}, {95, time.Second}}

// simRun feeds st answers as the probe sends them (at st.Interval(), from a random
// phase, each answered 2 ms later and checked as it arrives) for a watch, isNew
// saying which origin answers at a send time; it returns when the drill called the
// switch stable (ok false: not within the watch) and how many requests it sent.
func simRun(rng *rand.Rand, st *measure.Stability, watch time.Duration, isNew func(time.Duration) bool) (at time.Duration, requests int, ok bool) {
	for t := time.Duration(rng.Float64() * float64(st.Interval())); t < watch; t += st.Interval() {
		requests++
		st.Add(simAnswer(t, isNew(t)))
		if _, ok := st.Check(t0.Add(t+2*time.Millisecond), time.Time{}); ok {
			return t + 2*time.Millisecond, requests, true
		}
	}
	return 0, requests, false
}

// falseEarly is the share of runs, over a watch of the given length, in which the
// drill called a switch stable whose old share stayed at factor × the allowed share,
// and the requests a second the probe sent in them.
func falseEarly(rng *rand.Rand, share int, window, watch time.Duration, factor float64, runs int) (rate, perSecond float64) {
	oldShare := factor * float64(100-share) / 100
	early, requests := 0, 0
	var watched time.Duration
	for range runs {
		st := measure.NewStability(simParams(share, window, watch))
		at, n, ok := simRun(rng, st, watch, func(time.Duration) bool { return rng.Float64() >= oldShare })
		requests += n
		if ok {
			early++
			watched += at
		} else {
			watched += watch
		}
	}
	return float64(early) / float64(runs), float64(requests) / watched.Seconds()
}

// delays are how long after a switch truly finished the drill called it stable, over
// runs: half the answers from the old origin until a random moment between 5 and 10 s,
// none after; and how many more requests the probe sent by the call than sampling at
// the base interval all along would have, in each run.
func delays(rng *rand.Rand, share int, window, watch time.Duration, runs int) (out []time.Duration, extra []int) {
	base := simParams(share, window, watch).Look().Base
	for range runs {
		done := 5*time.Second + time.Duration(rng.Float64()*float64(5*time.Second))
		st := measure.NewStability(simParams(share, window, watch))
		at, n, ok := simRun(rng, st, watch, func(t time.Duration) bool { return t >= done || rng.Float64() < 0.5 })
		if ok {
			out = append(out, at-done)
			extra = append(extra, n-int(at/base))
		}
	}
	slices.Sort(out)
	slices.Sort(extra)
	return out, extra
}

// simParams are the probe's: config.json at the resolving interval.
func simParams(share int, window, watch time.Duration) measure.Params {
	interval := measure.ResolvingInterval(window, share, 10*time.Millisecond, 250*time.Millisecond)
	return measure.Params{Mode: drill.ModeFailover, Since: t0, Old: primary, New: secondary, StableShare: share,
		StableWindow: window, MinWindowSamples: 3, ConfigInterval: interval, Horizon: watch}
}

func simAnswer(t time.Duration, isNew bool) drill.Sample {
	r := primary
	if isNew {
		r = secondary
	}
	return drill.Sample{SentAt: t0.Add(t), At: t0.Add(t + 2*time.Millisecond), Path: measure.PathConfig, Status: 200, Region: r}
}

// TestFalseEarlyRateStaysWithinFivePercent is the quick form of
// BenchmarkStabilitySimulation: 200 runs of the watches the test command can afford.
// With 200 runs a true rate of 5% is seen above 9% with probability under 1%; the
// decision's rate is well below 5% (the benchmark: at most 0.5%), so this fails only
// if the decision stops being valid across looks (the rule it replaced called 37% of
// 120 s watches at 1.5x stable).
func TestFalseEarlyRateStaysWithinFivePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	for _, lim := range simLimits {
		for _, watch := range []time.Duration{30 * time.Second, 120 * time.Second} {
			rate, _ := falseEarly(rng, lim.share, lim.window, watch, 1.2, 200)
			t.Logf("%d%%/%v, watch %v, old share 1.2x allowed: %.1f%% called stable", lim.share, lim.window, watch, 100*rate)
			if rate > 0.09 {
				t.Errorf("%d%%/%v, watch %v: %.1f%% of runs called stable early, want at most 5%% (9%% with 200 runs)", lim.share, lim.window, watch, 100*rate)
			}
		}
	}
}

// TestFinishedSwitchIsCalledStable: a switch that truly finished is called stable
// within the span a look needs at the confirming rate, a step, and the answers that
// trigger it: about one stable window (at most one and a half).
func TestFinishedSwitchIsCalledStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	for _, lim := range simLimits {
		watch := 600 * time.Second
		d, _ := delays(rng, lim.share, lim.window, watch, 20)
		look := simParams(lim.share, lim.window, watch).Look()
		if len(d) != 20 || d[len(d)-1] > look.Span+look.Step+lim.window/4 || d[len(d)-1] > lim.window*3/2 {
			t.Errorf("%d%%/%v: delays %v, want all 20 within the span %v and a step %v (and 1.5 windows)", lim.share, lim.window, d, look.Span, look.Step)
		}
	}
}

// BenchmarkStabilitySimulation prints the table docs/stability.md publishes:
//
//	go test -run '^$' -bench StabilitySimulation -benchtime 1x ./internal/measure/
//
// the false-early rate per cell (1,000 runs: a 5% rate is resolved to ±1.4%, 95%)
// and the delay on a truly finished switch (200 runs).
func BenchmarkStabilitySimulation(b *testing.B) {
	const runs, delayRuns = 1000, 200
	for range b.N {
		rng := rand.New(rand.NewPCG(1, 2026))
		fmt.Println("| limits | watch | look: every (confirming), span, step, looks | false early at 1.2x | 1.5x | 2x | requests/s at 1.2x | delay on a finished switch: median | p95 | extra requests to confirm: median (max) |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
		for _, lim := range simLimits {
			for _, watch := range []time.Duration{30 * time.Second, 120 * time.Second, 600 * time.Second} {
				look := simParams(lim.share, lim.window, watch).Look()
				row := fmt.Sprintf("| %d%% / %v | %v | %v (%v), %v, %v, %d |", lim.share, lim.window, watch, look.Base, look.Interval, look.Span, look.Step, look.Looks)
				var perSecond float64
				for _, f := range []float64{1.2, 1.5, 2} {
					rate, ps := falseEarly(rng, lim.share, lim.window, watch, f, runs)
					if rate > 0.05 {
						b.Errorf("%d%%/%v watch %v at %.1fx: %.1f%% false early", lim.share, lim.window, watch, f, 100*rate)
					}
					if f == 1.2 {
						perSecond = ps
					}
					row += fmt.Sprintf(" %.1f%% |", 100*rate)
				}
				d, extra := delays(rng, lim.share, lim.window, watch, delayRuns)
				if len(d) != delayRuns {
					b.Errorf("%d%%/%v watch %v: %d of %d finished switches called stable", lim.share, lim.window, watch, len(d), delayRuns)
					continue
				}
				row += fmt.Sprintf(" %.0f | %.2f s | %.2f s | %d (%d) |", perSecond, measure.Percentile(d, 50).Seconds(), measure.Percentile(d, 95).Seconds(),
					extra[len(extra)/2], extra[len(extra)-1])
				fmt.Println(row)
			}
		}
	}
}
