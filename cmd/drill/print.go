package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/report"
)

// printRecords prints each restore that ran after the execution ended.
func printRecords(w io.Writer, records []drill.RestoreRecord) {
	for _, rec := range records {
		fmt.Fprintf(w, "%-19s %s\n", strings.ReplaceAll(rec.Reason, "-", " "), recordLine(rec))
		if line := historyLine(rec); line != "" {
			fmt.Fprintf(w, "%-19s %s\n", "", line)
		}
	}
}

// historyLine is which state the execution was in when it was stopped or timed out,
// or which state failed it, with the error in full, as its history told the restore;
// or why the history could not tell; "" when the restore did not ask.
func historyLine(rec drill.RestoreRecord) string {
	var line string
	if f := rec.ExecutionHistory; f != nil {
		switch {
		case f.InterruptedState != "":
			line = "interrupted in state " + f.InterruptedState
		case f.FailedState != "":
			line = "failed in state " + f.FailedState
		case rec.ExecutionStatus == "ABORTED" || rec.ExecutionStatus == "TIMED_OUT":
			line = "stopped between two states"
		}
		var parts []string
		for _, p := range []string{f.Error, f.Cause} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			line += " (" + strings.Join(parts, ": ") + ")"
		}
	}
	if rec.HistoryError != "" {
		if line != "" {
			line += "; "
		}
		line += "execution history not read in full: " + rec.HistoryError
	}
	return line
}

func recordLine(rec drill.RestoreRecord) string {
	when := rec.At.UTC().Format(time.RFC3339)
	if rec.ExecutionStatus != "" {
		when += ", after the execution ended " + rec.ExecutionStatus
	}
	r := rec.Result
	switch {
	case rec.Error != "":
		return when + ": restore FAILED, the bucket may still be blocked: " + rec.Error
	case r == nil:
		return when + ": no result recorded"
	case r.NothingToRestore:
		return when + ": nothing to restore (the bucket was never blocked)"
	case r.AlreadyRestored:
		return fmt.Sprintf("%s: already restored; read back %s, matches the prior %s: %v", when, pabString(r.ReadBack), pabString(r.Prior), r.MatchesPrior)
	}
	return fmt.Sprintf("%s: put back %s, read back %s, matches the prior: %v", when, pabString(r.Prior), pabString(r.ReadBack), r.MatchesPrior)
}

func printSummary(w io.Writer, out *local.Outcome, rep *drill.Report, dir string, total time.Duration) {
	if rep.InterruptedState != "" {
		fmt.Fprintf(w, "interrupted: %s was running when the execution ended %s\n", rep.InterruptedState, rep.Status)
	}
	if out.SafetyNet != nil {
		switch sn := out.SafetyNet; {
		case out.SafetyErr != nil:
			fmt.Fprintf(w, "safety net: restore FAILED, the bucket may still be blocked: %v\n", out.SafetyErr)
		case sn.NothingToRestore:
			fmt.Fprintln(w, "safety net: nothing to restore (the bucket was never blocked)")
		case sn.ChangedAfterRestore != "":
			fmt.Fprintf(w, "safety net: left the bucket as it is: %s\n", sn.ChangedAfterRestore)
		default:
			fmt.Fprintf(w, "safety net: prior %s, read back %s, matches prior: %v (already restored by the flow: %v)\n",
				pabString(sn.Prior), pabString(sn.ReadBack), sn.MatchesPrior, sn.AlreadyRestored)
		}
	}
	printReport(w, rep)
	fmt.Fprintf(w, "command wall        %.3f s (incl. sandbox start)\n", total.Seconds())
	fmt.Fprintf(w, "report              %s/report.json, report.html\n", dir)
}

// printReport prints a report's verdict and figures, the same lines wherever the
// report comes from: a local run, a deployed execution's output, or the ledger.
func printReport(w io.Writer, rep *drill.Report) {
	printVerdict(w, rep)
	printEnding(w, rep)
	if rep.DryRun {
		printDryRun(w, rep)
		return
	}
	if rep.Error != nil && rep.Error.Error == drill.ErrorName(&drill.NotReady{}) {
		return // the checks above say why; nothing was changed, nothing measured
	}
	printFigures(w, rep)
	printCartAndCost(w, rep)
}

