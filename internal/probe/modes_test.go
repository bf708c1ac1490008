package probe_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/probe"
)

// TestFailoverMeasured runs against a distribution that answers 403 from the moment
// the block applies for 100 ms, then serves the secondary: the figures bound the
// real switch, every 403 is counted, and every sample is in the log.
func TestFailoverMeasured(t *testing.T) {
	t.Parallel()
	const gap = 100 * time.Millisecond
	blockedAt := time.Now().Add(150 * time.Millisecond)
	switched := blockedAt.Add(gap)
	d := newDistribution(t, func(_ string, now time.Time) answer {
		switch {
		case now.Before(blockedAt):
			return fromPrimary
		case now.Before(switched):
			return blocked
		}
		return fromSecondary
	})
	sd := seed()
	secondaryShop(t, d, sd.User.UUID, []string{"u01", "u02"})
	h, st := newHandler()
	res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Execution: "run-1", StartTime: runStart, Config: config(t, d.URL, nil), Since: &blockedAt, Seed: sd})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	ph := res.Phases
	if ph == nil || ph.FirstNew == nil || ph.Stable == nil || ph.LastOld == nil {
		t.Fatalf("phases %+v", ph)
	}
	// The real switch (0.1 s after the block, answered a few ms later) lies within the
	// bound of the first secondary answer, and of the stable time (a clean switch). The
	// first answer's bound reaches back to the last primary answer: a 403 between says
	// nothing about which origin would have answered.
	//
	// The width is 0.1 s on a machine that lets the probe keep its interval. A probe
	// starved of CPU (skipped ticks, late sends) and answers read late widen a bound by
	// design, by the longest gap on both sides and the longest wait near it, and the
	// probe reports both (Starved, the samples' latencies): the allowance is that, so
	// a busy machine cannot fail the test and an idle one checks the 0.1 s.
	truth := gap.Seconds()
	var starved, slowest float64
	if ph.Starved != nil {
		starved = ph.Starved.LongestSeconds
	}
	for _, s := range st.logs[res.SamplesKey].Unpack() {
		if s.Path == probe.PathConfig {
			slowest = max(slowest, s.Latency().Seconds())
		}
	}
	for name, m := range map[string]*drill.Moment{"firstNew": ph.FirstNew, "stable": ph.Stable} {
		width := 0.1 + 2*starved + slowest
		if name == "firstNew" {
			width += truth
		}
		if truth < m.LoSeconds-0.005 || truth > m.HiSeconds+0.005 || m.HiSeconds-m.LoSeconds > width+0.001 {
			t.Errorf("%s %+v does not bound the switch at %.3f s within %.3f s (starved %.3f s, slowest answer %.3f s)", name, m, truth, width, starved, slowest)
		}
	}
	if res.Seconds != ph.Stable.Seconds || !res.FirstExpectedAt.Equal(ph.FirstNew.At) {
		t.Errorf("seconds %v firstExpectedAt %v, want the stable time and the first secondary answer", res.Seconds, res.FirstExpectedAt)
	}
	if res.UserVisibleErrors == 0 || res.UserVisibleErrors != d.count(403) {
		t.Errorf("probe counted %d user-visible errors, the distribution served %d 403s", res.UserVisibleErrors, d.count(403))
	}
	if ph.Visitors.Outcomes["403"] != res.UserVisibleErrors || ph.Visitors.LongestErrorRun == nil {
		t.Errorf("visitors %+v", ph.Visitors)
	}
	if res.ServedRegion != secondary || res.SecondaryAPI != d.hosts[secondary] || res.Cart == nil || !res.Cart.Intact {
		t.Errorf("region %q api %q cart %+v", res.ServedRegion, res.SecondaryAPI, res.Cart)
	}
	// Every request is in the log, answered or not.
	l, ok := st.logs[res.SamplesKey]
	if !ok || res.SamplesKey != drill.SamplesKey("run-1", runStart, drill.ModeFailover) {
		t.Fatalf("no log at %q", res.SamplesKey)
	}
	// A request still on its way when the probe stopped (a starved machine is slow to
	// connect) is in the log, unanswered, though the distribution never saw it.
	unseen := 0
	for _, s := range l.Unpack() {
		if s.Unanswered || s.Error != "" {
			unseen++
		}
	}
	if n := len(l.Samples); n < d.requests() || n > d.requests()+unseen || l.Ended != drill.EndedStable || l.Want != secondary || l.Old != primary {
		t.Errorf("log: %d samples (%d unanswered or failed) for %d requests, ended %q, want %q old %q", n, unseen, d.requests(), l.Ended, l.Want, l.Old)
	}
	if l.ConfigIntervalMs != 13.5 || l.PageIntervalMs != 20 || l.RequestTimeoutMs != 125000 {
		t.Errorf("intervals %v / %v ms, timeout %v ms, want 13.5 / 20 and CloudFront's 3x(10+30) s + 5 s", l.ConfigIntervalMs, l.PageIntervalMs, l.RequestTimeoutMs)
	}
}

