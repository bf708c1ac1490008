package browserlab

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/toolcheck"
)

var writeDocs = flag.Bool("docs", false, "also write the README's screenshots into docs/")

// browser is one headless Chromium with one tab, and what the tab has thrown.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab, bounded by the test's deadline

	mu         sync.Mutex
	exceptions []string
	shots      int
}

// newBrowser starts Chromium with the flags this environment needs and a fresh
// profile; the browser ends with the test, which fails if the page threw.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := toolcheck.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx}
	exceptions := chromedp.Events(tab, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, ev.ExceptionDetails.Text+": "+describe(ev.ExceptionDetails))
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exceptions {
			t.Errorf("the page threw: %s", e)
		}
	})
	return b
}

func describe(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return fmt.Sprintf("line %d", d.LineNumber)
}

// do runs actions in the tab or fails the test, naming the step.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// eval evaluates a JavaScript expression (a promise is awaited) into T.
func eval[T any](b *browser, step, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	return v
}

// page is what the shop's page shows once it has loaded (main is no longer aria-busy).
type page struct {
	Region, ConfigAt, APIHost, Who, CartCount, Error, Status string
	Cards, ImagesLoaded                                      int
	Cart                                                     []cartRow
	User                                                     *struct{ UUID, Email string }
}

type cartRow struct {
	UUID, Name string
	Quantity   string
}

// shownAt is when the page rendered config.json's region (the page's own clock,
// milliseconds).
func (p page) shownAt(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, p.ConfigAt)
	if err != nil {
		t.Fatalf("config-at %q: %v", p.ConfigAt, err)
	}
	return at
}

// cartUUIDs are the distinct unicorns of the cart view, sorted.
func (p page) cartUUIDs() []string {
	var ids []string
	for _, r := range p.Cart {
		ids = append(ids, r.UUID)
	}
	slices.Sort(ids)
	return ids
}

const readPage = `new Promise((resolve, reject) => {
  const started = Date.now();
  const check = () => {
    const main = document.getElementById("main");
    if (main && main.getAttribute("aria-busy") === "false") {
      const text = (id) => document.getElementById(id).textContent.trim();
      const imgs = Array.from(document.querySelectorAll("#catalogue img"));
      resolve({
        Region: text("region"), ConfigAt: document.getElementById("config-at").dateTime,
        APIHost: text("api-host"), Who: text("who"), CartCount: text("cart-count"),
        Error: text("error"), Status: text("status"),
        Cards: document.querySelectorAll("#catalogue li").length,
        ImagesLoaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
        Cart: Array.from(document.querySelectorAll("#cart-items li")).map((li) => ({
          UUID: li.dataset.uuid, Name: li.querySelector(".name").textContent, Quantity: li.dataset.quantity })),
        User: JSON.parse(localStorage.getItem("unishop.user") || "null"),
      });
    } else if (Date.now() - started > 15000) {
      reject(new Error("the page did not finish loading in 15 s"));
    } else {
      setTimeout(check, 5);
    }
  };
  check();
})`

// read waits for the page to finish loading and returns what it shows.
func (b *browser) read(step string) page {
	b.t.Helper()
	return eval[page](b, step, readPage)
}

