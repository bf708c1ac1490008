package browserlab

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// TestReportPageInChromium: the report.html drill local writes renders in a real
// browser, without a script or an external asset: its inline SVG shows the samples and
// the four markers (block applied, first secondary, restore applied, first primary)
// with the failover and recovery spans; the history index page renders its trend
// chart. With -docs the screenshots are written to docs/ for the README.
func TestReportPageInChromium(t *testing.T) {
	env, err := local.Start(sandbox.Config{PropagationDelay: time.Second, ReplicationLag: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	out, err := env.Run(context.Background(), local.RunOptions{Name: "report-page",
		Input: json.RawMessage(`{"probeIntervalMs":100,"stableWindowSeconds":2,"stableSharePercent":95}`)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page, err := report.HTML(*out.Report, out.Logs)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "report-page")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(out.Report)
	if err := os.WriteFile(filepath.Join(run, "report.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "report.html"), page, 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.do("open the report", chromedp.Navigate("file://"+filepath.Join(run, "report.html")))
	loaded(b, "the report")
	type shown struct {
		Scripts, External, Marks int
		Text, SVGText            string
		Width                    float64
	}
	got := eval[shown](b, "read the page", `(() => {
		const svg = document.querySelector("figure svg");
		return {
			Scripts: document.scripts.length,
			External: [...document.querySelectorAll("[src],link[href]")].length,
			Marks: svg.querySelectorAll("rect,circle,line,path,polyline").length,
			Text: document.body.innerText,
			SVGText: [...svg.querySelectorAll("text")].map(e => e.textContent).join(" | "),
			Width: svg.getBoundingClientRect().width,
		};
	})()`)
	if got.Scripts != 0 || got.External != 0 {
		t.Errorf("page has %d scripts and %d external assets", got.Scripts, got.External)
	}
	if got.Width < 300 || got.Marks < 20 {
		t.Errorf("the picture did not render: %.0f px wide, %d marks", got.Width, got.Marks)
	}
	for _, m := range []string{"block applied", "first secondary", "restore applied", "first primary", "failover", "recovery"} {
		if !strings.Contains(got.SVGText, m) {
			t.Errorf("the picture lacks %q: %s", m, got.SVGText)
		}
	}
	for _, f := range []string{"How it ended", "passed", "put back as it was before the drill", "Cost of this drill", "Duration (s)", "User-visible errors\t0 in "} {
		if !strings.Contains(got.Text, f) {
			t.Errorf("the page lacks %q", f)
		}
	}
	// The markers' labels, as the browser lays them out, never overlap one another.
	overlaps := eval[[]string](b, "measure the markers' labels", `(() => {
		const boxes = [...document.querySelectorAll("figure svg text.marker")].map(e => ({t: e.textContent, b: e.getBBox()}));
		const out = [];
		for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
			const a = boxes[i].b, c = boxes[j].b;
			if (a.x < c.x + c.width && c.x < a.x + a.width && a.y < c.y + c.height && c.y < a.y + a.height) out.push(boxes[i].t + " / " + boxes[j].t);
		}
		return out.concat(boxes.length < 4 ? ["only " + boxes.length + " marker labels"] : []);
	})()`)
	if len(overlaps) > 0 {
		t.Errorf("marker labels overlap: %q", overlaps)
	}
	b.screenshot("report-page", "report-page.png")
	b.save("report-timeline", "report-timeline.png", clip(eval[rect](b, "where the picture is",
		`(() => { const r = document.querySelector("figure").getBoundingClientRect(); return {X: r.left + scrollX, Y: r.top + scrollY, Width: r.width, Height: r.height}; })()`)))

	// The history index page of that run.
	runs, problems, err := history.FromDir(dir)
	if err != nil || len(problems) > 0 || len(runs) != 1 {
		t.Fatalf("history %v %v %v", runs, problems, err)
	}
	index := filepath.Join(dir, "index.html")
	if err := os.WriteFile(index, history.HTML(runs, history.Summarise(runs), dir), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("open the history", chromedp.Navigate("file://"+index))
	loaded(b, "the history")
	if n := eval[int](b, "count the points", `document.querySelectorAll("figure svg circle").length`); n != 2 {
		t.Errorf("history chart shows %d points, want the run's failover and recovery", n)
	}
	if href := eval[string](b, "the link", `document.querySelector("td a").getAttribute("href")`); href != "report-page/report.html" {
		t.Errorf("history links %q", href)
	}
	b.screenshot("history", "")
}

// loaded waits until the page is loaded and its picture is in the document.
func loaded(b *browser, what string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.readyState === "complete" && document.querySelector("figure svg") !== null`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("%s did not load: %v", what, err)
	}
}

type rect struct{ X, Y, Width, Height float64 }

// clip captures a rectangle of the page (CSS pixels, from the document's top), at
// twice the resolution, so the picture stays sharp in the README.
func clip(r rect) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		yes := true
		res, err := cdp.Call(ctx, t, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
			CaptureBeyondViewport: &yes, FromSurface: &yes,
			Clip: &cdppage.Viewport{X: r.X - 8, Y: r.Y - 8, Width: r.Width + 16, Height: r.Height + 16, Scale: 2},
		})
		if err != nil {
			return nil, err
		}
		return res.Data, nil
	}
}
