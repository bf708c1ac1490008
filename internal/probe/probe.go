// Package probe is probe-cloudfront's logic: it samples the distribution on a fixed
// schedule, the way a visitor would load the shop (config.json and the page), and
// waits for the region a mode expects: the primary (steady, recovery) or the
// secondary (failover, then the seeded cart through the secondary API).
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// The two paths sampled each tick.
const (
	PathConfig = "/config.json"
	PathIndex  = "/"
)

// Tunables of the modes.
const (
	// SteadyMinBudget is the least time steady mode waits for its consecutive good
	// ticks; otherwise it waits 3*steadySamples ticks.
	SteadyMinBudget = 5 * time.Second
	// CartWindow is how long the failover mode retries the cart comparison through the
	// secondary API (the cart table replicates between regions with a lag).
	CartWindow = 10 * time.Second
	// CartRetryEvery is the pause between cart comparisons.
	CartRetryEvery = 500 * time.Millisecond
	// DefaultTimeout is the per-request timeout of the client used when HTTP is nil.
	DefaultTimeout = 10 * time.Second

	maxBody = 1 << 20
)

// Handler probes the distribution. Every field is optional: HTTP defaults to a client
// with DefaultTimeout, Shop to shop.New(HTTP), Log to a discarding logger, Now to
// time.Now and Sleep to clock.Sleep. Tests swap Now and Sleep for a fake clock.
type Handler struct {
	HTTP  *http.Client
	Shop  *shop.Client
	Log   *slog.Logger
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
	// Alarms reads the stop alarms the failover and recovery modes watch (nil: none
	// watched); AlarmEvery is how often (default DefaultAlarmEvery).
	Alarms     stopalarm.API
	AlarmEvery time.Duration
}

// plan is what a mode waits for.
type plan struct {
	mode     string
	want     string        // region the mode waits for
	need     int           // consecutive ticks served by want
	interval time.Duration // tick period
	budget   time.Duration // from the probe's start
	reserve  time.Duration // left of the invocation's deadline for the work after polling
	// errorBudget ends the poll once every tick for this long showed visitors an
	// error (0: no limit).
	errorBudget time.Duration
}

// errBudgetSpent: visitors saw errors for the whole error budget.
var errBudgetSpent = errors.New("error budget spent")

