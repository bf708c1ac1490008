package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// EndFacts are what is known about a run's end beyond its report: local mode knows the
// execution's status, the exact state that failed or was interrupted, and what the
// safety net did; on AWS the report is written inside the execution, before its end.
type EndFacts struct {
	Status        string // SUCCEEDED, FAILED, TIMED_OUT, ABORTED; "" when unknown
	State         string // the state that failed or was interrupted
	StateInferred bool   // State was inferred from the results present
	Error         *drill.ErrorInfo
	SafetyNet     *drill.RestoreResult
	SafetyNetErr  string
	// SeedUser and SeedItems: the synthetic user the run's ticket recorded, when the
	// report itself does not know it (a run stopped before its Report state).
	SeedUser  string
	SeedItems int
}

// notSeeded begins the cart's NotChecked when no seed reached the report.
const notSeeded = "no cart was seeded"

// Conclude writes r.Ending: how the run ended, what it touched, what put the bucket
// back and how that was verified. It also says "not measured" for the figures a run
// that stopped never reached. Call it again when more is known (local mode).
func Conclude(r *drill.Report, f EndFacts) {
	e := &drill.Ending{Touched: []string{}}
	if r.Ending != nil && f.State == "" {
		f.State, f.StateInferred = r.Ending.State, r.Ending.StateInferred
	}
	if r.Error == nil && f.Error != nil {
		r.Error = f.Error.Unwrapped()
	}
	if r.Error != nil && r.Error.Error == drill.ErrorName(&drill.NotReady{}) {
		// The readiness checks failed; the state that raises it is only its messenger.
		f.State, f.StateInferred = StepReadiness, false
	}
	e.Error, e.RestoreError = r.Error, r.RestoreError
	e.State, e.StateInferred = f.State, f.StateInferred && f.State != ""

	sn := f.SafetyNet
	blocked := r.Restore.Needed || r.Failover.BlockedAt != nil || (sn != nil && !sn.NothingToRestore) || f.SafetyNetErr != "" && r.Restore.Needed
	e.BucketBlocked = blocked

	e.Kind = endKind(r, f, blocked)
	touched(r, f, e, blocked)
	putBack(r, f, e, blocked)
	notReached(r, e, blocked)
	r.Ending = e
}

// endKind is how the run ended, from what the report and the end facts say.
func endKind(r *drill.Report, f EndFacts, blocked bool) string {
	switch {
	case f.Status == "ABORTED":
		return drill.EndAborted
	case f.Status == "TIMED_OUT":
		return drill.EndTimedOut
	case r.DryRun:
		return drill.EndDryRun
	case r.RestoreError != nil && r.RestoreError.Error == drill.ErrorName(&drill.BucketChangedDuringDrill{}):
		return drill.EndBucketChanged
	case r.RestoreError != nil, f.SafetyNetErr != "" && blocked && !r.Restore.MatchesPrior:
		return drill.EndRestoreFailed
	case r.Error != nil && r.Error.Error == drill.ErrorName(&drill.InvalidInput{}) && !blocked:
		return drill.EndInvalidInput
	case r.Error != nil && !blocked:
		return drill.EndRefused
	case r.Error != nil:
		return drill.EndFailedAfterBlock
	case r.Verdict == drill.Pass:
		return drill.EndPassed
	default:
		return drill.EndFailed
	}
}

