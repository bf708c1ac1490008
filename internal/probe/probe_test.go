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
	region string // origin that served; names config.json's region
	cache  string // X-Cache
}

var (
	fromPrimary   = answer{status: 200, region: primary, cache: "Miss from cloudfront"}
	fromSecondary = answer{status: 200, region: secondary, cache: "Miss from cloudfront"}
	blocked       = answer{status: 403, cache: "Error from cloudfront"}
)

// distribution is a fake CloudFront distribution over two fake origins. serve decides
// each answer; it counts the statuses it served, the ground truth for the probe's
// error count.
type distribution struct {
	URL   string
	hosts map[string]string // region -> API host named by that region's config.json

	mu      sync.Mutex
	serve   func(path string) answer
	served  map[int]int
	configs []time.Time // arrival of each config.json request, on clock
	clock   func() time.Time
	onCfg   func(n int) // runs on the n-th config.json request (1-based)
	queries []string
}

func newDistribution(t *testing.T, serve func(path string) answer) *distribution {
	t.Helper()
	d := &distribution{serve: serve, served: map[int]int{}, hosts: map[string]string{
		primary:   "https://primary.example/Production",
		secondary: "https://secondary.example/Production",
	}, clock: time.Now}
	srv := httptest.NewServer(http.HandlerFunc(d.handle))
	t.Cleanup(srv.Close)
	d.URL = srv.URL
	return d
}

func (d *distribution) handle(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	a := d.serve(r.URL.Path)
	d.served[a.status]++
	d.queries = append(d.queries, r.URL.RawQuery+" "+r.Header.Get("Cache-Control"))
	var onCfg func(int)
	n := 0
	if r.URL.Path == probe.PathConfig {
		d.configs = append(d.configs, d.clock())
		onCfg, n = d.onCfg, len(d.configs)
	}
	host := d.hosts[a.region]
	d.mu.Unlock()
	if onCfg != nil {
		onCfg(n)
	}
	if a.cache != "" {
		w.Header().Set("X-Cache", a.cache)
	}
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
	n := 0
	for _, c := range d.served {
		n += c
	}
	return n
}

// always answers the same for every path.
func always(a answer) func(string) answer { return func(string) answer { return a } }

// timeline answers a before at, then b (real time).
func timeline(a answer, at time.Time, b answer) func(string) answer {
	return func(string) answer {
		if time.Now().Before(at) {
			return a
		}
		return b
	}
}

// fakeClock: Sleep advances Now instantly, so long waits cost no real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

