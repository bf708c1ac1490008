// Package cloudfront is the sandbox's stand-in for an Amazon CloudFront distribution's
// edge: one cache behaviour whose target is an origin group of two custom origins,
// primary first.
//
// It models:
//
//   - origin-group failover as CloudFront documents it: for GET, HEAD and OPTIONS only,
//     the secondary is tried when the primary answers one of the group's failover status
//     codes (a subset of 400, 403, 404, 416, 500, 502, 503, 504), cannot be connected to
//     after ConnectAttempts × ConnectTimeout, or times out; other methods go to the
//     primary alone;
//
//   - the origin's attempts as CloudFront makes them for a custom origin: up to
//     ConnectAttempts attempts, each a connection (ConnectTimeout) and, once connected,
//     a wait for the response headers and then for the body (ResponseTimeout each); a
//     GET or HEAD whose response times out is tried again on a new connection ("resets
//     the response timeout and tries again"), so a primary that accepts connections and
//     never answers holds a request ConnectAttempts × ResponseTimeout (and the
//     connections) before the secondary is asked; other methods are not retried;
//     ResponseCompletionTimeout, when set, caps the wait for a complete response from
//     the first request written to the origin, across those retries;
//
//   - CloudFront's own 502 (no connection) and 504 (origin timeout) pages when no origin
//     answered, and its X-Cache, Via and X-Amz-Cf-* headers;
//
//   - no stickiness: every request tries the primary first;
//
//   - several edge servers that share no state (Fleet): each request reaches one at
//     random, each has its own connections to the origins, its own counters, log and
//     cache, and names itself in X-Amz-Cf-Pop;
//
//   - the network to the origins as the sandbox gives it (Options.Dial), so an origin
//     can be black-holed: a connection attempt that never completes;
//
//   - a log of every answered request with the origin that served it and each attempt:
//     evidence of what the edge did (the sandbox's truth about visitors comes from an
//     independent visitor, not from this log);
//
//   - caching per cache behaviour (Behavior, path patterns as CloudFront matches them):
//     the default behaviour is CachingDisabled; a behaviour whose policy has a TTL
//     stores 200 answers to GET/HEAD under a key with or without the query string, and
//     serves them ("Hit from cloudfront", Age) until they expire, also while the origin
//     is blocked, as CloudFront does;
//
//   - the control API's GetDistributionConfig and GetDistribution (Control), in
//     CloudFront's REST-XML with an ETag, describing this very distribution: its origin
//     group, failover codes, origin timeouts and cache behaviours; ListDistributions,
//     this distribution's summary in one page; with the sandbox's IAM, a caller whose
//     policy does not allow the action on the distribution (on *, for the list) is
//     denied.
//
// It does not model yet: caching of error answers, cache policies beyond TTL and the
// query string (headers, cookies), invalidations, keep-alive connections to origins,
// origin request policies, the slower origin keep-alive of a real distribution, and
// configuration changes taking minutes to deploy.
package cloudfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AllFailoverCodes are the statuses CloudFront offers as origin-group failover criteria.
var AllFailoverCodes = []int{400, 403, 404, 416, 500, 502, 503, 504}

// Origin names in records.
const (
	Primary   = "primary"
	Secondary = "secondary"
)

// Record is one request the edge answered.
type Record struct {
	At     time.Time // when the response was about to be written
	Method string
	Path   string // without the query string
	Origin string // "primary" | "secondary" | "" when the edge generated the answer
	Status int
	Pop    string // the edge server that answered
	// Tried is ["cache:hit"] for an answer from the cache (Origin is then the origin
	// that served the stored object), else each origin attempt as "<origin>:<status>" or "<origin>:unreachable"
	// (no connection after all attempts), "<origin>:timeout" (response timeout) or
	// "<origin>:error" (connection broken mid-response).
	Tried []string
}

// Options configure an edge.
type Options struct {
	// PrimaryURL and SecondaryURL are the origin group's members, "http://host:port".
	PrimaryURL, SecondaryURL string
	// ConnectAttempts (1..3) is how many attempts the edge makes at an origin: each a
	// connection bounded by ConnectTimeout and, for GET and HEAD, a wait for the
	// response bounded by ResponseTimeout (for the headers, and separately for the body).
	// ResponseCompletionTimeout, when positive, bounds the wait for a complete response
	// from the first request written to the origin, across every attempt.
	ConnectAttempts           int
	ConnectTimeout            time.Duration
	ResponseTimeout           time.Duration
	ResponseCompletionTimeout time.Duration
	// FailoverCodes are the origin statuses that make the edge try the secondary.
	FailoverCodes []int
	// Behaviors are the path-specific cache behaviours, in order; every path not
	// matched takes the default behaviour (CachingDisabled). All target the group.
	Behaviors []Behavior
	// Dial is the network to the origins; nil dials directly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Pop names this edge server in X-Amz-Cf-Pop; default LOCAL1-SANDBOX.
	Pop string
	// Logger receives a debug line per request; nil discards.
	Logger *slog.Logger
}

// Edge is the distribution's edge. Safe for concurrent use.
type Edge struct {
	opt       Options
	log       *slog.Logger
	transport *http.Transport

	cache cache

	mu      sync.Mutex
	records []Record
	dials   map[string]int // origin address -> connection attempts
}

// maxBody bounds a request or response body the edge buffers.
const maxBody = 16 << 20

