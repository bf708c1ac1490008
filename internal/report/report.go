// Package report judges a drill from the state machine's document and renders the
// result as JSON and HTML for the ledger.
package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
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
	j := newJudge(in, logs, now)
	if j.cfg.DryRun {
		judgeDryRun(j.r, j.st)
		return *j.r
	}
	if j.notReady() {
		return *j.r
	}
	j.errors()
	j.moments()
	j.failover()
	j.cart()
	j.restore()
	j.database()
	j.recovery()
	j.promise()
	j.visitors()
	j.conclude()
	return *j.r
}

// judge is one report being built: its input, the run's config, the report, and what
// its steps share (the state that failed, the block, each mode's figures).
type judge struct {
	in     drill.ReportInput
	st     drill.State
	logs   Logs
	cfg    drill.Config
	cfgErr error
	r      *drill.Report

	// stopped: the run failed or was interrupted; what it never reached is not
	// measured, and saying so as reasons would only repeat the error.
	stopped        bool
	failedState    string
	block          *drill.BlockResult
	blockFrom      *time.Time // the block's put sent (else acknowledged): the failover counts from it
	pre, fo, rc    *drill.Phases
	chk            *drill.Phases // the failure path's recovery check
	foWhy, rcWhy   string        // why the failover, the recovery were not measured
	failoverUnseen bool          // the block's effect was never seen while the drill watched
}

// fail adds a reason the verdict fails; limit names a limit it broke (once).
func (j *judge) fail(format string, args ...any) {
	j.r.Reasons = append(j.r.Reasons, fmt.Sprintf(format, args...))
}

func (j *judge) limit(name string) {
	if !slices.Contains(j.r.LimitsFailed, name) {
		j.r.LimitsFailed = append(j.r.LimitsFailed, name)
	}
}

// newJudge starts the report: the run, its target and limits from the config (an
// unparseable config is decoded leniently over the defaults), and readiness.
func newJudge(in drill.ReportInput, logs Logs, now time.Time) *judge {
	j := &judge{in: in, st: in.State, logs: logs, r: &drill.Report{}}
	r := j.r
	r.Execution = in.Execution
	r.StartedAt = in.StartedAt
	r.FinishedAt = now.UTC()
	r.Reasons = []string{}
	r.LimitsFailed = []string{}
	j.cfg, j.cfgErr = drill.ParseConfig(j.st.Config)
	if j.cfgErr != nil {
		// Report what is there: a lenient decode over the defaults fills what it can.
		j.cfg = drill.Defaults
		_ = json.Unmarshal(j.st.Config, &j.cfg)
	}
	cfg := j.cfg
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
	addReadiness(r, j.st)
	return j
}

// notReady judges a run stopped before anything changed (NotReady): the failed checks
// are its reasons; the drill's other parts were never meant to run. It reports whether
// the run was one.
func (j *judge) notReady() bool {
	if !(j.st.Error != nil && j.st.Error.Error == drill.ErrorName(&drill.NotReady{})) {
		return false
	}
	// Stopped before anything changed: the failed checks are the reasons; the
	// drill's other parts were never meant to run.
	j.r.Error = j.st.Error.Unwrapped()
	if j.st.Restore != nil { // the failure path's restore: nothing to restore, bucket as it was
		rs := j.st.Restore.Payload
		j.r.Restore.By, j.r.Restore.Needed = "failure path", !rs.NothingToRestore
		j.r.Restore.MatchesPrior, j.r.Restore.Prior, j.r.Restore.ReadBack = rs.MatchesPrior, rs.Prior, rs.ReadBack
		if !j.r.Restore.Needed {
			j.r.Restore.NotNeeded = nothingWhy(rs)
		}
	}
	// A drill stopped although nothing failed: a check was skipped without
	// allowSkippedChecks.
	j.r.Reasons = append(j.r.Reasons, notReadyReasons(j.r, !j.r.Readiness.AllowSkippedChecks)...)
	if len(j.r.Reasons) == 0 {
		j.r.Reasons = append(j.r.Reasons, "not ready: "+oneLine(j.st.Error.Cause))
	}
	if j.st.RestoreError != nil {
		j.r.RestoreError = j.st.RestoreError.Unwrapped()
		j.r.Reasons = append(j.r.Reasons, "the restore did not finish: "+oneLine(j.r.RestoreError.Error+": "+j.r.RestoreError.Cause))
	}
	j.r.Cart.NotChecked = "the drill stopped before it seeded a cart: not ready"
	j.r.Steps = steps(j.st)
	c := awsCost(j.st, j.logs)
	j.r.Cost = &c
	Conclude(j.r, EndFacts{State: StepReadiness})
	j.r.Verdict = drill.Fail
	j.r.Summary = cut(oneLine("fail: "+strings.Join(j.r.Reasons, "; ")), maxSummary)
	return true
}

