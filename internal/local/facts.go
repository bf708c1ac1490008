package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// report reads the report the Report state wrote to the (sandbox) ledger and adds what
// only local mode knows: exact step timings from the runner, the sandbox's ground truth
// and the drill's overhead beyond the delays it had to wait for.
func (e *Env) report(ctx context.Context, out *Outcome) (*drill.Report, error) {
	out.Logs = report.Logs{}
	for _, mode := range drill.LogModes {
		l, err := e.Ledger.Samples(ctx, out.Name, out.ID.StartTime, mode)
		if err != nil {
			return nil, fmt.Errorf("sample log in the ledger: %w", err)
		}
		if l != nil {
			out.Logs[mode] = l
		}
	}
	var rep drill.Report
	raw, ok := e.Sandbox.Object(e.Sandbox.Config().LedgerBucket, drill.ReportKey(out.Name, out.ID.StartTime))
	if ok {
		if err := json.Unmarshal(raw, &rep); err != nil {
			return nil, fmt.Errorf("report in the ledger: %w", err)
		}
	} else {
		// No report was written: the execution failed where no Catch leads to a report
		// (invalid input, States.Runtime), or it was stopped or timed out before its
		// Report state. Judge what there is, as the Report state would: the sample logs
		// and the configuration; the rest says why it was not measured.
		cfg, _ := json.Marshal(e.config(out.Input))
		st := drill.State{Config: cfg}
		if out.Result.Error != "" {
			st.Error = &drill.ErrorInfo{Error: out.Result.Error, Cause: out.Result.Cause}
		}
		rep = report.Build(drill.ReportInput{State: st, Execution: out.Name, StartedAt: out.Result.Start, Interrupted: Interrupted(out.Result.Events)}, out.Logs, out.Result.Stop)
	}
	rep.Status = out.Result.Status
	rep.InterruptedState = Interrupted(out.Result.Events)
	if rep.InterruptedState != "" {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("the execution was %s in %s", strings.ToLower(strings.ReplaceAll(out.Result.Status, "_", " ")), rep.InterruptedState))
	}
	facts := report.EndFacts{Status: out.Result.Status, State: rep.InterruptedState}
	if facts.State == "" {
		facts.State = FailedState(out.Result.Events)
	}
	if out.Result.Error != "" {
		facts.Error = &drill.ErrorInfo{Error: out.Result.Error, Cause: out.Result.Cause}
	}
	if out.SafetyNet != nil {
		rep.SafetyNet = out.SafetyNet
		facts.SafetyNet = out.SafetyNet
		if out.SafetyErr != nil {
			rep.SafetyNetError = out.SafetyErr.Error()
			facts.SafetyNetErr = rep.SafetyNetError
			if rep.Error != nil && strings.Contains(rep.SafetyNetError, drill.CauseMessage(rep.Error.Cause)) {
				rep.Reasons = append(rep.Reasons, "the safety net's restore failed the same way")
			} else {
				rep.Reasons = append(rep.Reasons, "the safety net's restore failed: "+out.SafetyErr.Error())
			}
		}
	}
	if out.Result.Status != asl.StatusSucceeded && rep.Verdict == drill.Pass {
		rep.Verdict = drill.Fail // the execution failing after the report is still a failure
		rep.Reasons = append(rep.Reasons, "execution "+out.Result.Status)
	}
	if t, _, err := e.Ledger.RunTicketVersion(ctx, out.ID); err == nil && t != nil && t.Seed != nil {
		facts.SeedUser, facts.SeedItems = t.Seed.UserUUID, len(t.Seed.Unicorns)
	}
	report.Conclude(&rep, facts)
	if !ok {
		// The summary leads with how the run ended: there are no figures to lead with.
		rep.Summary = "fail: " + strings.Join(rep.Reasons, "; ")
	}
	rep.Steps = Steps(out.Result.Events)
	blockSentAt := rep.Failover.BlockSentAt
	if blockSentAt == nil {
		blockSentAt = rep.Failover.BlockedAt
	}
	c := Cost(out, blockSentAt, e.s3Requests.take())
	rep.Cost = &c
	cfg := e.config(out.Input)
	rep.Sandbox = Truth(e.Sandbox, out.Result.Start, e.Sandbox.Config().PrimaryBucket, out.Visitor, out.VisitorInterval, cfg)
	if rep.Sandbox != nil {
		compare(&rep, rep.Sandbox, out.VisitorInterval)
	} else {
		rep.Sandbox = &drill.SandboxFacts{} // never blocked: no truth to measure, the change log still counts
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
	if out.Result.Status == asl.StatusSucceeded && e.Sandbox.Config().PropagationFlap == 0 {
		// Only a complete drill waited for every configured delay; with flapping
		// propagation the wait is a matter of chance, so there is no overhead to tell.
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

// FailedState is the state whose error started the failure path (the first one a
// Catch took), or the state that failed the execution where nothing caught it; "" when
// nothing failed.
func FailedState(events []asl.Event) string {
	for _, ev := range events {
		if ev.Type == asl.StateCaught {
			return ev.State
		}
	}
	for i := len(events) - 1; i >= 0; i-- {
		if ev := events[i]; ev.Type == asl.StateExited && ev.Error != "" {
			return ev.State
		}
	}
	return ""
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
// and what the independent visitor saw after each, by the drill's own definitions
// (internal/measure) with the drill's limits. The failover's figures count the
// visitor's requests sent from the block until the restore, the recovery's those sent
// after it, each judged when its answer arrived: the same population the probe samples
// in each mode (a failover answer that arrives after the restore could be seen belongs
// to the recovery already). A figure the visitor's log cannot confirm yet is provisional: the
// first answer from the new origin after the last window that failed. Nil without a
// block or without a visitor.
func Truth(sb *sandbox.Sandbox, since time.Time, bucket string, visitor []drill.Sample, interval time.Duration, cfg drill.Config) *drill.SandboxFacts {
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
	if blockAt.IsZero() || len(visitor) == 0 {
		return nil
	}
	facts := &drill.SandboxFacts{}
	facts.Truth.VisitorIntervalMs = float64(interval.Microseconds()) / 1000
	// An answer after the restore could be seen belongs to the recovery already.
	answeredBy := time.Time{}
	if !restoreAt.IsZero() {
		answeredBy = restoreAt.Add(sb.Config().PropagationDelay)
	}
	fo := truthPhases(cfg, drill.ModeFailover, blockAt, restoreAt, answeredBy, visitor, interval)
	facts.Truth.Failover = &fo
	if fo.Stable != nil {
		facts.Truth.FailoverSeconds = fo.Stable.Seconds
	}
	if !restoreAt.IsZero() {
		rc := truthPhases(cfg, drill.ModeRecovery, restoreAt, time.Time{}, time.Time{}, visitor, interval)
		facts.Truth.Recovery = &rc
		if rc.Stable != nil {
			facts.Truth.RecoverySeconds = rc.Stable.Seconds
		}
	}
	return facts
}

// truthPhases are the visitor's figures for the requests it sent in [since, until)
// (until zero: no end) and that were answered by answeredBy (zero: whenever).
func truthPhases(cfg drill.Config, mode string, since, until, answeredBy time.Time, visitor []drill.Sample, interval time.Duration) drill.Phases {
	var span []drill.Sample
	var end time.Time
	for _, s := range visitor {
		if !s.SentAt.Before(since) && (until.IsZero() || s.SentAt.Before(until)) && (answeredBy.IsZero() || !s.At.After(answeredBy)) {
			span = append(span, s)
			if s.At.After(end) {
				end = s.At
			}
		}
	}
	p := measure.ForConfig(cfg, mode, since, interval)
	p.End, p.Provisional = end, true
	return measure.Analyse(span, p)
}

// compare says whether the truth's stable times lie within the drill's bounds, give or
// take the visitor's own interval and a few milliseconds of answer time.
func compare(rep *drill.Report, f *drill.SandboxFacts, interval time.Duration) {
	slack := interval + 5*time.Millisecond
	within := func(drillPh, truthPh *drill.Phases) (bool, float64) {
		if drillPh == nil || truthPh == nil || drillPh.Stable == nil || truthPh.Stable == nil {
			return false, 0
		}
		d, t := drillPh.Stable, truthPh.Stable.At
		lo := d.At.Add(-seconds(d.Seconds - d.LoSeconds)).Add(-slack)
		hi := d.At.Add(seconds(d.HiSeconds - d.Seconds)).Add(slack)
		return !t.Before(lo) && !t.After(hi), round3(math.Abs(t.Sub(d.At).Seconds()))
	}
	f.FailoverWithinBound, f.ProbeErrorSeconds = within(rep.Failover.Phases, f.Truth.Failover)
	f.RecoveryWithinBound, _ = within(rep.Recovery.Phases, f.Truth.Recovery)
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// config is the drill's configuration for input on this sandbox, as Preflight parses it
// (the defaults where the input is not valid).
func (e *Env) config(input json.RawMessage) drill.Config {
	sc := e.Sandbox.Config()
	cfg := drill.Defaults
	cfg.Distribution, cfg.PrimaryBucket = e.Sandbox.DistributionURL(), sc.PrimaryBucket
	cfg.PrimaryRegion, cfg.SecondaryRegion = sc.PrimaryRegion, sc.SecondaryRegion
	_ = json.Unmarshal(input, &cfg)
	return cfg
}

// ConfiguredDelay is the time a perfect drill must still spend waiting on this
// sandbox: the steady state's confirming samples, then for the block and for the
// restore the propagation, the part of a flap until the old origin's share falls to
// what stability allows, and the answers a look needs to confirm the switch, up to
// the look that takes them (measure.Stability). Wall time beyond it is overhead.
func ConfiguredDelay(sc sandbox.Config, input json.RawMessage) float64 {
	cfg := drill.Defaults
	_ = json.Unmarshal(input, &cfg) // a bad input fails the drill; the defaults do here
	steady := time.Duration(cfg.SteadySamples-1) * cfg.ProbeInterval()
	// The old origin's share falls linearly from 1-FlapFrom to 0 over the flap.
	allowed := float64(100-cfg.StableSharePercent) / 100
	flap := time.Duration(float64(sc.PropagationFlap) * max(0, 1-allowed/(1-sc.FlapFrom)))
	every := measure.ResolvingInterval(cfg.StableWindow(), cfg.StableSharePercent, probe.MinInterval, cfg.ProbeInterval())
	look := measure.ForConfig(cfg, drill.ModeFailover, time.Time{}, every).Look()
	// The answers that set the probe confirming (a few at the base interval), a
	// look's at the confirming interval, and on average half a step to the look
	// that takes them.
	confirmed := sc.PropagationDelay + flap + measure.ConfirmTrigger*look.Base + look.Span + look.Step/2
	d := steady + 2*confirmed
	// The replication check waits for the seeded cart to reach the secondary.
	d += sc.ReplicationLag
	if cfg.GlobalCluster != "" && cfg.GlobalCluster != drill.NoGlobalCluster {
		// Each switch of the database stage: the writes' lead, the switch (pending,
		// then switching over), and the tail after it (database.Handler.Tail).
		lead := database.LeadWrites * cfg.DatabaseWriteInterval()
		d += 2 * (lead + sc.DBSwitchoverPending + sc.DBSwitchoverTime + DatabaseTail(sc))
	}
	return d.Seconds()
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
