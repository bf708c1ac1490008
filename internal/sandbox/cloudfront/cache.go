package cloudfront

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Managed cache policies of CloudFront, by the IDs its documentation lists.
var (
	// CachingDisabled: TTL 0, nothing cached (the lab's policy, and the default here).
	CachingDisabled = CachePolicy{ID: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", Name: "Managed-CachingDisabled"}
	// CachingOptimized: the cache key has no query string; default TTL one day.
	CachingOptimized = CachePolicy{ID: "658327ea-f89d-4fab-a63d-7e88639e58f6", Name: "Managed-CachingOptimized",
		MinTTL: time.Second, DefaultTTL: 24 * time.Hour, MaxTTL: 365 * 24 * time.Hour}
)

// CachePolicy is what the edge needs of a cache policy: its TTL and whether the query
// string is part of the cache key (CloudFront serves one cached object for every
// query string when it is not).
type CachePolicy struct {
	ID, Name               string
	MinTTL, DefaultTTL     time.Duration
	MaxTTL                 time.Duration
	QueryStringsInCacheKey bool
}

// Behavior is a cache behaviour for a path pattern; its target is the origin group.
type Behavior struct {
	PathPattern string // as CloudFront writes it: "/config.json", "images/*.jpg"
	Policy      CachePolicy
}

// PathMatches applies CloudFront's path pattern rules: case-sensitive, * matches any
// run of characters (slashes included), ? exactly one, the leading / optional.
func PathMatches(pattern, path string) bool {
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
			p, s = p[1:], s[1:]
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// policyFor is the cache policy of the behaviour serving path: the first whose
// pattern matches, else the default behaviour's (CachingDisabled).
func policyFor(behaviors []Behavior, path string) CachePolicy {
	for _, b := range behaviors {
		if PathMatches(b.PathPattern, path) {
			return b.Policy
		}
	}
	return CachingDisabled
}

// cached is a stored response.
type cached struct {
	status  int
	header  http.Header
	body    []byte
	origin  string
	stored  time.Time
	expires time.Time
}

// cache holds the edge's stored 200 responses of GET requests. One cache: the
// stand-in is a single edge location.
type cache struct {
	mu      sync.Mutex
	entries map[string]cached
}

func (c *cache) key(p CachePolicy, r *http.Request) string {
	k := r.URL.Path
	if p.QueryStringsInCacheKey {
		k += "?" + r.URL.RawQuery
	}
	return k
}

func (c *cache) get(key string, now time.Time) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return cached{}, false
	}
	return e, true
}

func (c *cache) put(key string, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cached{}
	}
	c.entries[key] = e
}

// ttl is how long CloudFront keeps an object under p: the origin's max-age within
// [MinTTL, MaxTTL], else DefaultTTL (S3 website objects carry no Cache-Control unless
// their metadata sets one).
func ttl(p CachePolicy, h http.Header) time.Duration {
	d := p.DefaultTTL
	for _, part := range strings.Split(h.Get("Cache-Control"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				d = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(d, p.MinTTL), max(p.MaxTTL, p.MinTTL))
}

// cacheable: only 200 answers to GET and HEAD are stored here (CloudFront also caches
// some error answers for their error-caching TTL, which this stand-in does not model).
func cacheable(method string, status int) bool {
	return (method == http.MethodGet || method == http.MethodHead) && status == http.StatusOK
}

func cloneHeader(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		out[k] = slices.Clone(v)
	}
	return out
}
