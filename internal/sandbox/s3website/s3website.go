// Package s3website is the sandbox's stand-in for one bucket's Amazon S3 static website
// endpoint, as CloudFront reaches it: a custom origin, anonymous, over HTTP.
//
// It models:
//   - serving the bucket's objects (index.html for "/" and for "dir/"), S3's XML errors
//     (404 NoSuchKey, 405 MethodNotAllowed for anything but GET/HEAD/OPTIONS), and the
//     query string being ignored (cache busting reaches the same object);
//   - public access granted by the bucket's public-read policy, and Block Public Access
//     as it applies to such a policy, the bucket's and the account's together (S3
//     enforces the most restrictive combination): only RestrictPublicBuckets denies anonymous reads
//     (403 AccessDenied); BlockPublicPolicy refuses only new public policies and the ACL
//     flags concern ACLs, so alone they leave the site serving;
//   - the delay before a configuration change is enforced (PropagationDelay), counted
//     from the moment S3 accepted the change, and propagation that flaps: for
//     PropagationFlap after that delay each request sees the change with a probability
//     rising linearly from FlapFrom to 1, as S3's front ends pick it up one by one (each
//     request draws its own lag, so a block and its restore both flap);
//   - a region outage that looks like a network failure rather than a 403 while the
//     bucket is blocked (Outage): the endpoint hangs (accepts, never answers) or is
//     black-holed (Refuses: a connection attempt never completes; the sandbox's network
//     between the edge and the origins asks it);
//   - a hanging endpoint (SetHang), a slow one (Latency: every answer late) and one that
//     fails a share of requests (FailPercent: 503 SlowDown).
//
// It does not model yet: a front end that keeps its view per connection (keep-alive
// stickiness), CORS rules beyond "GET and HEAD from anywhere", redirects and routing
// rules, error documents, and Range or conditional GETs beyond If-None-Match.
package s3website

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/loopback"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

// Options configure one website endpoint.
type Options struct {
	Region, Bucket string
	// Object reads the bucket's object; false if absent.
	Object func(key string) (s3wire.Object, bool)
	// PublicAccessBlockAt is the bucket's stored configuration as it was at t (nil: none).
	PublicAccessBlockAt func(t time.Time) *drill.PublicAccessBlock
	// AccountPublicAccessBlockAt is the account-level configuration at t (S3 Control);
	// nil func or nil result: none.
	AccountPublicAccessBlockAt func(t time.Time) *drill.PublicAccessBlock
	// PropagationDelay is the time from S3 accepting a change to the website enforcing it.
	PropagationDelay time.Duration
	// PropagationFlap, after PropagationDelay, is how long requests see the change only
	// with a probability rising linearly from FlapFrom (0..1) to 1.
	PropagationFlap time.Duration
	FlapFrom        float64
	// Outage is how the endpoint answers while the bucket blocks public access:
	// OutageForbidden (403 AccessDenied, what Block Public Access does; "" too),
	// OutageHang or OutageBlackhole.
	Outage string
	// Latency delays every answer.
	Latency time.Duration
	// FailPercent of requests (0..100) are answered 503 SlowDown.
	FailPercent int
	// Logger receives a debug line per request; nil discards.
	Logger *slog.Logger
}

// Outages.
const (
	OutageForbidden = "forbidden"
	OutageHang      = "hang"
	OutageBlackhole = "blackhole"
)

// Outages lists the Outage values.
var Outages = []string{OutageForbidden, OutageHang, OutageBlackhole}

// Website is one bucket's website endpoint. Safe for concurrent use.
type Website struct {
	opt  Options
	log  *slog.Logger
	done chan struct{}

	mu     sync.Mutex
	hang   bool
	closed bool
}

// New is a website endpoint for opt.Bucket.
func New(opt Options) *Website {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Website{opt: opt, log: log, done: make(chan struct{})}
}

// Effective is the Block Public Access configuration every request to the website
// sees at now: the one accepted PropagationDelay + PropagationFlap ago.
func (ws *Website) Effective(now time.Time) *drill.PublicAccessBlock {
	return ws.opt.PublicAccessBlockAt(now.Add(-ws.opt.PropagationDelay - ws.opt.PropagationFlap))
}