// errors names the execution's error and its restore error, if any, as reasons, and
// notes where a stopped run stopped.
func (j *judge) errors() {
	// The state that failed, inferred from the results present (AWS's Catch stores
	// the error, not where it came from); local mode knows it exactly.
	j.failedState = inferFailedState(j.st)
	if j.st.Error != nil {
		j.r.Error = j.st.Error.Unwrapped()
		j.fail("%s failed: %s: %s", j.failedState, j.r.Error.Error, oneLine(j.r.Error.Cause))
	} else if j.cfgErr != nil {
		j.fail("config: %s", oneLine(j.cfgErr.Error()))
	}
	if j.st.RestoreError != nil {
		j.r.RestoreError = j.st.RestoreError.Unwrapped()
		if j.r.Error != nil && *j.r.Error == *j.r.RestoreError {
			j.fail("the failure path's restore failed the same way: the bucket may still be blocked")
		} else {
			j.fail("the restore did not finish, the bucket may still be blocked: %s: %s", j.r.RestoreError.Error, oneLine(j.r.RestoreError.Cause))
		}
		if j.r.Error == nil {
			j.r.Error = j.r.RestoreError
		}
	}
	// A run that failed stops where it failed: what it never reached is not measured,
	// and saying so as reasons would only repeat the error.
	j.stopped = j.st.Error != nil || j.in.Interrupted != ""
	if j.in.Interrupted != "" {
		j.failedState = j.in.Interrupted
	}
}

// moments are the block's and the restore's times (from the probes' logs when their
// functions' outputs never reached the report), each mode's figures and the coverage.
func (j *judge) moments() {
	if j.st.Restore != nil {
		j.r.Recovery.RestoredAt = j.st.Restore.Payload.RestoredAt
	}
	if j.st.Block != nil {
		j.block = &j.st.Block.Payload
		if !j.block.BlockedAt.IsZero() {
			j.r.Failover.BlockedAt = ptr(j.block.BlockedAt)
		}
		if !j.block.BlockSentAt.IsZero() {
			j.r.Failover.BlockSentAt = ptr(j.block.BlockSentAt)
		}
	}
	// A run stopped while a probe ran (Ctrl-C in local mode, a state output that never
	// reached the report) has no block-bucket or restore output, but each probe logged
	// the moment it measured from, which the ASL passes it: blockSentAt, restoredAt.
	if l := j.logs[drill.ModeFailover]; l != nil && l.Since != nil && j.r.Failover.BlockSentAt == nil && j.r.Failover.BlockedAt == nil {
		j.r.Failover.BlockSentAt = ptr(*l.Since)
	}
	if j.st.Restore == nil {
		for _, mode := range []string{drill.ModeRecovery, drill.ModeRecoveryCheck} {
			if l := j.logs[mode]; l != nil && l.Since != nil && j.r.Recovery.RestoredAt == nil {
				j.r.Recovery.RestoredAt = ptr(*l.Since)
			}
		}
	}
	// The block may have taken effect as soon as its put was sent: the failover counts
	// from then (a result without it, from an older block-bucket: from its answer).
	j.blockFrom = j.r.Failover.BlockSentAt
	if j.blockFrom == nil {
		j.blockFrom = j.r.Failover.BlockedAt
	}
	j.r.Samples = map[string]string{}
	for mode, l := range j.logs {
		if l != nil {
			j.r.Samples[mode] = drill.SamplesKey(j.in.Execution, drill.At(j.in.StartedAt), mode)
		}
	}
	j.pre, _ = phasesOf(j.cfg, drill.ModeSteady, j.st.Preflight, j.logs[drill.ModeSteady], nil)
	j.fo, j.foWhy = phasesOf(j.cfg, drill.ModeFailover, j.st.Failover, j.logs[drill.ModeFailover], j.blockFrom)
	j.rc, j.rcWhy = phasesOf(j.cfg, drill.ModeRecovery, j.st.Recovery, j.logs[drill.ModeRecovery], j.r.Recovery.RestoredAt)
	j.chk, _ = phasesOf(j.cfg, drill.ModeRecoveryCheck, j.st.RecoveryCheck, j.logs[drill.ModeRecoveryCheck], j.r.Recovery.RestoredAt)
	rcSpan := spanOf(j.logs[drill.ModeRecovery], j.st.Recovery)
	if j.rc == nil && j.chk != nil {
		// AwaitRecovery never ran: the failure path's recovery check is the recovery.
		j.rc, j.r.Recovery.ByCheck = j.chk, true
		rcSpan = spanOf(j.logs[drill.ModeRecoveryCheck], j.st.RecoveryCheck)
	}
	j.r.Coverage = coverage(j.blockFrom, j.r.Recovery.RestoredAt, spanOf(j.logs[drill.ModeFailover], j.st.Failover), rcSpan)
	if j.pre != nil {
		j.r.Baseline = &j.pre.Visitors
	}
}

