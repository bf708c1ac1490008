package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/measure"
)

// The timeline picture: inline SVG, no script, no external asset. Every sample of every
// probe mode is drawn by answer time, in a lane for the origin that served it (errors in
// their own lane, red, and shaded across the picture), with latency below, the markers
// of the drill's moments and the failover and recovery spans with their seconds. Its
// size is bounded whatever the number of samples: samples are binned per pixel column
// and adjacent columns merged.

const (
	svgW, plotX0, plotX1 = 960, 150, 940
	laneH, lanesY        = 18, 74
	latH                 = 90
)

// lane is one row of marks.
type lane struct {
	label, color string
	cols         map[int]int // pixel column -> samples
}

// Timeline renders the SVG; "" when there is no sample to draw.
func Timeline(r drill.Report, logs Logs) string {
	var all []drill.Sample
	for _, mode := range []string{drill.ModeSteady, drill.ModeFailover, drill.ModeRecovery} {
		if l := logs[mode]; l != nil {
			for _, s := range l.Unpack() {
				if s.Answered() {
					all = append(all, s)
				}
			}
		}
	}
	if len(all) == 0 {
		return ""
	}
	measure.SortByAnswer(all)
	origin := all[0].At
	if b := blockFrom(r); b != nil {
		origin = *b
	}
	t0, t1 := all[0].At, all[len(all)-1].At
	if !t1.After(t0) {
		t1 = t0.Add(time.Second)
	}
	x := func(t time.Time) float64 {
		return plotX0 + (plotX1-plotX0)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	col := func(t time.Time) int { return int(math.Floor(x(t))) }

	pr, sr := orUnknown(r.Target.PrimaryRegion), orUnknown(r.Target.SecondaryRegion)
	lanes := []*lane{
		{label: "primary " + pr, color: "#0969da"},
		{label: "secondary " + sr, color: "#1a7f37"},
		{label: "other / cached", color: "#8250df"},
		{label: "errors", color: "#d1242f"},
		{label: "page /", color: "#8c959f"},
	}
	for _, l := range lanes {
		l.cols = map[int]int{}
	}
	lat := map[int][2]float64{} // column -> min, max latency (ms)
	maxLat := float64(r.Limits.MaxLatencyP95Ms)
	for _, s := range all {
		c := col(s.At)
		i := 4
		switch {
		case s.IsError():
			i = 3
		case s.Path != measure.PathConfig:
		case measure.CacheHit(s):
			i = 2
		case s.Region == r.Target.PrimaryRegion:
			i = 0
		case s.Region == r.Target.SecondaryRegion:
			i = 1
		default:
			i = 2
		}
		lanes[i].cols[c]++
		ms := float64(s.Latency().Microseconds()) / 1000
		mm, ok := lat[c]
		if !ok {
			mm = [2]float64{ms, ms}
		}
		lat[c] = [2]float64{math.Min(mm[0], ms), math.Max(mm[1], ms)}
		maxLat = math.Max(maxLat, ms)
	}

	marks := placeMarkers(r, origin, x)
	lanesY := lanesY + markerRowsExtra(marks)
	latY0 := lanesY + len(lanes)*laneH + 26
	height := latY0 + latH + 40
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="What visitors saw over time" font-family="system-ui,sans-serif" font-size="11">`, svgW, height, svgW, height)
	w(`<title>What visitors saw, every probe sample by answer time</title><rect width="%d" height="%d" fill="#fff"/>`, svgW, height)

	bottom := float64(latY0 + latH)
	// Error runs, shaded across the picture so they stand out.
	for _, run := range errorRuns(all) {
		x0, x1 := x(run[0]), math.Max(x(run[1]), x(run[0])+2)
		w(`<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="#d1242f" fill-opacity="0.12"/>`, x0, lanesY, x1-x0, bottom-float64(lanesY))
	}
	// Mixed windows.
	for _, ph := range []*drill.Phases{r.Failover.Phases, r.Recovery.Phases} {
		if ph != nil && ph.Mixed != nil && ph.FirstNew != nil && ph.LastOld != nil {
			x0, x1 := x(ph.FirstNew.At), x(ph.LastOld.At)
			w(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#bf8700" fill-opacity="0.15"><title>mixed: %s</title></rect>`,
				x0, lanesY, math.Max(x1-x0, 1), len(lanes)*laneH, esc(fmt.Sprintf("both origins answered for %.3f s, the old one %.1f%% of config.json answers", ph.Mixed.ToSeconds-ph.Mixed.FromSeconds, ph.Mixed.OldSharePercent)))
		}
	}
	// Lanes.
	for i, l := range lanes {
		y := lanesY + i*laneH
		w(`<text x="%d" y="%d" text-anchor="end" fill="#24292f">%s</text>`, plotX0-6, y+13, esc(l.label))
		w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eaeef2"/>`, plotX0, y+laneH, plotX1, y+laneH)
		h, pad := laneH-6, 3
		if i == 3 {
			h, pad = laneH-2, 1 // errors: full height
		}
		for _, seg := range segments(l.cols) {
			w(`<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, seg[0], y+pad, seg[1]-seg[0]+1, h, l.color)
		}
	}
	// Latency, log scale from 1 ms.
	w(`<text x="%d" y="%d" fill="#24292f">latency<tspan x="%d" dy="14" fill="#57606a">log scale</tspan></text>`, 10, latY0+latH/2-4, 10)
	ly := func(ms float64) float64 {
		return float64(latY0+latH) - float64(latH)*math.Log10(math.Max(ms, 1))/math.Log10(math.Max(maxLat, 10))
	}
	for _, tick := range []float64{1, 10, 100, 1000, 10000, 100000} {
		if tick > maxLat*1.01 {
			break
		}
		w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eaeef2"/><text x="%d" y="%.1f" text-anchor="end" fill="#57606a">%s</text>`,
			plotX0, ly(tick), plotX1, ly(tick), plotX0-6, ly(tick)+4, msLabel(tick))
	}
	if lim := float64(r.Limits.MaxLatencyP95Ms); lim > 0 {
		w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d1242f" stroke-dasharray="4 3"><title>maxLatencyP95Ms %d</title></line>`, plotX0, ly(lim), plotX1, ly(lim), r.Limits.MaxLatencyP95Ms)
	}
	for c := plotX0; c <= plotX1; c++ {
		if mm, ok := lat[c]; ok {
			w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#57606a"/>`, c, ly(mm[0])+0.5, c, ly(mm[1])-0.5)
		}
	}
	// Time axis, seconds from the block.
	axisY := latY0 + latH
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a"/>`, plotX0, axisY, plotX1, axisY)
	step := niceStep(t1.Sub(t0).Seconds())
	first := math.Ceil(t0.Sub(origin).Seconds()/step) * step
	for v := first; origin.Add(time.Duration(v * float64(time.Second))).Before(t1.Add(time.Millisecond)); v += step {
		xv := x(origin.Add(time.Duration(v * float64(time.Second))))
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#57606a"/><text x="%.1f" y="%d" text-anchor="middle" fill="#57606a">%s</text>`,
			xv, axisY, xv, axisY+4, xv, axisY+16, trimFloat(v))
	}
	w(`<text x="%d" y="%d" text-anchor="end" fill="#57606a">s from the block</text>`, plotX1, axisY+32)

	// Markers: each label in the first row where it overlaps no other (placeMarkers).
	for _, m := range marks {
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#24292f" stroke-dasharray="2 2"/>`, m.x, m.y+2, m.x, axisY)
		w(`<text class="marker" x="%.1f" y="%d" text-anchor="middle" fill="#24292f">%s</text>`, m.x, m.y, esc(m.text))
	}
	span := func(from *time.Time, ph *drill.Phases, name string, y int) {
		if from == nil {
			return
		}
		x0 := x(*from)
		if ph == nil || ph.Stable == nil {
			w(`<text x="%.1f" y="%d" fill="#d1242f">%s: never stable</text>`, x0+4, y-2, esc(name))
			return
		}
		x1 := x(ph.Stable.At)
		w(`<path d="M%.1f %d V%d H%.1f V%d" fill="none" stroke="#24292f"/>`, x0, y+4, y, x1, y+4)
		w(`<text x="%.1f" y="%d" text-anchor="middle" fill="#24292f" font-weight="bold">%s %.3f s</text>`, (x0+x1)/2, y-3, esc(name), ph.Stable.Seconds)
	}
	span(blockFrom(r), r.Failover.Phases, "failover", 60)
	span(r.Recovery.RestoredAt, r.Recovery.Phases, "recovery", 60)
	w(`</svg>`)
	return b.String()
}

