// Package probe is probe-cloudfront's logic: it samples the distribution the way
// visitors load the shop (config.json and the page), on a fixed tick grid without
// waiting for earlier answers, judges every answer when it arrives, and waits for the
// region a mode expects: the primary (steady, recovery) or the secondary (failover,
// then the seeded cart through the secondary API). A switch counts as done only when
// it is stable (internal/measure); the full sample log goes to the ledger and only a
// bounded summary goes back to the state machine.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// The two paths sampled.
const (
	PathConfig = measure.PathConfig
	PathIndex  = "/"
)

// Tunables of the modes.
const (
	// SteadyMinBudget is the least time steady mode waits for its consecutive good
	// samples; otherwise it waits 3*steadySamples ticks.
	SteadyMinBudget = 5 * time.Second
	// CartWindow is how long the failover mode retries the cart comparison through the
	// secondary API (the cart table replicates between regions with a lag).
	CartWindow = 10 * time.Second
	// CartRetryEvery is the pause between cart comparisons.
	CartRetryEvery = 500 * time.Millisecond
	// MaxInFlight bounds unanswered requests (memory, and Lambda's 1024 file
	// descriptors); a tick beyond it is skipped and counted.
	MaxInFlight = 800
	// RequestTimeoutMargin is added to the edge's longest wait for the primary: the
	// secondary still has to answer after it.
	RequestTimeoutMargin = 5 * time.Second
	// WriteReserve is kept before the invocation's deadline to write the sample log.
	WriteReserve = 5 * time.Second
	// MinInterval is the fastest the probe samples config.json.
	MinInterval = drill.MinProbeIntervalMs * time.Millisecond

	checkEvery = 10 * time.Millisecond // how often time alone may complete a window
	maxBody    = 1 << 20
)

// RequestTimeout is how long the probe waits for one answer: longer than the edge may
// spend on the primary (connection attempts × connection timeout + response timeout)
// before it even asks the secondary, so a slow failover is measured as slow, not as
// an error.
func RequestTimeout(o drill.OriginSettings) time.Duration {
	return o.EdgeWait() + RequestTimeoutMargin
}

// SampleStore keeps a mode's full sample log (the ledger, at drill.SamplesKey).
type SampleStore interface {
	PutSamples(ctx context.Context, log drill.SampleLog) (key string, err error)
}

// Handler probes the distribution. Every field is optional: HTTP's transport carries
// the samples (each bounded by RequestTimeout, not by HTTP.Timeout) and HTTP the cart
// check; Shop defaults to shop.New(HTTP), Log to a discarding logger, Now to time.Now,
// Sleep to clock.Sleep; without Samples no sample log is kept.
type Handler struct {
	HTTP    *http.Client
	Shop    *shop.Client
	Log     *slog.Logger
	Now     func() time.Time
	Sleep   func(context.Context, time.Duration) error
	Samples SampleStore
	// Alarms reads the stop alarms the failover and recovery modes watch; AlarmEvery is
	// how often (default DefaultAlarmEvery), AlarmUnreadableLimit how long they may go
	// unread before the probe stops the drill (default DefaultAlarmUnreadableLimit).
	// Alarms named in the input with no client here count as unreadable.
	Alarms               stopalarm.API
	AlarmEvery           time.Duration
	AlarmUnreadableLimit time.Duration
	// Settle is how long after it was sent a block of the run can still take effect
	// (default DefaultSettle): the failure path's recovery check watches until its
	// since plus Settle, so a block that landed after the drill stopped watching the
	// failover is seen and reported, not a made-up recovery.
	Settle time.Duration
}

// DefaultSettle is block-bucket's longest life plus a margin: restore.DefaultSettle
// (a test ties the two).
const DefaultSettle = drill.BlockTimeout + 10*time.Second

// plan is what a mode waits for.
type plan struct {
	mode        string
	want, old   string
	need        int           // steady: consecutive good config.json answers
	every       time.Duration // config.json
	page        time.Duration // the page
	budget      time.Duration // from the probe's start
	reserve     time.Duration // left of the invocation's deadline for the work after sampling
	errorBudget measure.Budget
	params      measure.Params
	timeout     time.Duration // per request
	watchUntil  time.Time     // not stable before (the recovery check: no block can land after)
	origin      drill.OriginSettings
}