// printVerdict: the verdict and its reasons, the readiness checks, replication.
func printVerdict(w io.Writer, rep *drill.Report) {
	fmt.Fprintf(w, "\nverdict: %s\n", strings.ToUpper(rep.Verdict))
	for _, r := range rep.Reasons {
		fmt.Fprintf(w, "  - %s\n", r)
	}
	if len(rep.Readiness.Checks) > 0 {
		fmt.Fprintln(w, "readiness")
		for _, c := range rep.Readiness.Checks {
			line := fmt.Sprintf("  %-28s %-8s", c.Name, c.Status)
			switch {
			case c.Reason != "":
				line += " " + oneLine(c.Reason)
			case len(c.Evidence) > 0:
				line += " " + oneLine(c.Evidence[len(c.Evidence)-1])
			}
			fmt.Fprintln(w, line)
		}
	}
	if rep.Replication.Measured {
		fmt.Fprintf(w, "replication         %.3f s (seeded cart readable through the secondary API)\n", rep.Replication.Seconds)
	}
	if line := report.DatabaseLine(rep.Database); line != "" {
		fmt.Fprintf(w, "database            %s\n", line)
	}
	if rep.Sandbox != nil {
		fmt.Fprintf(w, "sandbox change log  %d change(s) to the primary bucket's Block Public Access\n", len(rep.Sandbox.PrimaryBucketChanges))
	}
}

// printEnding: how the run ended, its error once, what it touched and who restored it.
func printEnding(w io.Writer, rep *drill.Report) {
	e := rep.Ending
	if e != nil {
		line := e.Kind
		if e.State != "" {
			line += " in " + e.State
			if e.StateInferred {
				line += " (inferred from the results present)"
			}
		}
		fmt.Fprintf(w, "ending              %s\n", line)
	}
	// The error once, in full: only when no reason above says it already.
	if err := rep.Error; err != nil && !mentioned(rep.Reasons, err.Cause) {
		fmt.Fprintf(w, "error               %s: %s\n", err.Error, drill.CauseMessage(err.Cause))
	}
	if e != nil {
		if len(e.Touched) == 0 {
			fmt.Fprintln(w, "touched             nothing")
		}
		for i, t := range e.Touched {
			label := ""
			if i == 0 {
				label = "touched"
			}
			fmt.Fprintf(w, "%-19s %s\n", label, t)
		}
		fmt.Fprintf(w, "restored            %s\n", e.Restored)
		if e.Next != "" {
			fmt.Fprintf(w, "do now              %s\n", e.Next)
		}
	}
}

// printDryRun: what a dry run adds, having measured nothing.
func printDryRun(w io.Writer, rep *drill.Report) {
	if c := rep.ConcurrentDrill; c != nil {
		fmt.Fprintf(w, "drill in progress   execution %s (%s, started %s) ran meanwhile: run the dry run again after it\n", c.Execution, c.Status, c.StartedAt.Format(time.RFC3339))
	}
	if c := rep.Cost; c != nil {
		fmt.Fprintf(w, "cost                %s\n", costLine(c))
	}
	fmt.Fprintf(w, "dry run             the bucket was read, never written (prior %s)\n", pabString(rep.Restore.Prior))
}

// printFigures: what visitors saw, the failover and the recovery, against the truth in
// the sandbox.
func printFigures(w io.Writer, rep *drill.Report) {
	if a := rep.StopAlarms; a != nil && a.FailedReads > 0 {
		fmt.Fprintf(w, "stop alarms         unwatched %.1f s (%d of %d reads failed, limit %.0f s)\n", a.UnwatchedSeconds, a.FailedReads, a.Reads, a.LimitSeconds)
	}
	fmt.Fprintf(w, "failover            %s", switchLine(rep.Failover.Phases, rep.Failover.NotMeasured, rep.Failover.Seconds, rep.Failover.ServedRegion))
	if s := rep.Sandbox; s != nil {
		fmt.Fprint(w, truthNote(rep.Failover.Phases, s.Truth.Failover, s.FailoverWithinBound))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "recovery            %s", switchLine(rep.Recovery.Phases, rep.Recovery.NotMeasured, rep.Recovery.Seconds, rep.Recovery.ServedRegion))
	if s := rep.Sandbox; s != nil {
		fmt.Fprint(w, truthNote(rep.Recovery.Phases, s.Truth.Recovery, s.RecoveryWithinBound))
	}
	fmt.Fprintln(w)
	if n, ok := rep.Errors(); ok {
		fmt.Fprintf(w, "user-visible errors %d", n)
		if v := rep.Visitors; v != nil {
			fmt.Fprintf(w, " (error rate %.2f%%", v.ErrorRatePercent)
			if r := v.LongestErrorRun; r != nil {
				fmt.Fprintf(w, ", longest run %.3f s", r.Seconds)
			}
			fmt.Fprintf(w, "), %d slow, %d unanswered; latency p50 %.0f ms, p95 %.0f ms, max %.0f ms", v.Slow, v.Unanswered, v.Latency.P50Ms, v.Latency.P95Ms, v.Latency.MaxMs)
			if v.Latency.Censored > 0 {
				fmt.Fprint(w, " (at least: unanswered requests at what they had waited)")
			}
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "user-visible errors not measured: the probe never ran")
	}
	if c := rep.Coverage; c != nil && c.SpanSeconds > 0 {
		fmt.Fprintf(w, "unsampled           %.3f s of %.3f s (%.1f%%): block > first sample %s, failover probe end > restore %s, restore > first sample %s\n",
			c.UnsampledSeconds, c.SpanSeconds, c.UnsampledPercent, secondsOrDash(c.BlockToFirstSampleSeconds),
			secondsOrDash(c.FailoverEndToRestoreSeconds), secondsOrDash(c.RestoreToFirstSampleSeconds))
	}
	if rep.Recovery.ByCheck {
		fmt.Fprintln(w, "recovery check      the failure path's restore was followed by a best-effort look at the primary (the recovery line above)")
	}
	if rep.PrimaryNotServing {
		fmt.Fprintln(w, "PRIMARY NOT SERVING the primary was not seen serving stably after the restore: check the site now")
	}
	if rep.Failover.Phases != nil || rep.Recovery.Phases != nil {
		fmt.Fprintln(w, report.TimelineLine(*rep))
	}
}

