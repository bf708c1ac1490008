package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// report reads the report the Report state wrote to the (sandbox) ledger and adds what
// only local mode knows: exact step timings from the runner, the sandbox's ground truth
// and the drill's overhead beyond the delays it had to wait for.
func (e *Env) report(_ context.Context, out *Outcome) (*drill.Report, error) {
	var rep drill.Report
	raw, ok := e.Sandbox.Object(e.Sandbox.Config().LedgerBucket, drill.ReportKey(out.Name))
	if ok {
		if err := json.Unmarshal(raw, &rep); err != nil {
			return nil, fmt.Errorf("report in the ledger: %w", err)
		}
	} else {
		// No report was written: invalid input fails before anything is touched; a
		// stopped or timed-out execution never reaches the Report state.
		rep = drill.Report{Execution: out.Name, Verdict: drill.Fail, StartedAt: out.Result.Start, FinishedAt: out.Result.Stop}
		rep.Reasons = []string{"the execution ended " + out.Result.Status + " before writing a report"}
		rep.Summary = strings.TrimSpace(fmt.Sprintf("fail: execution %s %s %s", out.Result.Status, out.Result.Error, out.Result.Cause))
		cfg := drill.Defaults
		cfg.Distribution, cfg.PrimaryBucket = e.Sandbox.DistributionURL(), e.Sandbox.Config().PrimaryBucket
		_ = json.Unmarshal(out.Input, &cfg)
		rep.Target.Distribution, rep.Target.PrimaryBucket = cfg.Distribution, cfg.PrimaryBucket
		rep.Target.PrimaryRegion, rep.Target.SecondaryRegion = cfg.PrimaryRegion, cfg.SecondaryRegion
	}
	rep.Status = out.Result.Status
	rep.InterruptedState = Interrupted(out.Result.Events)
	if rep.InterruptedState != "" {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("the execution was %s in %s", strings.ToLower(strings.ReplaceAll(out.Result.Status, "_", " ")), rep.InterruptedState))
	}
	if out.SafetyNet != nil {
		rep.SafetyNet = out.SafetyNet
		if out.SafetyErr != nil {
			rep.SafetyNetError = out.SafetyErr.Error()
			rep.Reasons = append(rep.Reasons, "the safety net's restore failed: "+out.SafetyErr.Error())
		}
		// The flow's restore never ran (stopped, timed out): what the safety net put
		// back is the restore.
		if st := out.SafetyNet; out.SafetyErr == nil && (rep.Restore.Prior == nil && rep.Restore.ReadBack == nil && !rep.Restore.MatchesPrior) {
			rep.Restore.Prior, rep.Restore.ReadBack, rep.Restore.MatchesPrior = st.Prior, st.ReadBack, st.MatchesPrior
		}
	}
	if out.Result.Status != asl.StatusSucceeded && rep.Verdict == drill.Pass {
		rep.Verdict = drill.Fail // the execution failing after the report is still a failure
		rep.Reasons = append(rep.Reasons, "execution "+out.Result.Status)
	}
	if rep.Error == nil && out.Result.Error != "" {
		rep.Error = &drill.ErrorInfo{Error: out.Result.Error, Cause: out.Result.Cause}
	}
	rep.Steps = Steps(out.Result.Events)
	rep.Sandbox = Truth(e.Sandbox, out.Result.Start, e.Sandbox.Config().PrimaryBucket)
	if rep.Sandbox == nil {
		rep.Sandbox = &drill.SandboxFacts{} // never blocked: no truth to measure, the log still counts
	}
	rep.Sandbox.PrimaryBucketChanges = []string{}
	for _, c := range e.Sandbox.PABChanges() {
		if c.Bucket == e.Sandbox.Config().PrimaryBucket && !c.At.Before(out.Result.Start) {
			change := c.Op
			if c.Config != nil {
				change += fmt.Sprintf(" %+v", *c.Config)
			}
			rep.Sandbox.PrimaryBucketChanges = append(rep.Sandbox.PrimaryBucketChanges, change+" at "+c.At.UTC().Format(time.RFC3339Nano))
		}
	}
	if rep.Failover.FirstSecondaryAt != nil && rep.Sandbox.Truth.FailoverSeconds > 0 {
		rep.Sandbox.ProbeErrorSeconds = round3(math.Abs(rep.Failover.Seconds - rep.Sandbox.Truth.FailoverSeconds))
	}
	if out.Result.Status == asl.StatusSucceeded {
		// Only a complete drill waited for every configured delay.
		wall := out.Result.Stop.Sub(out.Result.Start).Seconds()
		delay := ConfiguredDelay(e.Sandbox.Config(), out.Input)
		rep.Timing = &drill.TimingFacts{WallSeconds: round3(wall), ConfiguredDelaySeconds: round3(delay), OverheadSeconds: round3(wall - delay)}
	}
	return &rep, nil
}