// failover is the failover's figures and its reasons.
func (j *judge) failover() {
	j.r.Failover.Phases = j.fo
	if j.fo != nil {
		j.r.Failover.ServedRegion = servedAtEnd(j.fo)
		if j.fo.FirstNew != nil {
			j.r.Failover.FirstSecondaryAt = ptr(j.fo.FirstNew.At)
		}
		if j.fo.Stable != nil {
			j.r.Failover.Seconds, j.r.Failover.Stable = j.fo.Stable.Seconds, true
		}
	} else {
		j.r.Failover.NotMeasured = j.foWhy
	}
	switch {
	case j.stopped && (j.block == nil || j.fo == nil):
	case j.block == nil:
		j.fail("block: the bucket was never blocked")
	case j.fo == nil:
		j.fail("failover: not measured: %s", j.foWhy)
	case j.fo.Stable == nil && j.in.Interrupted != "":
		// Stopped from outside while it watched: no limit was reached, so none is blamed.
		j.fail("failover: not stable yet when the run was stopped (in %s)", j.in.Interrupted)
	case j.fo.Stable == nil:
		j.fail("failover: %s", notStable(j.fo, j.cfg))
		j.limit(endLimit(j.fo))
	case j.fo.Stable.Seconds > float64(j.cfg.FailoverTimeoutSeconds):
		j.fail("failover: stable only after %.3f s, beyond failoverTimeoutSeconds %d", j.fo.Stable.Seconds, j.cfg.FailoverTimeoutSeconds)
		j.limit("failoverTimeoutSeconds")
	}
}

// cart is the seeded cart, read through the secondary API after the failover.
func (j *judge) cart() {
	if j.st.Failover != nil && j.st.Failover.Payload.Cart != nil {
		c := j.st.Failover.Payload.Cart
		j.r.Cart.Intact, j.r.Cart.Expected, j.r.Cart.Got = c.Intact, c.Expected, c.Got
	}
	if j.st.Seed != nil {
		j.r.Cart.User, j.r.Cart.Names = j.st.Seed.Payload.User.Email, j.st.Seed.Payload.Names
		if j.r.Cart.Expected == nil {
			j.r.Cart.Expected = j.st.Seed.Payload.Cart
		}
	}
	switch {
	case j.st.Seed == nil:
		j.r.Cart.NotChecked = notSeeded + ": the run ended before SeedCart finished"
	case j.st.Failover == nil || j.st.Failover.Payload.Cart == nil:
		j.r.Cart.NotChecked = "not read through the secondary API: the run ended before AwaitFailover finished"
	}
	switch {
	case j.r.Cart.NotChecked != "":
		if !j.stopped {
			j.fail("cart: %s", j.r.Cart.NotChecked)
		}
	case !j.r.Cart.Intact:
		msg := fmt.Sprintf("cart: not intact after failover (expected %d unicorns, got %d)", len(j.r.Cart.Expected), len(j.r.Cart.Got))
		if e := j.st.Failover.Payload.Cart.Error; e != "" {
			msg += ": " + oneLine(e)
		}
		j.fail("%s", msg)
	}
}