// Handle runs one mode. It returns *drill.InvalidInput for bad input (no request made),
// *drill.SteadyStateFailed, *drill.FailoverTimeout or *drill.RecoveryTimeout when the
// wanted region did not serve stably in time or the error budget was spent, and a
// plain error when ctx ends first. The sample log is written on every ending.
func (h *Handler) Handle(ctx context.Context, in drill.ProbeInput) (drill.ProbeResult, error) {
	start := h.now()
	cfg, origin, err := validate(in)
	if err != nil {
		return drill.ProbeResult{}, err
	}
	p := newPlan(cfg, origin, in, start, h.settle())
	deadline, ended := start.Add(p.budget), drill.EndedTimeout
	if dl, ok := ctx.Deadline(); ok {
		// End with a typed timeout and a summary rather than be killed by Lambda.
		if d := h.now().Add(time.Until(dl) - p.reserve); d.Before(deadline) {
			deadline, ended = d, drill.EndedDeadline
		}
	}
	log := h.logger().With("mode", in.Mode, "distribution", cfg.DistributionURL(), "want", p.want)
	log.Info("probe started", "configIntervalMs", p.every.Milliseconds(), "confirmIntervalMs", p.params.Look().Interval.Milliseconds(), "pageIntervalMs", p.page.Milliseconds(),
		"requestTimeoutSeconds", p.timeout.Seconds(), "budgetSeconds", deadline.Sub(start).Seconds())

	// The page goes with every pageEvery-th config.json at the base interval (the
	// nearest to its own), and keeps that pace while config.json is confirming faster.
	pageEvery := time.Duration(max(1, int((p.page+p.every/2)/p.every)))
	s := newSampler(h, cfg.DistributionURL(), p.want, p.every, pageEvery*p.every, p.timeout)
	// A stop alarm in ALARM, or stop alarms unreadable for too long, cancel the wait
	// with *drill.StopAlarm or *drill.StopAlarmsUnreadable as the cause.
	wctx, cancelWait := context.WithCancelCause(ctx)
	defer cancelWait(nil)
	stopWatch := func() *drill.AlarmWatch { return nil }
	if in.Mode != drill.ModeSteady {
		stopWatch = h.watchAlarms(wctx, cancelWait, in.StopAlarms, awaitState(in.Mode))
	}
	o := h.watch(wctx, s, p, start, deadline)
	alarmWatch := stopWatch()
	alarm := stopAlarmCause(wctx)
	if alarm != nil && ctx.Err() == nil {
		o.ended = drill.EndedStopped
	}
	if o.ended == drill.EndedTimeout {
		o.ended = ended
	}
	var cart *drill.CartCheck
	if o.ended == drill.EndedStable && in.Mode == drill.ModeFailover {
		// Sampling goes on during the check: a relapse would show in the log.
		_, _, host := s.snapshot()
		cart = h.checkCart(ctx, host, in.Seed)
	}
	stoppedAt := h.now() // sampling ends here; stop only gives up on what is in flight
	s.stop()
	samples, skipped, host := s.snapshot()
	p.params.End, p.params.Ended, p.params.Skipped = stoppedAt, o.ended, skipped
	ph := measure.Analyse(samples, p.params)

	res := result(in, p, ph, start)
	res.SecondaryAPI, res.Cart = "", cart
	if cart != nil {
		res.SecondaryAPI = host
	}
	res.AlarmWatch = alarmWatch
	res.SamplesKey, res.SamplesError = h.keep(ctx, in, p, start, stoppedAt, skipped, o.ended, samples, alarmWatch)
	res.FinishedAt = h.now()
	log.Info("probe done", "ended", o.ended, "seconds", res.Seconds, "samples", res.Samples, "userVisibleErrors", res.UserVisibleErrors,
		"slow", res.Slow, "skipped", skipped, "unanswered", ph.Unanswered, "servedRegion", res.ServedRegion, "samplesKey", res.SamplesKey)

	if alarm != nil && ctx.Err() == nil {
		log.Warn("stopped by the stop alarms", "cause", alarm.Error(), "alarmWatch", alarmWatch)
		return drill.ProbeResult{}, alarm
	}
	if o.ended == drill.EndedStable && in.Mode == drill.ModeFailover && ctx.Err() != nil {
		return drill.ProbeResult{}, fmt.Errorf("probe %s stopped during the cart check: %w", in.Mode, ctx.Err())
	}
	res, err = finish(in, cfg, p, ph, res, o, stoppedAt.Sub(start), ctx.Err())
	if err != nil {
		log.Warn("probe did not see the wanted region serve stably", "error", err)
	}
	return res, err
}

