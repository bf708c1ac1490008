package measure

import (
	"math"
	"slices"
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
// watches: the probe looks at fixed times, every Look.Step from Since, at most Look.Looks
// times within the Horizon (the longest watch), and spends the 5% error rate evenly
// across them (Bonferroni): a look passes when the last Look.Count answers
// that arrived before it show, with confidence 1 - 5%/Look.Looks, that the new origin served at
// least StableShare percent (and at least MinWindowSamples). So whatever the old
// share does, while it stays above the allowed share the chance that any look
// passes is at most 5% over the whole watch. A single window tested again and again
// is not: by 120 s of a 1.5x share, 37% of watches had one window pass. The Count is
// larger than a window's by what the smaller error rate needs. The
// stable time is confirmed once a look whose span starts at or after it passes and
// every request sent before it has been answered (a request still in flight may yet
// be answered by the old origin).
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
	s.evaluateLooks(now)
	if s.cand < 0 || (!s.p.Provisional && (s.lastPass.IsZero() || s.lastPass.Before(s.at[s.cand]))) {
		return 0, false
	}
	if !oldestInFlight.IsZero() && oldestInFlight.Before(s.at[s.cand]) {
		return 0, false
	}
	return s.cand, true
}

// evaluateLooks evaluates every look due by now.
func (s *Stability) evaluateLooks(now time.Time) {
	if len(s.at) == 0 {
		return
	}
	origin := s.p.Since
	if origin.IsZero() {
		origin = s.at[0]
	}
	for {
		t := origin.Add(time.Duration(s.looked+1) * s.look.Step)
		if t.After(now) {
			return
		}
		s.looked++
		// The look's answers are the last Count before it: a count, not a stretch of
		// time, so a starved probe's look is later but still whole.
		hi, _ := slices.BinarySearchFunc(s.at, t, func(a, b time.Time) int { return a.Compare(b) })
		lo := hi - s.look.Count
		if lo < 0 {
			continue
		}
		if n, g := s.look.Count, s.prefix[hi]-s.prefix[lo]; n-g <= s.lookMaxOther(n) {
			s.lastPass = s.at[lo]
		}
	}
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
	Step   time.Duration // between looks
	Looks  int           // within the horizon
	Alpha  float64       // the error rate of one look: 5% / Looks
	Needed int           // answers a look needs to show the share
	Count  int           // answers a look takes: 1.1 × Needed (a margin for a straggler), at least a window's
	Span   time.Duration // how long Count answers take at the config.json interval
}

// DefaultHorizon is the longest watch when Params names none: a probe Lambda runs at
// most 15 minutes, and failoverTimeoutSeconds is at most 840.
const DefaultHorizon = 840 * time.Second

// Look is the looks p's decision makes: every half stable window, over the Horizon.
// Each takes the last 1.1 times the answers it needs, or a stable window's answers
// if more; Span is how long they take at
// the config.json interval (the resolving interval when p names none).
func (p Params) Look() Look {
	h := p.Horizon
	if h <= 0 {
		h = DefaultHorizon
	}
	w := max(p.StableWindow, time.Millisecond)
	l := Look{Step: w / 2}
	l.Looks = max(1, int((h+l.Step-1)/l.Step))
	l.Alpha = (1 - confidence.Confidence) / float64(l.Looks)
	l.Needed = confidence.SamplesNeededAt(p.StableShare, l.Alpha)
	every := p.ConfigInterval
	if every <= 0 {
		every = ResolvingInterval(w, p.StableShare, 0, w)
	}
	// At least a stable window's answers: a share below 100% then passes with its
	// few others.
	l.Count = max(int(math.Ceil(1.1*float64(l.Needed))), int(w/every), p.MinWindowSamples, 1)
	l.Span = time.Duration(float64(l.Count) * float64(every)).Round(10 * time.Millisecond)
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
