package probe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/shop/shoptest"
)

const (
	primary   = "us-east-1"
	secondary = "us-west-1"
)

// answer is how the fake distribution answers one request.
type answer struct {
	status int
	region string        // origin that served; names config.json's region
	cache  string        // X-Cache
	delay  time.Duration // before answering
}

var (
	fromPrimary   = answer{status: 200, region: primary, cache: "Miss from cloudfront"}
	fromSecondary = answer{status: 200, region: secondary, cache: "Miss from cloudfront"}
	blocked       = answer{status: 403, cache: "Error from cloudfront"}
)

// runStart is the start of the runs the tests probe for ($$.Execution.StartTime).
var runStart = drill.At(time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC))

// distribution is a fake CloudFront distribution over two fake origins. serve decides
// each answer from the path and the time the request arrived; it counts what it
// served, the ground truth for the probe's counts.
type distribution struct {
	URL   string
	hosts map[string]string // region -> API host named by that region's config.json

	mu       sync.Mutex
	serve    func(path string, arrived time.Time) answer
	served   map[int]int
	arrivals []time.Time // of config.json requests
	queries  []string
	// holdForNext: the answer to config.json request n waits, after its delay, until
	// request n+1 has arrived. A prober that waits for an answer before it sends the
	// next request then never gets one.
	holdForNext bool
	next        []chan struct{} // next[n] is closed when config.json request n+1 arrives
}

func newDistribution(t *testing.T, serve func(path string, arrived time.Time) answer) *distribution {
	t.Helper()
	d := &distribution{serve: serve, served: map[int]int{}, hosts: map[string]string{
		primary:   "https://primary.example/Production",
		secondary: "https://secondary.example/Production",
	}}
	srv := httptest.NewServer(http.HandlerFunc(d.handle))
	t.Cleanup(srv.Close)
	d.URL = srv.URL
	return d
}

func (d *distribution) handle(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	d.mu.Lock()
	a := d.serve(r.URL.Path, now)
	d.queries = append(d.queries, r.URL.RawQuery+" "+r.Header.Get("Cache-Control"))
	var next chan struct{}
	if r.URL.Path == probe.PathConfig {
		d.arrivals = append(d.arrivals, now)
		if n := len(d.next); n > 0 {
			close(d.next[n-1])
		}
		next = make(chan struct{})
		d.next = append(d.next, next)
	}
	host := d.hosts[a.region]
	hold := d.holdForNext && next != nil
	d.mu.Unlock()
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	if hold {
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
	}
	d.mu.Lock()
	d.served[a.status]++
	d.mu.Unlock()
	if a.cache != "" {
		w.Header().Set("X-Cache", a.cache)
	}
	w.Header().Set("X-Amz-Cf-Pop", "TEST1")
	if a.status != 200 {
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", a.status)
		return
	}
	switch r.URL.Path {
	case probe.PathConfig:
		_ = json.NewEncoder(w).Encode(shop.SiteConfig{Host: host, Region: a.region})
	case probe.PathIndex:
		fmt.Fprint(w, "<html>The Unicorn Shop</html>")
	default:
		http.NotFound(w, r)
	}
}

func (d *distribution) count(status int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.served[status]
}

func (d *distribution) requests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queries)
}

// always answers the same for every path.
func always(a answer) func(string, time.Time) answer {
	return func(string, time.Time) answer { return a }
}

// store is a SampleStore in memory.
type store struct {
	mu   sync.Mutex
	logs map[string]drill.SampleLog
	err  error
}

func (s *store) PutSamples(_ context.Context, l drill.SampleLog) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	if s.logs == nil {
		s.logs = map[string]drill.SampleLog{}
	}
	key := drill.SamplesKey(l.Execution, l.ExecutionStartTime, l.Mode)
	s.logs[key] = l
	return key, nil
}