// Handle runs one mode. It returns *drill.InvalidInput for bad input (no request made),
// *drill.SteadyStateFailed, *drill.FailoverTimeout or *drill.RecoveryTimeout when the
// wanted region did not serve in time, and a plain error when ctx ends first.
func (h *Handler) Handle(ctx context.Context, in drill.ProbeInput) (drill.ProbeResult, error) {
	start := h.now()
	cfg, err := validate(in)
	if err != nil {
		return drill.ProbeResult{}, err
	}
	p := plan{mode: in.Mode, need: cfg.SteadySamples, interval: cfg.ProbeInterval(), reserve: 2 * time.Second}
	switch in.Mode {
	case drill.ModeSteady:
		p.want = cfg.PrimaryRegion
		p.budget = max(3*time.Duration(cfg.SteadySamples)*p.interval, SteadyMinBudget)
	case drill.ModeFailover:
		p.want = cfg.SecondaryRegion
		p.budget = cfg.FailoverTimeout()
		p.reserve = CartWindow + 5*time.Second
		p.errorBudget = cfg.ErrorBudget()
	case drill.ModeRecovery:
		p.want = cfg.PrimaryRegion
		p.budget = cfg.FailoverTimeout()
		p.errorBudget = cfg.ErrorBudget()
	}
	deadline := start.Add(p.budget)
	if dl, ok := ctx.Deadline(); ok {
		// End with a typed timeout and a summary rather than be killed by Lambda.
		if d := h.now().Add(time.Until(dl) - p.reserve); d.Before(deadline) {
			deadline = d
		}
	}
	log := h.logger().With("mode", in.Mode, "distribution", cfg.DistributionURL(), "want", p.want)
	log.Info("probe started", "intervalMs", cfg.ProbeIntervalMs, "need", p.need, "budgetSeconds", deadline.Sub(start).Seconds())

	rec := newRecorder(log)
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := func() {}
	if in.Mode != drill.ModeSteady {
		stopWatch = h.watchAlarms(pctx, cancel, in.StopAlarms, awaitState(in.Mode))
	}
	r, err := h.poll(pctx, cfg.DistributionURL(), p, deadline, rec)
	stopWatch()
	if sa := stopAlarmCause(pctx); sa != nil && ctx.Err() == nil {
		log.Warn("stopped by a stop alarm", "alarm", sa.Alarm, "summary", rec.summary(p, h.now().Sub(start)))
		return drill.ProbeResult{}, sa
	}
	res := rec.result(in.Mode, start)
	res.Since = in.Since
	if errors.Is(err, errBudgetSpent) {
		msg := fmt.Sprintf("visitors saw errors for %ds without a break (errorBudgetSeconds); stopping so the bucket is restored. Diagnosis: %s. Seen: %s",
			cfg.ErrorBudgetSeconds, rec.diagnose(p), rec.summary(p, h.now().Sub(start)))
		log.Warn("error budget spent", "summary", msg)
		if in.Mode == drill.ModeFailover {
			return drill.ProbeResult{}, &drill.FailoverTimeout{Msg: msg}
		}
		return drill.ProbeResult{}, &drill.RecoveryTimeout{Msg: msg}
	}
	if err != nil {
		return drill.ProbeResult{}, fmt.Errorf("probe %s stopped after %d samples: %w", in.Mode, rec.samples, err)
	}
	if r.n < p.need {
		msg := rec.summary(p, h.now().Sub(start))
		if in.Mode != drill.ModeSteady {
			msg = "diagnosis: " + rec.diagnose(p) + ". Seen: " + msg
		}
		log.Warn("probe timed out", "summary", msg)
		switch in.Mode {
		case drill.ModeSteady:
			return drill.ProbeResult{}, &drill.SteadyStateFailed{Msg: msg}
		case drill.ModeFailover:
			return drill.ProbeResult{}, &drill.FailoverTimeout{Msg: msg}
		default:
			return drill.ProbeResult{}, &drill.RecoveryTimeout{Msg: msg}
		}
	}
	first := r.first.At
	res.FirstExpectedAt = &first
	if in.Since != nil {
		res.Seconds = math.Round(first.Sub(*in.Since).Seconds()*1000) / 1000
	}
	if in.Mode == drill.ModeFailover {
		res.SecondaryAPI = r.host
		res.Cart = h.checkCart(ctx, r.host, in.Seed)
		if ctx.Err() != nil {
			return drill.ProbeResult{}, fmt.Errorf("probe %s stopped during the cart check: %w", in.Mode, ctx.Err())
		}
	}
	res.FinishedAt = h.now()
	log.Info("probe done", "seconds", res.Seconds, "samples", res.Samples, "userVisibleErrors", res.UserVisibleErrors,
		"cacheHits", res.CacheHits, "transitionsDropped", rec.dropped, "servedRegion", res.ServedRegion, "cartIntact", res.Cart != nil && res.Cart.Intact)
	return res, nil
}

// awaitState is the state machine's name for the state that runs mode.
func awaitState(mode string) string {
	if mode == drill.ModeFailover {
		return "AwaitFailover"
	}
	return "AwaitRecovery"
}

