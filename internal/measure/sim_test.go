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

// falseEarly is the share of runs, over a watch of the given length, in which the
// drill called a switch stable whose old share stayed at factor × the allowed share.
func falseEarly(rng *rand.Rand, share int, window, watch time.Duration, factor float64, runs int) float64 {
	oldShare := factor * float64(100-share) / 100
	interval := measure.ResolvingInterval(window, share, 10*time.Millisecond, 250*time.Millisecond)
	early := 0
	for range runs {
		st := measure.NewStability(simParams(share, window, watch, interval))
		for t := time.Duration(rng.Float64() * float64(interval)); t < watch; t += interval {
			st.Add(simAnswer(t, rng.Float64() >= oldShare))
			if _, ok := st.Check(t0.Add(t+2*time.Millisecond), time.Time{}); ok {
				early++
				break
			}
		}
	}
	return float64(early) / float64(runs)
}

// delays are how long after a switch truly finished the drill called it stable, over
// runs: half the answers from the old origin until a random moment between 5 and 10 s,
// none after.
func delays(rng *rand.Rand, share int, window, watch time.Duration, runs int) []time.Duration {
	interval := measure.ResolvingInterval(window, share, 10*time.Millisecond, 250*time.Millisecond)
	var out []time.Duration
	for range runs {
		done := 5*time.Second + time.Duration(rng.Float64()*float64(5*time.Second))
		st := measure.NewStability(simParams(share, window, watch, interval))
		for t := time.Duration(rng.Float64() * float64(interval)); t < watch; t += interval {
			st.Add(simAnswer(t, t >= done || rng.Float64() < 0.5))
			if _, ok := st.Check(t0.Add(t+2*time.Millisecond), time.Time{}); ok {
				out = append(out, t+2*time.Millisecond-done)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func simParams(share int, window, watch, interval time.Duration) measure.Params {
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
			rate := falseEarly(rng, lim.share, lim.window, watch, 1.2, 200)
			t.Logf("%d%%/%v, watch %v, old share 1.2x allowed: %.1f%% called stable", lim.share, lim.window, watch, 100*rate)
			if rate > 0.09 {
				t.Errorf("%d%%/%v, watch %v: %.1f%% of runs called stable early, want at most 5%% (9%% with 200 runs)", lim.share, lim.window, watch, 100*rate)
			}
		}
	}
}

// TestFinishedSwitchIsCalledStable: a switch that truly finished is called stable
// within about two windows of the span a look needs.
func TestFinishedSwitchIsCalledStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	for _, lim := range simLimits {
		watch := 600 * time.Second
		d := delays(rng, lim.share, lim.window, watch, 20)
		look := simParams(lim.share, lim.window, watch, 0).Look()
		if len(d) != 20 || d[len(d)-1] > look.Span+look.Step+lim.window/2 {
			t.Errorf("%d%%/%v: delays %v, want all 20 within the span %v and a step %v", lim.share, lim.window, d, look.Span, look.Step)
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
		fmt.Println("| limits | watch | look: span, step, looks | false early at 1.2x | 1.5x | 2x | delay on a finished switch: median | p95 |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, lim := range simLimits {
			for _, watch := range []time.Duration{30 * time.Second, 120 * time.Second, 600 * time.Second} {
				look := simParams(lim.share, lim.window, watch, 0).Look()
				row := fmt.Sprintf("| %d%% / %v | %v | %v, %v, %d |", lim.share, lim.window, watch, look.Span, look.Step, look.Looks)
				for _, f := range []float64{1.2, 1.5, 2} {
					rate := falseEarly(rng, lim.share, lim.window, watch, f, runs)
					if rate > 0.05 {
						b.Errorf("%d%%/%v watch %v at %.1fx: %.1f%% false early", lim.share, lim.window, watch, f, 100*rate)
					}
					row += fmt.Sprintf(" %.1f%% |", 100*rate)
				}
				d := delays(rng, lim.share, lim.window, watch, delayRuns)
				row += fmt.Sprintf(" %.2f s | %.2f s |", measure.Percentile(d, 50).Seconds(), measure.Percentile(d, 95).Seconds())
				fmt.Println(row)
			}
		}
	}
}
