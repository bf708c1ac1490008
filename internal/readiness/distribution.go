package readiness

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/shop"
)

// DistributionAPI is the CloudFront call the distribution check makes.
type DistributionAPI interface {
	GetDistributionConfig(ctx context.Context, params *cloudfront.GetDistributionConfigInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
}

var _ DistributionAPI = (*cloudfront.Client)(nil)

// StatusBlocked is what a website endpoint answers once Block Public Access applies.
const StatusBlocked = 403

// The paths a visitor loads; the behaviour serving each must fail over.
var checkedPaths = []string{"/", "/config.json"}

// Managed cache policies whose behaviour is documented, by ID.
var managedPolicies = map[string]struct {
	name  string
	stale bool // can serve a stale config.json: query string not in the key and a TTL
}{
	"4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {"Managed-CachingDisabled", false},
	"658327ea-f89d-4fab-a63d-7e88639e58f6": {"Managed-CachingOptimized", true},
	"b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {"Managed-CachingOptimizedForUncompressedObjects", true},
}

// distribution is what the distribution check found, for the secondary-origin check.
type distribution struct {
	secondary *types.Origin
	origin    *drill.OriginSettings
}

// distribution reads the deployed distribution's configuration and checks that the
// paths a visitor loads fail over on 403 to the secondary region, and that no cache
// can serve a stale config.json.
func (h *Handler) distribution(ctx context.Context, cfg drill.Config) (drill.Check, distribution, error) {
	const name = drill.CheckDistribution
	var found distribution
	if cfg.DistributionID == "" {
		host := strings.TrimPrefix(strings.TrimPrefix(cfg.DistributionURL(), "https://"), "http://")
		if !strings.HasSuffix(host, ".cloudfront.net") {
			return skip(name, fmt.Sprintf("%s is not a *.cloudfront.net domain and no distributionId is configured, so its configuration cannot be read", host),
				"deploy with -c distributionId=<the distribution's ID> (CloudFront console) or pass distributionId in the input"), found, nil
		}
		return skip(name, "no distributionId is configured, so the configuration of "+host+" cannot be read",
			"deploy with -c distributionId=<ID of "+host+">: the CloudFront console lists it beside the domain name"), found, nil
	}
	out, err := h.CloudFront.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(cfg.DistributionID)})
	switch {
	case err == nil:
	case pab.HasCode(err, "AccessDenied", "AccessDeniedException"):
		return skip(name, fmt.Sprintf("no permission to read distribution %s: %v", cfg.DistributionID, err),
			"the readiness role may read only the deployed distribution (context distributionId); deploy with the ID you want checked"), found, nil
	case pab.HasCode(err, "NoSuchDistribution"):
		return fail(name, fmt.Sprintf("distribution %s does not exist", cfg.DistributionID),
			"set distributionId to the ID of "+cfg.DistributionURL()+" (CloudFront console)"), found, nil
	default:
		return drill.Check{}, found, pab.Wrap(err, "get distribution config %s", cfg.DistributionID)
	}
	dc := out.DistributionConfig
	ev := []string{fmt.Sprintf("read distribution %s (ETag %s)", cfg.DistributionID, aws.ToString(out.ETag))}
	origins := map[string]types.Origin{}
	if dc.Origins != nil {
		for _, o := range dc.Origins.Items {
			origins[aws.ToString(o.Id)] = o
		}
	}
	groups := map[string]types.OriginGroup{}
	if dc.OriginGroups != nil {
		for _, g := range dc.OriginGroups.Items {
			groups[aws.ToString(g.Id)] = g
		}
	}
	var problems, actions []string
	seenGroup := map[string]bool{}
	for _, path := range checkedPaths {
		b := behaviorFor(dc, path)
		ev = append(ev, fmt.Sprintf("%s is served by the %s behaviour targeting %s", path, b.label, b.target))
		g, ok := groups[b.target]
		if !ok {
			problems = append(problems, fmt.Sprintf("the behaviour serving %s targets origin %s, not an origin group: there is no secondary to fail over to", path, b.target))
			actions = append(actions, "make the behaviour's origin an origin group of the two website endpoints, primary first")
		} else if !seenGroup[b.target] {
			seenGroup[b.target] = true
			p, a, e, prim, sec := checkGroup(cfg, g, origins)
			problems, actions, ev = append(problems, p...), append(actions, a...), append(ev, e...)
			if sec != nil {
				found.secondary = sec
			}
			if prim != nil {
				found.origin = timeoutsOf(*prim)
			}
		}
		stale, why := staleCache(b)
		if _, managed := managedPolicies[b.policyID]; b.policyID != "" && !managed {
			hit, xcache, err := h.cachedAgain(ctx, cfg.DistributionURL(), path)
			if err != nil {
				return drill.Check{}, found, &drill.Transient{Msg: fmt.Sprintf("request %s twice to judge custom cache policy %s: %v", path, b.policyID, err)}
			}
			stale = hit
			why = fmt.Sprintf("custom cache policy %s: a second request with a new query string got X-Cache %q", b.policyID, xcache)
			if hit {
				why += ", so the cache key ignores the query string and visitors keep the cached copy"
			}
		}
		if stale {
			problems = append(problems, fmt.Sprintf("the behaviour serving %s can serve a stale copy: %s", path, why))
			actions = append(actions, "use the managed CachingDisabled policy (as the lab does) or include the query string in the cache key, for "+path)
		} else {
			ev = append(ev, path+": "+why)
		}
	}
	if len(problems) > 0 {
		return fail(name, strings.Join(problems, "; "), strings.Join(dedupe(actions), "; "), ev...), found, nil
	}
	return pass(name, ev...), found, nil
}