func TestFailoverCart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		stored       []string
		view         func(user string, stored []string, n int) []string
		api          string // overrides the secondary API host ("-" for none)
		intact       bool
		wantAttempts int
		wantGot      []string
		errHas       string
	}{
		{name: "intact at once", stored: []string{"u02", "u01"}, intact: true, wantAttempts: 1, wantGot: []string{"u01", "u02"}},
		{name: "intact after replication lag", stored: []string{"u01", "u02"}, intact: true, wantAttempts: 3, wantGot: []string{"u01", "u02"},
			view: func(_ string, stored []string, n int) []string {
				if n < 3 {
					return stored[:n-1]
				}
				return stored
			}},
		{name: "item missing", stored: []string{"u01"}, wantAttempts: int(probe.CartWindow / probe.CartRetryEvery), wantGot: []string{"u01"}},
		{name: "API refuses", api: "bad", wantAttempts: int(probe.CartWindow / probe.CartRetryEvery), errHas: "404"},
		{name: "no API host", api: "-", wantAttempts: 0, errHas: "names no API host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDistribution(t, always(fromSecondary))
			sd := seed()
			s := secondaryShop(t, d, sd.User.UUID, tt.stored)
			s.CartView = tt.view
			switch tt.api {
			case "-":
				d.hosts[secondary] = ""
			case "bad":
				d.hosts[secondary] += "/nowhere"
			}
			since := time.Now().Add(-time.Second)
			h, _ := newHandler()
			res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d.URL, nil), Since: &since, Seed: sd})
			if err != nil {
				t.Fatalf("a cart problem must not be an error: %v", err)
			}
			c := res.Cart
			if c == nil {
				t.Fatal("no cart check")
			}
			if c.Intact != tt.intact || (c.Attempts != tt.wantAttempts && c.Attempts != tt.wantAttempts-1) || !slices.Equal(c.Got, tt.wantGot) || !slices.Equal(c.Expected, []string{"u01", "u02"}) {
				t.Errorf("cart = %+v, want intact %v after %d attempts, got %v", c, tt.intact, tt.wantAttempts, tt.wantGot)
			}
			if !strings.Contains(c.Error, tt.errHas) || (tt.errHas == "" && c.Error != "") {
				t.Errorf("cart error %q, want it to contain %q", c.Error, tt.errHas)
			}
			// Served by the secondary from the first sample: stable a second after the block.
			if res.Seconds < 1 || res.Seconds > 1.2 {
				t.Errorf("Seconds = %v, want just over 1", res.Seconds)
			}
		})
	}
}

func TestTimeoutsAndTheErrorBudget(t *testing.T) {
	t.Parallel()
	flaky := func() func(string, time.Time) answer {
		n := 0
		return func(string, time.Time) answer {
			if n++; n%5 == 0 {
				return fromSecondary
			}
			return answer{status: 503} // 80% errors: a good answer now and then must not reset the budget
		}
	}
	tests := []struct {
		name      string
		mode      string
		serve     func(string, time.Time) answer
		check     func(error) bool
		errHas    []string
		maxWallMs int
	}{
		{name: "failover never happens", mode: drill.ModeFailover, serve: always(fromPrimary),
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"us-west-1 never served stably", "0% from us-west-1", "100% from us-east-1", "us-west-1 never answered"}, maxWallMs: 2500},
		{name: "the secondary fails 80% of requests", mode: drill.ModeFailover, serve: flaky(),
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"error budget spent", "errorBudgetPercent 50", "503 x"}, maxWallMs: 1500},
		{name: "recovery never happens", mode: drill.ModeRecovery, serve: always(fromSecondary),
			check:  func(err error) bool { var e *drill.RecoveryTimeout; return errors.As(err, &e) },
			errHas: []string{"us-east-1 never served stably", "100% from us-west-1"}, maxWallMs: 2500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDistribution(t, tt.serve)
			since := time.Now()
			h, st := newHandler()
			_, err := h.Handle(ctx(t), drill.ProbeInput{Mode: tt.mode, Execution: "run-2", StartTime: runStart,
				Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 2}), Since: &since, Seed: seed()})
			if !tt.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if len(err.Error()) > 1500 {
				t.Errorf("message of %d bytes: it travels in Step Functions' error cause", len(err.Error()))
			}
			if el := time.Since(since); el > time.Duration(tt.maxWallMs)*time.Millisecond {
				t.Errorf("gave up after %v", el)
			}
			// The log is kept on every ending, errors and all.
			l, ok := st.logs[drill.SamplesKey("run-2", runStart, tt.mode)]
			if !ok || len(l.Samples) == 0 || l.Ended == drill.EndedStable {
				t.Errorf("log %v: %d samples, ended %q", ok, len(l.Samples), l.Ended)
			}
		})
	}
}