// validate parses the config and checks the mode's fields, reporting every problem.
func validate(in drill.ProbeInput) (drill.Config, error) {
	cfg, err := drill.ParseConfig(in.Config)
	var problems []string
	if err != nil {
		var inv *drill.InvalidInput
		if !errors.As(err, &inv) {
			return cfg, err
		}
		problems = append(problems, inv.Problems...)
	}
	needSince := func(what string) {
		switch {
		case in.Since == nil:
			problems = append(problems, "since: missing (the moment the "+what+")")
		case in.Since.IsZero():
			problems = append(problems, "since: zero time (the moment the "+what+")")
		}
	}
	switch in.Mode {
	case drill.ModeSteady:
	case drill.ModeFailover:
		needSince("block was applied")
		switch {
		case in.Seed == nil:
			problems = append(problems, "seed: missing (seed-cart's result)")
		default:
			if in.Seed.User.UUID == "" {
				problems = append(problems, "seed.user.uuid: missing")
			}
			if len(in.Seed.Cart) == 0 {
				problems = append(problems, "seed.cart: empty")
			}
		}
	case drill.ModeRecovery:
		needSince("restore was applied")
	case "":
		problems = append(problems, "mode: missing (steady, failover or recovery)")
	default:
		problems = append(problems, fmt.Sprintf("mode: %q is not one of steady, failover, recovery", in.Mode))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return cfg, &drill.InvalidInput{Problems: problems}
	}
	return cfg, nil
}

// run is the current streak of consecutive ticks served by the wanted region.
type run struct {
	n     int
	first drill.Sample // config.json sample of the streak's first tick
	host  string       // API host named by the streak's latest config.json
}

// poll ticks at start + k*interval until need consecutive ticks are served by want,
// or deadline. A tick that overruns its slot makes the next tick wait for the next
// slot on the grid rather than burst to catch up. It returns an error only when ctx
// ends.
func (h *Handler) poll(ctx context.Context, base string, p plan, deadline time.Time, rec *recorder) (run, error) {
	var r run
	var failingSince time.Time // start of the current unbroken run of failing ticks
	start := h.now()
	for k := 0; ; k++ {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		due := start.Add(time.Duration(k) * p.interval)
		now := h.now()
		if k > 0 && now.After(due) { // the last tick overran: wait for the next slot on the grid
			k = int((now.Sub(start) + p.interval - 1) / p.interval)
			due = start.Add(time.Duration(k) * p.interval)
		}
		if !due.Before(deadline) {
			return r, nil
		}
		if err := h.sleep(ctx, due.Sub(now)); err != nil {
			return r, err
		}
		cfgS, idxS, site, ok := h.tick(ctx, base, deadline)
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if !ok { // cut short by the deadline: the probe stopped, not the site
			return r, nil
		}
		rec.tick(cfgS, idxS)
		switch {
		case ok2xx(cfgS) && ok2xx(idxS):
			failingSince = time.Time{}
		case failingSince.IsZero():
			failingSince = cfgS.At
		case p.errorBudget > 0 && cfgS.At.Sub(failingSince) >= p.errorBudget:
			return r, errBudgetSpent
		}
		if servedBy(cfgS, idxS, p.want) {
			if r.n == 0 {
				r.first = cfgS
			}
			r.n++
			r.host = site.Host
			rec.longest = max(rec.longest, r.n)
		} else {
			r = run{}
		}
		if r.n >= p.need {
			return r, nil
		}
	}
}

// servedBy: both paths answered 2xx and config.json, not from the cache, names region.
func servedBy(cfgS, idxS drill.Sample, region string) bool {
	return ok2xx(cfgS) && ok2xx(idxS) && !cacheHit(cfgS) && cfgS.Region == region
}

// tick GETs both paths at once. ok is false when the probe's deadline cut it short.
func (h *Handler) tick(ctx context.Context, base string, deadline time.Time) (cfgS, idxS drill.Sample, site shop.SiteConfig, ok bool) {
	tctx, cancel := context.WithTimeout(ctx, deadline.Sub(h.now()))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		idxS, _ = h.fetch(tctx, base, PathIndex)
	}()
	var body []byte
	cfgS, body = h.fetch(tctx, base, PathConfig)
	<-done
	if tctx.Err() != nil {
		return cfgS, idxS, site, false
	}
	if ok2xx(cfgS) {
		if err := json.Unmarshal(body, &site); err == nil {
			site.Host = strings.TrimRight(strings.TrimSpace(site.Host), "/")
			cfgS.Region = site.Region
		}
	}
	return cfgS, idxS, site, true
}