// restore is what put the bucket back, and whether it is exactly the prior.
func (j *judge) restore() {
	j.r.Restore.By = "flow"
	if j.stopped {
		j.r.Restore.By = "failure path"
	}
	if j.st.Restore != nil {
		rs := j.st.Restore.Payload
		j.r.Restore.Needed = j.block != nil || !rs.NothingToRestore
		j.r.Restore.MatchesPrior = rs.MatchesPrior
		j.r.Restore.Prior = rs.Prior
		j.r.Restore.ReadBack = rs.ReadBack
		j.r.Restore.RestoredAt = rs.RestoredAt
		j.r.Restore.CartCleared = rs.CartCleared
		if !j.r.Restore.Needed {
			j.r.Restore.NotNeeded = nothingWhy(rs)
		}
		switch {
		case rs.Skipped != "" && !rs.AlreadyRestored:
			j.fail("restore: skipped: %s", oneLine(rs.Skipped))
		case j.block != nil && rs.NothingToRestore:
			j.fail("restore: found nothing to restore although the bucket was blocked")
		case rs.ChangedAfterRestore != "":
			// The restore was done and verified; the bucket was changed since by someone
			// else (readBack shows what it holds): not the drill's failure.
		case !rs.MatchesPrior:
			j.fail("restore: the bucket reads back %s, its prior configuration was %s", pab.String(rs.ReadBack), pab.String(rs.Prior))
		}
	} else if j.block != nil {
		j.r.Restore.Needed = true
		if j.st.RestoreError == nil {
			j.fail("restore: did not run after the bucket was blocked")
		}
	} else {
		j.r.Restore.By = ""
	}
}

// recovery is measured only after the failover was seen: a block whose effect the
// drill never saw may land after the restore, and a recovery "measured" before it is
// made up; the late switch is then reported instead.
func (j *judge) recovery() {
	// Recovery, only after the failover was seen: a block whose effect the drill never
	// saw may land after the restore, and a recovery "measured" before it is made up.
	j.failoverUnseen = j.rc != nil && j.fo != nil && j.block != nil && !effectSeen(j.fo)
	if j.failoverUnseen {
		j.r.Recovery.NotMeasured = fmt.Sprintf("%s (%s never served): there was nothing to recover from", failoverUnseenWhy, orUnknown(j.cfg.SecondaryRegion))
		j.r.Failover.Late = lateSwitch(j.cfg, j.logs, j.blockFrom, j.fo, j.r.Recovery.ByCheck)
		j.rc = nil
	}
	j.r.Recovery.Phases = j.rc
	if j.rc != nil {
		j.r.Recovery.ServedRegion = servedAtEnd(j.rc)
		if j.rc.FirstNew != nil {
			j.r.Recovery.FirstPrimaryAt = ptr(j.rc.FirstNew.At)
		}
		if j.rc.Stable != nil {
			j.r.Recovery.Seconds, j.r.Recovery.Stable = j.rc.Stable.Seconds, true
		}
	} else if !j.failoverUnseen {
		if e := j.st.RecoveryCheckError; e != nil {
			j.rcWhy += "; the failure path's recovery check failed: " + oneLine(e.Error+": "+e.Cause)
		}
		j.r.Recovery.NotMeasured = j.rcWhy
	}
	if l := j.r.Failover.Late; l != nil {
		j.fail("late block: %s served from %.3f s to %.3f s after the block was sent (%.3f s, %d answers), after the drill stopped watching the failover at %.3f s",
			l.Region, l.FromSeconds, l.ToSeconds, l.Seconds, l.Samples, l.WatchEndedSeconds)
	}
	switch {
	case j.failoverUnseen:
		j.fail("recovery: not measured: %s", j.r.Recovery.NotMeasured)
	case j.stopped && j.rc == nil:
	case j.rc == nil:
		j.fail("recovery: not observed: %s", j.rcWhy)
	case j.rc.Stable == nil && j.r.Recovery.ByCheck:
		j.fail("recovery: %s", checkNotStable(j.rc))
	case j.rc.Stable == nil:
		j.fail("recovery: %s", notStable(j.rc, j.cfg))
		j.limit(endLimit(j.rc))
	case j.rc.Stable.Seconds > float64(j.cfg.FailoverTimeoutSeconds):
		j.fail("recovery: stable only after %.3f s, beyond failoverTimeoutSeconds %d", j.rc.Stable.Seconds, j.cfg.FailoverTimeoutSeconds)
		j.limit("failoverTimeoutSeconds")
	}
}