// touched lists what the run touched: the synthetic user and its cart, the lock and the
// bucket.
func touched(r *drill.Report, f EndFacts, e *drill.Ending, blocked bool) {
	// What was touched.
	switch {
	case r.Cart.User != "":
		e.Touched = append(e.Touched, fmt.Sprintf("synthetic user %s signed up, %d unicorns put in its cart", r.Cart.User, len(r.Cart.Expected)))
	case f.SeedUser != "":
		e.Touched = append(e.Touched, fmt.Sprintf("synthetic user %s signed up, %d unicorns put in its cart (from the run ticket)", f.SeedUser, f.SeedItems))
		if strings.HasPrefix(r.Cart.NotChecked, notSeeded) {
			// SeedCart did finish (its run ticket says so); only its result never reached
			// the report. The cart was not read through the secondary API.
			where := string(e.Kind)
			if e.State != "" {
				where += " in " + e.State
			}
			r.Cart.NotChecked = fmt.Sprintf("seeded (%d unicorns for %s, from the run ticket), but not read through the secondary API: the run ended (%s) first", f.SeedItems, f.SeedUser, where)
		}
	}
	bucket := orUnknown(r.Target.PrimaryBucket)
	if blocked {
		at := ""
		if r.Failover.BlockedAt != nil {
			at = " at " + r.Failover.BlockedAt.UTC().Format(time.RFC3339Nano)
		}
		e.Touched = append(e.Touched,
			fmt.Sprintf("the drill's lock locks/%s.json taken in the ledger, with the bucket's prior Block Public Access", bucket),
			fmt.Sprintf("primary bucket %s blocked (all four Block Public Access settings)%s", bucket, at))
	}
}

// putBack says what put the bucket back, by whom, verified how; or that nothing did,
// and what a person does next.
func putBack(r *drill.Report, f EndFacts, e *drill.Ending, blocked bool) {
	sn := f.SafetyNet
	snRestored := sn != nil && f.SafetyNetErr == "" && !sn.NothingToRestore
	// What was put back, by whom, verified how.
	switch {
	case !blocked:
		why := "the run ended before BlockBucket changed it"
		if e.Kind == drill.EndDryRun {
			why = "a dry run reads the bucket and never writes it"
		}
		e.Restored = "nothing to restore: the bucket was never changed (" + why + ")"
		switch {
		case strings.HasPrefix(r.Restore.NotNeeded, "nothing to restore"): // concluded before
			e.Restored = r.Restore.NotNeeded
		case r.Restore.By != "" && r.Restore.NotNeeded != "":
			e.Restored += "; the " + r.Restore.By + "'s restore confirmed it: " + r.Restore.NotNeeded
		case sn != nil && f.SafetyNetErr == "":
			e.Restored += "; the safety net's restore confirmed it: " + nothingWhy(*sn)
		}
		r.Restore.Needed = false
		r.Restore.NotNeeded = e.Restored
	case r.Restore.MatchesPrior && r.Restore.Needed && r.RestoreError == nil:
		e.RestoredBy = r.Restore.By
		e.Restored = restoredLine(r.Restore.By, r.Restore.Prior, r.Restore.ReadBack, r.Restore.RestoredAt)
		if snRestored && sn.MatchesPrior {
			e.Restored += "; the safety net checked again after the execution ended: " + pab.String(sn.ReadBack) + ", still the prior"
		}
	case snRestored && sn.MatchesPrior:
		// The flow's own restore never ran (stopped, timed out) or did not finish, or
		// its result never reached the report: the safety net's result is what is
		// known. It says whether it restored the bucket itself, or found the run
		// already restored by the flow (the run ticket's restoredAt is the flow's).
		by := "safety net"
		if sn.AlreadyRestored {
			by = "flow"
		}
		e.RestoredBy = by
		r.Restore.Needed, r.Restore.By = true, by
		r.Restore.Prior, r.Restore.ReadBack, r.Restore.MatchesPrior, r.Restore.RestoredAt = sn.Prior, sn.ReadBack, sn.MatchesPrior, sn.RestoredAt
		r.Restore.CartCleared, r.Restore.NotNeeded = sn.CartCleared, ""
		e.Restored = restoredLine(by, sn.Prior, sn.ReadBack, sn.RestoredAt)
		if sn.AlreadyRestored {
			e.Restored += "; its result did not reach this report (the run was stopped); the safety net found it already restored and read it back after the execution ended: still the prior"
		}
	default:
		r.Restore.Needed = true
		e.Restored = "NOT restored: the primary bucket may still be blocked"
		r.Restore.NotNeeded = ""
		if sn != nil && sn.Bucket != "" && r.Restore.Prior == nil && r.Restore.ReadBack == nil {
			// What the safety net found: the prior it would have put back, what the
			// bucket holds.
			r.Restore.By, r.Restore.Prior, r.Restore.ReadBack, r.Restore.MatchesPrior = "safety net", sn.Prior, sn.ReadBack, false
		}
		switch {
		case r.RestoreError != nil:
			e.Restored += " (the restore error above: " + r.RestoreError.Error + ")"
		case f.SafetyNetErr != "":
			e.Restored += " (the safety net's restore failed: " + oneLine(f.SafetyNetErr) + ")"
		case r.Restore.Needed && !r.Restore.MatchesPrior && r.Restore.By != "":
			e.Restored += fmt.Sprintf(" (the %s's restore reads back %s, the prior was %s)", r.Restore.By, pab.String(r.Restore.ReadBack), pab.String(r.Restore.Prior))
		default:
			e.Restored += " (no restore has run yet: on AWS the safety net, then the sweeper within minutes, restore it from the lock)"
		}
		r.Restore.NotRestored = e.Restored
		if e.Kind == drill.EndBucketChanged {
			e.Next = "someone changed the bucket during the drill and restore kept their settings: decide what it must hold, set it, then drill unlock (runbook: docs/operate.md)"
		} else {
			e.Next = "run drill status now, then drill restore (runbook: docs/operate.md)"
		}
	}
}

