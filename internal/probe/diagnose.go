package probe

import (
	"fmt"

	"github.com/unishop/failover-drill/internal/drill"
)

// diagnose explains, from what the probe saw, why the wanted region never served: the
// first thing a person needs after a timeout, before the figures.
func (r *recorder) diagnose(p plan) string {
	cfg := r.statuses[PathConfig]
	count := func(codes ...int) int {
		n := 0
		for _, c := range codes {
			n += cfg[c]
		}
		return n
	}
	wantSeen := r.regions[p.want] > 0
	switch {
	case r.ticks == 0:
		return "the probe made no request"
	case p.mode == drill.ModeFailover && r.hits > 0 && !wantSeen:
		return "visitors got config.json from the CloudFront cache (X-Cache Hit) naming the primary: the cache key of the behaviour serving /config.json ignores the query string, so visitors keep the primary's copy (use the CachingDisabled policy)"
	case p.mode == drill.ModeFailover && count(403) > 0 && !wantSeen:
		return "visitors got the primary's 403 from CloudFront and never the secondary: the origin group does not fail over on 403 (add 403 to its failover criteria), or the secondary is refused too (account-level Block Public Access)"
	case p.mode == drill.ModeFailover && count(502, 504, 0) > 0 && !wantSeen:
		return "CloudFront got no answer it could serve from either origin (502/504 or no response): the secondary origin is down or slower than the origin timeouts"
	case p.mode == drill.ModeFailover && !wantSeen && r.lastRegion != "":
		return fmt.Sprintf("the distribution kept serving %s: the block had not taken effect on the website when the probe gave up (Block Public Access propagation), or the site does not depend on this bucket's public access", r.lastRegion)
	case p.mode == drill.ModeRecovery && count(403) > 0 && !wantSeen:
		return "visitors still got 403 after the restore: the primary bucket's website still refuses anonymous reads (account-level Block Public Access, or the restore had not propagated)"
	case p.mode == drill.ModeRecovery && !wantSeen && r.lastRegion != "":
		return fmt.Sprintf("the distribution kept serving %s after the restore: the primary still answers a failover status, or CloudFront serves a cached copy", r.lastRegion)
	case wantSeen:
		return fmt.Sprintf("%s served at times but never %d ticks in a row: the site flapped between origins or failed intermittently", p.want, p.need)
	}
	return "no sample named a region"
}
