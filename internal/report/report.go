// Package report judges a drill from the state machine's document and renders the
// result as JSON and HTML for the ledger.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/measure"
	"github.com/unishop/failover-drill/internal/pab"
)

// Step names, in flow order, as the state machine names the states.
const (
	StepPreflight     = "Preflight"
	StepSeedCart      = "SeedCart"
	StepBlockBucket   = "BlockBucket"
	StepAwaitFailover = "AwaitFailover"
	StepRestore       = "Restore"
	StepAwaitRecovery = "AwaitRecovery"
)

// Step statuses.
const (
	StatusSucceeded = "succeeded"
	StatusCaught    = "caught" // ran on the failure path (RestoreAfterFailure)
)

// maxSummary bounds the one-line summary, which becomes the Fail state's cause (32,768
// characters at most). The figures come first, so a cut never hides them; Reasons
// keeps every reason in full.
const maxSummary = 4000

// Logs are the probe's sample logs by mode (drill.ModeSteady, ModeFailover,
// ModeRecovery), read from the ledger; a mode without a log is absent.
type Logs map[string]*drill.SampleLog

// Build judges the drill. It never fails: missing steps, missing logs and an
// unparseable config are reported as what they are, and make the verdict fail.
//
// The verdict is pass only if there was no error; the bucket was blocked; the
// secondary served stably (internal/measure) before the failover timeout and the cart
// was intact there; the bucket was restored to exactly its prior configuration; the
// primary served stably again before the timeout; and what visitors saw from the block
// to the end of recovery stayed within the limits: the error rate, the longest error
// run and the 95th percentile latency. Figures come from the sample logs when there
// are some (every sample), else from the probe's summaries.
func Build(in drill.ReportInput, logs Logs, now time.Time) drill.Report {
	st := in.State
	var r drill.Report
	r.Execution = in.Execution
	r.StartedAt = in.StartedAt
	r.FinishedAt = now.UTC()
	r.Reasons = []string{}
	r.LimitsFailed = []string{}
	fail := func(format string, args ...any) { r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...)) }
	limit := func(name string) {
		if !slices.Contains(r.LimitsFailed, name) {
			r.LimitsFailed = append(r.LimitsFailed, name)
		}
	}

	cfg, cfgErr := drill.ParseConfig(st.Config)
	if cfgErr != nil {
		// Report what is there: a lenient decode over the defaults fills what it can.
		cfg = drill.Defaults
		_ = json.Unmarshal(st.Config, &cfg)
	}
	r.Target.Distribution = cfg.Distribution
	r.Target.PrimaryBucket = cfg.PrimaryBucket
	r.Target.PrimaryRegion = cfg.PrimaryRegion
	r.Target.SecondaryRegion = cfg.SecondaryRegion
	r.Limits = drill.Limits{
		StableSharePercent: cfg.StableSharePercent, StableWindowSeconds: cfg.StableWindowSeconds,
		MaxErrorRatePercent: cfg.MaxErrorRatePercent, MaxErrorRunSeconds: cfg.MaxErrorRunSeconds,
		MaxLatencyP95Ms: cfg.MaxLatencyP95Ms, FailoverTimeoutSeconds: cfg.FailoverTimeoutSeconds,
	}
	r.DryRun = cfg.DryRun
	addReadiness(&r, st)
	if cfg.DryRun {
		judgeDryRun(&r, st)
		return r
	}
	if st.Error != nil && st.Error.Error == drill.ErrorName(&drill.NotReady{}) {
		// Stopped before anything changed: the failed checks are the reasons; the
		// drill's other parts were never meant to run.
		r.Error = st.Error.Unwrapped()
		if st.Restore != nil { // the failure path's restore: nothing to restore, bucket as it was
			rs := st.Restore.Payload
			r.Restore.By, r.Restore.Needed = "failure path", !rs.NothingToRestore
			r.Restore.MatchesPrior, r.Restore.Prior, r.Restore.ReadBack = rs.MatchesPrior, rs.Prior, rs.ReadBack
			if !r.Restore.Needed {
				r.Restore.NotNeeded = nothingWhy(rs)
			}
		}
		// A drill stopped although nothing failed: a check was skipped without
		// allowSkippedChecks.
		r.Reasons = append(r.Reasons, notReadyReasons(&r, !r.Readiness.AllowSkippedChecks)...)
		if len(r.Reasons) == 0 {
			r.Reasons = append(r.Reasons, "not ready: "+oneLine(st.Error.Cause))
		}
		if st.RestoreError != nil {
			r.RestoreError = st.RestoreError.Unwrapped()
			r.Reasons = append(r.Reasons, "the restore did not finish: "+oneLine(r.RestoreError.Error+": "+r.RestoreError.Cause))
		}
		r.Cart.NotChecked = "the drill stopped before it seeded a cart: not ready"
		r.Steps = steps(st)
		c := awsCost(st, logs)
		r.Cost = &c
		Conclude(&r, EndFacts{State: StepReadiness})
		r.Verdict = drill.Fail
		r.Summary = cut(oneLine("fail: "+strings.Join(r.Reasons, "; ")), maxSummary)
		return r
	}

	// The state that failed, inferred from the results present (AWS's Catch stores
	// the error, not where it came from); local mode knows it exactly.
	failedState := inferFailedState(st)
	if st.Error != nil {
		r.Error = st.Error.Unwrapped()
		fail("%s failed: %s: %s", failedState, r.Error.Error, oneLine(r.Error.Cause))
	} else if cfgErr != nil {
		fail("config: %s", oneLine(cfgErr.Error()))
	}
	if st.RestoreError != nil {
		r.RestoreError = st.RestoreError.Unwrapped()
		if r.Error != nil && *r.Error == *r.RestoreError {
			fail("the failure path's restore failed the same way: the bucket may still be blocked")
		} else {
			fail("the restore did not finish, the bucket may still be blocked: %s: %s", r.RestoreError.Error, oneLine(r.RestoreError.Cause))
		}
		if r.Error == nil {
			r.Error = r.RestoreError
		}
	}
	// A run that failed stops where it failed: what it never reached is not measured,
	// and saying so as reasons would only repeat the error.
	stopped := st.Error != nil || in.Interrupted != ""
	if in.Interrupted != "" {
		failedState = in.Interrupted
	}

	if st.Restore != nil {
		r.Recovery.RestoredAt = st.Restore.Payload.RestoredAt
	}
	var block *drill.BlockResult
	if st.Block != nil {
		block = &st.Block.Payload
		if !block.BlockedAt.IsZero() {
			r.Failover.BlockedAt = ptr(block.BlockedAt)
		}
		if !block.BlockSentAt.IsZero() {
			r.Failover.BlockSentAt = ptr(block.BlockSentAt)
		}
	}
	// A run stopped while a probe ran (Ctrl-C in local mode, a state output that never
	// reached the report) has no block-bucket or restore output, but each probe logged
	// the moment it measured from, which the ASL passes it: blockSentAt, restoredAt.
	if l := logs[drill.ModeFailover]; l != nil && l.Since != nil && r.Failover.BlockSentAt == nil && r.Failover.BlockedAt == nil {
		r.Failover.BlockSentAt = ptr(*l.Since)
	}
	if st.Restore == nil {
		for _, mode := range []string{drill.ModeRecovery, drill.ModeRecoveryCheck} {
			if l := logs[mode]; l != nil && l.Since != nil && r.Recovery.RestoredAt == nil {
				r.Recovery.RestoredAt = ptr(*l.Since)
			}
		}
	}
	// The block may have taken effect as soon as its put was sent: the failover counts
	// from then (a result without it, from an older block-bucket: from its answer).
	blockFrom := r.Failover.BlockSentAt
	if blockFrom == nil {
		blockFrom = r.Failover.BlockedAt
	}
	r.Samples = map[string]string{}
	for mode, l := range logs {
		if l != nil {
			r.Samples[mode] = drill.SamplesKey(in.Execution, drill.At(in.StartedAt), mode)
		}
	}
	pre, _ := phasesOf(cfg, drill.ModeSteady, st.Preflight, logs[drill.ModeSteady], nil)
	fo, foWhy := phasesOf(cfg, drill.ModeFailover, st.Failover, logs[drill.ModeFailover], blockFrom)
	rc, rcWhy := phasesOf(cfg, drill.ModeRecovery, st.Recovery, logs[drill.ModeRecovery], r.Recovery.RestoredAt)
	chk, _ := phasesOf(cfg, drill.ModeRecoveryCheck, st.RecoveryCheck, logs[drill.ModeRecoveryCheck], r.Recovery.RestoredAt)
	rcSpan := spanOf(logs[drill.ModeRecovery], st.Recovery)
	if rc == nil && chk != nil {
		// AwaitRecovery never ran: the failure path's recovery check is the recovery.
		rc, r.Recovery.ByCheck = chk, true
		rcSpan = spanOf(logs[drill.ModeRecoveryCheck], st.RecoveryCheck)
	}
	r.Coverage = coverage(blockFrom, r.Recovery.RestoredAt, spanOf(logs[drill.ModeFailover], st.Failover), rcSpan)
	if pre != nil {
		r.Baseline = &pre.Visitors
	}

	// Failover.
	r.Failover.Phases = fo
	if fo != nil {
		r.Failover.ServedRegion = servedAtEnd(fo)
		if fo.FirstNew != nil {
			r.Failover.FirstSecondaryAt = ptr(fo.FirstNew.At)
		}
		if fo.Stable != nil {
			r.Failover.Seconds, r.Failover.Stable = fo.Stable.Seconds, true
		}
	} else {
		r.Failover.NotMeasured = foWhy
	}
	switch {
	case stopped && (block == nil || fo == nil):
	case block == nil:
		fail("block: the bucket was never blocked")
	case fo == nil:
		fail("failover: not measured: %s", foWhy)
	case fo.Stable == nil && in.Interrupted != "":
		// Stopped from outside while it watched: no limit was reached, so none is blamed.
		fail("failover: not stable yet when the run was stopped (in %s)", in.Interrupted)
	case fo.Stable == nil:
		fail("failover: %s", notStable(fo, cfg))
		limit(endLimit(fo))
	case fo.Stable.Seconds > float64(cfg.FailoverTimeoutSeconds):
		fail("failover: stable only after %.3f s, beyond failoverTimeoutSeconds %d", fo.Stable.Seconds, cfg.FailoverTimeoutSeconds)
		limit("failoverTimeoutSeconds")
	}

	// Cart continuity.
	if st.Failover != nil && st.Failover.Payload.Cart != nil {
		c := st.Failover.Payload.Cart
		r.Cart.Intact, r.Cart.Expected, r.Cart.Got = c.Intact, c.Expected, c.Got
	}
	if st.Seed != nil {
		r.Cart.User, r.Cart.Names = st.Seed.Payload.User.Email, st.Seed.Payload.Names
		if r.Cart.Expected == nil {
			r.Cart.Expected = st.Seed.Payload.Cart
		}
	}
	switch {
	case st.Seed == nil:
		r.Cart.NotChecked = notSeeded + ": the run ended before SeedCart finished"
	case st.Failover == nil || st.Failover.Payload.Cart == nil:
		r.Cart.NotChecked = "not read through the secondary API: the run ended before AwaitFailover finished"
	}
	switch {
	case r.Cart.NotChecked != "":
		if !stopped {
			fail("cart: %s", r.Cart.NotChecked)
		}
	case !r.Cart.Intact:
		msg := fmt.Sprintf("cart: not intact after failover (expected %d unicorns, got %d)", len(r.Cart.Expected), len(r.Cart.Got))
		if e := st.Failover.Payload.Cart.Error; e != "" {
			msg += ": " + oneLine(e)
		}
		fail("%s", msg)
	}

	// Restore.
	r.Restore.By = "flow"
	if stopped {
		r.Restore.By = "failure path"
	}
	if st.Restore != nil {
		rs := st.Restore.Payload
		r.Restore.Needed = block != nil || !rs.NothingToRestore
		r.Restore.MatchesPrior = rs.MatchesPrior
		r.Restore.Prior = rs.Prior
		r.Restore.ReadBack = rs.ReadBack
		r.Restore.RestoredAt = rs.RestoredAt
		r.Restore.CartCleared = rs.CartCleared
		if !r.Restore.Needed {
			r.Restore.NotNeeded = nothingWhy(rs)
		}
		switch {
		case rs.Skipped != "" && !rs.AlreadyRestored:
			fail("restore: skipped: %s", oneLine(rs.Skipped))
		case block != nil && rs.NothingToRestore:
			fail("restore: found nothing to restore although the bucket was blocked")
		case rs.ChangedAfterRestore != "":
			// The restore was done and verified; the bucket was changed since by someone
			// else (readBack shows what it holds): not the drill's failure.
		case !rs.MatchesPrior:
			fail("restore: the bucket reads back %s, its prior configuration was %s", pab.String(rs.ReadBack), pab.String(rs.Prior))
		}
	} else if block != nil {
		r.Restore.Needed = true
		if st.RestoreError == nil {
			fail("restore: did not run after the bucket was blocked")
		}
	} else {
		r.Restore.By = ""
	}

	// Recovery, only after the failover was seen: a block whose effect the drill never
	// saw may land after the restore, and a recovery "measured" before it is made up.
	failoverUnseen := rc != nil && fo != nil && block != nil && !effectSeen(fo)
	if failoverUnseen {
		r.Recovery.NotMeasured = fmt.Sprintf("%s (%s never served): there was nothing to recover from", failoverUnseenWhy, orUnknown(cfg.SecondaryRegion))
		r.Failover.Late = lateSwitch(cfg, logs, blockFrom, fo, r.Recovery.ByCheck)
		rc = nil
	}
	r.Recovery.Phases = rc
	if rc != nil {
		r.Recovery.ServedRegion = servedAtEnd(rc)
		if rc.FirstNew != nil {
			r.Recovery.FirstPrimaryAt = ptr(rc.FirstNew.At)
		}
		if rc.Stable != nil {
			r.Recovery.Seconds, r.Recovery.Stable = rc.Stable.Seconds, true
		}
	} else if !failoverUnseen {
		if e := st.RecoveryCheckError; e != nil {
			rcWhy += "; the failure path's recovery check failed: " + oneLine(e.Error+": "+e.Cause)
		}
		r.Recovery.NotMeasured = rcWhy
	}
	if l := r.Failover.Late; l != nil {
		fail("late block: %s served from %.3f s to %.3f s after the block was sent (%.3f s, %d answers), after the drill stopped watching the failover at %.3f s",
			l.Region, l.FromSeconds, l.ToSeconds, l.Seconds, l.Samples, l.WatchEndedSeconds)
	}
	switch {
	case failoverUnseen:
		fail("recovery: not measured: %s", r.Recovery.NotMeasured)
	case stopped && rc == nil:
	case rc == nil:
		fail("recovery: not observed: %s", rcWhy)
	case rc.Stable == nil && r.Recovery.ByCheck:
		fail("recovery: %s", checkNotStable(rc))
	case rc.Stable == nil:
		fail("recovery: %s", notStable(rc, cfg))
		limit(endLimit(rc))
	case rc.Stable.Seconds > float64(cfg.FailoverTimeoutSeconds):
		fail("recovery: stable only after %.3f s, beyond failoverTimeoutSeconds %d", rc.Stable.Seconds, cfg.FailoverTimeoutSeconds)
		limit("failoverTimeoutSeconds")
	}

	// The one promise: the shop is not left broken. A blocked bucket whose primary was
	// not seen serving again afterwards is told at once (metric, alarm).
	served := (rc != nil && rc.Stable != nil) || (chk != nil && chk.Stable != nil)
	if block != nil && !block.BlockedAt.IsZero() && !served {
		r.PrimaryNotServing = true
		why := ""
		if e := st.RecoveryCheckError; e != nil {
			why = " (the failure path's recovery check failed: " + oneLine(e.Error+": "+e.Cause) + ")"
		}
		fail("primary not serving: %s was not seen serving stably after the restore%s; check the site and the bucket now (runbook: docs/operate.md)", orUnknown(cfg.PrimaryRegion), why)
	}

	// What visitors saw, every ending included.
	visible := rc
	if failoverUnseen {
		visible = chk
	}
	for _, ph := range []*drill.Phases{pre, fo, visible} {
		if ph != nil {
			n := ph.Visitors.Errors
			if r.UserVisibleErrors != nil {
				n += *r.UserVisibleErrors
			}
			r.UserVisibleErrors = &n
		}
	}
	if v := drillVisitors(cfg, blockFrom, logs, fo, rc); v != nil {
		r.Visitors = v
		if v.ErrorRatePercent > float64(cfg.MaxErrorRatePercent) {
			fail("maxErrorRatePercent: visitors saw errors %.2f%% of the time from the block to the end of recovery (limit %d%%): %d errors in %d answers (%s)",
				v.ErrorRatePercent, cfg.MaxErrorRatePercent, v.Errors, v.Samples, outcomes(v.Outcomes))
			limit("maxErrorRatePercent")
		}
		if run := v.LongestErrorRun; run != nil && run.Seconds > float64(cfg.MaxErrorRunSeconds) {
			fail("maxErrorRunSeconds: visitors saw errors for %.3f s without a good answer (limit %d s), from %.3f s after the block (%d errors in a row)",
				run.Seconds, cfg.MaxErrorRunSeconds, run.From.Seconds, run.Samples)
			limit("maxErrorRunSeconds")
		}
		if v.Latency.P95Ms > float64(cfg.MaxLatencyP95Ms) {
			msg := fmt.Sprintf("maxLatencyP95Ms: visitors waited %.0f ms or more for 5%% of answers (p95; limit %d ms; p50 %.0f ms, max %.0f ms, %d slow)",
				v.Latency.P95Ms, cfg.MaxLatencyP95Ms, v.Latency.P50Ms, v.Latency.MaxMs, v.Slow)
			if v.Unanswered > 0 {
				msg += fmt.Sprintf("; %d requests were still unanswered when the probe stopped, counted at what they had waited", v.Unanswered)
			}
			fail("%s", msg)
			limit("maxLatencyP95Ms")
		}
	}
	r.Steps = steps(st)
	r.StopAlarms = alarmWatch(st, logs)
	c := awsCost(st, logs)
	r.Cost = &c
	Conclude(&r, EndFacts{State: failedState, StateInferred: failedState != ""})

	figures := figuresLine(r)
	notes := skippedNote(&r) + unwatchedNote(r.StopAlarms)
	if len(r.Reasons) == 0 {
		r.Verdict = drill.Pass
		r.Summary = "pass: " + figures + ", cart intact, bucket restored exactly" + notes
	} else {
		r.Verdict = drill.Fail
		r.Summary = cut("fail: "+figures+"; "+strings.Join(r.Reasons, "; ")+notes, maxSummary)
	}
	return r
}