// fetch makes one cache-busted GET, as a visitor's browser would, and never retries:
// a failure is what a visitor would have seen.
func (h *Handler) fetch(ctx context.Context, base, path string) (drill.Sample, []byte) {
	s := drill.Sample{At: h.now(), Path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?drill-probe="+shop.Nonce(), nil)
	if err != nil {
		s.Error = err.Error()
		return s, nil
	}
	req.Header.Set("Cache-Control", "no-cache")
	ua := shop.DefaultUserAgent
	if h.Shop != nil && h.Shop.UserAgent != "" {
		ua = h.Shop.UserAgent
	}
	req.Header.Set("User-Agent", ua)
	resp, err := h.httpClient().Do(req)
	if err != nil {
		s.LatencyMs = ms(h.now().Sub(s.At))
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		s.Error = err.Error()
		return s, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	s.LatencyMs = ms(h.now().Sub(s.At))
	s.Cache = resp.Header.Get("X-Cache")
	if err != nil {
		s.Error = "reading the body: " + err.Error()
		return s, nil
	}
	s.Status = resp.StatusCode
	return s, body
}

// checkCart compares the seeded cart with the secondary API's, retrying for
// CartWindow while they differ. A mismatch is recorded, not returned: the report
// judges it.
func (h *Handler) checkCart(ctx context.Context, api string, seed *drill.SeedResult) *drill.CartCheck {
	want := slices.Clone(seed.Cart)
	slices.Sort(want)
	c := &drill.CartCheck{API: api, UserUUID: seed.User.UUID, Expected: want}
	if api == "" {
		c.Error = "the secondary's config.json names no API host"
		c.CheckedAt = h.now()
		return c
	}
	log := h.logger().With("api", api, "userUuid", seed.User.UUID)
	deadline := h.now().Add(CartWindow)
	// The window also bounds each call (the client retries GETs with its own
	// timeouts), so the check always ends inside the reserve the probe kept for it.
	cctx, cancel := context.WithTimeout(ctx, CartWindow)
	defer cancel()
	for {
		c.Attempts++
		got, err := h.shopClient().Cart(cctx, api, seed.User.UUID)
		c.CheckedAt = h.now()
		if err != nil {
			c.Error = err.Error()
		} else {
			c.Error, c.Got = "", got
			if slices.Equal(got, want) {
				c.Intact = true
				break
			}
		}
		if cctx.Err() != nil || !h.now().Add(CartRetryEvery).Before(deadline) {
			break
		}
		if h.sleep(cctx, CartRetryEvery) != nil {
			break
		}
	}
	log.Info("cart checked through the secondary API", "intact", c.Intact, "attempts", c.Attempts, "expected", c.Expected, "got", c.Got, "error", c.Error)
	return c
}

func ok2xx(s drill.Sample) bool { return s.Error == "" && s.Status >= 200 && s.Status < 300 }

// cacheHit: X-Cache "Hit from cloudfront", "RefreshHit from cloudfront", ...
func cacheHit(s drill.Sample) bool { return strings.Contains(strings.ToLower(s.Cache), "hit") }

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		if d <= 0 {
			return ctx.Err()
		}
		return h.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (h *Handler) httpClient() *http.Client {
	if h.HTTP != nil {
		return h.HTTP
	}
	return defaultHTTP
}

func (h *Handler) shopClient() *shop.Client {
	if h.Shop != nil {
		return h.Shop
	}
	return shop.New(h.httpClient())
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return discard
}

var (
	defaultHTTP = &http.Client{Timeout: DefaultTimeout}
	discard     = slog.New(slog.NewTextHandler(io.Discard, nil))
)
