package report

import (
	"bytes"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// The page is written with html.EscapeString rather than html/template on purpose:
// html/template's reflection keeps every exported method alive in the binary and
// makes the report Lambda 16 MB instead of 10 (the target is <= 12 MB). Every value
// that comes from data goes through esc.

const style = `body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.5em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:bold;text-transform:uppercase}
.pass{background:#1a7f37} .fail{background:#cf222e} .neutral{background:#6e7781}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} code,pre{font-family:ui-monospace,monospace;font-size:.95em} pre{white-space:pre-wrap;background:#f6f8fa;padding:.6em}
figure{margin:0} figure svg{max-width:100%;height:auto} figcaption{color:#57606a;font-size:.9em}`

// HTML renders r as a compact standalone page, with the timeline of logs (the probe's
// sample logs; none: no picture). Every value is escaped.
func HTML(r drill.Report, logs Logs) ([]byte, error) {
	p := &page{b: &bytes.Buffer{}}
	p.head(r)
	p.reasons(r)
	p.readiness(r)
	p.stopAlarms(r)
	p.ending(r)
	p.target(r)
	p.switches(r, logs)
	p.visitorsTotal(r)
	p.cart(r)
	p.restore(r)
	p.cost(r)
	p.steps(r)
	p.errorAlone(r)
	p.sandbox(r)
	p.timing(r)
	p.w("</body>\n</html>\n")
	return p.b.Bytes(), nil
}

// page is the report page being written, section by section.
type page struct{ b *bytes.Buffer }

func (p *page) w(format string, args ...any) { fmt.Fprintf(p.b, format, args...) }

// head writes the page's head, its verdict and headline, and a drill that disturbed a dry run.
func (p *page) head(r drill.Report) {
	verdictClass := "fail"
	switch {
	case drill.Succeeded(r.Verdict):
		verdictClass = "pass"
	case r.Verdict == drill.SkippedBusy:
		verdictClass = "neutral" // a drill disturbed the dry run: nothing proven either way
	}
	p.w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	p.w("<title>Failover drill %s: %s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", esc(r.Execution), esc(r.Verdict), style)
	p.w("<h1>Failover drill <code>%s</code> <span class=\"verdict %s\">%s</span></h1>\n", esc(r.Execution), verdictClass, esc(r.Verdict))
	p.w("<p>%s</p>\n", esc(headline(r)))
	if c := r.ConcurrentDrill; c != nil {
		p.w("<p>A drill ran during this dry run: execution <code>%s</code> (%s, started %s). What the dry run saw below may be the drill's doing; the next dry run checks again.</p>\n",
			esc(c.Execution), esc(c.Status), fmtTime(c.StartedAt))
	}
}

// reasons writes "Why it failed": each reason once (withoutCause).
func (p *page) reasons(r drill.Report) {
	if len(r.Reasons) > 0 {
		p.w("<h2>Why it failed</h2>\n<ul>")
		for _, reason := range r.Reasons {
			p.w("<li>%s</li>", esc(withoutCause(r, reason)))
		}
		p.w("</ul>\n")
	}
}

// readiness writes the readiness checks.
func (p *page) readiness(r drill.Report) {

	if len(r.Readiness.Checks) > 0 {
		p.w("<h2>Readiness</h2>\n<table>\n<tr><th>Check</th><th>Status</th><th>Evidence</th><th>Reason / action</th></tr>\n")
		for _, c := range r.Readiness.Checks {
			p.w("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(c.Name), esc(c.Status),
				esc(strings.Join(c.Evidence, "; ")), esc(strings.TrimSpace(c.Reason+" "+c.Action)))
		}
		if r.Replication.Measured {
			p.w("<tr><td>replication.seconds</td><td colspan=\"3\">%.3f</td></tr>\n", r.Replication.Seconds)
		}
		if r.Readiness.AllowSkippedChecks {
			p.w("<tr><td>allowSkippedChecks</td><td colspan=\"3\">true: the drill could go on without the skipped checks (%s)</td></tr>\n", esc(strings.Join(r.Readiness.Skipped, ", ")))
		}
		p.w("</table>\n")
	}
}

// stopAlarms writes the stop alarms' watch.
func (p *page) stopAlarms(r drill.Report) {
	if a := r.StopAlarms; a != nil {
		p.w("<h2>Stop alarms</h2>\n<table>\n")
		row(p.b, "Watched", esc(strings.Join(a.Alarms, ", ")))
		row(p.b, "Reads", fmt.Sprintf("%d, %d failed", a.Reads, a.FailedReads))
		row(p.b, "Unwatched", fmt.Sprintf("%.1f s in all, longest %.1f s (the drill stops beyond %.0f s)", a.UnwatchedSeconds, a.LongestUnwatchedSeconds, a.LimitSeconds))
		if a.LastError != "" {
			row(p.b, "Last error", esc(a.LastError))
		}
		p.w("</table>\n")
	}
}

// ending writes "How it ended": the ending, its error, what was touched and put back.
func (p *page) ending(r drill.Report) {
	if e := r.Ending; e != nil {
		p.w("<h2>How it ended</h2>\n<table>\n")
		ending := esc(e.Kind)
		if e.State != "" {
			ending += " in <code>" + esc(e.State) + "</code>"
			if e.StateInferred {
				ending += " (inferred from the results present)"
			}
		}
		if r.Status != "" {
			ending += "; execution " + esc(r.Status)
		}
		row(p.b, "Ending", ending)
		if r.Error != nil {
			row(p.b, "Error", "<code>"+esc(r.Error.Error)+"</code><pre>"+esc(drill.CauseMessage(r.Error.Cause))+"</pre>")
		}
		if r.RestoreError != nil && (r.Error == nil || *r.RestoreError != *r.Error) {
			row(p.b, "Restore error", "<code>"+esc(r.RestoreError.Error)+"</code><pre>"+esc(drill.CauseMessage(r.RestoreError.Cause))+"</pre>")
		}
		touched := "nothing"
		if len(e.Touched) > 0 {
			var items []string
			for _, t := range e.Touched {
				items = append(items, "<li>"+esc(t)+"</li>")
			}
			touched = "<ul>" + strings.Join(items, "") + "</ul>"
		}
		row(p.b, "Touched", touched)
		row(p.b, "Restored", esc(e.Restored))
		if e.Next != "" {
			row(p.b, "Do now", "<b>"+esc(e.Next)+"</b>")
		}
		p.w("</table>\n")
	}
}

// target writes the drill's target and run.
func (p *page) target(r drill.Report) {

	p.w("<h2>Target</h2>\n<table>\n")
	row(p.b, "Distribution", esc(dash(r.Target.Distribution)))
	row(p.b, "Primary bucket", esc(dash(r.Target.PrimaryBucket))+" ("+esc(dash(r.Target.PrimaryRegion))+")")
	row(p.b, "Secondary region", esc(dash(r.Target.SecondaryRegion)))
	row(p.b, "Run", fmtTime(r.StartedAt)+" → "+fmtTime(r.FinishedAt))
	p.w("</table>\n")
}

// switches writes "What visitors saw": the picture and the failover and recovery side by side.
func (p *page) switches(r drill.Report, logs Logs) {

	p.w("<h2>What visitors saw</h2>\n")
	if svg := Timeline(r, logs); svg != "" {
		p.w("<figure>%s<figcaption>Every probe sample by the time its answer arrived, in the lane of the origin that served it; errors red, shaded across; the mixed stretch amber; latency below (log scale, dashed: maxLatencyP95Ms).</figcaption></figure>\n", svg)
	} else {
		p.w("<p>No sample log: no picture.</p>\n")
	}
	p.w("<p><code>%s</code></p>\n", esc(TimelineLine(r)))
	p.w("<table>\n<tr><th></th><th>Failover</th><th>Recovery</th></tr>\n")
	fo, rc := r.Failover.Phases, r.Recovery.Phases
	phaseRow(p.b, "From", fmt.Sprintf("block %s", ptime(r.Failover.BlockedAt)), fmt.Sprintf("restore %s", ptime(r.Recovery.RestoredAt)))
	phaseRow(p.b, "Stable (s)", moment(fo, func(p *drill.Phases) *drill.Moment { return p.Stable }, r.Failover.NotMeasured),
		moment(rc, func(p *drill.Phases) *drill.Moment { return p.Stable }, r.Recovery.NotMeasured))
	phaseRow(p.b, "First answer from the new origin (s)", moment(fo, func(p *drill.Phases) *drill.Moment { return p.FirstNew }, r.Failover.NotMeasured),
		moment(rc, func(p *drill.Phases) *drill.Moment { return p.FirstNew }, r.Recovery.NotMeasured))
	phaseRow(p.b, "Last answer from the old origin (s)", moment(fo, func(p *drill.Phases) *drill.Moment { return p.LastOld }, r.Failover.NotMeasured),
		moment(rc, func(p *drill.Phases) *drill.Moment { return p.LastOld }, r.Recovery.NotMeasured))
	phaseRow(p.b, "Mixed", mixed(fo), mixed(rc))
	if l := r.Failover.Late; l != nil {
		phaseRow(p.b, "Late switch", fmt.Sprintf("%s served from %.3f s to %.3f s after the block was sent (%.3f s, %d answers), after the failover watch ended at %.3f s; seen by %s",
			esc(l.Region), l.FromSeconds, l.ToSeconds, l.Seconds, l.Samples, l.WatchEndedSeconds, esc(l.Mode)), "–")
	}
	phaseRow(p.b, "Served at the end", esc(dash(r.Failover.ServedRegion)), esc(dash(r.Recovery.ServedRegion)))
	phaseRow(p.b, "Errors", visitors(fo, errorsCell), visitors(rc, errorsCell))
	phaseRow(p.b, "Latency before / during / after (p50, p95, max ms)", latencyCell(fo), latencyCell(rc))
	phaseRow(p.b, "Sampling", sampling(fo), sampling(rc))
	p.w("</table>\n")
}

// visitorsTotal writes what visitors saw from the block to the end of recovery.
func (p *page) visitorsTotal(r drill.Report) {
	if v := r.Visitors; v != nil {
		p.w("<h2>From the block to the end of recovery</h2>\n<table>\n")
		n, _ := r.Errors()
		row(p.b, "User-visible errors", fmt.Sprintf("%d in %d answers (%s); error rate %.3f%% of the time (limit %d%%)", n, v.Samples, esc(outcomes(v.Outcomes)), v.ErrorRatePercent, r.Limits.MaxErrorRatePercent))
		run := "none"
		if lr := v.LongestErrorRun; lr != nil {
			run = fmt.Sprintf("%.3f s (%.3f..%.3f) from %.3f s, %d errors", lr.Seconds, lr.LoSeconds, lr.HiSeconds, lr.From.Seconds, lr.Samples)
		}
		row(p.b, "Longest error run", run+fmt.Sprintf(" (limit %d s)", r.Limits.MaxErrorRunSeconds))
		row(p.b, "Latency", fmt.Sprintf("p50 %.0f ms, p95 %.0f ms (limit %d ms), max %.0f ms; %d slow answers", v.Latency.P50Ms, v.Latency.P95Ms, r.Limits.MaxLatencyP95Ms, v.Latency.MaxMs, v.Slow))
		if bl := r.Baseline; bl != nil {
			row(p.b, "Before the block", fmt.Sprintf("%d errors in %d answers; latency p50 %.0f ms, p95 %.0f ms", bl.Errors, bl.Samples, bl.Latency.P50Ms, bl.Latency.P95Ms))
		}
		failed := "none"
		if len(r.LimitsFailed) > 0 {
			failed = strings.Join(r.LimitsFailed, ", ")
		}
		row(p.b, "Limits not met", esc(failed))
		p.w("</table>\n")
	} else if n, ok := r.Errors(); ok {
		p.w("<p>User-visible errors: %d</p>\n", n)
	} else {
		p.w("<p>User-visible errors: not measured (the probe never ran).</p>\n")
	}
}

// cart writes the seeded cart, by the unicorns' names.
func (p *page) cart(r drill.Report) {

	p.w("<h2>Cart</h2>\n<table>\n")
	if r.Cart.User != "" {
		row(p.b, "Synthetic user", esc(r.Cart.User))
	}
	if r.Cart.NotChecked != "" {
		row(p.b, "Intact", "not checked: "+esc(r.Cart.NotChecked))
		row(p.b, "Expected", esc(unicorns(r.Cart.Expected, r.Cart.Names)))
	} else {
		row(p.b, "Intact", fmt.Sprint(r.Cart.Intact))
		row(p.b, "Expected", esc(unicorns(r.Cart.Expected, r.Cart.Names)))
		row(p.b, "Got", esc(unicorns(r.Cart.Got, r.Cart.Names)))
	}
	p.w("</table>\n")
}

// restore writes what put the bucket back.
func (p *page) restore(r drill.Report) {

	p.w("<h2>Bucket restore</h2>\n<table>\n")
	if !r.Restore.Needed && r.Ending != nil {
		row(p.b, "Needed", "no: "+esc(r.Restore.NotNeeded))
	} else {
		row(p.b, "By", esc(dash(r.Restore.By)))
		row(p.b, "Prior", "<code>"+esc(pab.String(r.Restore.Prior))+"</code>")
		row(p.b, "Read back", "<code>"+esc(pab.String(r.Restore.ReadBack))+"</code>")
		row(p.b, "Matches prior", fmt.Sprint(r.Restore.MatchesPrior))
	}
	p.w("</table>\n")
}

// cost writes the cost of this drill, in dollars.
func (p *page) cost(r drill.Report) {
	if c := r.Cost; c != nil {
		p.w("<h2>Cost of this drill (%s, prices of %s)</h2>\n<table>\n<tr><th>Item</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr>\n", esc(c.Source), esc(c.PricesAsOf))
		for _, l := range c.Lines {
			p.w("<tr><td>%s</td><td>%s %s</td><td>%s</td><td>%s</td></tr>\n", esc(l.Item), quantity(l.Quantity), esc(l.Unit), Dollars(l.UnitPrice), Dollars(l.USD))
		}
		p.w("<tr><th>Estimated total</th><td></td><td></td><td><b>%s</b></td></tr>\n</table>\n", Dollars(c.EstimatedUSD))
		if len(c.Notes) > 0 {
			p.w("<p>Notes: %s.</p>\n", esc(strings.Join(c.Notes, "; ")))
		}
	}
}

// steps writes the states and their times.
func (p *page) steps(r drill.Report) {

	p.w("<h2>Steps</h2>\n")
	if len(r.Steps) == 0 {
		p.w("<p>No step completed.</p>\n")
	} else {
		p.w("<table>\n<tr><th>Step</th><th>Status</th><th>Start</th><th>Duration (s)</th></tr>\n")
		for _, s := range r.Steps {
			p.w("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(s.Name), esc(s.Status), fmtTime(s.Start), dur(s.Start, s.End))
		}
		p.w("</table>\n")
	}
}

// errorAlone writes the error of a report without an ending.
func (p *page) errorAlone(r drill.Report) {
	if r.Error != nil && r.Ending == nil {
		p.w("<h2>Error</h2>\n<p><code>%s</code></p>\n<pre>%s</pre>\n", esc(r.Error.Error), esc(drill.CauseMessage(r.Error.Cause)))
	}
}

// sandbox writes the sandbox's truth beside the drill's figures.
func (p *page) sandbox(r drill.Report) {
	if s := r.Sandbox; s != nil {
		p.w("<h2>Sandbox truth (an independent visitor every %.0f ms)</h2>\n<table>\n", s.Truth.VisitorIntervalMs)
		row(p.b, "Stable failover (truth)", fmt.Sprintf("%.3f s; within the drill's bound: %v", s.Truth.FailoverSeconds, s.FailoverWithinBound))
		row(p.b, "Stable recovery (truth)", fmt.Sprintf("%.3f s; within the drill's bound: %v", s.Truth.RecoverySeconds, s.RecoveryWithinBound))
		row(p.b, "|Drill − truth|, failover", fmt.Sprintf("%.3f s", s.ProbeErrorSeconds))
		p.w("</table>\n")
	}
}

// timing writes the run's timing.
func (p *page) timing(r drill.Report) {
	if t := r.Timing; t != nil {
		p.w("<h2>Timing</h2>\n<table>\n")
		row(p.b, "Wall", fmt.Sprintf("%.2fs", t.WallSeconds))
		row(p.b, "Configured delays", fmt.Sprintf("%.2fs", t.ConfiguredDelaySeconds))
		row(p.b, "Overhead", fmt.Sprintf("%.2fs", t.OverheadSeconds))
		p.w("</table>\n")
	}
}

// row writes a two-cell table row; cell must already be escaped.
func row(b *bytes.Buffer, header, cell string) {
	fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td></tr>\n", header, cell)
}

func esc(s string) string { return html.EscapeString(s) }

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func ptime(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return fmtTime(*t)
}

func dur(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return "–"
	}
	return fmt.Sprintf("%.3f", b.Sub(a).Seconds())
}

func phaseRow(b *bytes.Buffer, header, fo, rc string) {
	fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td><td>%s</td></tr>\n", header, fo, rc)
}

// moment is a figure with its bound, or why it is absent.
func moment(ph *drill.Phases, pick func(*drill.Phases) *drill.Moment, notMeasured string) string {
	if ph == nil {
		return "not measured: " + esc(dash(notMeasured))
	}
	m := pick(ph)
	if m == nil {
		return "not seen"
	}
	return fmt.Sprintf("<b>%.3f</b> (%.3f..%.3f, %.3f s wide)", m.Seconds, m.LoSeconds, m.HiSeconds, m.HiSeconds-m.LoSeconds)
}

func mixed(ph *drill.Phases) string {
	switch {
	case ph == nil:
		return "–"
	case ph.Mixed == nil:
		return "clean switch"
	}
	m := ph.Mixed
	return fmt.Sprintf("%.3f..%.3f s, old origin %.1f%% of %d answers; bounds widened by %.3f s", m.FromSeconds, m.ToSeconds, m.OldSharePercent, m.Samples, ph.SpreadSeconds)
}

func visitors(ph *drill.Phases, f func(drill.VisitorStats) string) string {
	if ph == nil {
		return "–"
	}
	return f(ph.Visitors)
}

func errorsCell(v drill.VisitorStats) string {
	s := fmt.Sprintf("%d of %d (%s), rate %.3f%%", v.Errors, v.Samples, esc(outcomes(v.Outcomes)), v.ErrorRatePercent)
	if r := v.LongestErrorRun; r != nil {
		s += fmt.Sprintf(", longest run %.3f s", r.Seconds)
	}
	return s + fmt.Sprintf("; %d slow", v.Slow)
}

func latencyCell(ph *drill.Phases) string {
	if ph == nil {
		return "–"
	}
	l := func(s drill.LatencyStats) string {
		if s.Samples == 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f, %.0f, %.0f", s.P50Ms, s.P95Ms, s.MaxMs)
	}
	return l(ph.Latency.Before) + " / " + l(ph.Latency.During) + " / " + l(ph.Latency.After)
}

func sampling(ph *drill.Phases) string {
	if ph == nil {
		return "–"
	}
	s := fmt.Sprintf("config.json every %.1f ms (%d a window: an old share under %.1f%% can hide in one); %d unanswered at the end, %d ticks skipped; ended: %s",
		ph.ConfigIntervalMs, ph.WindowSamples, ph.UnseenSharePercent, ph.Unanswered, ph.Skipped, esc(ph.Ended))
	if st := ph.Starved; st != nil && st.Gaps > 0 {
		s += fmt.Sprintf("; <b>starved</b>: %d sends late by %.3f s in all (the longest %.3f s), each bound near one widened by it", st.Gaps, st.Seconds, st.LongestSeconds)
	}
	return s
}

// quantity prints a quantity without trailing zeros.
func quantity(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// Dollars prints an amount in dollars as a person reads it: never with an exponent
// (0.000025, not 2.5e-05), with the digits the amount has, and a dollar sign.
func Dollars(usd float64) string {
	return "$" + strconv.FormatFloat(usd, 'f', -1, 64)
}

// unicorns lists a cart as people know it, by name, with the start of each uuid so
// two of the same name stay apart; a uuid the seed did not name is printed whole.
func unicorns(uuids []string, names map[string]string) string {
	if len(uuids) == 0 {
		return "–"
	}
	out := make([]string, len(uuids))
	for i, id := range uuids {
		if n := names[id]; n != "" {
			out[i] = fmt.Sprintf("%s (%.8s)", n, id)
		} else {
			out[i] = id
		}
	}
	return strings.Join(out, ", ")
}

// headline is the summary above the page's sections: without the reasons when "Why it
// failed" lists them below (the summary, a line for notifications, carries both), so
// the page says each thing once.
func headline(r drill.Report) string {
	if len(r.Reasons) == 0 {
		return r.Summary
	}
	if i := strings.Index(r.Summary, r.Reasons[0]); i > 0 {
		if head := strings.TrimRight(r.Summary[:i], "; :"); head != "" {
			return head + " (why: below)"
		}
	}
	return r.Summary
}

// withoutCause is a reason as "Why it failed" lists it: a reason that restates the
// execution's error leaves its cause to "How it ended", which shows it in full.
func withoutCause(r drill.Report, reason string) string {
	if r.Ending == nil || r.Error == nil {
		return reason
	}
	cause := oneLine(drill.CauseMessage(r.Error.Cause))
	if cause == "" || !strings.Contains(reason, cause) {
		return reason
	}
	return strings.TrimRight(strings.Replace(reason, cause, "", 1), ": ") + " (its cause under How it ended)"
}
