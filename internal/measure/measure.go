// Package measure defines every figure the drill reports about what visitors saw, from
// the samples of one probe mode (or of an independent visitor): when the new origin
// first answered, when the old one last did, when the switch became stable, the mixed
// stretch, errors, slow answers and latency. The probe decides with it while it
// samples (Stability, Budget); the report and the sandbox's truth compute the same
// figures from a whole log (Analyse). Every figure is judged at the time an answer
// arrived, the moment a visitor saw it.
package measure

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// PathConfig is the path whose answer names the serving region.
const PathConfig = "/config.json"

// Params are what the figures of one mode depend on.
type Params struct {
	Mode string
	// Since is the block (failover) or the restore (recovery); figures are seconds
	// from it. In steady mode, the probe's start.
	Since time.Time
	// Old and New are the regions the switch leaves and reaches (Old is "" in steady mode).
	Old, New string
	// StableShare (percent) of config.json samples in every StableWindow, with at least
	// MinWindowSamples in it, must come from New for the switch to be stable.
	StableShare      int
	StableWindow     time.Duration
	MinWindowSamples int
	// SlowAfter: a 2xx answer slower than this is slow, and so is a request still
	// unanswered after this long.
	SlowAfter time.Duration
	// RequestTimeout is when the probe (or the visitor) gives up on a request: one still
	// unanswered at the end that had waited this long is a timeout error (Censor). Zero:
	// never.
	RequestTimeout time.Duration
	// Horizon is the longest the probe may watch (the failover timeout): the stability
	// decision spends its error rate over the looks it can make in it. Zero:
	// DefaultHorizon.
	Horizon time.Duration
	// ConfigInterval is the probe's config.json sampling interval (for the resolution).
	ConfigInterval time.Duration
	// End is when sampling stopped; zero takes the last sample's answer.
	End   time.Time
	Ended string
	// Skipped ticks, reported as they are.
	Skipped int
	// Provisional: the stable time is the first answer from the new origin after the
	// last failing window, even when its own window is not complete by End (a log that
	// ends before a confirmation could: the sandbox's visitor, cut at the restore).
	Provisional bool
}

// ForConfig fills the params a drill config implies for mode.
func ForConfig(cfg drill.Config, mode string, since time.Time, configInterval time.Duration) Params {
	p := Params{
		Mode: mode, Since: since, StableShare: cfg.StableSharePercent, StableWindow: cfg.StableWindow(),
		MinWindowSamples: cfg.SteadySamples, SlowAfter: time.Duration(cfg.MaxLatencyP95Ms) * time.Millisecond,
		ConfigInterval: configInterval, Horizon: cfg.FailoverTimeout(),
	}
	switch mode {
	case drill.ModeFailover:
		p.Old, p.New = cfg.PrimaryRegion, cfg.SecondaryRegion
	case drill.ModeRecovery, drill.ModeRecoveryCheck:
		p.Old, p.New = cfg.SecondaryRegion, cfg.PrimaryRegion
	default:
		p.New = cfg.PrimaryRegion
	}
	return p
}

// Class is what a config.json sample says about the switch.
type Class int

const (
	Other Class = iota // a 2xx answer from neither origin, or a cache hit (proves nothing)
	New                // a 2xx answer the new origin served
	Old                // a 2xx answer the old origin served
	Error              // a visitor saw an error
)

// Classify a config.json sample for a switch from old to new.
func Classify(s drill.Sample, old, new string) Class {
	switch {
	case s.IsError():
		return Error
	case CacheHit(s):
		return Other
	case s.Region == new && new != "":
		return New
	case s.Region == old && old != "":
		return Old
	}
	return Other
}

// CacheHit: X-Cache "Hit from cloudfront", "RefreshHit from cloudfront", ... A cached
// config.json proves nothing about which origin serves.
func CacheHit(s drill.Sample) bool { return strings.Contains(strings.ToLower(s.Cache), "hit") }

// SortByAnswer orders samples by the time their answer arrived.
func SortByAnswer(samples []drill.Sample) {
	slices.SortStableFunc(samples, func(a, b drill.Sample) int { return a.At.Compare(b.At) })
}

