package report

import (
	"github.com/unishop/failover-drill/internal/cost"
	"github.com/unishop/failover-drill/internal/drill"
)

// awsCost is the drill's cost as the Report state can count it from the results the
// execution holds: the states it passed (and the ones still to come), each function's
// duration as the function measured it, the probe's samples. Retries, S3 requests and
// the safety net's later restore are beyond what it can see; drill local measures them.
func awsCost(st drill.State, logs Logs) drill.Cost {
	u := cost.Usage{Source: "counted"}
	u.StateTransitions = 2 // Configure, MergeInput
	add := func(present bool, state string, t drill.Timing) {
		if !present {
			return
		}
		u.StateTransitions++
		if fn, ok := cost.TaskFunctions[state]; ok && !t.StartedAt.IsZero() && t.FinishedAt.After(t.StartedAt) {
			u.Invoke(fn, t.FinishedAt.Sub(t.StartedAt))
		} else if ok {
			u.Invoke(fn, 0)
		}
	}
	timing := func(t *drill.Timing) drill.Timing {
		if t == nil {
			return drill.Timing{}
		}
		return *t
	}
	var pre, fo, rc, seed, blk, rs *drill.Timing
	if st.Preflight != nil {
		pre = &st.Preflight.Payload.Timing
	}
	if st.Seed != nil {
		seed = &st.Seed.Payload.Timing
	}
	if st.Block != nil {
		blk = &st.Block.Payload.Timing
	}
	if st.Failover != nil {
		fo = &st.Failover.Payload.Timing
	}
	if st.Restore != nil {
		rs = &st.Restore.Payload.Timing
	}
	if st.Recovery != nil {
		rc = &st.Recovery.Payload.Timing
	}
	add(pre != nil, StepPreflight, timing(pre))
	add(seed != nil, StepSeedCart, timing(seed))
	add(blk != nil, StepBlockBucket, timing(blk))
	add(fo != nil, StepAwaitFailover, timing(fo))
	if st.Error == nil {
		add(rs != nil, StepRestore, timing(rs))
		if rs != nil {
			u.StateTransitions++ // Restored
		}
		add(rc != nil, StepAwaitRecovery, timing(rc))
		if st.Release != nil {
			add(true, "ReleaseLock", timing(&st.Release.Payload.Timing))
		}
		u.StateTransitions += 3 // Report, Verdict, Passed or DrillFailed
		u.Invoke(drill.FuncReport, 0)
	} else {
		add(rs != nil, "RestoreAfterFailure", timing(rs))
		u.StateTransitions += 3 // ReportAfterFailure, RestoreOutcome, the Fail state
		u.Invoke(drill.FuncReport, 0)
		if st.RestoreError != nil {
			u.StateTransitions += 2 // BucketMayBeBlocked, WhyRestoreFailed
		}
	}
	u.SeedRequests = 0
	if seed != nil {
		u.SeedRequests = 1
	}
	for _, l := range logs {
		if l != nil {
			u.ProbeRequests += len(l.Unpack())
		}
	}
	u.Notes = []string{
		"counted from the execution's results: retries, S3 requests, the report function's own run and the safety net's restore after the execution (about 70 s of restore) are not in it; drill local measures them all",
		"not counted: the sweeper (every 5 minutes whether or not a drill runs), CloudWatch Logs, X-Ray, EventBridge, SNS, data transfer",
	}
	return cost.Estimate(u)
}
