package measure

import (
	"math"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure/confidence"
)

// Stability decides whether the new origin serves stably, as config.json answers
// arrive. The rule, the same for the probe while it samples and for Analyse on a
// whole log, has two parts.
//
// The stable time (the figure): a window is the config.json answers that arrived in
// [t, t+StableWindow) for the answer arriving at t. It is bad when it holds more
// others than a window of WindowSamplesNeeded answers may (any other at all when it
// is smaller): evidence that the switch was not done. The stable time is the first
// answer from the new origin after the last bad window.
//
// The decision (when the drill calls it stable), valid however long the probe
// watches: the probe looks every Look.Every answers, at most Look.Looks times within
// the Horizon (the most answers it can get in it at its fastest), and spends the 5%
// error rate evenly across them (Bonferroni): a look passes when its last Look.Count
// answers show, with confidence 1 - 5%/Look.Looks, that the new origin served at
// least StableShare percent (and at least MinWindowSamples). So whatever the old
// share does, while it stays above the allowed share the chance that any look
// passes is at most 5% over the whole watch. A single window tested again and again
// is not: by 120 s of a 1.5x share, 37% of watches had one window pass. The Count is
// larger than a window's by what the smaller error rate needs; to get it within
// about a stable window, the probe samples at Look.Interval while the last answers
// look like a finished switch (Confirming, Interval). Looks are counts of answers,
// so the rate may change with what the answers say without changing what a look
// tests. The stable time is confirmed once a look whose span starts at or after it
// passes and every request sent before it has been answered (a request still in
// flight may yet be answered by the old origin).
//
// Not safe for concurrent use.
type Stability struct {
	p        Params
	at       []time.Time
	good     []bool
	prefix   []int // prefix[i] = good answers among the first i
	next     int   // the first window not evaluated yet
	end      int   // where the window of next ends (two pointers)
	lastFail int   // the last bad window (-1: none)
	cand     int   // the first good answer after lastFail (-1: none yet)
	needed   int   // answers a window needs to show the share
	scanned  int   // answers before this index are known to hold no candidate
	allowed  map[int]int
	look     Look
	lookOK   map[int]int // MaxOther at one look's error rate, by n
	lastPass time.Time   // the span start of the last look that passed (zero: none)
	looked   int         // looks evaluated
}

// NewStability is a Stability for p's switch.
func NewStability(p Params) *Stability {
	return &Stability{p: p, prefix: []int{0}, lastFail: -1, cand: -1, allowed: map[int]int{}, lookOK: map[int]int{},
		needed: max(confidence.WindowSamplesNeeded(p.StableShare), p.MinWindowSamples, 1), look: p.Look()}
}

// Add records one config.json answer; answers must be added in the order they arrived.
// Other paths and unanswered samples are ignored.
func (s *Stability) Add(sample drill.Sample) {
	if sample.Path != PathConfig || sample.Unanswered {
		return
	}
	g := Classify(sample, s.p.Old, s.p.New) == New
	s.at = append(s.at, sample.At)
	s.good = append(s.good, g)
	n := s.prefix[len(s.prefix)-1]
	if g {
		n++
	}
	s.prefix = append(s.prefix, n)
	if g && s.cand < 0 {
		s.cand = len(s.at) - 1
	}
}

// Check evaluates every window complete by now and returns the index (in Add order) of
// the answer the switch is stable from, if it is stable by now. oldestInFlight is the
// send time of the oldest request still unanswered (zero: none).
func (s *Stability) Check(now, oldestInFlight time.Time) (int, bool) {
	for s.next < len(s.at) && !s.at[s.next].Add(s.p.StableWindow).After(now) {
		j := s.next
		if s.end < j {
			s.end = j
		}
		limit := s.at[j].Add(s.p.StableWindow)
		for s.end < len(s.at) && s.at[s.end].Before(limit) {
			s.end++
		}
		n, g := s.end-j, s.prefix[s.end]-s.prefix[j]
		if n-g > s.maxOther(max(n, s.needed)) {
			s.lastFail = j
			if s.cand <= j {
				// The next candidate is the first good answer after j; the search only
				// moves forward, so a long run of failing windows stays linear.
				s.cand = -1
				k := max(j+1, s.scanned)
				for ; k < len(s.at); k++ {
					if s.good[k] {
						s.cand = k
						break
					}
				}
				s.scanned = k
			}
		}
		s.next++
	}
	s.evaluateLooks()
	if s.cand < 0 || (!s.p.Provisional && (s.lastPass.IsZero() || s.lastPass.Before(s.at[s.cand]))) {
		return 0, false
	}
	if !oldestInFlight.IsZero() && oldestInFlight.Before(s.at[s.cand]) {
		return 0, false
	}
	return s.cand, true
}