// finish turns how the mode ended into Handle's result or typed error.
func finish(in drill.ProbeInput, cfg drill.Config, p plan, ph drill.Phases, res drill.ProbeResult, o outcome, elapsed time.Duration, ctxErr error) (drill.ProbeResult, error) {
	switch o.ended {
	case drill.EndedStable:
		return res, nil
	case drill.EndedStopped:
		return drill.ProbeResult{}, fmt.Errorf("probe %s stopped after %d samples: %w", in.Mode, res.Samples, ctxErr)
	case drill.EndedErrorBudget:
		msg := fmt.Sprintf("error budget spent: visitors saw errors for %.1fs of the last %ds (errorBudgetPercent %d); stopping so the bucket is restored. Diagnosis: %s. Seen: %s",
			o.errTime.Seconds(), cfg.ErrorBudgetSeconds, cfg.ErrorBudgetPercent, diagnose(p, ph), summary(p, ph, elapsed))
		return drill.ProbeResult{}, typedTimeout(in.Mode, msg)
	default:
		msg := summary(p, ph, elapsed)
		if in.Mode != drill.ModeSteady {
			msg = "diagnosis: " + diagnose(p, ph) + ". Seen: " + msg
		}
		if o.ended == drill.EndedDeadline {
			msg = "the invocation's deadline came first: " + msg
		}
		return drill.ProbeResult{}, typedTimeout(in.Mode, msg)
	}
}

// Summarize is what Handle returns for a mode whose sampling produced log: the bounded
// result, or the typed error when the mode did not end stable. Handle builds the same
// from what it sampled; tests use it to see the payload of any log, however long.
func Summarize(in drill.ProbeInput, log drill.SampleLog) (drill.ProbeResult, error) {
	cfg, origin, err := validate(in)
	if err != nil {
		return drill.ProbeResult{}, err
	}
	p := newPlan(cfg, origin, in, log.Start, 0)
	samples := log.Unpack()
	p.params.End, p.params.Ended, p.params.Skipped = log.End, log.Ended, log.Skipped
	ph := measure.Analyse(samples, p.params)
	o := outcome{ended: log.Ended}
	if o.ended == drill.EndedErrorBudget {
		measure.SortByAnswer(samples)
		var oldest time.Time
		for _, s := range samples {
			if spent, et := p.errorBudget.Add(s); spent {
				o.errTime = et
				break
			}
			if s.Unanswered && (oldest.IsZero() || s.SentAt.Before(oldest)) {
				oldest = s.SentAt
			}
		}
		if o.errTime == 0 { // spent as time passed, not at an answer
			_, o.errTime = p.errorBudget.Check(log.End, oldest)
		}
	}
	res := result(in, p, ph, log.Start)
	res.SamplesKey, res.FinishedAt, res.AlarmWatch = drill.SamplesKey(log.Execution, log.ExecutionStartTime, log.Mode), log.End, log.AlarmWatch
	return finish(in, cfg, p, ph, res, o, log.End.Sub(log.Start), context.Canceled)
}

func typedTimeout(mode, msg string) error {
	switch mode {
	case drill.ModeSteady:
		return &drill.SteadyStateFailed{Msg: msg}
	case drill.ModeFailover:
		return &drill.FailoverTimeout{Msg: msg}
	default:
		return &drill.RecoveryTimeout{Msg: msg}
	}
}

func newPlan(cfg drill.Config, origin drill.OriginSettings, in drill.ProbeInput, start time.Time, settle time.Duration) plan {
	p := plan{mode: in.Mode, need: cfg.SteadySamples, every: cfg.ProbeInterval(), page: cfg.ProbeInterval(),
		reserve: WriteReserve, timeout: RequestTimeout(origin), origin: origin}
	since := start
	if in.Since != nil {
		since = *in.Since
	}
	switch in.Mode {
	case drill.ModeSteady:
		p.budget = max(3*time.Duration(cfg.SteadySamples)*p.every, SteadyMinBudget)
	default:
		p.budget = cfg.FailoverTimeout()
		p.every = measure.ResolvingInterval(cfg.StableWindow(), cfg.StableSharePercent, MinInterval, cfg.ProbeInterval())
		p.errorBudget = measure.Budget{Window: cfg.ErrorBudget(), Percent: cfg.ErrorBudgetPercent, GiveUp: p.timeout}
		if in.Mode == drill.ModeRecoveryCheck {
			// The bucket is restored already: the check only looks whether the primary
			// serves again, for its own short budget (not the drill's limit), and errors
			// on the way do not end it.
			p.budget, p.errorBudget = drill.RecoveryCheckBudget, measure.Budget{}
			// The failover may never have been seen: a block still on its way would
			// switch visitors to the secondary after this restore. Watch until no block
			// of the run can land any more (since, the restore, is after the block
			// was sent), within the check's budget.
			p.watchUntil = since.Add(settle)
		}
		if in.Mode == drill.ModeFailover {
			p.reserve += CartWindow
		}
	}
	p.params = measure.ForConfig(cfg, in.Mode, since, p.every)
	p.params.RequestTimeout = p.timeout
	p.want, p.old = p.params.New, p.params.Old
	return p
}