// phasesOf computes a mode's figures from its sample log (every sample), else takes
// the probe's summary; why says what is missing when neither is there.
func phasesOf(cfg drill.Config, mode string, step *drill.Step[drill.ProbeResult], log *drill.SampleLog, since *time.Time) (*drill.Phases, string) {
	if log != nil {
		s := log.Start
		switch {
		case since != nil:
			s = *since
		case log.Since != nil:
			s = *log.Since
		}
		p := measure.ForConfig(cfg, mode, s, time.Duration(log.ConfigIntervalMs*float64(time.Millisecond)))
		p.End, p.Ended, p.Skipped, p.RequestTimeout = log.End, log.Ended, log.Skipped, requestTimeout(log)
		ph := measure.Analyse(log.Unpack(), p)
		return &ph, ""
	}
	if step != nil && step.Payload.Phases != nil {
		return step.Payload.Phases, ""
	}
	why := "no sample log in the ledger and no result from the probe"
	if step != nil && step.Payload.SamplesError != "" {
		why += " (the log was not kept: " + step.Payload.SamplesError + ")"
	}
	return nil, why
}

// failoverUnseenWhy begins the recovery's NotMeasured when the failover was never seen.
const failoverUnseenWhy = "the block's effect was never seen while the drill watched the failover"