// Steps turns the runner's event log into one record per state visited.
func Steps(events []asl.Event) []drill.StepRecord {
	var steps []drill.StepRecord
	open := map[string]int{}
	for _, ev := range events {
		switch ev.Type {
		case asl.StateEntered:
			open[ev.State] = len(steps)
			steps = append(steps, drill.StepRecord{Name: ev.State, Start: ev.At, Status: "running"})
		case asl.StateExited:
			if i, ok := open[ev.State]; ok {
				steps[i].End, steps[i].Status = ev.At, exitStatus(ev.Error)
				delete(open, ev.State)
			}
		case asl.StateCaught:
			if i, ok := open[ev.State]; ok {
				steps[i].End, steps[i].Status = ev.At, "caught: "+ev.Error
				delete(open, ev.State)
			}
		case asl.ExecutionFailed, asl.ExecutionTimedOut, asl.ExecutionAborted:
			for _, i := range open {
				steps[i].End, steps[i].Status = ev.At, "failed"
				switch ev.Type {
				case asl.ExecutionAborted:
					steps[i].Status = StepAborted
				case asl.ExecutionTimedOut:
					steps[i].Status = StepTimedOut
				}
				if ev.Error != "" && ev.Type == asl.ExecutionFailed {
					steps[i].Status += ": " + ev.Error
				}
			}
			open = map[string]int{}
		}
	}
	return steps
}

// Step statuses of a state the execution's stop or timeout interrupted.
const (
	StepAborted  = "aborted"
	StepTimedOut = "timed out"
)

// exitStatus is a state's status from its exit event's error.
func exitStatus(errName string) string {
	switch errName {
	case "":
		return "succeeded"
	case asl.StatusAborted:
		return StepAborted
	case asl.StatusTimedOut:
		return StepTimedOut
	}
	return "failed: " + errName
}

// Interrupted is the state that was running when the execution was stopped or timed
// out, "" if it ended otherwise.
func Interrupted(events []asl.Event) string {
	for i := len(events) - 1; i >= 0; i-- {
		if ev := events[i]; ev.Type == asl.StateExited && (ev.Error == asl.StatusAborted || ev.Error == asl.StatusTimedOut) {
			return ev.State
		}
	}
	return ""
}

// Truth is the sandbox's own account: when its S3 accepted the block and the restore,
// and when the CloudFront stand-in first served from the other origin after each.
func Truth(sb *sandbox.Sandbox, since time.Time, bucket string) *drill.SandboxFacts {
	var blockAt, restoreAt time.Time
	for _, c := range sb.PABChanges() {
		if c.Bucket != bucket || c.At.Before(since) {
			continue
		}
		if blockAt.IsZero() {
			if c.Op == "put" && c.Config != nil && *c.Config == drill.BlockAll {
				blockAt = c.At
			}
			continue
		}
		restoreAt = c.At // the first change after the block is the restore
		break
	}
	if blockAt.IsZero() {
		return nil
	}
	facts := &drill.SandboxFacts{}
	if t, ok := firstServed(sb.EdgeLog(), "secondary", blockAt); ok {
		facts.Truth.FailoverSeconds = round3(t.Sub(blockAt).Seconds())
	}
	if !restoreAt.IsZero() {
		if t, ok := firstServed(sb.EdgeLog(), "primary", restoreAt); ok {
			facts.Truth.RecoverySeconds = round3(t.Sub(restoreAt).Seconds())
		}
	}
	return facts
}

func firstServed(log []sandbox.EdgeRecord, origin string, after time.Time) (time.Time, bool) {
	for _, r := range log {
		if r.Origin == origin && !r.At.Before(after) {
			return r.At, true
		}
	}
	return time.Time{}, false
}

// ConfiguredDelay is the time a perfect drill must still spend waiting on this
// sandbox: the block's and the restore's propagation, the probe's confirmation ticks
// (steady state, failover, recovery) and the seeded cart's replication. Wall time beyond it is overhead.
func ConfiguredDelay(sc sandbox.Config, input json.RawMessage) float64 {
	cfg := drill.Defaults
	_ = json.Unmarshal(input, &cfg) // a bad input fails the drill; the defaults do here
	confirm := time.Duration(cfg.SteadySamples-1) * cfg.ProbeInterval()
	// The replication check waits for the seeded cart to reach the secondary.
	d := 3*confirm + 2*sc.PropagationDelay + sc.ReplicationLag
	return d.Seconds()
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