// config: 20 ms between page samples; 1 s stable windows of 95% make the probe sample
// config.json every 13.5 ms during a switch.
func config(t *testing.T, dist string, overrides map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"distribution": dist, "primaryBucket": "primary-ui-bucket", "probeIntervalMs": 20, "steadySamples": 3,
		"failoverTimeoutSeconds": 5, "stableWindowSeconds": 1, "stableSharePercent": 95, "errorBudgetSeconds": 1, "errorBudgetPercent": 50}
	for k, v := range overrides {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newHandler() (*probe.Handler, *store) {
	hc := &http.Client{Timeout: 2 * time.Second}
	sc := shop.New(hc)
	sc.Backoff = time.Millisecond
	st := &store{}
	return &probe.Handler{HTTP: hc, Shop: sc, Samples: st}, st
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// secondaryShop serves the shop API the secondary's config.json names, with the seeded
// user's cart stored as cart.
func secondaryShop(t *testing.T, d *distribution, userUUID string, cart []string) *shoptest.Shop {
	t.Helper()
	s := shoptest.New(shoptest.Unicorns(5)...)
	s.SetCart(userUUID, cart)
	mux := http.NewServeMux()
	mux.Handle("/Production/", http.StripPrefix("/Production", s))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	d.hosts[secondary] = srv.URL + "/Production"
	return s
}

func seed() *drill.SeedResult {
	return &drill.SeedResult{User: drill.User{UUID: "user-0001", Email: "drill-x-00000000@failover-drill.example"}, Cart: []string{"u02", "u01"}}
}

func TestSteady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		serve      func(path string, arrived time.Time) answer
		closed     bool // the distribution refuses connections
		wantErr    bool
		errHas     []string
		wantErrors int
	}{
		{name: "primary healthy", serve: always(fromPrimary)},
		{name: "errors, then healthy", wantErrors: 2, serve: func() func(string, time.Time) answer {
			n := 0
			return func(path string, _ time.Time) answer {
				if path == probe.PathIndex {
					if n++; n <= 2 {
						return answer{status: 503}
					}
				}
				return fromPrimary
			}
		}()},
		{name: "secondary serving", serve: always(fromSecondary), wantErr: true, errHas: []string{"from us-east-1", "us-east-1 never answered"}},
		{name: "page forbidden", serve: func(path string, _ time.Time) answer {
			if path == probe.PathIndex {
				return blocked
			}
			return fromPrimary
		}, wantErr: true, errHas: []string{"(403 x"}},
		{name: "served from cache", serve: always(answer{status: 200, region: primary, cache: "Hit from cloudfront"}), wantErr: true, errHas: []string{"cache hits"}},
		{name: "connection refused", closed: true, wantErr: true, errHas: []string{"(transport x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDistribution(t, tt.serve)
			url := d.URL
			if tt.closed {
				srv := httptest.NewServer(http.NotFoundHandler())
				url = srv.URL
				srv.Close()
			}
			h, _ := newHandler()
			start := time.Now()
			res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, url, nil)})
			if tt.wantErr {
				var sf *drill.SteadyStateFailed
				if !errors.As(err, &sf) || drill.ErrorName(drill.Classify(err)) != "SteadyStateFailed" {
					t.Fatalf("err = %v, want SteadyStateFailed", err)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				// max(3 * 3 ticks * 20 ms, 5 s) = 5 s.
				if el := time.Since(start); el < probe.SteadyMinBudget-50*time.Millisecond || el > probe.SteadyMinBudget+2*time.Second {
					t.Errorf("gave up after %v, want about %v", el, probe.SteadyMinBudget)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if res.UserVisibleErrors != tt.wantErrors || res.UserVisibleErrors != d.count(503) {
				t.Errorf("errors %d, want %d (the distribution served %d 503s)", res.UserVisibleErrors, tt.wantErrors, d.count(503))
			}
			if res.ServedRegion != primary || res.Mode != drill.ModeSteady || res.FirstExpectedAt == nil || res.Seconds != 0 || res.Phases == nil {
				t.Errorf("result %+v", res)
			}
			if res.CacheHits != 0 || res.LatencyP50Ms <= 0 || res.LatencyP95Ms < res.LatencyP50Ms {
				t.Errorf("cache hits %d, p50 %v p95 %v", res.CacheHits, res.LatencyP50Ms, res.LatencyP95Ms)
			}
		})
	}
}

// TestRequestsAreCacheBusted checks every request carries a unique query and no-cache.
func TestRequestsAreCacheBusted(t *testing.T) {
	t.Parallel()
	d := newDistribution(t, always(fromPrimary))
	h, _ := newHandler()
	if _, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d.URL, nil)}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, q := range d.queries {
		if !strings.HasPrefix(q, "drill-probe=") || !strings.HasSuffix(q, " no-cache") || seen[q] {
			t.Errorf("request %q: not a unique drill-probe nonce with Cache-Control: no-cache", q)
		}
		seen[q] = true
	}
}

