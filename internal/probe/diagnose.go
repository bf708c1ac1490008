package probe

import (
	"fmt"

	"github.com/unishop/failover-drill/internal/drill"
)

// diagnose explains, from what visitors saw, why the wanted region never served
// stably: the first thing a person needs after a timeout, before the figures.
func diagnose(p plan, ph drill.Phases) string {
	v := ph.Visitors
	n := func(outcomes ...string) int {
		total := 0
		for _, o := range outcomes {
			total += v.Outcomes[o]
		}
		return total
	}
	seenNew := ph.FirstNew != nil
	switch {
	case v.Samples == 0:
		return "no request was answered"
	case p.mode == drill.ModeFailover && !seenNew && v.CacheHits > 0:
		return "visitors got config.json from the CloudFront cache (X-Cache Hit) naming the primary: the cache key of the behaviour serving /config.json ignores the query string, so visitors keep the primary's copy (use the CachingDisabled policy)"
	case p.mode == drill.ModeFailover && !seenNew && n("403") > 0:
		return "visitors got the primary's 403 from CloudFront and never the secondary: the origin group does not fail over on 403 (add 403 to its failover criteria), or the secondary is refused too (account-level Block Public Access)"
	case p.mode == drill.ModeFailover && !seenNew && n("502", "504", "timeout", "transport") > 0:
		return "CloudFront got no answer it could serve from either origin (502/504 or no response): the secondary origin is down or slower than the origin timeouts"
	case p.mode == drill.ModeFailover && !seenNew && ph.LastOld != nil:
		return fmt.Sprintf("the distribution kept serving %s: the block had not taken effect on the website when the probe gave up (Block Public Access propagation), or the site does not depend on this bucket's public access", p.old)
	case p.mode == drill.ModeRecovery && !seenNew && n("403") > 0:
		return "visitors still got 403 after the restore: the primary bucket's website still refuses anonymous reads (account-level Block Public Access, or the restore had not propagated)"
	case p.mode == drill.ModeRecovery && !seenNew && ph.LastOld != nil:
		return fmt.Sprintf("the distribution kept serving %s after the restore: the primary still answers a failover status, or CloudFront serves a cached copy", p.old)
	case seenNew:
		return fmt.Sprintf("%s answered, but never stably: the site flapped between origins or failed intermittently", p.want)
	}
	return "no answer named a region"
}