// Censor judges every Unanswered sample at the moment the probe stopped waiting for it
// (its At): one that had waited timeout (> 0) by then is a timeout error answered at
// SentAt + timeout, as the probe's own request timeout would have made it (a visitor
// gives up there); the others stay Unanswered, their latency a lower bound. The
// samples are copied, in the same order.
func Censor(samples []drill.Sample, timeout time.Duration) []drill.Sample {
	out := slices.Clone(samples)
	for i, s := range out {
		if s.Unanswered && timeout > 0 && s.Latency() >= timeout {
			out[i].Unanswered, out[i].Error, out[i].Status, out[i].At = false, drill.ErrTimeout, 0, s.SentAt.Add(timeout)
		}
	}
	return out
}

// Analyse computes the figures of one mode from all its samples (any order).
func Analyse(samples []drill.Sample, p Params) drill.Phases {
	a := newAnalysis(samples, p)
	ph := a.header()
	ph.Visitors = Visitors(a.all, p.Since, p.SlowAfter, a.end)
	ph.Mixed, ph.SpreadSeconds = a.mixedSwitch()
	ph.Starved = a.gaps.starved(p)
	if a.fi >= 0 {
		ph.FirstNew = a.moment(a.cfg[a.fi].At, a.firstLo, a.cfg[a.fi].At)
	}
	if a.li >= 0 {
		ph.LastOld = a.moment(a.cfg[a.li].At, a.cfg[a.li].SentAt, a.after(a.li))
	}
	var stableAt time.Time
	if c, ok := a.stable(); ok {
		stableAt = a.cfg[c].At
		ph.Stable = a.moment(stableAt, a.before(c), stableAt)
	}
	ph.LastWindow = lastWindow(a.cfg, a.cls, a.end, p)
	ph.Latency = a.latency(stableAt)
	return ph
}

// analysis is one mode's samples, sorted and split the ways its figures read them.
type analysis struct {
	p                Params
	all              []drill.Sample // censored, in answer order; unanswered ones at what they had waited
	answered         []drill.Sample
	unanswered       int
	oldestUnanswered time.Time // the send of the oldest request never answered
	end              time.Time // when sampling stopped
	cfg              []drill.Sample
	cls              []Class // of each cfg answer
	fi, li           int     // the first new and the last old cfg answer (-1: none)
	firstLo          time.Time
	mixLo, mixHi     time.Time // the mixed window, widened by the tails' margin (zero: not mixed)
	gaps             gaps
}

func newAnalysis(samples []drill.Sample, p Params) *analysis {
	a := &analysis{p: p, all: Censor(samples, p.RequestTimeout), fi: -1, li: -1}
	SortByAnswer(a.all)
	for _, s := range a.all {
		if s.Unanswered {
			a.unanswered++
			if a.oldestUnanswered.IsZero() || s.SentAt.Before(a.oldestUnanswered) {
				a.oldestUnanswered = s.SentAt
			}
			continue
		}
		a.answered = append(a.answered, s)
		if s.Path == PathConfig {
			a.cfg = append(a.cfg, s)
			a.cls = append(a.cls, Classify(s, p.Old, p.New))
		}
	}
	a.end = p.End
	if a.end.IsZero() && len(a.answered) > 0 {
		a.end = a.answered[len(a.answered)-1].At
	}
	for i, c := range a.cls {
		if c == New && a.fi < 0 {
			a.fi = i
		}
		if c == Old {
			a.li = i
		}
	}
	a.firstLo = a.firstNewFrom()
	a.gaps = sendGaps(a.all, p.ConfigInterval)
	return a
}

// header is the phase's parameters and counts, as the report names them.
func (a *analysis) header() drill.Phases {
	p := a.p
	ph := drill.Phases{
		Mode: p.Mode, Since: p.Since, From: p.Old, To: p.New, Ended: p.Ended,
		StableSharePercent: p.StableShare, StableWindowSeconds: int(p.StableWindow / time.Second),
		ConfigIntervalMs: ms(p.ConfigInterval), Unanswered: a.unanswered, Skipped: p.Skipped,
	}
	if p.ConfigInterval > 0 {
		ph.WindowSamples = int(p.StableWindow / p.ConfigInterval)
		if ph.WindowSamples > 0 {
			ph.UnseenSharePercent = round(100*(1-math.Pow(0.05, 1/float64(ph.WindowSamples))), 2)
		}
	}
	return ph
}

