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
	if st.Readiness == nil {
		return
	}
	rr := st.Readiness.Payload
	r.Readiness.Ready = rr.Ready
	if rr.Checks != nil {
		r.Readiness.Checks = rr.Checks
	}
	if rr.ReplicationSeconds != nil {
		r.Replication.Seconds, r.Replication.Measured = *rr.ReplicationSeconds, true
	}
}

// notReadyReasons are the failed checks, one reason each, naming the check.
func notReadyReasons(r *drill.Report) []string {
	var out []string
	for _, c := range r.Readiness.Checks {
		if c.Status == drill.CheckFail {
			msg := "readiness " + c.Name + ": " + c.Reason
			if c.Action != "" {
				msg += " (do: " + c.Action + ")"
			}
			out = append(out, oneLine(msg))
		}
	}
	return out
}

// judgeDryRun: ready when every readiness check ran without failing, the lock was
// taken and the bucket read without a change (BlockBucket dry), and Restore released
// the lock; nothing else of a drill is expected.
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
	r.Reasons = append(r.Reasons, notReadyReasons(r)...)
	switch {
	case st.Readiness == nil:
		fail("readiness: the checks did not run")
	case st.Readiness.Payload.CheckByName(drill.CheckReplication) == nil && len(notReadyReasons(r)) == 0:
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
		r.Cart.User, r.Cart.Expected = st.Seed.Payload.User.Email, st.Seed.Payload.Cart
	}
	r.Cart.NotChecked = "a dry run does not block the bucket, so nothing reads the cart after a failover"
	r.Steps = steps(st)
	c := awsCost(st, nil)
	r.Cost = &c
	Conclude(r, EndFacts{State: inferFailedState(st), StateInferred: st.Error != nil})
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