// effectSeen: the failover probe saw the block take effect: the secondary answered, or
// the primary had stopped answering when it stopped (errors, hangs).
func effectSeen(fo *drill.Phases) bool {
	if fo.FirstNew != nil || fo.LastOld == nil {
		return true
	}
	w := fo.LastWindow
	return w == nil || w.OldPercent == 0
}

// lateSwitch is the switch to the secondary the recovery probe (or check) saw after
// the failover probe had stopped: nil when it saw none.
func lateSwitch(cfg drill.Config, logs Logs, blockFrom *time.Time, fo *drill.Phases, byCheck bool) *drill.LateSwitch {
	mode := drill.ModeRecovery
	if byCheck {
		mode = drill.ModeRecoveryCheck
	}
	l := logs[mode]
	if l == nil || blockFrom == nil {
		return nil
	}
	late := measure.Late(l.Unpack(), cfg.SecondaryRegion, *blockFrom)
	if late == nil {
		return nil
	}
	late.Mode = mode
	if fl := logs[drill.ModeFailover]; fl != nil && !fl.End.IsZero() {
		late.WatchEndedSeconds = round3(fl.End.Sub(*blockFrom).Seconds())
	}
	return late
}

// requestTimeout is when the probe that kept log gave up on a request.
func requestTimeout(log *drill.SampleLog) time.Duration {
	return time.Duration(log.RequestTimeoutMs * float64(time.Millisecond))
}

