package report_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/report"
)

// The timeline: inline SVG only (no script, no external asset), every lane, the
// markers of the drill's moments, the spans with their seconds, errors in red.
func TestTimelinePicture(t *testing.T) {
	in, logs := passing()
	// 403s for 0.5 s during the failover.
	logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 8, func(t float64) string {
		switch {
		case t < 4.9:
			return "us-east-1"
		case t < 5.4:
			return ""
		}
		return "us-west-1"
	})
	r := report.Build(in, logs, at(12))
	svg := report.Timeline(r, logs)
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"`, "primary us-east-1", "secondary us-west-1", "errors",
		"block applied 0", "first secondary 1.555", "failover stable 1.555", "restore applied 4.6", "first primary 5.655", "recovery stable 5.655",
		"failover 1.555 s", "recovery 1.055 s", `fill="#d1242f"`, "latency", "s from the block",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("picture lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "href=", "src=", "@import", "url("} {
		if strings.Contains(svg, bad) {
			t.Errorf("picture contains %q", bad)
		}
	}
	if n := strings.Count(svg, "<svg"); n != 1 {
		t.Errorf("%d svg elements", n)
	}
	page, err := report.HTML(r, logs)
	if err != nil || !strings.Contains(string(page), svg) {
		t.Errorf("the page does not embed the picture (err %v)", err)
	}
	line := report.TimelineLine(r)
	if want := "timeline: block 0.000s > first secondary 1.555s > stable 1.555s | restore 4.600s > first primary 5.655s > stable 5.655s | 10 errors, 0 slow, p95 5 ms"; line != want {
		t.Errorf("line\n got %q\nwant %q", line, want)
	}
}

// However many samples, the picture stays small: samples are binned per pixel.
func TestTimelineIsBounded(t *testing.T) {
	in, logs := passing()
	big := logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 840, func(t float64) string {
		if int(t*10)%7 == 0 {
			return ""
		}
		return "us-west-1"
	})
	logs[drill.ModeFailover] = big
	svg := report.Timeline(report.Build(in, logs, at(900)), logs)
	if len(big.Samples) < 16000 || len(svg) > 400_000 {
		t.Errorf("%d samples drawn in %d bytes", len(big.Samples), len(svg))
	}
	if n := len(regexp.MustCompile(`<(rect|line|text|path)`).FindAllString(svg, -1)); n > 6000 {
		t.Errorf("%d elements", n)
	}
	if report.Timeline(drill.Report{}, nil) != "" {
		t.Error("a picture without samples")
	}
}

// Markers that fall close together (the first secondary answer is also the failover's
// stable moment here) take separate rows: no two labels in a row overlap, measured
// with a character width no narrower than the picture's font draws (the browser test
// measures the drawn ones).
func TestTimelineMarkerLabelsDoNotOverlap(t *testing.T) {
	in, logs := passing()
	r := report.Build(in, logs, at(12))
	svg := report.Timeline(r, logs)
	re := regexp.MustCompile(`<text class="marker" x="([0-9.]+)" y="([0-9]+)"[^>]*>([^<]*)</text>`)
	type label struct {
		x    float64
		text string
	}
	rows := map[string][]label{}
	n := 0
	for _, m := range re.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		rows[m[2]] = append(rows[m[2]], label{x, m[3]})
		n++
	}
	if n < 6 || len(rows) < 2 {
		t.Fatalf("%d marker labels in %d rows: %s", n, len(rows), svg)
	}
	for y, ls := range rows {
		for i := range ls {
			for j := i + 1; j < len(ls); j++ {
				a, b := ls[i], ls[j]
				if math.Abs(a.x-b.x) < float64(len(a.text)+len(b.text))*6.5/2 {
					t.Errorf("row %s: %q at %.1f overlaps %q at %.1f", y, a.text, a.x, b.text, b.x)
				}
			}
		}
	}
}

// Prices are dollars a person reads: no exponent, the amount's own digits.
func TestDollars(t *testing.T) {
	for usd, want := range map[float64]string{0.000025: "$0.000025", 0.00174: "$0.00174", 0: "$0", 1.5: "$1.5", 0.0000166667: "$0.0000166667"} {
		if got := report.Dollars(usd); got != want {
			t.Errorf("Dollars(%v) = %q, want %q", usd, got, want)
		}
	}
	in, logs := passing()
	page, err := report.HTML(report.Build(in, logs, at(12)), logs)
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(page), "Cost of this drill"); i < 0 || regexp.MustCompile(`\de-\d`).MatchString(string(page[i:])) || !strings.Contains(string(page[i:]), "<td>$0.") {
		t.Errorf("the cost table prints prices with an exponent, or without dollars: %s", page[max(i, 0):])
	}
}

// The page lists the cart by the unicorns' names (the seed's), each with the start of
// its uuid; an unnamed uuid is printed whole.
func TestCartByName(t *testing.T) {
	in, logs := passing()
	seed := in.State.Seed.Payload
	seed.Names = map[string]string{seed.Cart[0]: "Rainbow Sparkle"}
	in.State.Seed.Payload = seed
	r := report.Build(in, logs, at(12))
	page, err := report.HTML(r, logs)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Rainbow Sparkle (%.8s)", seed.Cart[0])
	if !strings.Contains(string(page), want) || !strings.Contains(string(page), seed.Cart[1]) {
		t.Errorf("the cart is not listed by name (%q) with the unnamed uuid %q whole", want, seed.Cart[1])
	}
	if r.Cart.Names[seed.Cart[0]] != "Rainbow Sparkle" {
		t.Errorf("report's cart names %v", r.Cart.Names)
	}
}

// A failed drill's page says its error's cause once (under How it ended), not in the
// summary, the reasons and the ending each.
func TestFailedPageSaysTheErrorOnce(t *testing.T) {
	in, logs := passing()
	cause := "failover timeout: us-west-1 never served stably (injected)"
	in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: cause}
	in.State.Recovery, in.State.Release = nil, nil
	r := report.Build(in, logs, at(12))
	if r.Verdict != drill.Fail || !strings.Contains(r.Summary, cause) {
		t.Fatalf("verdict %s, summary %q: want a failure whose summary names the cause", r.Verdict, r.Summary)
	}
	page, err := report.HTML(r, logs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), cause); n != 1 {
		t.Errorf("the cause is on the page %d times, want once:\n%s", n, page)
	}
	if !strings.Contains(string(page), "FailoverTimeout") || !strings.Contains(string(page), "Why it failed") {
		t.Errorf("the page lost the error or its reasons")
	}
}
