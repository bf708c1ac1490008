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
	p := newPicture(r, logs)
	if p == nil {
		return ""
	}
	p.w(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="What visitors saw over time" font-family="system-ui,sans-serif" font-size="11">`, svgW, p.height, svgW, p.height)
	p.w(`<title>What visitors saw, every probe sample by answer time</title><rect width="%d" height="%d" fill="#fff"/>`, svgW, p.height)
	p.errorRuns()
	p.mixedWindows()
	p.drawLanes()
	p.latency()
	p.axis()
	p.markers()
	p.spans()
	p.w(`</svg>`)
	return p.b.String()
}

// picture is the timeline being drawn: the samples by answer time, the scale, the
// lanes with their samples binned per pixel column, the markers, the layout.
type picture struct {
	b              strings.Builder
	r              drill.Report
	all            []drill.Sample
	origin, t0, t1 time.Time
	lanes          []*lane
	lat            map[int][2]float64 // column -> min, max latency (ms)
	maxLat         float64
	marks          []placedMarker
	lanesY, latY0  int
	height, axisY  int
	bottom         float64
}

func (p *picture) w(format string, args ...any) { fmt.Fprintf(&p.b, format, args...) }

// x is a moment's place on the plot; col its pixel column.
func (p *picture) x(t time.Time) float64 {
	return plotX0 + (plotX1-plotX0)*float64(t.Sub(p.t0))/float64(p.t1.Sub(p.t0))
}

func (p *picture) col(t time.Time) int { return int(math.Floor(p.x(t))) }

// newPicture gathers the answered samples of every mode, the scale and the layout;
// nil when there is no sample to draw.
func newPicture(r drill.Report, logs Logs) *picture {
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
		return nil
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
	p := &picture{r: r, all: all, origin: origin, t0: t0, t1: t1}

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
	lanes = append(lanes, p.databaseLanes()...)
	lat := map[int][2]float64{} // column -> min, max latency (ms)
	maxLat := float64(r.Limits.MaxLatencyP95Ms)
	for _, s := range all {
		c := p.col(s.At)
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

	marks := placeMarkers(r, origin, p.x)
	lanesY := lanesY + markerRowsExtra(marks)
	latY0 := lanesY + len(lanes)*laneH + 26
	height := latY0 + latH + 40
	p.lanes, p.lat, p.maxLat, p.marks = lanes, lat, maxLat, marks
	p.lanesY, p.latY0, p.height = lanesY, latY0, height
	p.axisY, p.bottom = latY0+latH, float64(latY0+latH)
	return p
}

// errorRuns draws the runs of errors, shaded across the picture so they stand out.
func (p *picture) errorRuns() {
	// Error runs, shaded across the picture so they stand out.
	for _, run := range errorRuns(p.all) {
		x0, x1 := p.x(run[0]), math.Max(p.x(run[1]), p.x(run[0])+2)
		p.w(`<rect x="%.1f" y="%d" width="%.1f" height="%.0f" fill="#d1242f" fill-opacity="0.12"/>`, x0, p.lanesY, x1-x0, p.bottom-float64(p.lanesY))
	}
}

// mixedWindows draws the mixed windows, where both origins answered.
func (p *picture) mixedWindows() {
	// Mixed windows.
	for _, ph := range []*drill.Phases{p.r.Failover.Phases, p.r.Recovery.Phases} {
		if ph != nil && ph.Mixed != nil && ph.FirstNew != nil && ph.LastOld != nil {
			x0, x1 := p.x(ph.FirstNew.At), p.x(ph.LastOld.At)
			p.w(`<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#bf8700" fill-opacity="0.15"><title>mixed: %s</title></rect>`,
				x0, p.lanesY, math.Max(x1-x0, 1), len(p.lanes)*laneH, esc(fmt.Sprintf("both origins answered for %.3f s, the old one %.1f%% of config.json answers", ph.Mixed.ToSeconds-ph.Mixed.FromSeconds, ph.Mixed.OldSharePercent)))
		}
	}
}

// databaseLanes are the database stage's two lanes (none without it): when each
// switch ran (sent to the new writer in place), and the write outage users lived
// (from the old writer's last acknowledged sign-up to the new one's first).
func (p *picture) databaseLanes() []*lane {
	d := p.r.Database
	if d == nil || (d.Over == nil && d.Back == nil) {
		return nil
	}
	switching := &lane{label: "database switch", color: "#bc4c00", cols: map[int]int{}}
	outage := &lane{label: "writes refused", color: "#d1242f", cols: map[int]int{}}
	span := func(l *lane, from, to time.Time) {
		for c := p.col(from); c <= p.col(to); c++ {
			if float64(c) >= plotX0 && float64(c) <= plotX1 {
				l.cols[c]++
			}
		}
	}
	at := func(base time.Time, secs float64) time.Time {
		return base.Add(time.Duration(secs * float64(time.Second)))
	}
	for _, res := range []*drill.DatabaseResult{d.Over, d.Back} {
		if res == nil {
			continue
		}
		end := res.SentAt
		if res.DoneAt != nil {
			end = *res.DoneAt
		}
		span(switching, res.SentAt, end)
		if w := res.Writes; w.LastFromAck != nil && w.FirstToAck != nil {
			span(outage, at(res.SentAt, *w.LastFromAck), at(res.SentAt, *w.FirstToAck))
		}
	}
	return []*lane{switching, outage}
}