// TestOpenLoop: answers that take 300 ms do not slow the sending down. Requests go
// out on the tick grid, and each sample is judged when its answer arrived.
//
// The distribution holds each config.json answer until the next request has arrived:
// an open-loop prober never notices, a closed-loop one (send, wait for the answer,
// send) would wait forever and reach no steady state. That is an event, not a time,
// so a starved CPU cannot make the test fail; the probe's own lateness shows only as
// skipped ticks, which it counts.
func TestOpenLoop(t *testing.T) {
	t.Parallel()
	slow := fromPrimary
	slow.delay = 300 * time.Millisecond
	d := newDistribution(t, always(slow))
	d.holdForNext = true
	h, st := newHandler()
	res, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Execution: "x", StartTime: runStart, Config: config(t, d.URL, nil)})
	if err != nil {
		t.Fatalf("Handle: %v (each answer waits for the next request: did the prober wait for an answer before sending?)", err)
	}
	if res.UserVisibleErrors != 0 {
		t.Errorf("%d errors: requests waited for earlier answers", res.UserVisibleErrors)
	}
	d.mu.Lock()
	arrivals := len(d.arrivals)
	d.mu.Unlock()
	l := st.logs[drill.SamplesKey("x", runStart, drill.ModeSteady)]
	// Three good answers need 300 ms + 2 ticks: closed loop would have sent 3 requests,
	// open loop a tick's request every 20 ms, about 300/20 + 3, less the ticks the
	// probe skipped when it fell behind (a starved CPU), which it counts.
	if arrivals+l.Skipped < 12 {
		t.Errorf("%d config.json requests sent and %d ticks skipped in the first %v, want the tick grid's (about 17)",
			arrivals, l.Skipped, res.FinishedAt.Sub(res.StartedAt))
	}
	var sent []drill.Sample
	var waited time.Duration // the longest an answered visitor waited
	for _, s := range l.Unpack() {
		if !s.Unanswered && s.Latency() < 290*time.Millisecond {
			t.Errorf("sample %+v judged %v after it was sent, want at its answer (>= 300 ms)", s, s.Latency())
		}
		if !s.Unanswered {
			waited = max(waited, s.Latency())
		}
		if s.Path == probe.PathConfig {
			sent = append(sent, s)
		}
	}
	// Each request went out before the answer to the one before it arrived.
	slices.SortFunc(sent, func(a, b drill.Sample) int { return a.SentAt.Compare(b.SentAt) })
	for i := 1; i < len(sent); i++ {
		if prev := sent[i-1]; !prev.Unanswered && !sent[i].SentAt.Before(prev.At) {
			t.Errorf("request %d sent at %v, after the answer to request %d (%v): the probe waited for it", i, sent[i].SentAt, i-1, prev.At)
		}
	}
	// The requests still in flight when the steady state was confirmed count at what
	// they had waited: the percentiles are then lower bounds, never above the truth
	// (the answered visitors' waits: 300 ms, more on a starved machine), where counting
	// them at the request timeout would put the median at 125 s.
	if lat := res.Phases.Visitors.Latency; lat.Censored == 0 || res.LatencyP50Ms > float64(waited.Microseconds())/1000+1 || lat.MaxMs < 290 {
		t.Errorf("latency %+v, want p50 at most the %v answered visitors waited, max at least 300 ms, and the unanswered requests censored", lat, waited)
	}
}

// The grid starts at a random phase, so it has no fixed relation to the block.
func TestFirstTickPhaseIsRandom(t *testing.T) {
	t.Parallel()
	var offsets []time.Duration
	for range 8 {
		d := newDistribution(t, always(fromPrimary))
		h, _ := newHandler()
		start := time.Now()
		if _, err := h.Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d.URL, map[string]any{"probeIntervalMs": 200})}); err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, d.arrivals[0].Sub(start))
	}
	slices.Sort(offsets)
	if spread := offsets[len(offsets)-1] - offsets[0]; spread < 40*time.Millisecond {
		t.Errorf("first requests at %v after the start: spread %v, want a random phase over the 200 ms interval", offsets, spread)
	}
}

// The request timeout outlasts every attempt the edge makes at the primary (CloudFront
// retries a response timeout on a new connection, up to the connection attempts), capped
// by the response completion timeout, plus the margin for the secondary's answer.
func TestRequestTimeoutCoversEveryAttempt(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    drill.OriginSettings
		want time.Duration
	}{
		{"CloudFront's defaults: 3 × (10 + 30) s", drill.CloudFrontOriginDefaults, 125 * time.Second},
		{"one attempt", drill.OriginSettings{ConnectionAttempts: 1, ConnectionTimeoutSeconds: 1, ResponseTimeoutSeconds: 1}, 7 * time.Second},
		{"completion caps the responses, not the connections", drill.OriginSettings{ConnectionAttempts: 3, ConnectionTimeoutSeconds: 10, ResponseTimeoutSeconds: 30, ResponseCompletionTimeoutSeconds: 40}, 75 * time.Second},
		{"completion longer than every attempt", drill.OriginSettings{ConnectionAttempts: 2, ConnectionTimeoutSeconds: 5, ResponseTimeoutSeconds: 10, ResponseCompletionTimeoutSeconds: 600}, 35 * time.Second},
	} {
		if got := probe.RequestTimeout(tc.o); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	bad := drill.OriginSettings{ConnectionAttempts: 3, ConnectionTimeoutSeconds: 10, ResponseTimeoutSeconds: 30, ResponseCompletionTimeoutSeconds: 20}
	if p := bad.Validate(); len(p) != 1 || !strings.HasPrefix(p[0], "origin.responseCompletionTimeoutSeconds:") {
		t.Errorf("a completion timeout under the response timeout: %v", p)
	}
}

// The recovery check watches as long as restore's safety net waits for a late block.
func TestDefaultSettleIsRestores(t *testing.T) {
	if probe.DefaultSettle != restore.DefaultSettle {
		t.Errorf("probe.DefaultSettle %v, restore.DefaultSettle %v: the recovery check must watch until no block can land", probe.DefaultSettle, restore.DefaultSettle)
	}
}
