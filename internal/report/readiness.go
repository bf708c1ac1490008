package report

import (
	"fmt"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// StepReadiness is the readiness state's name.
const StepReadiness = "Readiness"

// addReadiness copies the readiness checks and the replication figure into r.
func addReadiness(r *drill.Report, st drill.State) {
	r.Readiness.Checks = []drill.Check{}
	r.Readiness.Skipped = []string{}
	if st.Readiness == nil {
		return
	}
	rr := st.Readiness.Payload
	r.Readiness.Ready = rr.Ready
	r.Readiness.AllowSkippedChecks = rr.AllowSkippedChecks
	if rr.Checks != nil {
		r.Readiness.Checks = rr.Checks
	}
	for _, c := range r.Readiness.Checks {
		if c.Status == drill.CheckSkipped {
			r.Readiness.Skipped = append(r.Readiness.Skipped, c.Name)
		}
	}
	if rr.ReplicationSeconds != nil {
		r.Replication.Seconds, r.Replication.Measured = *rr.ReplicationSeconds, true
	}
}

// notReadyReasons are the failed checks, one reason each, naming the check; with
// skipped true, the skipped checks too (a drill stopped because they did not guard
// the block).
func notReadyReasons(r *drill.Report, skipped bool) []string {
	var out []string
	for _, c := range r.Readiness.Checks {
		if c.Status == drill.CheckFail || skipped && c.Status == drill.CheckSkipped {
			msg := "readiness " + c.Name + ": " + c.Reason
			if c.Status == drill.CheckSkipped {
				msg = "readiness " + c.Name + ": skipped, so it did not guard the block: " + c.Reason
			}
			if c.Action != "" {
				msg += " (do: " + c.Action + ")"
			}
			out = append(out, oneLine(msg))
		}
	}
	if skipped && len(r.Readiness.Skipped) > 0 {
		out = append(out, "readiness: set allowSkippedChecks to true in the input to drill without the skipped checks")
	}
	return out
}

// skippedNote is the summary's note on checks a drill went on without.
func skippedNote(r *drill.Report) string {
	if len(r.Readiness.Skipped) == 0 {
		return ""
	}
	return "; readiness checks skipped (allowSkippedChecks): " + strings.Join(r.Readiness.Skipped, ", ")
}

// judgeDryRun: ready when every readiness check passed, the lock was taken and the
// bucket read without a change (BlockBucket dry), and Restore released the lock;
// nothing else of a drill is expected. Unverified when all that holds but a check was
// skipped; not-ready when anything failed.
func judgeDryRun(r *drill.Report, st drill.State) {
	fail := func(format string, args ...any) { r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...)) }
	switch {
	case st.Error != nil && st.Error.Error == drill.ErrorName(&drill.NotReady{}):
	case st.Error != nil:
		r.Error = st.Error.Unwrapped()
		fail("%s failed: %s: %s", inferFailedState(st), r.Error.Error, oneLine(r.Error.Cause))
	}
	if st.RestoreError != nil {
		r.RestoreError = st.RestoreError.Unwrapped()
		fail("the restore did not finish: %s: %s", r.RestoreError.Error, oneLine(r.RestoreError.Cause))
	}
	r.Reasons = append(r.Reasons, notReadyReasons(r, false)...)
	switch {
	case st.Readiness == nil:
		fail("readiness: the checks did not run")
	case st.Readiness.Payload.CheckByName(drill.CheckReplication) == nil && len(notReadyReasons(r, false)) == 0:
		fail("readiness: the replication check did not run")
	}
	if len(r.Reasons) == 0 {
		switch {
		case st.Block == nil || !st.Block.Payload.DryRun:
			fail("dry run: the lock and the bucket's configuration were not proved (BlockBucket did not finish its dry run)")
		case st.Restore == nil:
			fail("dry run: the lock was not released (Restore did not run)")
		case !st.Restore.Payload.NothingToRestore || !st.Restore.Payload.MatchesPrior:
			fail("dry run: Restore found something to restore (prior %s): the bucket may have been changed", pab.String(st.Restore.Payload.Prior))
		}
	}
	if p := st.Preflight; p != nil {
		n := p.Payload.UserVisibleErrors
		r.UserVisibleErrors = &n
	}
	r.Restore.By = "dry run" // the prior is what the dry run read; nothing was put back
	if st.Block != nil {
		r.Restore.Prior = st.Block.Payload.Prior
	}
	if st.Seed != nil {
		r.Cart.User, r.Cart.Expected, r.Cart.Names = st.Seed.Payload.User.Email, st.Seed.Payload.Cart, st.Seed.Payload.Names
	}
	r.Cart.NotChecked = "a dry run does not block the bucket, so nothing reads the cart after a failover"
	r.Steps = steps(st)
	c := awsCost(st, nil)
	r.Cost = &c
	Conclude(r, EndFacts{State: inferFailedState(st), StateInferred: st.Error != nil})
	if len(r.Reasons) == 0 && len(r.Readiness.Skipped) > 0 {
		// Nothing failed, but what was skipped was not checked: not ready, not proven.
		var skipped []string
		for _, c := range r.Readiness.Checks {
			if c.Status == drill.CheckSkipped {
				skipped = append(skipped, c.Name+": "+c.Reason+" (do: "+c.Action+")")
			}
		}
		r.Verdict = drill.NotVerified
		r.Reasons = append(r.Reasons, "unverified: "+plural(len(skipped), "readiness check was", "readiness checks were")+" skipped, so the lab's readiness is not proven: "+strings.Join(skipped, "; "))
		r.Summary = cut(oneLine(fmt.Sprintf("unverified: skipped %s; nothing failed: %s; lock taken and released, bucket %s read and left unchanged (%s)",
			strings.Join(skipped, "; "), checkList(r), r.Target.PrimaryBucket, pab.String(r.Restore.Prior))), maxSummary)
		return
	}
	if len(r.Reasons) == 0 {
		r.Verdict = drill.Ready
		r.Summary = cut(oneLine(fmt.Sprintf("ready: %s; lock taken and released, bucket %s read and left unchanged (%s)",
			checkList(r), r.Target.PrimaryBucket, pab.String(r.Restore.Prior))), maxSummary)
		return
	}
	r.Verdict = drill.Unready
	r.Summary = cut(oneLine("not-ready: "+strings.Join(r.Reasons, "; ")+"; checks "+checkList(r)), maxSummary)
}

// checkList is "distribution=pass, secondary-origin=pass, ...".
func checkList(r *drill.Report) string {
	var parts []string
	for _, c := range r.Readiness.Checks {
		parts = append(parts, c.Name+"="+c.Status)
	}
	if r.Replication.Measured {
		parts = append(parts, fmt.Sprintf("replication %.3fs", r.Replication.Seconds))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