// behavior is the cache behaviour serving a path.
type behavior struct {
	label, target, policyID string
	legacy                  *types.ForwardedValues
	minTTL, defTTL, maxTTL  int64
}

func behaviorFor(dc *types.DistributionConfig, path string) behavior {
	if dc.CacheBehaviors != nil {
		for _, cb := range dc.CacheBehaviors.Items {
			if pathMatches(aws.ToString(cb.PathPattern), path) {
				b := behavior{label: "path " + aws.ToString(cb.PathPattern), target: aws.ToString(cb.TargetOriginId), policyID: aws.ToString(cb.CachePolicyId)}
				//lint:ignore SA1019 legacy cache settings are deprecated for new distributions, but a distribution still using them is cached by them
				b.legacy, b.minTTL, b.defTTL, b.maxTTL = cb.ForwardedValues, aws.ToInt64(cb.MinTTL), aws.ToInt64(cb.DefaultTTL), aws.ToInt64(cb.MaxTTL)
				return b
			}
		}
	}
	d := dc.DefaultCacheBehavior
	if d == nil {
		return behavior{label: "missing default"}
	}
	b := behavior{label: "default", target: aws.ToString(d.TargetOriginId), policyID: aws.ToString(d.CachePolicyId)}
	//lint:ignore SA1019 legacy cache settings are deprecated for new distributions, but a distribution still using them is cached by them
	b.legacy, b.minTTL, b.defTTL, b.maxTTL = d.ForwardedValues, aws.ToInt64(d.MinTTL), aws.ToInt64(d.DefaultTTL), aws.ToInt64(d.MaxTTL)
	return b
}

// checkGroup checks an origin group: 403 in its failover criteria, the primary bucket's
// website endpoint in primaryRegion first, a website endpoint in secondaryRegion second.
func checkGroup(cfg drill.Config, g types.OriginGroup, origins map[string]types.Origin) (problems, actions, ev []string, primary, secondary *types.Origin) {
	id := aws.ToString(g.Id)
	var codes []int32
	if g.FailoverCriteria != nil && g.FailoverCriteria.StatusCodes != nil {
		codes = slices.Clone(g.FailoverCriteria.StatusCodes.Items)
	}
	slices.Sort(codes)
	ev = append(ev, fmt.Sprintf("origin group %s fails over on %v", id, codes))
	if !slices.Contains(codes, StatusBlocked) {
		problems = append(problems, fmt.Sprintf("origin group %s fails over on %v only, not on 403: a bucket under Block Public Access answers 403, so visitors would get the primary's 403 instead of the secondary", id, codes))
		actions = append(actions, fmt.Sprintf("add 403 to the failover criteria of origin group %s (CloudFront console: Origins, origin group, Failover criteria)", id))
	}
	var members []string
	if g.Members != nil {
		for _, m := range g.Members.Items {
			members = append(members, aws.ToString(m.OriginId))
		}
	}
	if len(members) != 2 {
		problems = append(problems, fmt.Sprintf("origin group %s has %d members, want the primary and the secondary website", id, len(members)))
		return problems, actions, ev, nil, nil
	}
	p, pok := origins[members[0]]
	s, sok := origins[members[1]]
	if !pok || !sok {
		problems = append(problems, fmt.Sprintf("origin group %s names origins %v that the distribution does not define", id, members))
		return problems, actions, ev, nil, nil
	}
	pd, sd := strings.ToLower(aws.ToString(p.DomainName)), strings.ToLower(aws.ToString(s.DomainName))
	ev = append(ev, fmt.Sprintf("members: primary %s (%s), secondary %s (%s)", members[0], pd, members[1], sd))
	if want := websiteHosts(cfg.PrimaryBucket, cfg.PrimaryRegion); !slices.Contains(want, pd) {
		problems = append(problems, fmt.Sprintf("the group's primary member is %s, not the primary bucket's website endpoint %s", pd, want[0]))
		actions = append(actions, "make the primary bucket's website endpoint the group's first member, or correct primaryBucket/primaryRegion")
	}
	if bucket, region, ok := websiteBucket(sd); !ok || region != cfg.SecondaryRegion {
		problems = append(problems, fmt.Sprintf("the group's secondary member is %s, not an S3 website endpoint in %s (bucket %q, region %q)", sd, cfg.SecondaryRegion, bucket, region))
		actions = append(actions, "make the secondary region's website endpoint the group's second member, or correct secondaryRegion")
	}
	return problems, actions, ev, &p, &s
}