// outcome is how watching ended.
type outcome struct {
	ended   string
	errTime time.Duration // error budget spent
}

// watch starts sampling and waits until the mode's condition holds, the error budget
// is spent, the deadline passes or ctx ends. Sampling goes on after it returns.
func (h *Handler) watch(ctx context.Context, s *sampler, p plan, start, deadline time.Time) outcome {
	st := measure.NewStability(p.params)
	streak := 0
	spent := make(chan time.Duration, 1)
	confirming := p.mode != drill.ModeSteady
	s.onAnswer = func(smp drill.Sample) {
		st.Add(smp)
		if confirming {
			// Faster while the answers look like a finished switch: the looks are counts
			// of answers, so the rate changes how soon they come, not what they test.
			s.setEvery(st.Interval())
		}
		if p.errorBudget.Window > 0 {
			if over, et := p.errorBudget.Add(smp); over {
				select {
				case spent <- et:
				default:
				}
			}
		}
		switch {
		case !smp.OK() || (smp.Path == PathConfig && (smp.Region != p.want || measure.CacheHit(smp))):
			streak = 0
		case smp.Path == PathConfig:
			streak++
		}
	}
	s.start(start)
	defer func() {
		// Sampling goes on after watching (the cart check) at the base interval.
		s.mu.Lock()
		confirming = false
		s.mu.Unlock()
		s.setEvery(p.every)
	}()
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	timer := time.NewTimer(max(deadline.Sub(h.now()), 0))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return outcome{ended: drill.EndedStopped}
		case et := <-spent:
			return outcome{ended: drill.EndedErrorBudget, errTime: et}
		case <-timer.C:
			return outcome{ended: drill.EndedTimeout}
		case <-tick.C:
			s.mu.Lock()
			var done, over bool
			var et time.Duration
			now, oldest := h.now(), s.oldestInFlight()
			if p.mode == drill.ModeSteady {
				done = streak >= p.need
			} else {
				_, done = st.Check(now, oldest)
				done = done && !now.Before(p.watchUntil)
			}
			if p.errorBudget.Window > 0 {
				// Time alone may spend it: the last answer an error, or requests pending
				// past the request timeout, and nothing arriving.
				over, et = p.errorBudget.Check(now, oldest)
			}
			s.mu.Unlock()
			switch {
			case over:
				return outcome{ended: drill.EndedErrorBudget, errTime: et}
			case done:
				return outcome{ended: drill.EndedStable}
			}
		}
	}
}

// result is the bounded summary the state machine carries.
func result(in drill.ProbeInput, p plan, ph drill.Phases, start time.Time) drill.ProbeResult {
	v := ph.Visitors
	res := drill.ProbeResult{
		Timing: drill.Timing{StartedAt: start}, Mode: in.Mode, Since: in.Since,
		Samples: v.Samples, UserVisibleErrors: v.Errors, Slow: v.Slow, CacheHits: v.CacheHits,
		LatencyP50Ms: v.Latency.P50Ms, LatencyP95Ms: v.Latency.P95Ms, Phases: &ph,
	}
	if ph.FirstNew != nil {
		t := ph.FirstNew.At
		res.FirstExpectedAt = &t
	}
	if ph.Stable != nil && in.Mode != drill.ModeSteady && in.Since != nil {
		res.Seconds = ph.Stable.Seconds
	}
	res.ServedRegion = lastRegion(ph, p)
	return res
}

// lastRegion is the region serving when the probe stopped: the wanted one once the
// switch is stable, else whichever origin answered last.
func lastRegion(ph drill.Phases, p plan) string {
	switch {
	case ph.Stable != nil || (p.mode == drill.ModeSteady && ph.FirstNew != nil && ph.Ended == drill.EndedStable):
		return p.want
	case ph.LastOld != nil && (ph.FirstNew == nil || ph.LastOld.At.After(ph.FirstNew.At)):
		return p.old
	case ph.FirstNew != nil:
		return p.want
	}
	return ""
}