// drillVisitors is what visitors saw from the block to the end of recovery: from every
// sample when the logs are there, else combined conservatively from the summaries.
func drillVisitors(cfg drill.Config, blockedAt *time.Time, logs Logs, fo, rc *drill.Phases) *drill.VisitorStats {
	var samples []drill.Sample
	var end time.Time
	for _, mode := range []string{drill.ModeFailover, drill.ModeRecovery} {
		if l := logs[mode]; l != nil {
			// A request still unanswered when its probe stopped is judged there: slow,
			// or a timeout once it had waited the probe's request timeout.
			samples = append(samples, measure.Censor(l.Unpack(), requestTimeout(l))...)
			if l.End.After(end) {
				end = l.End
			}
		}
	}
	since := time.Time{}
	if blockedAt != nil {
		since = *blockedAt
	}
	if len(samples) > 0 {
		measure.SortByAnswer(samples)
		v := measure.Visitors(samples, since, time.Duration(cfg.MaxLatencyP95Ms)*time.Millisecond, end)
		return &v
	}
	var v *drill.VisitorStats
	for _, ph := range []*drill.Phases{fo, rc} {
		if ph == nil {
			continue
		}
		pv := ph.Visitors
		if v == nil {
			c := pv
			c.Outcomes = maps.Clone(pv.Outcomes)
			v = &c
			continue
		}
		v.Samples += pv.Samples
		v.Unanswered += pv.Unanswered
		v.Errors += pv.Errors
		v.Slow += pv.Slow
		v.CacheHits += pv.CacheHits
		v.ErrorRatePercent = max(v.ErrorRatePercent, pv.ErrorRatePercent)
		v.Latency = drill.LatencyStats{Samples: v.Latency.Samples + pv.Latency.Samples, P50Ms: max(v.Latency.P50Ms, pv.Latency.P50Ms),
			P95Ms: max(v.Latency.P95Ms, pv.Latency.P95Ms), MaxMs: max(v.Latency.MaxMs, pv.Latency.MaxMs), Censored: v.Latency.Censored + pv.Latency.Censored}
		if pv.LongestErrorRun != nil && (v.LongestErrorRun == nil || pv.LongestErrorRun.Seconds > v.LongestErrorRun.Seconds) {
			v.LongestErrorRun = pv.LongestErrorRun
		}
		for k, n := range pv.Outcomes {
			if v.Outcomes == nil {
				v.Outcomes = map[string]int{}
			}
			v.Outcomes[k] += n
		}
	}
	return v
}