// evaluateLooks evaluates every look whose answers have all arrived. A look is at a
// count of answers, not at a time: however fast or slow the probe samples, and
// whatever made it change its rate, look k tests the same Count answers ending at the
// k×Every-th, so the error rate spent on the looks stays what Look says.
func (s *Stability) evaluateLooks() {
	for {
		hi := (s.looked + 1) * s.look.Every
		if hi > len(s.at) {
			return
		}
		s.looked++
		lo := hi - s.look.Count
		if lo < 0 {
			continue
		}
		if n, g := s.look.Count, s.prefix[hi]-s.prefix[lo]; n-g <= s.lookMaxOther(n) {
			s.lastPass = s.at[lo]
		}
	}
}

// ConfirmTrigger is how many of the last answers must show the stable share (at most
// their share of others, rounded down) for the probe to sample at the confirming
// interval: 10 answers take 0.13 s at the resolving interval.
const ConfirmTrigger = 10

// Confirming reports whether the last answers look like a finished switch, so the
// probe should sample at Look.Interval to confirm it within about a stable window.
// It only decides how fast answers come, never whether a look passes.
func (s *Stability) Confirming() bool {
	n := len(s.at)
	if n < ConfirmTrigger {
		return false
	}
	others := ConfirmTrigger - (s.prefix[n] - s.prefix[n-ConfirmTrigger])
	return others <= ConfirmTrigger*(100-s.p.StableShare)/100
}

// Interval is how often the probe should send config.json now: Look.Interval while
// Confirming, else Look.Base.
func (s *Stability) Interval() time.Duration {
	if s.Confirming() {
		return s.look.Interval
	}
	return s.look.Base
}

func (s *Stability) lookMaxOther(n int) int {
	k, ok := s.lookOK[n]
	if !ok {
		k = maxOtherAt(n, s.p.StableShare, s.look.Alpha)
		s.lookOK[n] = k
	}
	return k
}

// maxOtherAt caches confidence.MaxOtherAt across Stabilities (the statistics cost
// milliseconds; a simulation makes thousands).
func maxOtherAt(n, share int, alpha float64) int {
	key := maxOtherKey{n, share, alpha}
	if k, ok := maxOtherCache.Load(key); ok {
		return k.(int)
	}
	k := confidence.MaxOtherAt(n, share, alpha)
	maxOtherCache.Store(key, k)
	return k
}

type maxOtherKey struct {
	n, share int
	alpha    float64
}

var maxOtherCache sync.Map

// Look is how the stability decision spends its error rate (see Stability).
type Look struct {
	Base     time.Duration // the config.json interval while not confirming
	Interval time.Duration // the config.json interval while confirming: the fastest the probe samples
	Every    int           // answers between looks
	Looks    int           // within the horizon, at Interval
	Alpha    float64       // the error rate of one look: 5% / Looks
	Needed   int           // answers a look needs to show the share
	Count    int           // answers a look takes: 1.1 × Needed (a margin for a straggler), at least a window's at Base
	Span     time.Duration // how long Count answers take at Interval
	Step     time.Duration // how long Every answers take at Interval
}

// DefaultHorizon is the longest watch when Params names none: a probe Lambda runs at
// most 15 minutes, and failoverTimeoutSeconds is at most 840.
const DefaultHorizon = 840 * time.Second

// MinConfirmInterval bounds the confirming rate: at most 250 config.json requests a
// second (CloudFront bills $0.01 per 10,000; a look at 99% takes about 1,000).
const MinConfirmInterval = 4 * time.Millisecond

// ConfirmSpanShare is the share of a stable window a look's answers should take at
// the confirming interval: with a look every quarter of a window, a finished switch
// is then confirmed about a window after it finished.
const ConfirmSpanShare = 0.75

// Look is the looks p's decision makes. Base is the config.json interval (the
// resolving interval when p names none). While the last answers look like a finished
// switch the probe samples faster, at Interval: the slowest at which a look's answers
// fit in ConfirmSpanShare of a stable window, but no faster than MinConfirmInterval.
// A look is made every Every answers, a quarter window's at Interval; the error
// rate is spent evenly over the looks the horizon can hold at Interval (no probe can
// get more answers in it).
func (p Params) Look() Look {
	key := lookKey{p.StableShare, p.StableWindow, p.ConfigInterval, p.Horizon, p.MinWindowSamples}
	if l, ok := lookCache.Load(key); ok {
		return l.(Look)
	}
	l := p.look()
	lookCache.Store(key, l)
	return l
}

// lookKey is what Look depends on: finding the confirming interval costs a few
// statistics, and a simulation makes thousands of Stabilities.
type lookKey struct {
	share         int
	window, every time.Duration
	horizon       time.Duration
	minSamples    int
}