// A bound is derived from both ends of the samples around a moment: the sample
// before it was routed no earlier than it was sent (before), the one after it came
// no later than it arrived (after), and another visitor's answer to a request routed
// just before the switch may arrive as late as the longest wait seen around it
// (waitAround).
func (a *analysis) before(i int) time.Time {
	if i > 0 {
		return a.cfg[i-1].SentAt
	}
	if !a.p.Since.IsZero() && a.p.Since.Before(a.cfg[i].At) {
		return a.p.Since
	}
	return a.cfg[i].At
}

func (a *analysis) after(i int) time.Time {
	if i+1 < len(a.cfg) {
		return a.cfg[i+1].At
	}
	return maxTime(a.end, a.cfg[i].At)
}

func (a *analysis) waitAround(t time.Time) time.Duration {
	var w time.Duration
	for _, s := range a.cfg {
		if !s.At.Before(t.Add(-a.p.StableWindow)) && !s.At.After(t.Add(a.p.StableWindow)) {
			w = max(w, s.Latency())
		}
	}
	return w
}

// firstNewFrom is the early end of the first new answer's bound. Only an answer from
// the old origin shows that the new one was not answering yet: errors and cache hits
// before the first new answer say nothing about the routing, nor does a stretch the
// probe did not sample (a cold start after the block). Without an old answer before
// it, the bound reaches back to Since.
func (a *analysis) firstNewFrom() time.Time {
	lo := a.p.Since
	if a.fi < 0 {
		return lo
	}
	for i := a.fi - 1; i >= 0; i-- {
		if a.cls[i] == Old {
			lo = a.cfg[i].SentAt
			break
		}
	}
	if lo.IsZero() {
		lo = a.before(a.fi)
	}
	return lo
}

// mixedSwitch is the stretch in which both origins answered (nil: none), and sets the
// mixed window every moment's bound then spans. A mixed switch is a sample
// statistic: another observer finds its first new answer earlier or later, its
// stragglers likewise, and its stable time anywhere in between. Its moments lie
// within the mixed window the probe saw (from the send of the last old answer before
// the first new one to the first new answer after the last old one: the mixed
// stretch plus about a sample interval on each side), widened on both sides by the
// tails' own scatter (tailMargin).
func (a *analysis) mixedSwitch() (*drill.Mixed, float64) {
	fi, li, cfg := a.fi, a.li, a.cfg
	if fi < 0 || li <= fi {
		return nil, 0
	}
	mixHi := a.after(li)
	for i := li + 1; i < len(cfg); i++ {
		if a.cls[i] == New {
			mixHi = cfg[i].At
			break
		}
	}
	m := &drill.Mixed{FromSeconds: a.p.seconds(cfg[fi].At), ToSeconds: a.p.seconds(cfg[li].At)}
	var nOld, nNew int
	for i := fi; i <= li; i++ {
		switch a.cls[i] {
		case Old:
			nOld++
		case New:
			nNew++
		}
		m.Samples++
	}
	if nOld+nNew > 0 {
		m.OldSharePercent = round(100*float64(nOld)/float64(nOld+nNew), 2)
	}
	tm := tailMargin(cfg[li].At.Sub(cfg[fi].At), a.p.ConfigInterval, m.OldSharePercent/100)
	a.mixLo, a.mixHi = a.firstLo.Add(-tm), mixHi.Add(tm)
	return m, round(cfg[li].At.Sub(cfg[fi].At).Seconds(), 3)
}