// notStable says why a switch never became stable and what the probe saw when it stopped.
func notStable(ph *drill.Phases, cfg drill.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s never served stably (%d%% of config.json answers in every %d s window)", ph.To, ph.StableSharePercent, ph.StableWindowSeconds)
	switch ph.Ended {
	case drill.EndedStable:
		b.WriteString("; the probe saw it stable, but the old origin answered again afterwards")
	case drill.EndedTimeout:
		fmt.Fprintf(&b, " within failoverTimeoutSeconds %d; the timeout forced the bucket's restore", cfg.FailoverTimeoutSeconds)
	case drill.EndedDeadline:
		b.WriteString("; the probe's invocation ended first")
	case drill.EndedErrorBudget:
		fmt.Fprintf(&b, "; visitors spent the error budget (errorBudgetPercent %d of %d s), so the drill stopped and restored early", cfg.ErrorBudgetPercent, cfg.ErrorBudgetSeconds)
	case drill.EndedStopped:
		b.WriteString("; the probe was stopped")
	}
	if w := ph.LastWindow; w != nil {
		fmt.Fprintf(&b, "; in its last %d s: %d config.json answers, %.1f%% from %s", ph.StableWindowSeconds, w.Samples, w.NewPercent, ph.To)
		if ph.From != "" {
			fmt.Fprintf(&b, ", %.1f%% from %s", w.OldPercent, ph.From)
		}
		fmt.Fprintf(&b, ", %.1f%% errors", w.ErrorPercent)
		if w.CacheHitPercent > 0 {
			fmt.Fprintf(&b, ", %.1f%% cache hits", w.CacheHitPercent)
		}
	}
	return b.String()
}