func config(t *testing.T, dist string, overrides map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{"distribution": dist, "primaryBucket": "primary-ui-bucket", "probeIntervalMs": 20, "steadySamples": 3, "failoverTimeoutSeconds": 5}
	for k, v := range overrides {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newHandler(clock *fakeClock) *probe.Handler {
	hc := &http.Client{Timeout: 2 * time.Second}
	sc := shop.New(hc)
	sc.Backoff = time.Millisecond
	h := &probe.Handler{HTTP: hc, Shop: sc}
	if clock != nil {
		h.Now, h.Sleep = clock.Now, clock.Sleep
	}
	return h
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	tests := []struct {
		name        string
		serve       func(path string) answer
		closed      bool // the distribution refuses connections
		wantErr     bool
		errHas      []string
		wantSamples int
		wantErrors  int
	}{
		{name: "primary healthy", serve: always(fromPrimary), wantSamples: 6},
		{name: "errors, then healthy", wantSamples: 10, wantErrors: 2, serve: func() func(string) answer {
			n := 0
			return func(path string) answer {
				if path == probe.PathIndex {
					n++
					if n <= 2 {
						return answer{status: 503}
					}
				}
				return fromPrimary
			}
		}()},
		{name: "secondary serving", serve: always(fromSecondary), wantErr: true, errHas: []string{"served by us-east-1", "us-west-1 x"}},
		{name: "page forbidden", serve: func(path string) answer {
			if path == probe.PathIndex {
				return blocked
			}
			return fromPrimary
		}, wantErr: true, errHas: []string{"/ statuses: 403 x"}},
		{name: "served from cache", serve: always(answer{status: 200, region: primary, cache: "Hit from cloudfront"}), wantErr: true, errHas: []string{"cache hits"}},
		{name: "connection refused", closed: true, wantErr: true, errHas: []string{"transport-error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDistribution(t, always(fromPrimary))
			if tt.serve != nil {
				d.serve = tt.serve
			}
			url := d.URL
			if tt.closed {
				srv := httptest.NewServer(http.NotFoundHandler())
				url = srv.URL
				srv.Close()
			}
			clock := newFakeClock()
			start := clock.Now()
			res, err := newHandler(clock).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, url, nil)})
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
				t.Logf("error: %v", err)
				// max(3 * 3 ticks * 20 ms, 5 s) = 5 s on the fake clock.
				if el := clock.Now().Sub(start); el < probe.SteadyMinBudget-20*time.Millisecond || el > probe.SteadyMinBudget+time.Second {
					t.Errorf("gave up after %v, want about %v", el, probe.SteadyMinBudget)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if res.Samples != tt.wantSamples || res.UserVisibleErrors != tt.wantErrors {
				t.Errorf("samples %d errors %d, want %d and %d", res.Samples, res.UserVisibleErrors, tt.wantSamples, tt.wantErrors)
			}
			if res.UserVisibleErrors != d.count(503) {
				t.Errorf("probe counted %d errors, the distribution served %d", res.UserVisibleErrors, d.count(503))
			}
			if res.ServedRegion != primary || res.Mode != drill.ModeSteady || res.FirstExpectedAt == nil || res.Seconds != 0 {
				t.Errorf("result %+v", res)
			}
			if res.CacheHits != 0 || res.LatencyP50Ms < 0 || res.LatencyP95Ms < res.LatencyP50Ms {
				t.Errorf("cache hits %d, p50 %v p95 %v", res.CacheHits, res.LatencyP50Ms, res.LatencyP95Ms)
			}
		})
	}
}

