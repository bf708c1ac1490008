package report_test

import (
	"regexp"
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