// checkNotStable says what the failure path's recovery check saw.
func checkNotStable(ph *drill.Phases) string {
	msg := fmt.Sprintf("the failure path's recovery check did not see %s serve stably (ended: %s, after at most %.0f s)", ph.To, ph.Ended, drill.RecoveryCheckBudget.Seconds())
	if w := ph.LastWindow; w != nil {
		msg += fmt.Sprintf("; in its last %d s: %d config.json answers, %.1f%% from %s, %.1f%% errors", ph.StableWindowSeconds, w.Samples, w.NewPercent, ph.To, w.ErrorPercent)
	}
	return msg
}

// endLimit names the limit a switch that never became stable failed.
func endLimit(ph *drill.Phases) string {
	if ph.Ended == drill.EndedErrorBudget {
		return "errorBudgetPercent"
	}
	return "failoverTimeoutSeconds"
}

// servedAtEnd is the region serving when the probe stopped: the new one once stable,
// else the origin that served most of the last window.
func servedAtEnd(ph *drill.Phases) string {
	switch w := ph.LastWindow; {
	case ph.Stable != nil:
		return ph.To
	case w == nil || w.Samples == 0:
		return ""
	case w.OldPercent > w.NewPercent && ph.From != "":
		return ph.From
	case w.NewPercent > 0:
		return ph.To
	}
	return ""
}