// newID is a random id in the shape of X-Amz-Cf-Id.
func newID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}

// hopHeaders are not forwarded either way.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host"}

// NewEdge is an edge in front of opt's origin group.
func NewEdge(opt Options) *Edge {
	opt.FailoverCodes = slices.Clone(opt.FailoverCodes)
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Pop == "" {
		opt.Pop = "LOCAL1-SANDBOX"
	}
	e := &Edge{opt: opt, log: log, dials: map[string]int{}}
	e.transport = e.newOriginTransport()
	return e
}

// Log lists every request the edge answered, oldest first.
func (e *Edge) Log() []Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Record, len(e.records))
	for i, r := range e.records {
		r.Tried = slices.Clone(r.Tried)
		out[i] = r
	}
	return out
}

// Dials is how many connection attempts the edge has made to addr ("host:port").
func (e *Edge) Dials(addr string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dials[addr]
}

// Close drops idle origin connections.
func (e *Edge) Close() { e.transport.CloseIdleConnections() }

// connectError is an origin the edge could not connect to in one attempt.
type connectError struct {
	addr string
	err  error
}

func (e *connectError) Error() string {
	return fmt.Sprintf("origin %s: no connection: %v", e.addr, e.err)
}

func (e *connectError) Unwrap() error { return e.err }

// newOriginTransport is the edge's own transport: each dial is one connection attempt
// bounded by ConnectTimeout (fetchOrigin makes the attempts); no keep-alive, so every
// attempt connects afresh (an origin taken down is noticed at once). The response
// timeouts are fetchOrigin's, so that a completion timeout can shorten them.
func (e *Edge) newOriginTransport() *http.Transport {
	dial := e.opt.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			e.mu.Lock()
			e.dials[addr]++
			e.mu.Unlock()
			actx, cancel := context.WithTimeout(ctx, e.opt.ConnectTimeout)
			defer cancel()
			conn, err := dial(actx, network, addr)
			if err != nil {
				return nil, &connectError{addr: addr, err: err}
			}
			return conn, nil
		},
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
}

// ServeHTTP answers one viewer request through the origin group.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	policy := policyFor(e.opt.Behaviors, r.URL.Path)
	key := e.cache.key(policy, r)
	if policy.DefaultTTL > 0 || policy.MinTTL > 0 {
		if c, ok := e.cache.get(key, time.Now()); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			h := cloneHeader(c.header)
			h.Set("Age", strconv.Itoa(int(time.Since(c.stored).Seconds())))
			e.write(w, r, c.origin, c.status, h, c.body, []string{"cache:hit"})
			return
		}
	}
	failover := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	origins := []struct{ name, base string }{{Primary, e.opt.PrimaryURL}}
	var reqBody []byte
	if failover {
		origins = append(origins, struct{ name, base string }{Secondary, e.opt.SecondaryURL})
	}
	reqBody, _ = io.ReadAll(io.LimitReader(r.Body, maxBody))
	var tried []string
	var last originResult
	// Buffered: the secondary, and every attempt, are sent the same request.
	body := func() io.Reader {
		if len(reqBody) == 0 {
			return nil
		}
		return bytes.NewReader(reqBody)
	}
	for i, o := range origins {
		last = e.fetchOrigin(r, o.name, o.base, body, &tried)
		if last.status == 0 {
			continue
		}
		isLast := i == len(origins)-1
		if isLast || !slices.Contains(e.opt.FailoverCodes, last.status) {
			if d := ttl(policy, last.header); d > 0 && cacheable(r.Method, last.status) {
				now := time.Now()
				e.cache.put(key, cached{status: last.status, header: cloneHeader(last.header), body: last.body, origin: o.name, stored: now, expires: now.Add(d)})
			}
			e.write(w, r, o.name, last.status, last.header, last.body, tried)
			return
		}
	}
	status := http.StatusBadGateway
	if last.outcome == "timeout" {
		status = http.StatusGatewayTimeout
	}
	page := fmt.Sprintf("<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n"+
		"<H1>%d ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n"+
		"CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection.\n"+
		"</BODY></HTML>\n", status)
	h := http.Header{"Content-Type": {"text/html"}}
	e.write(w, r, "", status, h, []byte(page), tried)
}

func (e *Edge) write(w http.ResponseWriter, r *http.Request, origin string, status int, header http.Header, body []byte, tried []string) {
	h := w.Header()
	for k, v := range header {
		h[k] = slices.Clone(v)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	if r.Method != http.MethodHead || h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	switch {
	case slices.Equal(tried, []string{"cache:hit"}):
		h.Set("X-Cache", "Hit from cloudfront")
	case status >= 400:
		h.Set("X-Cache", "Error from cloudfront")
	default:
		h.Set("X-Cache", "Miss from cloudfront")
	}
	h.Set("Via", "1.1 sandbox.cloudfront.net (CloudFront)")
	h.Set("X-Amz-Cf-Pop", e.opt.Pop)
	h.Set("X-Amz-Cf-Id", newID())

	rec := Record{At: time.Now(), Method: r.Method, Path: r.URL.Path, Origin: origin, Status: status, Tried: tried, Pop: e.opt.Pop}
	e.mu.Lock()
	e.records = append(e.records, rec)
	e.mu.Unlock()
	e.log.Debug("edge", "method", r.Method, "uri", r.URL.RequestURI(), "origin", origin, "status", status, "tried", tried)

	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