// segments merges adjacent pixel columns into [from, to] runs.
func segments(cols map[int]int) [][2]int {
	var out [][2]int
	for c := plotX0 - 1; c <= plotX1+1; c++ {
		if cols[c] == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == c-1 {
			out[n-1][1] = c
		} else {
			out = append(out, [2]int{c, c})
		}
	}
	return out
}

// errorRuns are the stretches (answer times) of consecutive error answers.
func errorRuns(all []drill.Sample) [][2]time.Time {
	var out [][2]time.Time
	for i := 0; i < len(all); i++ {
		if !all[i].IsError() {
			continue
		}
		j := i
		for j+1 < len(all) && all[j+1].IsError() {
			j++
		}
		end := all[j].At
		if j+1 < len(all) {
			end = all[j+1].At
		}
		out = append(out, [2]time.Time{all[i].At, end})
		i = j
	}
	return out
}

func niceStep(span float64) float64 {
	raw := span / 8
	for _, s := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300} {
		if s >= raw {
			return s
		}
	}
	return 600
}

func msLabel(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%gs", ms/1000)
	}
	return fmt.Sprintf("%gms", ms)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// TimelineLine is the timeline in one line of text, for the terminal.
func TimelineLine(r drill.Report) string {
	block := blockFrom(r)
	origin := r.StartedAt
	if block != nil {
		origin = *block
	}
	sec := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return fmt.Sprintf("%.3fs", t.Sub(origin).Seconds())
	}
	stable := func(ph *drill.Phases) string {
		switch {
		case ph == nil:
			return "not measured"
		case ph.Stable == nil:
			return "never stable"
		}
		s := "stable " + sec(&ph.Stable.At)
		if ph.Mixed != nil {
			s += fmt.Sprintf(" (mixed %.3fs, old %.0f%%)", ph.Mixed.ToSeconds-ph.Mixed.FromSeconds, ph.Mixed.OldSharePercent)
		}
		return s
	}
	line := fmt.Sprintf("timeline: block %s > first secondary %s > %s | restore %s > first primary %s > %s",
		sec(block), sec(r.Failover.FirstSecondaryAt), stable(r.Failover.Phases),
		sec(r.Recovery.RestoredAt), sec(r.Recovery.FirstPrimaryAt), stable(r.Recovery.Phases))
	if v := r.Visitors; v != nil {
		line += fmt.Sprintf(" | %d errors, %d slow, p95 %.0f ms", v.Errors, v.Slow, v.Latency.P95Ms)
	}
	return line
}