// websiteHosts are the two spellings of a bucket's website endpoint (dash and dot).
func websiteHosts(bucket, region string) []string {
	return []string{bucket + ".s3-website-" + region + ".amazonaws.com", bucket + ".s3-website." + region + ".amazonaws.com"}
}

// websiteBucket splits <bucket>.s3-website[-.]<region>.amazonaws.com.
func websiteBucket(host string) (bucket, region string, ok bool) {
	host = strings.TrimSuffix(host, ".amazonaws.com")
	for _, sep := range []string{".s3-website-", ".s3-website."} {
		if i := strings.LastIndex(host, sep); i > 0 {
			return host[:i], host[i+len(sep):], true
		}
	}
	return "", "", false
}

// staleCache says whether the behaviour can serve a cached object to a cache-busted
// request (the query string is not in the cache key and the TTL is not 0), and why.
func staleCache(b behavior) (bool, string) {
	if b.policyID != "" {
		if m, ok := managedPolicies[b.policyID]; ok {
			if m.stale {
				return true, fmt.Sprintf("cache policy %s leaves the query string out of the cache key and caches for up to a day, so visitors keep the primary's config.json after failover", m.name)
			}
			return false, "cache policy " + m.name
		}
		return false, "custom cache policy " + b.policyID
	}
	if b.legacy != nil {
		if aws.ToBool(b.legacy.QueryString) {
			return false, "legacy cache settings forward the query string, so a cache-busted request reaches the origin"
		}
		if b.minTTL == 0 && b.defTTL == 0 && b.maxTTL == 0 {
			return false, "legacy cache settings with TTL 0"
		}
		return true, fmt.Sprintf("legacy cache settings ignore the query string and cache for %d..%d s (default %d)", b.minTTL, b.maxTTL, b.defTTL)
	}
	return false, "no cache policy named"
}

// timeoutsOf is how long CloudFront tries the origin before failing over.
func timeoutsOf(o types.Origin) *drill.OriginSettings {
	t := drill.CloudFrontOriginDefaults
	t.Source = "distribution"
	if o.ConnectionAttempts != nil {
		t.ConnectionAttempts = int(*o.ConnectionAttempts)
	}
	if o.ConnectionTimeout != nil {
		t.ConnectionTimeoutSeconds = int(*o.ConnectionTimeout)
	}
	if o.CustomOriginConfig != nil && o.CustomOriginConfig.OriginReadTimeout != nil {
		t.ResponseTimeoutSeconds = int(*o.CustomOriginConfig.OriginReadTimeout)
	}
	return &t
}

// pathMatches applies CloudFront's path patterns: case-sensitive, * any run of
// characters, ? one character, leading / optional.
func pathMatches(pattern, path string) bool {
	return glob("/"+strings.TrimPrefix(pattern, "/"), path)
}

func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}

// cachedAgain requests path through the distribution twice, each time with its own
// cache-busting query: a cache hit on the second proves the cache key ignores it.
func (h *Handler) cachedAgain(ctx context.Context, base, path string) (bool, string, error) {
	var last string
	for i := range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?drill-readiness="+shop.Nonce(), nil)
		if err != nil {
			return false, "", err
		}
		resp, err := h.HTTP.Do(req)
		if err != nil {
			return false, "", err
		}
		resp.Body.Close()
		last = resp.Header.Get("X-Cache")
		if i == 1 && strings.Contains(strings.ToLower(last), "hit") {
			return true, last, nil
		}
	}
	return false, last, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
