package probe

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// summary says what the probe saw, for a timeout's or the error budget's message. It
// leads with what visitors saw and stays short (a few hundred bytes) whatever the
// number of samples: it travels in Step Functions' error cause.
func summary(p plan, ph drill.Phases, elapsed time.Duration) string {
	var b strings.Builder
	v := ph.Visitors
	if p.mode == drill.ModeSteady {
		fmt.Fprintf(&b, "no %d consecutive good config.json answers from %s within %s", p.need, p.want, elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "%s never served stably (%d%% of config.json answers in every %ds window) within %s",
			p.want, ph.StableSharePercent, ph.StableWindowSeconds, elapsed.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "; visitors: %d errors in %d answers (%s), %d unanswered, error rate %.1f%%", v.Errors, v.Samples, outcomes(v.Outcomes), v.Unanswered, v.ErrorRatePercent)
	if r := v.LongestErrorRun; r != nil {
		fmt.Fprintf(&b, ", longest error run %.1fs", r.Seconds)
	}
	fmt.Fprintf(&b, ", %d slow, latency p50 %.0f ms p95 %.0f ms max %.0f ms", v.Slow, v.Latency.P50Ms, v.Latency.P95Ms, v.Latency.MaxMs)
	if v.Latency.Censored > 0 {
		b.WriteString(" (at least: unanswered requests count at what they had waited)")
	}
	if w := ph.LastWindow; w != nil {
		fmt.Fprintf(&b, "; last %ds: %d config.json answers, %.0f%% from %s", ph.StableWindowSeconds, w.Samples, w.NewPercent, p.want)
		if p.old != "" {
			fmt.Fprintf(&b, ", %.0f%% from %s", w.OldPercent, p.old)
		}
		fmt.Fprintf(&b, ", %.0f%% errors", w.ErrorPercent)
		if w.CacheHitPercent > 0 {
			fmt.Fprintf(&b, ", %.0f%% cache hits (a cached config.json proves nothing: the distribution must not cache it)", w.CacheHitPercent)
		}
	}
	if ph.FirstNew == nil {
		fmt.Fprintf(&b, "; %s never answered", p.want)
	}
	if ph.Skipped > 0 {
		fmt.Fprintf(&b, "; %d ticks skipped (the probe fell behind, or %d requests were in flight)", ph.Skipped, MaxInFlight)
	}
	if st := ph.Starved; st != nil && st.Gaps > 0 {
		fmt.Fprintf(&b, "; starved: %d config.json sends late by %.3f s in all (longest %.3f s), bounds widened by it", st.Gaps, st.Seconds, st.LongestSeconds)
	}
	return b.String()
}

func outcomes(m map[string]int) string {
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