var lookCache sync.Map

func (p Params) look() Look {
	w := max(p.StableWindow, time.Millisecond)
	base := p.ConfigInterval
	if base <= 0 {
		base = ResolvingInterval(w, p.StableShare, 0, w)
	}
	target := time.Duration(float64(w) * ConfirmSpanShare)
	f := base
	l := p.lookAt(base, f)
	for l.Span > target && f > MinConfirmInterval {
		f = max((f * 9 / 10).Truncate(100*time.Microsecond), MinConfirmInterval)
		l = p.lookAt(base, f)
	}
	return l
}

// lookAt is the looks with a confirming interval f.
func (p Params) lookAt(base, f time.Duration) Look {
	h := p.Horizon
	if h <= 0 {
		h = DefaultHorizon
	}
	w := max(p.StableWindow, time.Millisecond)
	l := Look{Base: base, Interval: f, Every: max(1, int(w/4/f))}
	l.Looks = max(1, int(math.Ceil(float64(h)/float64(time.Duration(l.Every)*f))))
	l.Alpha = (1 - confidence.Confidence) / float64(l.Looks)
	l.Needed = confidence.SamplesNeededAt(p.StableShare, l.Alpha)
	// At least a stable window's answers at the base interval: a share below 100%
	// then passes with its few others.
	l.Count = max(int(math.Ceil(1.1*float64(l.Needed))), int(w/base), p.MinWindowSamples, 1)
	l.Span = time.Duration(float64(l.Count) * float64(f)).Round(10 * time.Millisecond)
	l.Step = time.Duration(float64(l.Every) * float64(f)).Round(10 * time.Millisecond)
	return l
}

func (s *Stability) maxOther(n int) int {
	k, ok := s.allowed[n]
	if !ok {
		k = maxOtherAt(n, s.p.StableShare, 1-confidence.Confidence)
		s.allowed[n] = k
	}
	return k
}

// StableAt is the answer time of index i (from Check).
func (s *Stability) StableAt(i int) time.Time { return s.at[i] }

// Budget is the error budget: visitors may spend Percent of the last Window seeing
// errors, time-weighted: each answer's outcome holds until the next answer arrives
// (or until now), and a request still unanswered after GiveUp (the probe's request
// timeout: a visitor has given up) is an error from then on. It is judged when an
// answer arrives and, as time passes, whenever Check is called: an origin that stops
// answering cannot hold it off. Not safe for concurrent use.
type Budget struct {
	Window  time.Duration
	Percent int
	GiveUp  time.Duration
	at      []time.Time
	err     []bool
}

// Add records an answer (in arrival order) and reports whether the budget is spent,
// with the error time in the window ending at its arrival.
func (b *Budget) Add(s drill.Sample) (spent bool, errTime time.Duration) {
	if s.Unanswered {
		return false, 0
	}
	b.at = append(b.at, s.At)
	b.err = append(b.err, s.IsError())
	return b.Check(s.At, time.Time{})
}

// Check reports whether the budget is spent at now, with the error time in the window
// ending now; oldestPending is the send time of the oldest request still unanswered
// (zero: none).
func (b *Budget) Check(now, oldestPending time.Time) (spent bool, errTime time.Duration) {
	from := now.Add(-b.Window)
	// From gaveUp on, a pending request is an error whatever the answers say.
	gaveUp := now
	if !oldestPending.IsZero() && b.GiveUp > 0 {
		if g := oldestPending.Add(b.GiveUp); g.Before(now) {
			gaveUp = maxTime(g, from)
		}
	}
	hi := now
	for k := len(b.at) - 1; k >= 0; k-- {
		lo, h := maxTime(b.at[k], from), minTime(hi, gaveUp)
		if b.err[k] && h.After(lo) {
			errTime += h.Sub(lo)
		}
		if !b.at[k].After(from) {
			break
		}
		hi = b.at[k]
	}
	errTime += now.Sub(gaveUp)
	limit := time.Duration(float64(b.Window) * float64(b.Percent) / 100)
	return b.Percent > 0 && errTime >= limit, errTime
}

// ResolvingInterval is how often the probe samples config.json during a switch: often
// enough that one stable window holds 1.25 times WindowSamplesNeeded (a margin for
// jitter and skipped ticks), but no more often than floor, and no less often than
// ceiling (the configured probe interval).
func ResolvingInterval(window time.Duration, share int, floor, ceiling time.Duration) time.Duration {
	n := float64(confidence.WindowSamplesNeeded(share)) * 1.25
	d := time.Duration(float64(window) / n).Truncate(100 * time.Microsecond)
	return min(max(d, floor), max(ceiling, floor))
}