// waitFor polls a JavaScript condition until it is true (10 s at most).
func (b *browser) waitFor(step, cond string) {
	b.t.Helper()
	for attempt := 0; ; attempt++ {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second)))
		if err == nil {
			return
		}
		// The document the poll ran in was replaced under it (a reload finishing):
		// poll again in the new one, as regionSince does. Seen under a loaded CI machine.
		if attempt < 20 && b.ctx.Err() == nil && strings.Contains(err.Error(), "Cannot find context with specified id") {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("error").textContent + " | " + document.getElementById("status").textContent`))
		b.t.Fatalf("%s: waiting for %s: %v (page says %q)", step, cond, err, state)
	}
}

// readRegionSince waits until a document loaded after the given moment (ms since the
// epoch) has rendered config.json's region (or failed to read config.json: "") and
// returns it, without waiting for the rest of the page. Until the reload replaces the
// document, the old one answers nothing; while the new one is parsed, its elements may
// not be there yet.
const readRegionSince = `(since) => new Promise((resolve, reject) => {
  const started = Date.now();
  const check = () => {
    const at = document.getElementById("config-at"), main = document.getElementById("main");
    const fresh = performance.timeOrigin >= since;
    if (fresh && at && at.dateTime) {
      resolve({ Region: document.getElementById("region").textContent.trim(), At: at.dateTime });
    } else if (fresh && main && main.getAttribute("aria-busy") === "false") {
      resolve({ Region: "", At: "" });
    } else if (Date.now() - started > 15000) {
      reject(new Error("no reloaded page read config.json in 15 s"));
    } else {
      setTimeout(check, 2);
    }
  };
  check();
})`

// reloadUntil reloads the page, as a person pressing F5 would, until it shows region,
// and returns the page once it has finished loading. Each round waits only until the
// new document has read config.json, so the page notices the switch within about one
// page load (the figure's resolution).
//
// previous is when the last reload before it read config.json: the switch happened
// between the two, so their distance is the figure's resolution.
func (b *browser) reloadUntil(step, region string, timeout time.Duration) (p page, previous time.Time) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for n := 1; ; n++ {
		since := time.Now().UnixMilli()
		if _, err := chromedp.Call(b.ctx, cdppage.Reload, cdppage.ReloadParams{}); err != nil {
			b.t.Fatalf("%s: reload: %v", step, err)
		}
		got, err := b.regionSince(since)
		if err != nil {
			b.t.Fatalf("%s: reload %d: %v", step, n, err)
		}
		if got.Region == region {
			b.waitFor(step, `document.readyState === "complete"`)
			p := b.read(step)
			b.t.Logf("%s: the page shows %s after %d reloads", step, region, n)
			return p, previous
		}
		if at, err := time.Parse(time.RFC3339Nano, got.At); err == nil {
			previous = at
		}
		if time.Now().After(deadline) {
			p := b.read(step)
			b.t.Fatalf("%s: after %s of reloads the page still shows %q (error %q)", step, timeout, p.Region, p.Error)
		}
	}
}

// regionSince evaluates readRegionSince, again when the document it ran in was
// replaced by the reload meanwhile.
func (b *browser) regionSince(since int64) (regionRead, error) {
	expr := fmt.Sprintf("(%s)(%d)", readRegionSince, since)
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[regionRead](expr, chromedp.EvalAwaitPromise))
		if err == nil {
			return got, nil
		}
		if b.ctx.Err() != nil {
			return regionRead{}, err
		}
		last = err
		time.Sleep(5 * time.Millisecond)
	}
	return regionRead{}, last
}

// regionRead is the region a reloaded page showed and when it read config.json.
type regionRead struct{ Region, At string }

// screenshot saves the whole page as NN-name.png in the test's artifact directory,
// and into docs/ under docName when -docs is set and docName is not empty.
func (b *browser) screenshot(name, docName string) {
	b.t.Helper()
	b.save(name, docName, chromedp.FullScreenshot(100))
}

// screenshotViewport saves what the viewport shows, as screenshot does.
func (b *browser) screenshotViewport(name string) {
	b.t.Helper()
	b.save(name, "", chromedp.CaptureScreenshot())
}

func (b *browser) save(name, docName string, capture chromedp.Action[[]byte]) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, capture)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.shots++
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
	if *writeDocs && docName != "" {
		doc := filepath.Join(toolcheck.RepoRoot(), "docs", docName)
		if err := os.MkdirAll(filepath.Dir(doc), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(doc, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("wrote %s", doc)
	}
}

// visit requests config.json through the distribution every 10 ms until the test
// ends, so the CloudFront stand-in's log knows within ~10 ms when each origin began
// serving: the ground truth, independent of the browser.
func visit(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 5 * time.Second}
	wg.Go(func() {
		for n := 0; ctx.Err() == nil; n++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/config.json?visitor=%d", sb.DistributionURL(), n), nil)
			if res, err := client.Do(req); err == nil {
				res.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
}

// firstServed is when origin first answered 200 at or after from, by the edge's log.
func firstServed(t *testing.T, sb *sandbox.Sandbox, origin string, from time.Time) time.Time {
	t.Helper()
	for _, r := range sb.EdgeLog() {
		if r.Origin == origin && r.Status == http.StatusOK && !r.At.Before(from) {
			return r.At
		}
	}
	t.Fatalf("the edge log has no 200 from the %s origin since %s", origin, from.Format(time.StampMicro))
	return time.Time{}
}

// names maps unicorn uuids to names, for messages.
func names(sb *sandbox.Sandbox, ids []string) string {
	byID := map[string]string{}
	for _, u := range sb.Unicorns() {
		byID[u.UUID] = u.Name
	}
	var out []string
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return strings.Join(out, ", ")
}
