package measure_test

import (
	"math"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
)

const (
	primary   = "us-east-1"
	secondary = "us-west-1"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// cfg is a config.json answer sent at s, answered lat later.
func cfg(s, lat float64, status int, region string) drill.Sample {
	x := drill.Sample{SentAt: at(s), At: at(s + lat), Path: measure.PathConfig, Status: status}
	if status == 200 {
		x.Region = region
	}
	return x
}

func params() measure.Params {
	return measure.Params{
		Mode: drill.ModeFailover, Since: t0, Old: primary, New: secondary,
		// 10 answers a window (every 100 ms) can show 70% (measure.WindowSamplesNeeded(70) is 9).
		StableShare: 70, StableWindow: time.Second, MinWindowSamples: 3,
		SlowAfter: 500 * time.Millisecond, ConfigInterval: 100 * time.Millisecond,
		// A 10 s watch: 42 looks (every 7 answers, the most a 10 s watch holds at the
		// confirming interval of 34.7 ms), each at 0.12% (measure.Stability), of 21
		// answers.
		Horizon: 10 * time.Second,
	}
}

// series answers every 100 ms from `from` to `to` (exclusive) with region(t).
func series(from, to float64, lat float64, region func(t float64) (int, string)) []drill.Sample {
	var out []drill.Sample
	for t := from; t < to-1e-9; t += 0.1 {
		st, r := region(t)
		out = append(out, cfg(t, lat, st, r))
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestCleanSwitch(t *testing.T) {
	s := series(0.05, 4, 0.002, func(t float64) (int, string) {
		if t < 1.0 {
			return 200, primary
		}
		return 200, secondary
	})
	ph := measure.Analyse(s, params())
	if ph.Mixed != nil || ph.SpreadSeconds != 0 {
		t.Errorf("mixed %+v spread %v, want a clean switch", ph.Mixed, ph.SpreadSeconds)
	}
	// First secondary answer: sent at 1.05, answered at 1.052; the sample before sent
	// at 0.95. Every answer took 2 ms: the bounds reach that much past the next answer.
	if f := ph.FirstNew; f == nil || !near(f.Seconds, 1.052) || !near(f.LoSeconds, 0.95) || !near(f.HiSeconds, 1.054) {
		t.Errorf("firstNew %+v", ph.FirstNew)
	}
	if l := ph.LastOld; l == nil || !near(l.Seconds, 0.952) || !near(l.LoSeconds, 0.95) || !near(l.HiSeconds, 1.054) {
		t.Errorf("lastOld %+v", ph.LastOld)
	}
	if st := ph.Stable; st == nil || !near(st.Seconds, 1.052) || !near(st.LoSeconds, 0.95) {
		t.Errorf("stable %+v", ph.Stable)
	}
	if ph.Visitors.Errors != 0 || ph.Visitors.Samples != len(s) || ph.WindowSamples != 10 {
		t.Errorf("visitors %+v windowSamples %d", ph.Visitors, ph.WindowSamples)
	}
}

func TestMixedSwitchWidensBounds(t *testing.T) {
	// The primary answers every third request until 2.0 s.
	n := 0
	s := series(0.05, 5, 0.002, func(t float64) (int, string) {
		n++
		if t < 1 || (t < 2 && n%3 == 0) {
			return 200, primary
		}
		return 200, secondary
	})
	ph := measure.Analyse(s, params())
	if ph.Mixed == nil || ph.FirstNew == nil || ph.LastOld == nil || ph.Stable == nil {
		t.Fatalf("phases %+v", ph)
	}
	m := ph.LastOld.Seconds - ph.FirstNew.Seconds
	if !near(ph.SpreadSeconds, m) {
		t.Errorf("spread %v, want the mixed stretch %v", ph.SpreadSeconds, m)
	}
	if ph.Mixed.OldSharePercent < 25 || ph.Mixed.OldSharePercent > 40 {
		t.Errorf("old share %v, want about a third", ph.Mixed.OldSharePercent)
	}
	// Stable from the first answer after the last primary one.
	if !near(ph.Stable.Seconds, ph.LastOld.Seconds+0.1) {
		t.Errorf("stable %+v lastOld %+v", ph.Stable, ph.LastOld)
	}
	// Every moment's bound is the mixed window (from the send of the last primary
	// answer before the first secondary one, 0.95, to the first secondary answer after
	// the last primary one, the stable time) widened by the tails' scatter: 3 sqrt(F
	// interval) × 3.5/3, F the mixed stretch over twice the old share.
	tm := 3.5 * math.Sqrt(m/(2*ph.Mixed.OldSharePercent/100)*0.1)
	wantLo, wantHi := math.Max(0.95-tm, 0), ph.Stable.Seconds+tm+0.002
	for name, mo := range map[string]*drill.Moment{"firstNew": ph.FirstNew, "lastOld": ph.LastOld, "stable": ph.Stable} {
		if math.Abs(mo.LoSeconds-wantLo) > 0.002 || math.Abs(mo.HiSeconds-wantHi) > 0.002 || math.Abs(mo.WidthSeconds-(mo.HiSeconds-mo.LoSeconds)) > 0.002 {
			t.Errorf("%s %+v, want the bound %.3f..%.3f", name, mo, wantLo, wantHi)
		}
	}
}

func TestShareBelowOneHundred(t *testing.T) {
	// One primary answer in every 15 is 93%: in 5 s windows of 50 answers that shows
	// 75% (with 95% confidence, and with 99.4% in the looks of 50), never 99%.
	n := 0
	s := series(0.05, 12, 0.002, func(t float64) (int, string) {
		n++
		if t < 1 || n%15 == 0 {
			return 200, primary
		}
		return 200, secondary
	})
	p := params()
	p.StableWindow = 5 * time.Second
	p.StableShare = 75
	if ph := measure.Analyse(s, p); ph.Stable == nil || ph.Stable.Seconds > 1.1 {
		t.Errorf("75%%: stable %+v, want from the first secondary answer", ph.Stable)
	}
	p.StableShare = 99
	if ph := measure.Analyse(s, p); ph.Stable != nil {
		t.Errorf("99%%: stable %+v, want never", ph.Stable)
	}
}

func TestInFlightRequestBlocksStability(t *testing.T) {
	s := series(0.05, 6, 0.002, func(t float64) (int, string) {
		if t < 1 {
			return 200, primary
		}
		return 200, secondary
	})
	// A request sent at 0.5 s still unanswered when the log ends may yet come back
	// from the primary.
	s = append(s, drill.Sample{SentAt: at(0.5), At: at(6), Path: measure.PathConfig, Unanswered: true})
	ph := measure.Analyse(s, params())
	if ph.Stable != nil || ph.Unanswered != 1 {
		t.Errorf("stable %+v unanswered %d, want not stable while a request sent before it is in flight", ph.Stable, ph.Unanswered)
	}
	// A straggler answered by the primary after the secondary served moves the stable
	// time after it (visitors still got the primary then).
	s[len(s)-1] = cfg(0.5, 2.0, 200, primary)
	ph = measure.Analyse(s, params())
	if ph.Stable == nil || ph.Stable.Seconds <= 2.5 || ph.Mixed == nil {
		t.Errorf("stable %+v mixed %+v, want after the straggler at 2.5 s", ph.Stable, ph.Mixed)
	}
}

func TestErrorsAndLatency(t *testing.T) {
	// 403 from 1.0 to 1.5 s, then the secondary answers slowly (0.6 s), long enough
	// for a look (every 7 answers, of 21) to see only its answers.
	s := series(0.05, 5, 0.002, func(t float64) (int, string) {
		switch {
		case t < 1:
			return 200, primary
		case t < 1.5:
			return 403, ""
		}
		return 200, secondary
	})
	for i := range s {
		if s[i].Region == secondary {
			s[i].At = s[i].At.Add(600 * time.Millisecond)
		}
	}
	ph := measure.Analyse(s, params())
	v := ph.Visitors
	if v.Errors != 5 || v.Outcomes["403"] != 5 || v.Slow != 35 {
		t.Errorf("errors %d outcomes %v slow %d, want 5 403s and 35 slow answers", v.Errors, v.Outcomes, v.Slow)
	}
	r := v.LongestErrorRun
	// First 403 at 1.052, last at 1.452; the next good answer (the first slow one) at 2.152.
	if r == nil || r.Samples != 5 || !near(r.LoSeconds, 0.4) || !near(r.Seconds, 1.1) || !near(r.HiSeconds, 1.2) {
		t.Errorf("longest run %+v", r)
	}
	if ph.Latency.After.P50Ms < 600 || ph.Latency.Before.MaxMs > 10 {
		t.Errorf("latency %+v", ph.Latency)
	}
	if v.FirstError == nil || !near(v.FirstError.Seconds, 1.052) || !near(v.FirstError.LoSeconds, 0.952) {
		t.Errorf("first error %+v", v.FirstError)
	}
}

func TestErrorRateIsTimeWeighted(t *testing.T) {
	// An error answered at 0, a good answer at 3 s, then good answers every 0.1 s to 4 s:
	// the error held for 3 of 4 seconds although it is 1 sample of 12.
	s := []drill.Sample{{SentAt: at(0), At: at(0), Path: "/", Status: 503}}
	for t := 3.0; t <= 4.0001; t += 0.1 {
		s = append(s, drill.Sample{SentAt: at(t), At: at(t), Path: "/", Status: 200})
	}
	if got := measure.ErrorRate(s, at(0), at(4)); math.Abs(got-75) > 0.01 {
		t.Errorf("error rate %.2f%%, want 75%%", got)
	}
}

// A secondary failing 79% of requests spends the budget although good answers come
// between errors (one good answer must not reset it).
func TestBudgetIsARollingRate(t *testing.T) {
	b := measure.Budget{Window: 10 * time.Second, Percent: 50}
	spentAt := -1.0
	for i := range 2000 {
		t := float64(i) * 0.05
		st := 503
		if i%5 == 0 {
			st = 200 // about 80% errors
		}
		if spent, _ := b.Add(drill.Sample{SentAt: at(t), At: at(t), Path: "/", Status: st}); spent {
			spentAt = t
			break
		}
	}
	// 50% of 10 s = 5 s of errors: spent after about 5/0.8 = 6.25 s.
	if spentAt < 6 || spentAt > 7 {
		t.Errorf("budget spent at %.2f s, want about 6.25 s", spentAt)
	}
	low := measure.Budget{Window: 10 * time.Second, Percent: 50}
	for i := range 2000 {
		st := 200
		if i%3 == 0 {
			st = 503 // 33%: under the budget
		}
		if spent, _ := low.Add(drill.Sample{At: at(float64(i) * 0.05), Path: "/", Status: st}); spent {
			t.Fatalf("budget spent at 33%% errors (sample %d)", i)
		}
	}
}

// The probe decides online with Stability; the report recomputes offline with
// Analyse. They must agree at every moment.
func TestOnlineAgreesWithOffline(t *testing.T) {
	n := 0
	s := series(0.05, 6, 0.002, func(t float64) (int, string) {
		n++
		switch {
		case t < 1:
			return 200, primary
		case t < 2.5 && n%4 == 0:
			return 200, primary
		case t > 3 && t < 3.2:
			return 503, ""
		}
		return 200, secondary
	})
	p := params()
	st := measure.NewStability(p)
	for i, x := range s {
		st.Add(x)
		c, ok := st.Check(x.At, time.Time{})
		pp := p
		pp.End = x.At
		ph := measure.Analyse(s[:i+1], pp)
		switch {
		case ok != (ph.Stable != nil):
			t.Fatalf("at %v: online stable %v, offline %+v", x.At.Sub(t0), ok, ph.Stable)
		case ok && !st.StableAt(c).Equal(ph.Stable.At):
			t.Fatalf("at %v: online stable at %v, offline %v", x.At.Sub(t0), st.StableAt(c).Sub(t0), ph.Stable.At.Sub(t0))
		}
	}
}

// A probe that could not send for 0.6 s (CPU starved) says so, and every bound near
// the gap widens by it: its answers may have been read that much late.
func TestStarvedProbeWidensItsBounds(t *testing.T) {
	clean := series(0.05, 4, 0.002, func(t float64) (int, string) {
		if t < 1.0 {
			return 200, primary
		}
		return 200, secondary
	})
	var starved []drill.Sample
	for _, x := range clean {
		if s := x.SentAt.Sub(t0).Seconds(); s > 0.3 && s < 0.9 {
			continue // six ticks never sent
		}
		starved = append(starved, x)
	}
	p := params()
	a := measure.Analyse(clean, p)
	p.Skipped = 6
	b := measure.Analyse(starved, p)
	if a.Starved != nil {
		t.Errorf("clean log starved %+v", a.Starved)
	}
	if st := b.Starved; st == nil || st.Gaps != 1 || !near(st.Seconds, 0.6) || !near(st.LongestSeconds, 0.6) || st.SkippedTicks != 6 {
		t.Fatalf("starved %+v, want one gap 0.6 s beyond the interval, 6 skipped ticks", b.Starved)
	}
	if !near(b.FirstNew.HiSeconds-a.FirstNew.HiSeconds, 0.6) || !near(b.FirstNew.WidthSeconds-a.FirstNew.WidthSeconds, 1.2) {
		t.Errorf("first new %+v, clean %+v: want widened by 0.6 s on each side", b.FirstNew, a.FirstNew)
	}
}