// moment is the figure at, with its bound: [lo, hi] from the samples around it, the
// mixed window if the switch was mixed, widened by a starved probe's gaps and the
// longest wait around it.
func (a *analysis) moment(at, lo, hi time.Time) *drill.Moment {
	p := a.p
	if !a.mixLo.IsZero() {
		lo, hi = minTime(lo, a.mixLo), maxTime(hi, a.mixHi)
	}
	// A starved probe (ticks skipped, CPU starved) sent later than its grid said,
	// and read its answers late: the bound widens by the longest such gap near it.
	g := a.gaps.longestNear(lo.Add(-p.StableWindow), hi.Add(p.StableWindow))
	lo, hi = lo.Add(-g), hi.Add(g+a.waitAround(at))
	if !p.Since.IsZero() && lo.Before(p.Since) {
		lo = p.Since // nothing switched before the fault (or the restore) was applied
	}
	return &drill.Moment{At: at, Seconds: p.seconds(at), LoSeconds: p.seconds(lo), HiSeconds: p.seconds(hi),
		WidthSeconds: round(hi.Sub(lo).Seconds(), 3)}
}

// stable is the index of the cfg answer the switch is stable from, if the decision
// the probe makes while it samples calls it stable by the end.
func (a *analysis) stable() (int, bool) {
	st := NewStability(a.p)
	for _, s := range a.cfg {
		st.Add(s)
	}
	return st.Check(a.end, a.oldestUnanswered)
}

// latency splits every sample at the first new answer and the stable time (zero: not
// stable).
func (a *analysis) latency(stableAt time.Time) drill.PhaseLatency {
	var bf, du, af []drill.Sample
	for _, s := range a.all { // unanswered ones at what they had waited
		switch {
		case a.fi < 0 || s.At.Before(a.cfg[a.fi].At):
			bf = append(bf, s)
		case stableAt.IsZero() || s.At.Before(stableAt):
			du = append(du, s)
		default:
			af = append(af, s)
		}
	}
	return drill.PhaseLatency{Before: Latency(bf), During: Latency(du), After: Latency(af)}
}

// Late is what samples (a recovery probe's) show of region serving config.json: its
// first and last answers, seconds from since (the block's send). nil: it never served.
func Late(samples []drill.Sample, region string, since time.Time) *drill.LateSwitch {
	p := Params{Since: since}
	var first, last time.Time
	n := 0
	for _, s := range samples {
		if s.Path != PathConfig || s.Unanswered || s.IsError() || CacheHit(s) || s.Region != region {
			continue
		}
		if first.IsZero() || s.At.Before(first) {
			first = s.At
		}
		if s.At.After(last) {
			last = s.At
		}
		n++
	}
	if n == 0 {
		return nil
	}
	return &drill.LateSwitch{Region: region, FromSeconds: p.seconds(first), ToSeconds: p.seconds(last),
		Seconds: round(last.Sub(first).Seconds(), 3), Samples: n}
}

// tailMargin is how far another observer's first new (or last old) answer may lie
// from the probe's at the edges of a mixed stretch of length mixed, with oldShare of
// its answers from the old origin. Where a share ramps linearly from nothing over a
// time F, a sampler every interval sees its first answer after sqrt(2 F interval E)
// for an exponential E; two samplers' draws differ by less than 2.5 sqrt(F interval) in
// all but a few percent of runs (E from 0.025 to 3.7), 3.5 with the noise of F. A linear ramp of the old share
// from s to nothing over the stretch averages s/2: F is mixed / (2 oldShare), the
// time the share would take to ramp from nothing to all.
func tailMargin(mixed, interval time.Duration, oldShare float64) time.Duration {
	if interval <= 0 || mixed <= 0 {
		return 0
	}
	f := mixed.Seconds() / (2 * min(max(oldShare, 0.05), 0.5))
	return time.Duration(3.5 * math.Sqrt(f*interval.Seconds()) * float64(time.Second))
}

// gaps are the probe's config.json sends that came later than its interval said.
type gaps struct {
	interval time.Duration
	at       []time.Time     // the send that ended each gap
	excess   []time.Duration // how much later than the interval it came
}