// blockFrom is the moment the failover counts from: when the block's put was sent, else
// (a report from an older block-bucket) S3's answer; nil when the run never blocked.
func blockFrom(r drill.Report) *time.Time {
	if r.Failover.BlockSentAt != nil {
		return r.Failover.BlockSentAt
	}
	return r.Failover.BlockedAt
}

// A placed marker: its line's x, its label's baseline y and text.
type placedMarker struct {
	x    float64
	y    int
	text string
}

// markerRow is the height of a row of marker labels; the first three rows fit above
// the lanes, more push the lanes down (markerRowsExtra).
const (
	markerRow      = 14
	markerRowsFree = 3
	// labelCharW is an upper bound of a character's width at the picture's 11 px
	// sans-serif font, so a label's estimated extent is never short of the drawn one.
	labelCharW = 6.5
	labelGap   = 6
)

// placeMarkers puts each marker (block sent and applied, first new answers, switches
// stable, restore applied) on the timeline, its label in the first row where it
// overlaps no label already placed, in the order of time.
func placeMarkers(r drill.Report, origin time.Time, x func(time.Time) float64) []placedMarker {
	type marker struct {
		at    time.Time
		label string
	}
	var ms []marker
	add := func(t *time.Time, label string) {
		if t != nil && !t.IsZero() {
			ms = append(ms, marker{*t, label})
		}
	}
	add(r.Failover.BlockSentAt, "block sent")
	add(r.Failover.BlockedAt, "block applied")
	add(r.Failover.FirstSecondaryAt, "first secondary")
	if ph := r.Failover.Phases; ph != nil && ph.Stable != nil {
		add(&ph.Stable.At, "failover stable")
	}
	add(r.Recovery.RestoredAt, "restore applied")
	add(r.Recovery.FirstPrimaryAt, "first primary")
	if ph := r.Recovery.Phases; ph != nil && ph.Stable != nil {
		add(&ph.Stable.At, "recovery stable")
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].at.Before(ms[j].at) })
	var out []placedMarker
	var rowEnds []float64 // the right edge of the last label in each row
	for _, m := range ms {
		xm := x(m.at)
		if xm < plotX0-1 || xm > plotX1+1 {
			continue
		}
		text := m.label + " " + trimFloat(round3(m.at.Sub(origin).Seconds()))
		half := float64(len(text)) * labelCharW / 2
		row := len(rowEnds)
		for i, end := range rowEnds {
			if xm-half >= end+labelGap {
				row = i
				break
			}
		}
		if row == len(rowEnds) {
			rowEnds = append(rowEnds, 0)
		}
		rowEnds[row] = xm + half
		out = append(out, placedMarker{x: xm, y: markerRow * (row + 1), text: text})
	}
	return out
}

// markerRowsExtra is how far the lanes move down for marker rows beyond the free ones.
func markerRowsExtra(ms []placedMarker) int {
	rows := 0
	for _, m := range ms {
		rows = max(rows, m.y/markerRow)
	}
	return max(rows-markerRowsFree, 0) * markerRow
}
