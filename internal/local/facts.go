package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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
		// No report was written (invalid input fails before anything is touched).
		rep = drill.Report{Execution: out.Name, Verdict: drill.Fail, StartedAt: out.Result.Start, FinishedAt: out.Result.Stop}
		rep.Reasons = []string{"the execution ended " + out.Result.Status + " before writing a report"}
		rep.Summary = fmt.Sprintf("fail: %s %s", out.Result.Error, out.Result.Cause)
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
				steps[i].End, steps[i].Status = ev.At, "succeeded"
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
				if ev.Error != "" {
					steps[i].Status += ": " + ev.Error
				}
			}
			open = map[string]int{}
		}
	}
	return steps
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