// TestRequestsAreCacheBusted checks every request carries a unique query and no-cache.
func TestRequestsAreCacheBusted(t *testing.T) {
	d := newDistribution(t, always(fromPrimary))
	if _, err := newHandler(newFakeClock()).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d.URL, nil)}); err != nil {
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

// TestSchedule checks ticks start on a fixed grid from the start, not an interval
// after the previous response, and that an overrun waits for the next grid slot.
func TestSchedule(t *testing.T) {
	const iv = 20 * time.Millisecond
	tests := []struct {
		name    string
		latency func(n int) time.Duration // fake time a config.json request takes
		want    []time.Duration           // config.json arrivals after the start
	}{
		{name: "fast responses", latency: func(int) time.Duration { return 7 * time.Millisecond }, want: []time.Duration{0, iv, 2 * iv}},
		{name: "an overrun skips missed slots", latency: func(n int) time.Duration {
			if n == 1 {
				return 50 * time.Millisecond
			}
			return time.Millisecond
		}, want: []time.Duration{0, 3 * iv, 4 * iv}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			d := newDistribution(t, always(fromPrimary))
			d.clock = clock.Now
			d.onCfg = func(n int) { clock.Advance(tt.latency(n)) }
			if _, err := newHandler(clock).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeSteady, Config: config(t, d.URL, nil)}); err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for _, at := range d.configs {
				got = append(got, at.Sub(start))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("config.json requested at %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFailoverMeasured runs in real time against a distribution that answers 403 from
// the moment the block applies for 100 ms, then serves the secondary.
func TestFailoverMeasured(t *testing.T) {
	const (
		iv  = 20 * time.Millisecond
		gap = 100 * time.Millisecond
	)
	blockedAt := time.Now().Add(150 * time.Millisecond)
	d := newDistribution(t, nil)
	d.serve = func(string) answer {
		switch now := time.Now(); {
		case now.Before(blockedAt):
			return fromPrimary
		case now.Before(blockedAt.Add(gap)):
			return blocked
		default:
			return fromSecondary
		}
	}
	sd := seed()
	secondaryShop(t, d, sd.User.UUID, []string{"u01", "u02"})

	res, err := newHandler(nil).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d.URL, nil), Since: &blockedAt, Seed: sd})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	// The first secondary sample starts within one interval after the 403s end; allow
	// scheduling noise on a loaded machine (a sample started just before the end can
	// reach the server just after it, so the lower bound gives one interval too).
	lo, hi := (gap - iv).Seconds(), (gap + iv + 200*time.Millisecond).Seconds()
	if res.Seconds < lo || res.Seconds > hi {
		t.Errorf("Seconds = %.3f, want within [%.3f, %.3f]", res.Seconds, lo, hi)
	}
	if res.FirstExpectedAt == nil || res.FirstExpectedAt.Sub(blockedAt).Seconds()-res.Seconds > 0.001 {
		t.Errorf("FirstExpectedAt %v inconsistent with Seconds %v", res.FirstExpectedAt, res.Seconds)
	}
	if res.UserVisibleErrors == 0 || res.UserVisibleErrors != d.count(403) {
		t.Errorf("probe counted %d user-visible errors, the distribution served %d 403s", res.UserVisibleErrors, d.count(403))
	}
	if res.Samples != d.requests() {
		t.Errorf("samples %d, requests %d", res.Samples, d.requests())
	}
	if res.ServedRegion != secondary || res.SecondaryAPI != d.hosts[secondary] || res.Since == nil || !res.Since.Equal(blockedAt) {
		t.Errorf("region %q api %q since %v", res.ServedRegion, res.SecondaryAPI, res.Since)
	}
	want := &drill.CartCheck{Intact: true, API: d.hosts[secondary], UserUUID: "user-0001", Expected: []string{"u01", "u02"}, Got: []string{"u01", "u02"}, Attempts: 1}
	if c := res.Cart; c == nil || c.Intact != want.Intact || c.API != want.API || c.UserUUID != want.UserUUID ||
		!slices.Equal(c.Expected, want.Expected) || !slices.Equal(c.Got, want.Got) || c.Attempts != 1 || c.Error != "" || c.CheckedAt.IsZero() {
		t.Errorf("cart = %+v, want %+v", res.Cart, want)
	}
	// Transitions: the first sample of each path from the primary, every 403, the switch.
	tr := res.Transitions
	if len(tr) < 4 || tr[0].Region != primary || tr[0].Status != 200 || tr[len(tr)-1].Status != 200 {
		t.Fatalf("transitions %+v", tr)
	}
	var errs, toSecondary int
	for _, s := range tr {
		if s.Status == 403 {
			errs++
		}
		if s.Path == probe.PathConfig && s.Region == secondary {
			toSecondary++
		}
	}
	if errs != res.UserVisibleErrors || toSecondary != 1 {
		t.Errorf("transitions hold %d errors (want %d) and %d switches to the secondary (want 1)", errs, res.UserVisibleErrors, toSecondary)
	}
}

func TestFailoverCart(t *testing.T) {
	tests := []struct {
		name         string
		stored       []string
		view         func(user string, stored []string, n int) []string
		api          string // overrides the secondary API host ("-" for none)
		intact       bool
		wantAttempts int
		wantGot      []string
		errHas       string
	}{
		{name: "intact at once", stored: []string{"u02", "u01"}, intact: true, wantAttempts: 1, wantGot: []string{"u01", "u02"}},
		{name: "intact after replication lag", stored: []string{"u01", "u02"}, intact: true, wantAttempts: 3, wantGot: []string{"u01", "u02"},
			view: func(_ string, stored []string, n int) []string {
				if n < 3 {
					return stored[:n-1]
				}
				return stored
			}},
		{name: "item missing", stored: []string{"u01"}, wantAttempts: int(probe.CartWindow / probe.CartRetryEvery), wantGot: []string{"u01"}},
		{name: "extra item", stored: []string{"u01", "u02", "u03"}, wantAttempts: int(probe.CartWindow / probe.CartRetryEvery), wantGot: []string{"u01", "u02", "u03"}},
		{name: "API refuses", api: "bad", wantAttempts: int(probe.CartWindow / probe.CartRetryEvery), errHas: "404"},
		{name: "no API host", api: "-", wantAttempts: 0, errHas: "names no API host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDistribution(t, always(fromSecondary))
			sd := seed()
			s := secondaryShop(t, d, sd.User.UUID, tt.stored)
			s.CartView = tt.view
			switch tt.api {
			case "-":
				d.hosts[secondary] = ""
			case "bad":
				d.hosts[secondary] += "/nowhere"
			}
			clock := newFakeClock()
			since := clock.Now().Add(-time.Second)
			res, err := newHandler(clock).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d.URL, nil), Since: &since, Seed: sd})
			if err != nil {
				t.Fatalf("a cart problem must not be an error: %v", err)
			}
			c := res.Cart
			if c == nil {
				t.Fatal("no cart check")
			}
			if c.Intact != tt.intact || c.Attempts != tt.wantAttempts || !slices.Equal(c.Got, tt.wantGot) || !slices.Equal(c.Expected, []string{"u01", "u02"}) {
				t.Errorf("cart = %+v, want intact %v after %d attempts, got %v", c, tt.intact, tt.wantAttempts, tt.wantGot)
			}
			if !strings.Contains(c.Error, tt.errHas) || (tt.errHas == "" && c.Error != "") {
				t.Errorf("cart error %q, want it to contain %q", c.Error, tt.errHas)
			}
			if res.Seconds != 1 {
				t.Errorf("Seconds = %v, want 1 (served by the secondary from the first tick)", res.Seconds)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		mode   string
		serve  answer
		check  func(error) bool
		errHas []string
	}{
		{name: "failover never happens", mode: drill.ModeFailover, serve: fromPrimary,
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"served by us-west-1", "us-east-1 x"}},
		{name: "failover to an erroring secondary", mode: drill.ModeFailover, serve: answer{status: 502},
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"/config.json statuses: 502 x", "user-visible errors"}},
		{name: "recovery never happens", mode: drill.ModeRecovery, serve: fromSecondary,
			check:  func(err error) bool { var e *drill.RecoveryTimeout; return errors.As(err, &e) },
			errHas: []string{"served by us-east-1", "us-west-1 x"}},
		// Diagnosis: the timeout says why, from what the probe saw.
		{name: "diagnosis: the primary's 403 is not a failover code", mode: drill.ModeFailover, serve: blocked,
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"diagnosis: visitors got the primary's 403 from CloudFront", "does not fail over on 403"}},
		{name: "diagnosis: config.json from the cache", mode: drill.ModeFailover, serve: answer{status: 200, region: primary, cache: "Hit from cloudfront"},
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"diagnosis: visitors got config.json from the CloudFront cache", "ignores the query string"}},
		{name: "diagnosis: neither origin answers", mode: drill.ModeFailover, serve: answer{status: 502, cache: "Error from cloudfront"},
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"diagnosis: CloudFront got no answer it could serve from either origin"}},
		{name: "diagnosis: the primary keeps serving", mode: drill.ModeFailover, serve: fromPrimary,
			check:  func(err error) bool { var e *drill.FailoverTimeout; return errors.As(err, &e) },
			errHas: []string{"diagnosis: the distribution kept serving us-east-1"}},
		{name: "diagnosis: still 403 after the restore", mode: drill.ModeRecovery, serve: blocked,
			check:  func(err error) bool { var e *drill.RecoveryTimeout; return errors.As(err, &e) },
			errHas: []string{"diagnosis: visitors still got 403 after the restore"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDistribution(t, always(tt.serve))
			clock := newFakeClock()
			start := clock.Now()
			since := start
			_, err := newHandler(clock).Handle(ctx(t), drill.ProbeInput{Mode: tt.mode, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 1}), Since: &since, Seed: seed()})
			if !tt.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if drill.Classify(err) != err {
				t.Errorf("Classify changed the error")
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if el := clock.Now().Sub(start); el < time.Second-20*time.Millisecond || el > 2*time.Second {
				t.Errorf("gave up after %v, want about 1s", el)
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	restoredAt := time.Now()
	back := restoredAt.Add(150 * time.Millisecond)
	d := newDistribution(t, timeline(fromSecondary, back, fromPrimary))
	res, err := newHandler(nil).Handle(ctx(t), drill.ProbeInput{Mode: drill.ModeRecovery, Config: config(t, d.URL, nil), Since: &restoredAt})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	lo, hi := 0.12, 0.15+0.02+0.2
	if res.Seconds < lo || res.Seconds > hi {
		t.Errorf("Seconds = %.3f, want within [%.2f, %.2f]", res.Seconds, lo, hi)
	}
	if res.ServedRegion != primary || res.Cart != nil || res.SecondaryAPI != "" || res.UserVisibleErrors != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestInvalidInput(t *testing.T) {
	since := time.Now()
	tests := []struct {
		name string
		in   func(dist string) drill.ProbeInput
		want []string // problem prefixes
	}{
		{name: "no mode", in: func(d string) drill.ProbeInput { return drill.ProbeInput{Config: config(t, d, nil)} }, want: []string{"mode:"}},
		{name: "bad mode", in: func(d string) drill.ProbeInput { return drill.ProbeInput{Mode: "sideways", Config: config(t, d, nil)} }, want: []string{"mode:"}},
		{name: "failover without since and seed", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d, nil)}
		}, want: []string{"seed:", "since:"}},
		{name: "failover with an empty seed", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d, nil), Since: &since, Seed: &drill.SeedResult{}}
		}, want: []string{"seed.cart:", "seed.user.uuid:"}},
		{name: "recovery without since", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeRecovery, Config: config(t, d, nil)}
		}, want: []string{"since:"}},
		{name: "recovery with a zero since", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: drill.ModeRecovery, Config: config(t, d, nil), Since: &time.Time{}}
		}, want: []string{"since:"}},
		{name: "bad config and bad mode together", in: func(d string) drill.ProbeInput {
			return drill.ProbeInput{Mode: "x", Config: config(t, d, map[string]any{"steadySamples": 0, "primaryBucket": ""})}
		}, want: []string{"mode:", "primaryBucket:", "steadySamples:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDistribution(t, always(fromPrimary))
			_, err := newHandler(nil).Handle(ctx(t), tt.in(d.URL))
			var inv *drill.InvalidInput
			if !errors.As(err, &inv) || drill.ErrorName(drill.Classify(err)) != "InvalidInput" {
				t.Fatalf("err = %v, want InvalidInput", err)
			}
			var got []string
			for _, p := range inv.Problems {
				got = append(got, p[:strings.IndexByte(p, ':')+1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems %q, want fields %v", inv.Problems, tt.want)
			}
			if n := d.requests(); n != 0 {
				t.Errorf("%d requests made on invalid input", n)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	d := newDistribution(t, always(fromPrimary))
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	since := time.Now()
	start := time.Now()
	_, err := newHandler(nil).Handle(c, drill.ProbeInput{Mode: drill.ModeFailover, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 60}), Since: &since, Seed: seed()})
	if !errors.Is(err, context.Canceled) || drill.Classify(err) != err {
		t.Fatalf("err = %v, want a plain context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned %v after the cancel", el)
	}
}

// TestLambdaDeadline: a probe whose invocation ends before its timeout gives up early
// enough to report a typed timeout instead of being killed.
func TestLambdaDeadline(t *testing.T) {
	d := newDistribution(t, always(fromSecondary))
	c, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	since := time.Now()
	start := time.Now()
	_, err := newHandler(nil).Handle(c, drill.ProbeInput{Mode: drill.ModeRecovery, Config: config(t, d.URL, map[string]any{"failoverTimeoutSeconds": 60}), Since: &since})
	var rt *drill.RecoveryTimeout
	if !errors.As(err, &rt) {
		t.Fatalf("err = %v, want RecoveryTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned after %v, past the reserve", el)
	}
}