// sendGaps finds every gap between consecutive config.json sends longer than 1.5
// intervals (a skipped tick, a starved sender; jitter is smaller).
func sendGaps(samples []drill.Sample, interval time.Duration) gaps {
	g := gaps{interval: interval}
	if interval <= 0 {
		return g
	}
	var sent []time.Time
	for _, s := range samples {
		if s.Path == PathConfig {
			sent = append(sent, s.SentAt)
		}
	}
	slices.SortFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(sent); i++ {
		if d := sent[i].Sub(sent[i-1]); d > interval*3/2 {
			g.at, g.excess = append(g.at, sent[i]), append(g.excess, d-interval)
		}
	}
	return g
}

// longestNear is the longest excess of a gap that ended in [from, to].
func (g gaps) longestNear(from, to time.Time) time.Duration {
	var m time.Duration
	for i, t := range g.at {
		if !t.Before(from) && !t.After(to) {
			m = max(m, g.excess[i])
		}
	}
	return m
}

// starved says how much the probe could not sample at its interval; nil: it could.
func (g gaps) starved(p Params) *drill.Starved {
	if len(g.at) == 0 && p.Skipped == 0 {
		return nil
	}
	st := &drill.Starved{Gaps: len(g.at), SkippedTicks: p.Skipped}
	var total, longest time.Duration
	for _, e := range g.excess {
		total += e
		longest = max(longest, e)
	}
	st.Seconds, st.LongestSeconds = round(total.Seconds(), 3), round(longest.Seconds(), 3)
	return st
}

// lastWindow is what the last stable window of config.json samples showed.
func lastWindow(cfg []drill.Sample, cls []Class, end time.Time, p Params) *drill.Window {
	if len(cfg) == 0 {
		return nil
	}
	from := end.Add(-p.StableWindow)
	w := &drill.Window{FromSeconds: p.seconds(from)}
	var n, nNew, nOld, nErr, nHit int
	for i, s := range cfg {
		if s.At.Before(from) {
			continue
		}
		n++
		switch cls[i] {
		case New:
			nNew++
		case Old:
			nOld++
		case Error:
			nErr++
		default:
			if CacheHit(s) {
				nHit++
			}
		}
	}
	w.Samples = n
	if n > 0 {
		pct := func(k int) float64 { return round(100*float64(k)/float64(n), 2) }
		w.NewPercent, w.OldPercent, w.ErrorPercent, w.CacheHitPercent = pct(nNew), pct(nOld), pct(nErr), pct(nHit)
	}
	return w
}

// Visitors is what visitors saw in samples (At order, censored: see Censor), up to
// end: errors and slow requests apart, the time-weighted error rate, the longest error
// run, latency. A request still unanswered counts as slow once it had waited longer
// than slowAfter, and in the latency at what it had waited; it changes no error
// figure. Moments are seconds from since.
func Visitors(samples []drill.Sample, since time.Time, slowAfter time.Duration, end time.Time) drill.VisitorStats {
	p := Params{Since: since}
	var v drill.VisitorStats
	var lat []time.Duration
	var answered []drill.Sample
	var errAt []int // indexes of error samples in answered
	for _, s := range samples {
		lat = append(lat, s.Latency())
		if s.Unanswered {
			v.Unanswered++
			if slowAfter > 0 && s.Latency() > slowAfter {
				v.Slow++
			}
			continue
		}
		answered = append(answered, s)
		v.Samples++
		if s.Path == PathConfig && CacheHit(s) {
			v.CacheHits++
		}
		if s.IsError() {
			v.Errors++
			errAt = append(errAt, len(answered)-1)
			if v.Outcomes == nil {
				v.Outcomes = map[string]int{}
			}
			v.Outcomes[s.Outcome()]++
		} else if slowAfter > 0 && s.Latency() > slowAfter {
			v.Slow++
		}
	}
	v.Latency = latencyOf(lat, v.Unanswered)
	if len(answered) == 0 {
		return v
	}
	if end.Before(answered[len(answered)-1].At) {
		end = answered[len(answered)-1].At
	}
	v.ErrorRatePercent = round(ErrorRate(answered, answered[0].At, end), 3)
	if len(errAt) == 0 {
		return v
	}
	first, last := errAt[0], errAt[len(errAt)-1]
	prevAt := func(i int) time.Time {
		if i > 0 {
			return answered[i-1].At
		}
		return answered[i].At
	}
	nextAt := func(i int) time.Time {
		if i+1 < len(answered) {
			return answered[i+1].At
		}
		return end
	}
	v.FirstError = &drill.Moment{At: answered[first].At, Seconds: p.seconds(answered[first].At), LoSeconds: p.seconds(prevAt(first)), HiSeconds: p.seconds(answered[first].At)}
	v.LastError = &drill.Moment{At: answered[last].At, Seconds: p.seconds(answered[last].At), LoSeconds: p.seconds(answered[last].At), HiSeconds: p.seconds(nextAt(last))}
	v.LongestErrorRun = longestRun(answered, end, p)
	return v
}