// seenBy is the configuration one request at now sees: it draws its own propagation
// lag, PropagationDelay plus, with probability 1-FlapFrom, a uniform share of
// PropagationFlap. The chance that a change accepted x ago is seen is then the ramp:
// 0 before PropagationDelay, FlapFrom at it, rising linearly to 1 at its end.
func (ws *Website) seenBy(now time.Time) *drill.PublicAccessBlock {
	lag := ws.opt.PropagationDelay
	if f := ws.opt.PropagationFlap; f > 0 {
		if u := rand.Float64(); u >= ws.opt.FlapFrom {
			lag += time.Duration(float64(f) * (u - ws.opt.FlapFrom) / (1 - ws.opt.FlapFrom))
		}
	}
	return ws.opt.PublicAccessBlockAt(now.Add(-lag))
}

// Refuses: a connection attempt at now finds the endpoint black-holed (Outage
// blackhole while the bucket, as this attempt sees it, restricts public access).
func (ws *Website) Refuses(now time.Time) bool {
	if ws.opt.Outage != OutageBlackhole {
		return false
	}
	eff := ws.seenBy(now)
	return eff != nil && eff.RestrictPublicBuckets
}

// restricted: the bucket's RestrictPublicBuckets as this request sees it (seenBy), or
// the account's, is in force at now, so S3 denies the anonymous reads a public bucket
// policy would allow.
func (ws *Website) restricted(now time.Time) bool {
	if eff := ws.seenBy(now); eff != nil && eff.RestrictPublicBuckets {
		return true
	}
	if ws.opt.AccountPublicAccessBlockAt == nil {
		return false
	}
	acct := ws.opt.AccountPublicAccessBlockAt(now.Add(-ws.opt.PropagationDelay))
	return acct != nil && acct.RestrictPublicBuckets
}

// SetHang makes the endpoint accept requests but never answer them (until cleared), to
// exercise CloudFront's response timeout.
func (ws *Website) SetHang(hang bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.hang = hang
}

// Close releases hanging requests.
func (ws *Website) Close() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if !ws.closed {
		ws.closed = true
		close(ws.done)
	}
}

// ServeHTTP answers one anonymous request.
func (ws *Website) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s3wire.SetHeaders(w)
	if !ws.waitUnlessHanging(r) {
		return
	}
	if ws.opt.Latency > 0 && !ws.wait(r, ws.opt.Latency) {
		return
	}
	rec := &loopback.StatusRecorder{ResponseWriter: w}
	ws.serve(rec, r)
	ws.log.Debug("website", "region", ws.opt.Region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.Status)
}

// waitUnlessHanging blocks while the website is set to hang; false means the request
// went away or the website closed meanwhile.
func (ws *Website) waitUnlessHanging(r *http.Request) bool {
	for {
		ws.mu.Lock()
		hang := ws.hang
		ws.mu.Unlock()
		if !hang {
			return true
		}
		select {
		case <-r.Context().Done():
			return false
		case <-ws.done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wait holds the request for d; false means it went away or the website closed.
func (ws *Website) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-ws.done:
	}
	return false
}

func (ws *Website) serve(w http.ResponseWriter, r *http.Request) {
	if p := ws.opt.FailPercent; p > 0 && rand.IntN(100) < p {
		s3wire.WriteError(w, r, http.StatusServiceUnavailable, s3wire.Error{Code: "SlowDown", Message: "Please reduce your request rate."})
		return
	}
	// Access is decided first: a blocked bucket denies every anonymous request.
	if ws.restricted(time.Now()) {
		switch ws.opt.Outage {
		case OutageHang, OutageBlackhole:
			// A black hole let this connection through (it was made before the outage
			// reached it): it hangs like the rest of the endpoint.
			select {
			case <-r.Context().Done():
			case <-ws.done:
			}
		default:
			s3wire.WriteError(w, r, http.StatusForbidden, s3wire.Error{Code: "AccessDenied", Message: "Access Denied"})
		}
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		s3wire.WriteError(w, r, http.StatusMethodNotAllowed, s3wire.Error{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."})
		return
	}
	if r.Method == http.MethodOptions {
		// As a bucket whose CORS configuration allows GET and HEAD from anywhere.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD")
		w.Header().Set("Access-Control-Max-Age", "3000")
		w.WriteHeader(http.StatusOK)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/") // the query string (cache busting) is ignored
	if key == "" || strings.HasSuffix(key, "/") {
		key += "index.html"
	}
	o, ok := ws.opt.Object(key)
	if !ok {
		s3wire.WriteError(w, r, http.StatusNotFound, s3wire.Error{Code: "NoSuchKey", Message: "The specified key does not exist.", Key: key})
		return
	}
	s3wire.WriteObject(w, r, o)
}
