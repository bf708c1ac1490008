package probe

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// recorder accumulates what the probe saw, in bounded memory apart from latencies.
type recorder struct {
	log *slog.Logger

	ticks, samples, errors, hits int
	latencies                    []float64 // of samples that got a response
	prev                         map[string]drill.Sample
	lastRegion                   string // last region config.json named
	last                         *drill.Sample
	longest                      int // longest streak of ticks served by the wanted region

	// Transitions: the first half of MaxTransitions, then a ring of the latest ones, so
	// both the start and the final switch survive however long the probe ran.
	head    []drill.Sample
	tail    []drill.Sample
	next    int // ring position of the oldest tail entry once full
	dropped int

	regions  map[string]int         // config.json region per tick ("none" when absent)
	statuses map[string]map[int]int // per path, per status (0: transport error)
}

func newRecorder(log *slog.Logger) *recorder {
	return &recorder{
		log:      log,
		prev:     map[string]drill.Sample{},
		regions:  map[string]int{},
		statuses: map[string]map[int]int{},
	}
}

func (r *recorder) tick(cfgS, idxS drill.Sample) {
	r.ticks++
	region := cfgS.Region
	if region == "" {
		region = "none"
	}
	r.regions[region]++
	r.add(cfgS)
	r.add(idxS)
}

// add records one sample: errors, cache hits, latency, and whether it is a transition
// (first of its path, region or status changed from the previous sample of its path,
// or an error).
func (r *recorder) add(s drill.Sample) {
	r.samples++
	isErr := !ok2xx(s)
	if isErr {
		r.errors++
	}
	if cacheHit(s) {
		r.hits++
	}
	if s.Error == "" {
		r.latencies = append(r.latencies, s.LatencyMs)
	}
	if r.statuses[s.Path] == nil {
		r.statuses[s.Path] = map[int]int{}
	}
	r.statuses[s.Path][s.Status]++
	p, seen := r.prev[s.Path]
	changed := !seen || p.Status != s.Status || p.Region != s.Region || (p.Error == "") != (s.Error == "")
	if changed || isErr {
		r.keep(s)
	}
	if changed && seen {
		r.log.Info("transition", "path", s.Path, "status", s.Status, "region", s.Region, "error", s.Error,
			"fromStatus", p.Status, "fromRegion", p.Region, "at", s.At)
	}
	r.prev[s.Path] = s
	if s.Path == PathConfig {
		if s.Region != "" {
			r.lastRegion = s.Region
		}
		c := s
		r.last = &c
	}
}

func (r *recorder) keep(s drill.Sample) {
	headCap := drill.MaxTransitions / 2
	tailCap := drill.MaxTransitions - headCap
	switch {
	case len(r.head) < headCap:
		r.head = append(r.head, s)
	case len(r.tail) < tailCap:
		r.tail = append(r.tail, s)
	default:
		r.tail[r.next] = s
		r.next = (r.next + 1) % tailCap
		r.dropped++
	}
}

// transitions in chronological order, at most drill.MaxTransitions.
func (r *recorder) transitions() []drill.Sample {
	out := make([]drill.Sample, 0, len(r.head)+len(r.tail))
	out = append(out, r.head...)
	out = append(out, r.tail[r.next:]...)
	return append(out, r.tail[:r.next]...)
}

func (r *recorder) result(mode string, start time.Time) drill.ProbeResult {
	return drill.ProbeResult{
		Timing:            drill.Timing{StartedAt: start},
		Mode:              mode,
		Samples:           r.samples,
		UserVisibleErrors: r.errors,
		CacheHits:         r.hits,
		ServedRegion:      r.lastRegion,
		Transitions:       r.transitions(),
		LatencyP50Ms:      percentile(r.latencies, 50),
		LatencyP95Ms:      percentile(r.latencies, 95),
	}
}

// summary says what the probe saw, for a timeout error's message.
func (r *recorder) summary(p plan, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "no %d consecutive ticks served by %s within %s (%d ticks every %s, longest streak %d)",
		p.need, p.want, elapsed.Round(time.Millisecond), r.ticks, p.interval, r.longest)
	fmt.Fprintf(&b, "; config.json regions: %s", counts(r.regions))
	for _, path := range []string{PathConfig, PathIndex} {
		if st := r.statuses[path]; st != nil {
			m := map[string]int{}
			for code, n := range st {
				k := fmt.Sprint(code)
				if code == 0 {
					k = "transport-error"
				}
				m[k] = n
			}
			fmt.Fprintf(&b, "; %s statuses: %s", path, counts(m))
		}
	}
	fmt.Fprintf(&b, "; %d user-visible errors", r.errors)
	if r.hits > 0 {
		fmt.Fprintf(&b, "; %d cache hits (config.json served from the CloudFront cache proves nothing: the distribution must not cache it)", r.hits)
	}
	if r.last != nil {
		fmt.Fprintf(&b, "; last config.json: status %d region %q", r.last.Status, r.last.Region)
		if r.last.Error != "" {
			fmt.Fprintf(&b, " error %q", r.last.Error)
		}
		if r.last.Cache != "" {
			fmt.Fprintf(&b, " x-cache %q", r.last.Cache)
		}
	}
	return b.String()
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// percentile by nearest rank; 0 for no values.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