// A slow failover is slow, not an error: the request timeout is derived from the
// distribution's origin settings, and a shorter one (1 attempt × 1 s + 1 s + 5 s = 7 s)
// turns a hanging answer into a timeout error.
func TestSlowIsNotAnError(t *testing.T) {
	t.Parallel()
	slow := fromSecondary
	slow.delay = 1500 * time.Millisecond
	d := newDistribution(t, always(slow))
	since := time.Now()
	h, _ := newHandler()
	res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeRecovery, Since: &since,
		Config: config(t, d.URL, map[string]any{"secondaryRegion": "us-west-2", "primaryRegion": "us-west-1", "maxLatencyP95Ms": 1000})})
	if err != nil {
		t.Fatal(err)
	}
	// Every answer is slow, and so is every request still unanswered after 1 s.
	if res.UserVisibleErrors != 0 || res.Slow == 0 || res.Slow < res.Samples || res.LatencyP95Ms < 1500 {
		t.Errorf("errors %d slow %d of %d, p95 %.0f ms: want every sample slow and none an error", res.UserVisibleErrors, res.Slow, res.Samples, res.LatencyP95Ms)
	}

	hang := fromPrimary
	hang.delay = 10 * time.Second
	d2 := newDistribution(t, always(hang))
	h2, st := newHandler()
	_, err = h2.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Execution: "run-3", StartTime: runStart, Config: config(t, d2.URL, map[string]any{"probeIntervalMs": 2000}),
		Origin: &drill.OriginSettings{ConnectionAttempts: 1, ConnectionTimeoutSeconds: 1, ResponseTimeoutSeconds: 1}})
	if err == nil {
		t.Fatal("steady state passed against a hanging distribution")
	}
	var timeouts int
	for _, s := range st.logs[drill.SamplesKey("run-3", runStart, drill.ModeSteady)].Unpack() {
		if s.Error == drill.ErrTimeout {
			timeouts++
			if lat := s.Latency(); lat < 7*time.Second || lat > 7500*time.Millisecond {
				t.Errorf("timed out after %v, want the derived 7 s", lat)
			}
		}
	}
	if timeouts == 0 {
		t.Error("no request timed out")
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	since := time.Now()
	tests := []struct {
		name string
		in   func(dist string) drill.ProbeInput
		want []string // problem prefixes
	}{
		{name: "no mode", in: func(d string) drill.ProbeInput { return drill.ProbeInput{Config: config(t, d, nil)} }, want: []string{"mode:"}},
		{name: "bad mode", in: func(d string) drill.ProbeInput { return drill.ProbeInput{Mode: "sideways", Config: config(t, d, nil)} }, want: []string{"mode:"}},
		{name: "failover without since and seed", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d, nil)}
		}, want: []string{"seed:", "since:"}},
		{name: "failover with an empty seed", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d, nil), Since: &since, Seed: &drill.SeedResult{}}
		}, want: []string{"seed.cart:", "seed.user.uuid:"}},
		{name: "recovery with a zero since", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeRecovery, Config: config(t, d, nil), Since: &time.Time{}}
		}, want: []string{"since:"}},
		{name: "bad origin settings", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d, nil), Origin: &drill.OriginSettings{ConnectionAttempts: 4, ConnectionTimeoutSeconds: 0, ResponseTimeoutSeconds: 30}}
		}, want: []string{"origin.connectionAttempts:", "origin.connectionTimeoutSeconds:"}},
		{name: "bad config, bad limits and bad mode together", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: "x", Config: config(t, d, map[string]any{"steadySamples": 0, "primaryBucket": "", "stableSharePercent": 101, "maxLatencyP95Ms": 0})}
		}, want: []string{"maxLatencyP95Ms:", "mode:", "primaryBucket:", "stableSharePercent:", "steadySamples:"}},
		{name: "a window too short to show the share", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d, map[string]any{"stableSharePercent": 99, "stableWindowSeconds": 2})}
		}, want: []string{"stableWindowSeconds:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDistribution(t, always(fromPrimary))
			h, _ := newHandler()
			_, err := h.Handle(ctx(t), tt.in(d.URL))
			var inv *drill.InvalidInput
			if !errors.As(err, &inv) || drill.ErrorName(drill.Classify(err)) != "InvalidInput" {
				t.Fatalf("err = %v, want InvalidInput", err)
			}
			var got []string
			for _, p := range inv.Problems {
				got = append(got, p[:strings.IndexByte(p, ':')+1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems %q, want fields %v", inv.Problems, tt.want)
			}
			if n := d.requests(); n != 0 {
				t.Errorf("%d requests made on invalid input", n)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	d := newDistribution(t, always(fromPrimary))
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	since := time.Now()
	h, st := newHandler()
	_, err := h.Handle(c, drill.ProbeInput{Mode: drill.ModeFailover, Execution: "run-4", StartTime: runStart, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 60}), Since: &since, Seed: seed()})
	if !errors.Is(err, context.Canceled) || drill.Classify(err) != err {
		t.Fatalf("err = %v, want a plain context.Canceled", err)
	}
	if el := time.Since(since); el > 2*time.Second {
		t.Errorf("returned %v after the cancel", el)
	}
	if l := st.logs[drill.SamplesKey("run-4", runStart, drill.ModeFailover)]; l.Ended != drill.EndedStopped || len(l.Samples) == 0 {
		t.Errorf("log ended %q with %d samples, want it kept, stopped", l.Ended, len(l.Samples))
	}
}

// TestLambdaDeadline: a probe whose invocation ends before its timeout gives up early
// enough to write its log and report a typed timeout instead of being killed.
func TestLambdaDeadline(t *testing.T) {
	t.Parallel()
	d := newDistribution(t, always(fromSecondary))
	c, cancel := context.WithTimeout(context.Background(), probe.WriteReserve+time.Second)
	defer cancel()
	since := time.Now()
	h, st := newHandler()
	_, err := h.Handle(c, drill.ProbeInput{Mode: drill.ModeRecovery, Execution: "run-5", StartTime: runStart, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 60}), Since: &since})
	var rt *drill.RecoveryTimeout
	if !errors.As(err, &rt) || !strings.Contains(err.Error(), "deadline came first") {
		t.Fatalf("err = %v, want RecoveryTimeout naming the deadline", err)
	}
	if el := time.Since(since); el > 2*time.Second {
		t.Errorf("returned after %v, past the reserve", el)
	}
	if l := st.logs[drill.SamplesKey("run-5", runStart, drill.ModeRecovery)]; l.Ended != drill.EndedDeadline {
		t.Errorf("log ended %q, want deadline", l.Ended)
	}
}