// figuresLine is the summary's lead: the figures, whatever the verdict.
func figuresLine(r drill.Report) string {
	var parts []string
	sw := func(name, region string, ph *drill.Phases, why string) {
		switch {
		case ph == nil:
			parts = append(parts, name+" not measured")
		case ph.Stable != nil:
			s := ph.Stable
			parts = append(parts, fmt.Sprintf("%s stable in %.3f s (%.3f..%.3f) to %s", name, s.Seconds, s.LoSeconds, s.HiSeconds, orUnknown(region)))
		default:
			parts = append(parts, name+" never stable")
		}
	}
	sw("failover", r.Target.SecondaryRegion, r.Failover.Phases, r.Failover.NotMeasured)
	if l := r.Failover.Late; l != nil {
		parts = append(parts, fmt.Sprintf("late switch to %s at %.3f s for %.3f s (after the failover watch ended at %.3f s)", l.Region, l.FromSeconds, l.Seconds, l.WatchEndedSeconds))
	}
	sw("recovery", r.Target.PrimaryRegion, r.Recovery.Phases, r.Recovery.NotMeasured)
	if c := r.Coverage; c != nil && c.SpanSeconds > 0 {
		parts = append(parts, fmt.Sprintf("unsampled %.3f s of %.3f s (%.1f%%)", c.UnsampledSeconds, c.SpanSeconds, c.UnsampledPercent))
	}
	if v := r.Visitors; v != nil {
		n, _ := r.Errors()
		s := fmt.Sprintf("%d user-visible errors (error rate %.2f%%", n, v.ErrorRatePercent)
		if v.LongestErrorRun != nil {
			s += fmt.Sprintf(", longest run %.3f s", v.LongestErrorRun.Seconds)
		}
		s += fmt.Sprintf("), %d slow, %d unanswered, latency p95 %.0f ms", v.Slow, v.Unanswered, v.Latency.P95Ms)
		parts = append(parts, s)
	} else if n, ok := r.Errors(); ok {
		parts = append(parts, fmt.Sprintf("%d user-visible errors", n))
	}
	return strings.Join(parts, ", ")
}

func outcomes(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(out, ", ")
}

// steps lists the steps present in the state, in flow order.
func steps(st drill.State) []drill.StepRecord {
	out := []drill.StepRecord{}
	add := func(name string, t drill.Timing, status string) {
		out = append(out, drill.StepRecord{Name: name, Start: t.StartedAt, End: t.FinishedAt, Status: status})
	}
	if st.Readiness != nil {
		add(StepReadiness, st.Readiness.Payload.Timing, StatusSucceeded)
	}
	if st.Preflight != nil {
		add(StepPreflight, st.Preflight.Payload.Timing, StatusSucceeded)
	}
	if st.Seed != nil {
		add(StepSeedCart, st.Seed.Payload.Timing, StatusSucceeded)
	}
	if st.Block != nil {
		add(StepBlockBucket, st.Block.Payload.Timing, StatusSucceeded)
	}
	if st.Failover != nil {
		add(StepAwaitFailover, st.Failover.Payload.Timing, StatusSucceeded)
	}
	if st.Restore != nil {
		status := StatusSucceeded
		if st.Error != nil {
			status = StatusCaught
		}
		add(StepRestore, st.Restore.Payload.Timing, status)
	}
	if st.Recovery != nil {
		add(StepAwaitRecovery, st.Recovery.Payload.Timing, StatusSucceeded)
	}
	return out
}