// printCartAndCost: the cart, the bucket for reports from before endings, the cost and
// the timing.
func printCartAndCost(w io.Writer, rep *drill.Report) {
	if rep.Cart.NotChecked != "" {
		fmt.Fprintf(w, "cart                not checked: %s\n", rep.Cart.NotChecked)
	} else {
		fmt.Fprintf(w, "cart intact         %v (%d of %d unicorns)\n", rep.Cart.Intact, len(rep.Cart.Got), len(rep.Cart.Expected))
	}
	if rep.Ending == nil { // a report from before endings existed
		fmt.Fprintf(w, "bucket restored     %v (prior %s, read back %s)\n", rep.Restore.MatchesPrior, pabString(rep.Restore.Prior), pabString(rep.Restore.ReadBack))
	}
	if c := rep.Cost; c != nil {
		fmt.Fprintf(w, "cost                %s\n", costLine(c))
	}
	if rep.Timing != nil {
		fmt.Fprintf(w, "execution wall      %.3f s = configured delays %.3f s + overhead %.3f s\n",
			rep.Timing.WallSeconds, rep.Timing.ConfiguredDelaySeconds, rep.Timing.OverheadSeconds)
	}
}

// mentioned reports whether a reason already quotes the error's message.
func mentioned(reasons []string, cause string) bool {
	msg := oneLine(drill.CauseMessage(cause))
	for _, r := range reasons {
		if msg != "" && strings.Contains(r, msg) {
			return true
		}
	}
	return false
}

// costLine is the cost in one line: the estimate and what it is made of.
func costLine(c *drill.Cost) string {
	gbs := 0.0
	for _, f := range c.Lambda {
		gbs += f.GBSeconds
	}
	return fmt.Sprintf("about $%.5f (%s): %d state transitions, %.1f Lambda GB-s, %d requests to the distribution, S3 %d PUT/LIST + %d GET (prices of %s)",
		c.EstimatedUSD, c.Source, c.StateTransitions, gbs, c.DistributionRequests.Total, c.S3Requests.Put, c.S3Requests.Get, c.PricesAsOf)
}

// switchLine is a switch's stable time with its bound and what made it messy. A report
// from before the phases existed has only its seconds and region.
func switchLine(ph *drill.Phases, notMeasured string, seconds float64, region string) string {
	switch {
	case ph == nil && notMeasured == "" && region != "":
		return fmt.Sprintf("%.3f s to %s", seconds, region)
	case ph == nil:
		return "not measured: " + orDash(notMeasured)
	case ph.Stable == nil:
		return fmt.Sprintf("never stable (ended: %s)", ph.Ended)
	}
	st := ph.Stable
	line := fmt.Sprintf("stable %.3f s (%.3f..%.3f) to %s", st.Seconds, st.LoSeconds, st.HiSeconds, ph.To)
	if m := ph.Mixed; m != nil {
		line += fmt.Sprintf(", mixed %.3f..%.3f s with the old origin at %.1f%%", m.FromSeconds, m.ToSeconds, m.OldSharePercent)
	}
	return line
}

func secondsOrDash(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f s", *s)
}

// truthNote sets the independent visitor's figure beside the drill's: whether it falls
// within the drill's bound only when the drill measured a stable switch, which has a
// bound; else the truth alone (nothing when neither saw the switch).
func truthNote(drillPhases, truth *drill.Phases, withinBound bool) string {
	switch {
	case drillPhases != nil && drillPhases.Stable != nil:
		return fmt.Sprintf("  (truth %s, within bound: %v)", truthLine(truth), withinBound)
	case truth != nil && truth.Stable != nil:
		return fmt.Sprintf("  (truth %s; the drill measured no stable switch, so no bound to hold it to)", truthLine(truth))
	}
	return ""
}

func truthLine(ph *drill.Phases) string {
	if ph == nil || ph.Stable == nil {
		return "never stable"
	}
	return fmt.Sprintf("%.3f s", ph.Stable.Seconds)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pabString(p *drill.PublicAccessBlock) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("{BlockPublicAcls:%v IgnorePublicAcls:%v BlockPublicPolicy:%v RestrictPublicBuckets:%v}",
		p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
}