// keep writes the sample log; a failure is reported in the result, not returned: the
// drill must go on to restore whatever happens to the evidence.
func (h *Handler) keep(ctx context.Context, in drill.ProbeInput, p plan, start, end time.Time, skipped int, ended string, samples []drill.Sample, aw *drill.AlarmWatch) (key, problem string) {
	switch {
	case h.Samples == nil || in.Execution == "":
		return "", "no sample log kept: no ledger or no execution name"
	case in.StartTime.IsZero():
		// An execution of an older state machine definition (Step Functions runs an
		// execution on the definition it started with) does not pass its start: the
		// measurement stands, without a log rather than in another run's folder.
		return "", "no sample log kept: no startTime (the execution's start names its folder in the ledger)"
	}
	l := drill.NewSampleLog(start, samples)
	l.Execution, l.ExecutionStartTime, l.Mode, l.Since, l.End, l.Want, l.Old = in.Execution, in.StartTime, in.Mode, in.Since, end, p.want, p.old
	l.ConfigIntervalMs = float64(p.every.Microseconds()) / 1000
	l.PageIntervalMs = float64(p.page.Microseconds()) / 1000
	l.RequestTimeoutMs = float64(p.timeout.Milliseconds())
	l.Skipped, l.Ended, l.AlarmWatch = skipped, ended, aw
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), WriteReserve)
	defer cancel()
	key, err := h.Samples.PutSamples(wctx, l)
	if err != nil {
		h.logger().Warn("sample log not kept", "error", err)
		return "", err.Error()
	}
	return key, ""
}

// awaitState is the state machine's name for the state that runs mode.
func awaitState(mode string) string {
	switch mode {
	case drill.ModeFailover:
		return "AwaitFailover"
	case drill.ModeRecoveryCheck:
		return "RecoveryCheck"
	}
	return "AwaitRecovery"
}

// validate parses the config and checks the mode's fields, reporting every problem.
func validate(in drill.ProbeInput) (drill.Config, drill.OriginSettings, error) {
	cfg, err := drill.ParseConfig(in.Config)
	var problems []string
	if err != nil {
		var inv *drill.InvalidInput
		if !errors.As(err, &inv) {
			return cfg, drill.OriginSettings{}, err
		}
		problems = append(problems, inv.Problems...)
	}
	origin := drill.CloudFrontOriginDefaults
	if in.Origin != nil {
		origin = *in.Origin
		problems = append(problems, origin.Validate()...)
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
	case drill.ModeRecovery, drill.ModeRecoveryCheck:
		needSince("restore was applied")
	case "":
		problems = append(problems, "mode: missing (steady, failover, recovery or recovery-check)")
	default:
		problems = append(problems, fmt.Sprintf("mode: %q is not one of steady, failover, recovery, recovery-check", in.Mode))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return cfg, origin, &drill.InvalidInput{Problems: problems}
	}
	return cfg, origin, nil
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
		if err != nil && cctx.Err() != nil && c.Attempts > 1 {
			// The window ended during this call (a slow machine starts the last one late):
			// it found nothing, and what the earlier attempts found stands, rather than
			// "context deadline exceeded" over every earlier attempt's 404.
			break
		}
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

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) settle() time.Duration {
	if h.Settle > 0 {
		return h.Settle
	}
	return DefaultSettle
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

// samplingClient is HTTP's transport without HTTP's overall timeout and without a
// response header timeout: each sample is bounded by RequestTimeout instead. It keeps
// enough idle connections for the requests in flight.
func (h *Handler) samplingClient() *http.Client {
	if h.HTTP == nil || h.HTTP.Transport == nil {
		return &http.Client{Transport: defaultTransport}
	}
	t, ok := h.HTTP.Transport.(*http.Transport)
	if !ok {
		return &http.Client{Transport: h.HTTP.Transport}
	}
	t = t.Clone()
	t.ResponseHeaderTimeout = 0
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, 64)
	return &http.Client{Transport: t}
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

func (h *Handler) userAgent() string {
	if h.Shop != nil && h.Shop.UserAgent != "" {
		return h.Shop.UserAgent
	}
	return shop.DefaultUserAgent
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return discard
}

var (
	defaultTransport = func() *http.Transport {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		return t
	}()
	defaultHTTP = &http.Client{Timeout: 10 * time.Second, Transport: defaultTransport}
	discard     = slog.New(slog.NewTextHandler(io.Discard, nil))
)