// oneLine folds whitespace; it never cuts.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cut bounds s to max runes.
func cut(s string, max int) string {
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// Handler writes the report to the ledger.
type Handler struct {
	Ledger *ledger.Ledger
	Log    *slog.Logger
	Now    func() time.Time
	// Metrics, when set, receives the report's figures as a CloudWatch Embedded
	// Metric Format line (the Lambda's stdout).
	Metrics io.Writer
	// Executions, when set, is asked whether a drill ran during a dry run that did not
	// end ready (its verdict is then skipped); nil: the verdict stands.
	Executions ExecutionsAPI
}

// Handle builds the report, writes report.json and report.html in the run's folder
// in the ledger (the execution's name and start: drill.RunFolder) and returns it. A
// ledger error is returned (Transient ones are retried by the state machine).
func (h *Handler) Handle(ctx context.Context, in drill.ReportInput) (drill.Report, error) {
	var problems []string
	if in.Execution == "" {
		problems = append(problems, "execution: missing")
	}
	if in.StartedAt.IsZero() {
		problems = append(problems, "startedAt: missing ($$.Execution.StartTime: with the name, it names the run's folder in the ledger)")
	}
	if len(problems) > 0 {
		return drill.Report{}, &drill.InvalidInput{Problems: problems}
	}
	start := drill.At(in.StartedAt)
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	logs := h.readLogs(ctx, in.Execution, start, log)
	r := Build(in, logs, now)
	h.judgeConcurrency(ctx, &r, in.ExecutionArn, now)
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: encode: %w", in.Execution, err)
	}
	page, err := HTML(r, logs)
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	if err := h.Ledger.PutReport(ctx, in.Execution, start, js, page); err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	log.Info("report written", "execution", in.Execution, "verdict", r.Verdict, "summary", r.Summary,
		"json", drill.ReportKey(in.Execution, start), "html", drill.ReportHTMLKey(in.Execution, start))
	if h.Metrics != nil {
		line, err := EMF(r, now)
		if err == nil {
			_, err = h.Metrics.Write(append(line, '\n'))
		}
		if err != nil { // metrics are a convenience: the report is written already
			log.Warn("metrics not written", "error", err)
		}
	}
	return r, nil
}

// readLogs reads every mode's sample log of the run from the ledger. A log that cannot
// be read is logged and left out: the report then uses the probe's summary and says so.
func (h *Handler) readLogs(ctx context.Context, execution string, start drill.Instant, log *slog.Logger) Logs {
	logs := Logs{}
	for _, mode := range drill.LogModes {
		l, err := h.Ledger.Samples(ctx, execution, start, mode)
		if err != nil {
			log.Warn("sample log unreadable; using the probe's summary", "mode", mode, "error", err)
			continue
		}
		if l != nil {
			logs[mode] = l
		}
	}
	return logs
}

// alarmWatch adds up how the probe watched the stop alarms in failover and recovery,
// from the sample logs (every ending) or else the probe's results; nil when it
// watched none.
func alarmWatch(st drill.State, logs Logs) *drill.AlarmWatch {
	var out *drill.AlarmWatch
	for _, mode := range []string{drill.ModeFailover, drill.ModeRecovery} {
		var w *drill.AlarmWatch
		if l := logs[mode]; l != nil {
			w = l.AlarmWatch
		}
		step := st.Failover
		if mode == drill.ModeRecovery {
			step = st.Recovery
		}
		if w == nil && step != nil {
			w = step.Payload.AlarmWatch
		}
		if w == nil {
			continue
		}
		if out == nil {
			out = &drill.AlarmWatch{Alarms: w.Alarms, LimitSeconds: w.LimitSeconds}
		}
		out.Reads += w.Reads
		out.FailedReads += w.FailedReads
		out.UnwatchedSeconds = math.Round((out.UnwatchedSeconds+w.UnwatchedSeconds)*1000) / 1000
		out.LongestUnwatchedSeconds = max(out.LongestUnwatchedSeconds, w.LongestUnwatchedSeconds)
		if w.LastError != "" {
			out.LastError = w.LastError
		}
	}
	return out
}

// unwatchedNote is the summary's note on stop alarms that went unread for a while.
func unwatchedNote(w *drill.AlarmWatch) string {
	if w == nil || w.FailedReads == 0 {
		return ""
	}
	return fmt.Sprintf("; stop alarms unwatched for %.1f s (%d of %d reads failed, longest %.1f s, limit %.0f s): %s",
		w.UnwatchedSeconds, w.FailedReads, w.Reads, w.LongestUnwatchedSeconds, w.LimitSeconds, cut(oneLine(w.LastError), 200))
}