// notReached says "not measured", and why, for the figures a stopped run never reached.
func notReached(r *drill.Report, e *drill.Ending, blocked bool) {
	// Figures a stopped run never reached are not measured, and say why.
	if e.Kind != drill.EndPassed && e.Kind != drill.EndFailed {
		where := e.Kind
		switch {
		case e.State != "" && (e.Kind == drill.EndAborted || e.Kind == drill.EndTimedOut):
			where = fmt.Sprintf("%s in %s", e.Kind, e.State)
		case e.State != "":
			where = e.State + " failed"
		}
		if r.Failover.Phases == nil {
			r.Failover.NotMeasured = "the run ended (" + where + ") before the failover was measured"
			if !blocked {
				r.Failover.NotMeasured = "the bucket was never blocked: the run ended (" + where + ") first"
			}
		}
		if r.Recovery.Phases == nil && !strings.HasPrefix(r.Recovery.NotMeasured, failoverUnseenWhy) {
			r.Recovery.NotMeasured = "the run ended (" + where + ") before the recovery was measured"
		}
	}
}

// restoredLine says who put what back and how it was checked.
func restoredLine(by string, prior, readBack *drill.PublicAccessBlock, at *time.Time) string {
	when := ""
	if at != nil {
		when = " at " + at.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("put back as it was before the drill (%s) by the %s%s; verified by reading it back with GetPublicAccessBlock: %s, the same",
		pab.String(prior), by, when, pab.String(readBack))
}

// nothingWhy is why a restore found nothing to restore.
func nothingWhy(rs drill.RestoreResult) string {
	if rs.Skipped != "" {
		return oneLine(rs.Skipped)
	}
	return "no lock and no run ticket recorded a block for this execution"
}

// inferFailedState is the state whose error started the failure path, from the results
// the state document holds: the first of the flow's results missing. A Restore that
// failed and an AwaitRecovery that failed both leave $.restore to the failure path's
// restore; the one that found the bucket already restored followed AwaitRecovery.
func inferFailedState(st drill.State) string {
	if st.Error == nil {
		return ""
	}
	switch {
	case st.Preflight == nil:
		return StepPreflight
	case st.Seed == nil:
		return StepSeedCart
	case st.Block == nil:
		return StepBlockBucket
	case st.Failover == nil:
		return StepAwaitFailover
	case st.Recovery != nil:
		return "Report"
	case st.Restore == nil:
		return StepRestore
	case st.Restore.Payload.AlreadyRestored:
		return StepAwaitRecovery
	}
	return StepRestore
}