// longestRun is the longest stretch of error answers with no good answer between.
func longestRun(answered []drill.Sample, end time.Time, p Params) *drill.Run {
	var best *drill.Run
	for i := 0; i < len(answered); {
		if !answered[i].IsError() {
			i++
			continue
		}
		j := i
		for j+1 < len(answered) && answered[j+1].IsError() {
			j++
		}
		firstAt, lastAt := answered[i].At, answered[j].At
		prevOK := firstAt
		if i > 0 {
			prevOK = answered[i-1].At
		}
		nextOK := end
		if j+1 < len(answered) {
			nextOK = answered[j+1].At
		}
		r := &drill.Run{
			From:      drill.Moment{At: firstAt, Seconds: p.seconds(firstAt), LoSeconds: p.seconds(prevOK), HiSeconds: p.seconds(firstAt)},
			Seconds:   round(nextOK.Sub(firstAt).Seconds(), 3),
			LoSeconds: round(lastAt.Sub(firstAt).Seconds(), 3),
			HiSeconds: round(nextOK.Sub(prevOK).Seconds(), 3),
			Samples:   j - i + 1,
		}
		if best == nil || r.Seconds > best.Seconds {
			best = r
		}
		i = j + 1
	}
	return best
}

// ErrorRate is the time-weighted error rate (percent) over [from, to] of answered
// samples in At order: each answer's outcome holds until the next answer arrives.
func ErrorRate(answered []drill.Sample, from, to time.Time) float64 {
	span := to.Sub(from)
	if span <= 0 {
		// A single instant: the share of error answers at it.
		n, e := 0, 0
		for _, s := range answered {
			if !s.Unanswered {
				n++
				if s.IsError() {
					e++
				}
			}
		}
		if n == 0 {
			return 0
		}
		return 100 * float64(e) / float64(n)
	}
	var errTime time.Duration
	for i, s := range answered {
		if !s.IsError() {
			continue
		}
		lo := maxTime(s.At, from)
		hi := to
		if i+1 < len(answered) {
			hi = minTime(answered[i+1].At, to)
		}
		if hi.After(lo) {
			errTime += hi.Sub(lo)
		}
	}
	return 100 * errTime.Seconds() / span.Seconds()
}

// Latency are the latency stats of the samples, unanswered ones at what they had
// waited (censored).
func Latency(samples []drill.Sample) drill.LatencyStats {
	var lat []time.Duration
	censored := 0
	for _, s := range samples {
		lat = append(lat, s.Latency())
		if s.Unanswered {
			censored++
		}
	}
	return latencyOf(lat, censored)
}

func latencyOf(lat []time.Duration, censored int) drill.LatencyStats {
	if len(lat) == 0 {
		return drill.LatencyStats{}
	}
	slices.Sort(lat)
	return drill.LatencyStats{Samples: len(lat), P50Ms: ms(Percentile(lat, 50)), P95Ms: ms(Percentile(lat, 95)), MaxMs: ms(lat[len(lat)-1]), Censored: censored}
}

// Percentile by nearest rank of sorted values; 0 for none.
func Percentile(sorted []time.Duration, pct float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(pct/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (p Params) seconds(t time.Time) float64 {
	if p.Since.IsZero() {
		return 0
	}
	return round(t.Sub(p.Since).Seconds(), 3)
}

func ms(d time.Duration) float64 { return round(float64(d.Microseconds())/1000, 3) }

func round(f float64, places int) float64 {
	k := math.Pow(10, float64(places))
	return math.Round(f*k) / k
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