// drawLanes draws a lane per origin (and errors, and the page), every sample a tick in its column.
func (p *picture) drawLanes() {
	// Lanes.
	for i, l := range p.lanes {
		y := p.lanesY + i*laneH
		p.w(`<text x="%d" y="%d" text-anchor="end" fill="#24292f">%s</text>`, plotX0-6, y+13, esc(l.label))
		p.w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eaeef2"/>`, plotX0, y+laneH, plotX1, y+laneH)
		h, pad := laneH-6, 3
		if i == 3 {
			h, pad = laneH-2, 1 // errors: full height
		}
		for _, seg := range segments(l.cols) {
			p.w(`<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, seg[0], y+pad, seg[1]-seg[0]+1, h, l.color)
		}
	}
}

// latency draws latency below, log scale from 1 ms, with maxLatencyP95Ms dashed.
func (p *picture) latency() {
	// Latency, log scale from 1 ms.
	p.w(`<text x="%d" y="%d" fill="#24292f">latency<tspan x="%d" dy="14" fill="#57606a">log scale</tspan></text>`, 10, p.latY0+latH/2-4, 10)
	ly := func(ms float64) float64 {
		return float64(p.latY0+latH) - float64(latH)*math.Log10(math.Max(ms, 1))/math.Log10(math.Max(p.maxLat, 10))
	}
	for _, tick := range []float64{1, 10, 100, 1000, 10000, 100000} {
		if tick > p.maxLat*1.01 {
			break
		}
		p.w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eaeef2"/><text x="%d" y="%.1f" text-anchor="end" fill="#57606a">%s</text>`,
			plotX0, ly(tick), plotX1, ly(tick), plotX0-6, ly(tick)+4, msLabel(tick))
	}
	if lim := float64(p.r.Limits.MaxLatencyP95Ms); lim > 0 {
		p.w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d1242f" stroke-dasharray="4 3"><title>maxLatencyP95Ms %d</title></line>`, plotX0, ly(lim), plotX1, ly(lim), p.r.Limits.MaxLatencyP95Ms)
	}
	for c := plotX0; c <= plotX1; c++ {
		if mm, ok := p.lat[c]; ok {
			p.w(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#57606a"/>`, c, ly(mm[0])+0.5, c, ly(mm[1])-0.5)
		}
	}
}

// axis draws the time axis, seconds from the block.
func (p *picture) axis() {
	// Time axis, seconds from the block.
	p.w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a"/>`, plotX0, p.axisY, plotX1, p.axisY)
	step := niceStep(p.t1.Sub(p.t0).Seconds())
	first := math.Ceil(p.t0.Sub(p.origin).Seconds()/step) * step
	for v := first; p.origin.Add(time.Duration(v * float64(time.Second))).Before(p.t1.Add(time.Millisecond)); v += step {
		xv := p.x(p.origin.Add(time.Duration(v * float64(time.Second))))
		p.w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#57606a"/><text x="%.1f" y="%d" text-anchor="middle" fill="#57606a">%s</text>`,
			xv, p.axisY, xv, p.axisY+4, xv, p.axisY+16, trimFloat(v))
	}
	p.w(`<text x="%d" y="%d" text-anchor="end" fill="#57606a">s from the block</text>`, plotX1, p.axisY+32)
}

// markers draws the markers of the drill's moments, each label in the first row where it overlaps no other.
func (p *picture) markers() {

	// Markers: each label in the first row where it overlaps no other (placeMarkers).
	for _, m := range p.marks {
		p.w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#24292f" stroke-dasharray="2 2"/>`, m.x, m.y+2, m.x, p.axisY)
		p.w(`<text class="marker" x="%.1f" y="%d" text-anchor="middle" fill="#24292f">%s</text>`, m.x, m.y, esc(m.text))
	}
}

// spans draws the failover and recovery spans with their seconds.
func (p *picture) spans() {
	span := func(from *time.Time, ph *drill.Phases, name string, y int) {
		if from == nil {
			return
		}
		x0 := p.x(*from)
		if ph == nil || ph.Stable == nil {
			p.w(`<text x="%.1f" y="%d" fill="#d1242f">%s: never stable</text>`, x0+4, y-2, esc(name))
			return
		}
		x1 := p.x(ph.Stable.At)
		p.w(`<path d="M%.1f %d V%d H%.1f V%d" fill="none" stroke="#24292f"/>`, x0, y+4, y, x1, y+4)
		p.w(`<text x="%.1f" y="%d" text-anchor="middle" fill="#24292f" font-weight="bold">%s %.3f s</text>`, (x0+x1)/2, y-3, esc(name), ph.Stable.Seconds)
	}
	span(blockFrom(p.r), p.r.Failover.Phases, "failover", 60)
	span(p.r.Recovery.RestoredAt, p.r.Recovery.Phases, "recovery", 60)
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
