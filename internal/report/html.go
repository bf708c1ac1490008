package report

import (
	"bytes"
	"fmt"
	"html"
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
.pass{background:#1a7f37} .fail{background:#cf222e}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} code,pre{font-family:ui-monospace,monospace;font-size:.95em} pre{white-space:pre-wrap;background:#f6f8fa;padding:.6em}`

// HTML renders r as a compact standalone page. Every value is escaped.
func HTML(r drill.Report) ([]byte, error) {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	verdictClass := "fail"
	if drill.Succeeded(r.Verdict) {
		verdictClass = "pass"
	}
	w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	w("<title>Failover drill %s: %s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", esc(r.Execution), esc(r.Verdict), style)
	w("<h1>Failover drill <code>%s</code> <span class=\"verdict %s\">%s</span></h1>\n", esc(r.Execution), verdictClass, esc(r.Verdict))
	w("<p>%s</p>\n", esc(r.Summary))
	if len(r.Reasons) > 0 {
		w("<h2>Why it failed</h2>\n<ul>")
		for _, reason := range r.Reasons {
			w("<li>%s</li>", esc(reason))
		}
		w("</ul>\n")
	}

	if len(r.Readiness.Checks) > 0 {
		w("<h2>Readiness</h2>\n<table>\n<tr><th>Check</th><th>Status</th><th>Evidence</th><th>Reason / action</th></tr>\n")
		for _, c := range r.Readiness.Checks {
			w("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(c.Name), esc(c.Status),
				esc(strings.Join(c.Evidence, "; ")), esc(strings.TrimSpace(c.Reason+" "+c.Action)))
		}
		if r.Replication.Measured {
			w("<tr><td>replication.seconds</td><td colspan=\"3\">%.3f</td></tr>\n", r.Replication.Seconds)
		}
		w("</table>\n")
	}

	w("<h2>Target</h2>\n<table>\n")
	row(&b, "Distribution", esc(dash(r.Target.Distribution)))
	row(&b, "Primary bucket", esc(dash(r.Target.PrimaryBucket))+" ("+esc(dash(r.Target.PrimaryRegion))+")")
	row(&b, "Secondary region", esc(dash(r.Target.SecondaryRegion)))
	row(&b, "Run", fmtTime(r.StartedAt)+" → "+fmtTime(r.FinishedAt))
	w("</table>\n")

	w("<h2>Measurements</h2>\n<table>\n<tr><th></th><th>Seconds</th><th>Served region</th><th>From</th><th>First served at</th></tr>\n")
	w("<tr><th>Failover</th><td>%.2f</td><td>%s</td><td>blocked %s</td><td>%s</td></tr>\n",
		r.Failover.Seconds, esc(dash(r.Failover.ServedRegion)), ptime(r.Failover.BlockedAt), ptime(r.Failover.FirstSecondaryAt))
	w("<tr><th>Recovery</th><td>%.2f</td><td>%s</td><td>restored %s</td><td>%s</td></tr>\n",
		r.Recovery.Seconds, esc(dash(r.Recovery.ServedRegion)), ptime(r.Recovery.RestoredAt), ptime(r.Recovery.FirstPrimaryAt))
	w("<tr><th>User-visible errors</th><td colspan=\"4\">%d</td></tr>\n</table>\n", r.UserVisibleErrors)

	w("<h2>Cart</h2>\n<table>\n")
	row(&b, "Intact", fmt.Sprint(r.Cart.Intact))
	row(&b, "Expected", esc(join(r.Cart.Expected)))
	row(&b, "Got", esc(join(r.Cart.Got)))
	w("</table>\n")

	w("<h2>Bucket restore</h2>\n<table>\n")
	row(&b, "Prior", "<code>"+esc(pab.String(r.Restore.Prior))+"</code>")
	row(&b, "Read back", "<code>"+esc(pab.String(r.Restore.ReadBack))+"</code>")
	row(&b, "Matches prior", fmt.Sprint(r.Restore.MatchesPrior))
	w("</table>\n")

	w("<h2>Steps</h2>\n")
	if len(r.Steps) == 0 {
		w("<p>No step completed.</p>\n")
	} else {
		w("<table>\n<tr><th>Step</th><th>Status</th><th>Start</th><th>Duration</th></tr>\n")
		for _, s := range r.Steps {
			w("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(s.Name), esc(s.Status), fmtTime(s.Start), dur(s.Start, s.End))
		}
		w("</table>\n")
	}
	if r.Error != nil {
		w("<h2>Error</h2>\n<p><code>%s</code></p>\n<pre>%s</pre>\n", esc(r.Error.Error), esc(r.Error.Cause))
	}
	if s := r.Sandbox; s != nil {
		w("<h2>Sandbox ground truth</h2>\n<table>\n")
		row(&b, "Failover (truth)", fmt.Sprintf("%.2fs", s.Truth.FailoverSeconds))
		row(&b, "Recovery (truth)", fmt.Sprintf("%.2fs", s.Truth.RecoverySeconds))
		row(&b, "Probe error", fmt.Sprintf("%.2fs", s.ProbeErrorSeconds))
		w("</table>\n")
	}
	if t := r.Timing; t != nil {
		w("<h2>Timing</h2>\n<table>\n")
		row(&b, "Wall", fmt.Sprintf("%.2fs", t.WallSeconds))
		row(&b, "Configured delays", fmt.Sprintf("%.2fs", t.ConfiguredDelaySeconds))
		row(&b, "Overhead", fmt.Sprintf("%.2fs", t.OverheadSeconds))
		w("</table>\n")
	}
	w("</body>\n</html>\n")
	return b.Bytes(), nil
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

func join(s []string) string {
	if len(s) == 0 {
		return "–"
	}
	return strings.Join(s, ", ")
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
	return fmt.Sprintf("%.1fs", b.Sub(a).Seconds())
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}