// promise: the shop is not left broken. A blocked bucket whose primary was not seen
// serving again afterwards is told at once (metric, alarm).
func (j *judge) promise() {
	// The one promise: the shop is not left broken. A blocked bucket whose primary was
	// not seen serving again afterwards is told at once (metric, alarm).
	served := (j.rc != nil && j.rc.Stable != nil) || (j.chk != nil && j.chk.Stable != nil)
	if j.block != nil && !j.block.BlockedAt.IsZero() && !served {
		j.r.PrimaryNotServing = true
		why := ""
		if e := j.st.RecoveryCheckError; e != nil {
			why = " (the failure path's recovery check failed: " + oneLine(e.Error+": "+e.Cause) + ")"
		}
		j.fail("primary not serving: %s was not seen serving stably after the restore%s; check the site and the bucket now (runbook: docs/operate.md)", orUnknown(j.cfg.PrimaryRegion), why)
	}
}

// visitors is what visitors saw from the block to the end of recovery, every ending
// included, held to the limits.
func (j *judge) visitors() {
	// What visitors saw, every ending included.
	visible := j.rc
	if j.failoverUnseen {
		visible = j.chk
	}
	for _, ph := range []*drill.Phases{j.pre, j.fo, visible} {
		if ph != nil {
			n := ph.Visitors.Errors
			if j.r.UserVisibleErrors != nil {
				n += *j.r.UserVisibleErrors
			}
			j.r.UserVisibleErrors = &n
		}
	}
	if v := drillVisitors(j.cfg, j.blockFrom, j.logs, j.fo, j.rc); v != nil {
		j.r.Visitors = v
		if v.ErrorRatePercent > float64(j.cfg.MaxErrorRatePercent) {
			j.fail("maxErrorRatePercent: visitors saw errors %.2f%% of the time from the block to the end of recovery (limit %d%%): %d errors in %d answers (%s)",
				v.ErrorRatePercent, j.cfg.MaxErrorRatePercent, v.Errors, v.Samples, outcomes(v.Outcomes))
			j.limit("maxErrorRatePercent")
		}
		if run := v.LongestErrorRun; run != nil && run.Seconds > float64(j.cfg.MaxErrorRunSeconds) {
			j.fail("maxErrorRunSeconds: visitors saw errors for %.3f s without a good answer (limit %d s), from %.3f s after the block (%d errors in a row)",
				run.Seconds, j.cfg.MaxErrorRunSeconds, run.From.Seconds, run.Samples)
			j.limit("maxErrorRunSeconds")
		}
		if v.Latency.P95Ms > float64(j.cfg.MaxLatencyP95Ms) {
			msg := fmt.Sprintf("maxLatencyP95Ms: visitors waited %.0f ms or more for 5%% of answers (p95; limit %d ms; p50 %.0f ms, max %.0f ms, %d slow)",
				v.Latency.P95Ms, j.cfg.MaxLatencyP95Ms, v.Latency.P50Ms, v.Latency.MaxMs, v.Slow)
			if v.Unanswered > 0 {
				msg += fmt.Sprintf("; %d requests were still unanswered when the probe stopped, counted at what they had waited", v.Unanswered)
			}
			j.fail("%s", msg)
			j.limit("maxLatencyP95Ms")
		}
	}
}

// conclude writes the steps, the stop alarms' watch, the cost, the ending, and the
// verdict with its summary.
func (j *judge) conclude() {
	j.r.Steps = steps(j.st)
	j.r.StopAlarms = alarmWatch(j.st, j.logs)
	c := awsCost(j.st, j.logs)
	j.r.Cost = &c
	Conclude(j.r, EndFacts{State: j.failedState, StateInferred: j.failedState != ""})

	figures := figuresLine(*j.r)
	notes := skippedNote(j.r) + unwatchedNote(j.r.StopAlarms)
	if len(j.r.Reasons) == 0 {
		j.r.Verdict = drill.Pass
		j.r.Summary = "pass: " + figures + ", cart intact, bucket restored exactly" + notes
	} else {
		j.r.Verdict = drill.Fail
		j.r.Summary = cut("fail: "+figures+"; "+strings.Join(j.r.Reasons, "; ")+notes, maxSummary)
	}
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