// A ledger that refuses the log does not fail the probe: the drill must go on to restore.
func TestLogNotKeptIsReported(t *testing.T) {
	t.Parallel()
	d := newDistribution(t, always(fromPrimary))
	h, st := newHandler()
	st.err = errors.New("AccessDenied")
	res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Execution: "run-6", StartTime: runStart, Config: config(t, d.URL, nil)})
	if err != nil || res.SamplesKey != "" || !strings.Contains(res.SamplesError, "AccessDenied") {
		t.Errorf("err %v key %q error %q", err, res.SamplesKey, res.SamplesError)
	}
}

// The sample log goes to the run's own folder, named by the execution's start: a run
// that reuses a name writes beside the earlier run's log, never over it. Without the
// start (an execution of an older definition) no log is written, and the result says why.
func TestLogIsKeyedByTheRunsStart(t *testing.T) {
	t.Parallel()
	d := newDistribution(t, always(fromPrimary))
	h, st := newHandler()
	later := drill.At(runStart.Time().Add(91 * 24 * time.Hour))
	for _, start := range []drill.Instant{runStart, later} {
		res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Execution: "drill-w23", StartTime: start, Config: config(t, d.URL, nil)})
		want := "runs/drill-w23/" + drill.KeyTime(start) + "/samples-steady.json"
		if err != nil || res.SamplesKey != want {
			t.Errorf("start %s: err %v key %q, want %q", start, err, res.SamplesKey, want)
		}
		if l := st.logs[want]; !l.ExecutionStartTime.Equal(start) || l.Execution != "drill-w23" {
			t.Errorf("log at %s names run %s %s", want, l.Execution, l.ExecutionStartTime)
		}
	}
	if len(st.logs) != 2 {
		t.Errorf("%d logs, want one per run: %v", len(st.logs), slices.Collect(maps.Keys(st.logs)))
	}
	res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Execution: "drill-w24", Config: config(t, d.URL, nil)})
	if err != nil || res.SamplesKey != "" || !strings.Contains(res.SamplesError, "no startTime") || len(st.logs) != 2 {
		t.Errorf("without a start: err %v key %q error %q, %d logs", err, res.SamplesKey, res.SamplesError, len(st.logs))
	}
}
