package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pab":  pab.String,
	"time": fmtTime,
	"ptime": func(t *time.Time) string {
		if t == nil {
			return "–"
		}
		return fmtTime(*t)
	},
	"dur": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return "–"
		}
		return fmt.Sprintf("%.1fs", b.Sub(a).Seconds())
	},
	"join": func(s []string) string {
		if len(s) == 0 {
			return "–"
		}
		return strings.Join(s, ", ")
	},
	"dash": func(s string) string {
		if s == "" {
			return "–"
		}
		return s
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Failover drill {{.Execution}}: {{.Verdict}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.5em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:bold;text-transform:uppercase}
.pass{background:#1a7f37} .fail{background:#cf222e}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} code,pre{font-family:ui-monospace,monospace;font-size:.95em} pre{white-space:pre-wrap;background:#f6f8fa;padding:.6em}
</style>
</head>
<body>
<h1>Failover drill <code>{{.Execution}}</code> <span class="verdict {{if eq .Verdict "pass"}}pass{{else}}fail{{end}}">{{.Verdict}}</span></h1>
<p>{{.Summary}}</p>
{{if .Reasons}}<h2>Why it failed</h2>
<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}

<h2>Target</h2>
<table>
<tr><th>Distribution</th><td>{{dash .Target.Distribution}}</td></tr>
<tr><th>Primary bucket</th><td>{{dash .Target.PrimaryBucket}} ({{dash .Target.PrimaryRegion}})</td></tr>
<tr><th>Secondary region</th><td>{{dash .Target.SecondaryRegion}}</td></tr>
<tr><th>Run</th><td>{{time .StartedAt}} → {{time .FinishedAt}}</td></tr>
</table>

<h2>Measurements</h2>
<table>
<tr><th></th><th>Seconds</th><th>Served region</th><th>From</th><th>First served at</th></tr>
<tr><th>Failover</th><td>{{printf "%.2f" .Failover.Seconds}}</td><td>{{dash .Failover.ServedRegion}}</td><td>blocked {{ptime .Failover.BlockedAt}}</td><td>{{ptime .Failover.FirstSecondaryAt}}</td></tr>
<tr><th>Recovery</th><td>{{printf "%.2f" .Recovery.Seconds}}</td><td>{{dash .Recovery.ServedRegion}}</td><td>restored {{ptime .Recovery.RestoredAt}}</td><td>{{ptime .Recovery.FirstPrimaryAt}}</td></tr>
<tr><th>User-visible errors</th><td colspan="4">{{.UserVisibleErrors}}</td></tr>
</table>

<h2>Cart</h2>
<table>
<tr><th>Intact</th><td>{{.Cart.Intact}}</td></tr>
<tr><th>Expected</th><td>{{join .Cart.Expected}}</td></tr>
<tr><th>Got</th><td>{{join .Cart.Got}}</td></tr>
</table>

<h2>Bucket restore</h2>
<table>
<tr><th>Prior</th><td><code>{{pab .Restore.Prior}}</code></td></tr>
<tr><th>Read back</th><td><code>{{pab .Restore.ReadBack}}</code></td></tr>
<tr><th>Matches prior</th><td>{{.Restore.MatchesPrior}}</td></tr>
</table>

<h2>Steps</h2>
{{if .Steps}}<table>
<tr><th>Step</th><th>Status</th><th>Start</th><th>Duration</th></tr>
{{range .Steps}}<tr><td>{{.Name}}</td><td>{{.Status}}</td><td>{{time .Start}}</td><td>{{dur .Start .End}}</td></tr>
{{end}}</table>{{else}}<p>No step completed.</p>{{end}}
{{with .Error}}
<h2>Error</h2>
<p><code>{{.Error}}</code></p>
<pre>{{.Cause}}</pre>{{end}}
{{with .Sandbox}}
<h2>Sandbox ground truth</h2>
<table>
<tr><th>Failover (truth)</th><td>{{printf "%.2f" .Truth.FailoverSeconds}}s</td></tr>
<tr><th>Recovery (truth)</th><td>{{printf "%.2f" .Truth.RecoverySeconds}}s</td></tr>
<tr><th>Probe error</th><td>{{printf "%.2f" .ProbeErrorSeconds}}s</td></tr>
</table>{{end}}
</body>
</html>
`))

// HTML renders r as a compact standalone page. Every value is escaped.
func HTML(r drill.Report) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("render report html: %w", err)
	}
	return b.Bytes(), nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}
