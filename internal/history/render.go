package history

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// Write prints one line per run, oldest first, then the summary.
func Write(w io.Writer, runs []Run, s Summary) {
	for _, r := range runs {
		fmt.Fprintln(w, Line(r))
	}
	if len(runs) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, SummaryLine(s))
}

// Line is one run: time, verdict, failover s, recovery s, errors, replication s.
func Line(r Run) string {
	verdict := r.Verdict
	if r.Ending != "" && r.Ending != drill.EndPassed && r.Ending != drill.EndFailed {
		verdict += " (" + r.Ending + ")"
	}
	line := fmt.Sprintf("%s  %-26s failover %-9s recovery %-9s errors %-5s", r.Time.UTC().Format("2006-01-02 15:04:05Z"), verdict,
		seconds(r.FailoverSeconds), seconds(r.RecoverySeconds), count(r.Errors))
	if r.ReplicationSeconds != nil {
		line += " replication " + seconds(r.ReplicationSeconds)
	}
	if r.LostWrites != nil {
		line += fmt.Sprintf(" db outage %s lost %d", seconds(r.DatabaseOutageSeconds), *r.LostWrites)
	}
	return line + "  " + r.Execution
}

// SummaryLine is the summary in one line.
func SummaryLine(s Summary) string {
	if s.Runs == 0 {
		return "no runs"
	}
	dry := ""
	if s.DryRuns > 0 {
		dry = fmt.Sprintf(" (and %d dry runs)", s.DryRuns)
	}
	return fmt.Sprintf("%d runs%s, %d passed (%.1f%%); failover p50 %s, p95 %s (%d measured); recovery p50 %s, p95 %s (%d measured); trend: %s",
		s.Runs-s.DryRuns, dry, s.Passed, s.PassRate, seconds(s.Failover.P50), seconds(s.Failover.P95), s.Failover.Measured,
		seconds(s.Recovery.P50), seconds(s.Recovery.P95), s.Recovery.Measured, s.Trend)
}

func seconds(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3fs", *v)
}

func count(v *int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

// HTML is the index page: the summary, a trend chart (inline SVG, no script) of the
// stable failover and recovery of every run, and a table linking each run's report.
func HTML(runs []Run, s Summary, source string) []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	esc := html.EscapeString
	w("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	w("<title>Failover drill history</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", style)
	w("<h1>Failover drill history</h1>\n<p>%s</p>\n<p>Reports from %s.</p>\n", esc(SummaryLine(s)), esc(source))
	w("<figure>%s<figcaption>Stable failover (blue) and recovery (green) of each run, in seconds, by the time it started; a red ring marks a run that failed, a gap a figure the run did not measure.</figcaption></figure>\n", Chart(runs))
	w("<table>\n<tr><th>Started</th><th>Verdict</th><th>Failover (s)</th><th>Recovery (s)</th><th>Errors</th><th>Replication (s)</th><th>DB write outage (s)</th><th>Lost writes</th><th>Cost (USD)</th><th>Report</th></tr>\n")
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		cost := "–"
		if r.CostUSD != nil {
			cost = fmt.Sprintf("%.5f", *r.CostUSD)
		}
		verdict := r.Verdict
		if r.Ending != "" {
			verdict += " (" + r.Ending + ")"
		}
		w("<tr><td>%s</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><a href=\"%s\">%s</a></td></tr>\n",
			r.Time.UTC().Format("2006-01-02 15:04:05Z"), esc(r.Verdict), esc(verdict), dashed(seconds(r.FailoverSeconds)), dashed(seconds(r.RecoverySeconds)),
			dashed(count(r.Errors)), dashed(seconds(r.ReplicationSeconds)), dashed(seconds(r.DatabaseOutageSeconds)), dashed(count(r.LostWrites)), cost, esc(r.Report), esc(r.Execution))
	}
	w("</table>\n</body>\n</html>\n")
	return b.Bytes()
}

const style = `body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;margin-top:1em} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f4f4f4} td.pass{color:#1a7f37;font-weight:bold} td.fail{color:#cf222e;font-weight:bold}
figure{margin:0} figure svg{max-width:100%;height:auto} figcaption{color:#57606a;font-size:.9em}`

func dashed(s string) string {
	if s == "-" {
		return "–"
	}
	return strings.TrimSuffix(s, "s")
}

// Chart is the trend chart: each run's stable failover and recovery by its start time.
func Chart(runs []Run) string {
	const w, h, x0, x1, y0, y1 = 760, 240, 60, 740, 20, 200
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="failover and recovery seconds per run">`, w, h, w, h)
	maxY := 0.0
	for _, r := range runs {
		for _, v := range []*float64{r.FailoverSeconds, r.RecoverySeconds} {
			if v != nil {
				maxY = math.Max(maxY, *v)
			}
		}
	}
	if len(runs) == 0 || maxY == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13">no measured run yet</text></svg>`, x0, h/2)
		return b.String()
	}
	maxY = niceCeil(maxY)
	t0, t1 := runs[0].Time, runs[len(runs)-1].Time
	x := func(i int, t time.Time) float64 {
		if len(runs) == 1 {
			return (x0 + x1) / 2
		}
		if !t1.After(t0) { // no spread in time: by index
			return x0 + (x1-x0)*float64(i)/float64(len(runs)-1)
		}
		return x0 + (x1-x0)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v float64) float64 { return y1 - (y1-y0)*v/maxY }
	// Axes and grid.
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de"/><text x="%d" y="%.1f" font-size="11" text-anchor="end">%s s</text>`,
			x0, y(v), x1, y(v), x0-6, y(v)+4, trimNum(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text><text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`,
		x0, h-20, t0.UTC().Format("2006-01-02 15:04Z"), x1, h-20, t1.UTC().Format("2006-01-02 15:04Z"))
	series := func(color string, pick func(Run) *float64) {
		var pts []string
		for i, r := range runs {
			if v := pick(r); v != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i, r.Time), y(*v)))
			} else if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, strings.Join(pts, " "))
				pts = nil
			}
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, color, strings.Join(pts, " "))
		}
		for i, r := range runs {
			if v := pick(r); v != nil {
				ring := ""
				if r.Verdict != drill.Pass {
					ring = ` stroke="#cf222e" stroke-width="2"`
				}
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"%s><title>%s %s: %.3f s</title></circle>`,
					x(i, r.Time), y(*v), color, ring, html.EscapeString(r.Execution), r.Verdict, *v)
			}
		}
	}
	series("#0969da", func(r Run) *float64 { return r.FailoverSeconds })
	series("#1a7f37", func(r Run) *float64 { return r.RecoverySeconds })
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#0969da"/><text x="%d" y="%d" font-size="11">failover</text>`, x0, h-12, x0+14, h-3)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#1a7f37"/><text x="%d" y="%d" font-size="11">recovery</text>`, x0+80, h-12, x0+94, h-3)
	b.WriteString("</svg>")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimNum(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
