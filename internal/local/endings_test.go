package local_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/endings")

// TestEveryEndingTellsTheTruth runs the real ASL in the replica to each way a run can
// end and compares its report.json with testdata/endings/<ending>.json, structurally,
// with what changes from run to run (times, figures, ports) normalised; and checks its
// report.html: well formed, no script, the key facts present.
func TestEveryEndingTellsTheTruth(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		input string
		opts  func(env *local.Env, cancel context.CancelFunc) local.RunOptions
		kind  string
		html  []string
	}
	onEnter := func(state string, f func()) func(asl.Event) {
		var once sync.Once
		return func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == state {
				once.Do(f)
			}
		}
	}
	cases := []tc{
		{name: "passed", kind: drill.EndPassed, html: []string{"passed", "put back as it was before the drill", "Cost of this drill"}},
		{name: "invalid-input", input: `{"items":0,"bogus":1}`, kind: drill.EndInvalidInput,
			html: []string{"invalid-input", "bogus: unknown field; items: 0 is outside 1..20", "nothing to restore"}},
		{name: "refused-lock-held", kind: drill.EndRefused, opts: func(env *local.Env, _ context.CancelFunc) local.RunOptions {
			sc := env.Sandbox.Config()
			other := drill.Ticket{Bucket: sc.PrimaryBucket, Region: sc.PrimaryRegion, Execution: "another-drill", ExecutionArn: "arn:aws:states:us-east-1:000000000000:execution:failover-drill:another-drill",
				StartTime: drill.At(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), Status: drill.TicketHeld}
			body, _ := json.Marshal(other)
			env.Sandbox.PutObject(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket), body, "application/json")
			return local.RunOptions{}
		}, html: []string{"refused", "BlockBucket", "LockHeld", "another-drill", "nothing to restore"}},
		{name: "failed-after-block", kind: drill.EndFailedAfterBlock, opts: func(*local.Env, context.CancelFunc) local.RunOptions {
			return local.RunOptions{Faults: []local.Fault{{State: "AwaitFailover", Err: &drill.FailoverTimeout{Msg: "us-west-1 never served stably (injected)"}}}}
		}, html: []string{"failed-after-block", "AwaitFailover", "FailoverTimeout", "by the failure path"}},
		{name: "aborted", kind: drill.EndAborted, opts: func(_ *local.Env, cancel context.CancelFunc) local.RunOptions {
			return local.RunOptions{OnEvent: onEnter("AwaitFailover", func() { time.AfterFunc(200*time.Millisecond, cancel) })}
		}, html: []string{"aborted", "AwaitFailover", "by the safety net"}},
		{name: "timed-out", kind: drill.EndTimedOut, opts: func(*local.Env, context.CancelFunc) local.RunOptions {
			return local.RunOptions{ExecutionTimeout: 3 * time.Second, Faults: []local.Fault{{State: "AwaitFailover", Hang: true}}}
		}, html: []string{"timed-out", "AwaitFailover", "by the safety net"}},
		{name: "restore-failed", kind: drill.EndRestoreFailed, opts: func(*local.Env, context.CancelFunc) local.RunOptions {
			return local.RunOptions{FastRetries: true, Faults: []local.Fault{
				{State: "AwaitFailover", Err: &drill.FailoverTimeout{Msg: "injected"}},
				{State: "RestoreAfterFailure", Err: &local.NamedError{Type: "Lambda.ServiceException", Msg: "restore keeps crashing"}, Times: 7},
			}}
		}, html: []string{"restore-failed", "restore keeps crashing", "by the safety net"}},
		{name: "bucket-changed", kind: drill.EndBucketChanged, opts: func(env *local.Env, _ context.CancelFunc) local.RunOptions {
			sc := env.Sandbox.Config()
			human := &drill.PublicAccessBlock{BlockPublicPolicy: true, RestrictPublicBuckets: true}
			return local.RunOptions{OnEvent: onEnter("AwaitFailover", func() {
				if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, human); err != nil {
					t.Error(err)
				}
			})}
		}, html: []string{"bucket-changed", "NOT restored", "drill unlock"}},
		{name: "refused-not-ready", kind: drill.EndRefused, opts: func(env *local.Env, _ context.CancelFunc) local.RunOptions {
			env.Sandbox.SetOriginDown(env.Sandbox.Config().SecondaryRegion, true)
			return local.RunOptions{}
		}, html: []string{"refused", "Readiness", "NotReady", "nothing to restore"}},
		{name: "dry-run", input: `{"dryRun":true,"probeIntervalMs":50}`, kind: drill.EndDryRun,
			html: []string{"dry-run", "a dry run reads the bucket and never writes it"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := startEnv(t, partial)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := local.RunOptions{}
			if c.opts != nil {
				opts = c.opts(env, cancel)
			}
			opts.Name = "ending-" + c.name
			input := fastInput
			if c.input != "" {
				input = c.input
			}
			opts.Input = json.RawMessage(input)
			out, err := env.Run(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Report
			if rep.Ending == nil || rep.Ending.Kind != c.kind {
				t.Fatalf("ending %+v, want %s; reasons %q", rep.Ending, c.kind, rep.Reasons)
			}
			assertConsistent(t, rep)
			raw, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got := normalise(t, raw)
			golden := filepath.Join("testdata", "endings", c.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantRaw, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			var want any
			if err := json.Unmarshal(wantRaw, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				b, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("report differs from %s (normalised; -update rewrites it):\n%s", golden, b)
			}

			// A stopped or timed-out run: the safety net's record names the state the
			// report names, read from Step Functions' history as on AWS.
			if rep.InterruptedState != "" {
				rec := restoreRecord(t, env, out.ID, drill.ReasonSafetyNet)
				if h := rec.ExecutionHistory; h == nil || h.InterruptedState != rep.InterruptedState || rec.HistoryError != "" {
					t.Errorf("safety net's record: history %+v (%s), want interrupted in %s", h, rec.HistoryError, rep.InterruptedState)
				}
			}

			page, err := report.HTML(*rep, out.Logs)
			if err != nil {
				t.Fatal(err)
			}
			checkPage(t, string(page), append([]string{rep.Execution, "How it ended"}, c.html...))
		})
	}
}

// volatile are report keys whose values are figures of one run (times, samples,
// latencies, the truth): their presence is compared, not their content.
var volatile = map[string]bool{"phases": true, "visitors": true, "baseline": true, "sandbox": true, "timing": true, "summary": true, "lines": true}

var (
	reTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reStart = regexp.MustCompile(`\d{8}T\d{6}\.\d{3}Z`) // a run's start in its ledger keys (drill.KeyTime)
	rePort  = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reEmail = regexp.MustCompile(`drill-[A-Za-z0-9-]+-[0-9a-f]{8}@`)
	reNum   = regexp.MustCompile(`\d+\.\d+`)
	reUUID  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// normalise turns a report into what every run of its ending shares.
func normalise(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, val := range x {
				if volatile[k] {
					out[k] = "<figures>"
					continue
				}
				if key == "limits" {
					out[k] = val
					continue
				}
				out[k] = walk(k, val)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, val := range x {
				out[i] = walk(key, val)
			}
			return out
		case float64:
			return 0.0
		case string:
			s := reTime.ReplaceAllString(x, "<time>")
			s = reStart.ReplaceAllString(s, "<start>")
			s = rePort.ReplaceAllString(s, "127.0.0.1:<port>")
			s = reEmail.ReplaceAllString(s, "drill-<execution>@")
			s = reUUID.ReplaceAllString(s, "<uuid>")
			return reNum.ReplaceAllString(s, "<n>")
		}
		return v
	}
	return walk("", v)
}

var (
	reTag = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>`)
	void  = map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "link": true, "input": true}
)

// checkPage: every element closed in order (void ones aside), no script, no external
// asset, and each fact present in the text.
func checkPage(t *testing.T, page string, facts []string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Error("page does not start with <!DOCTYPE html>")
	}
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "javascript:", " src=\"http", "href=\"http", "@import", " onload=", " onclick="} {
		if strings.Contains(lower, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	// Style sheet text holds no tags; skip it.
	body := regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, "")
	var stack []string
	for _, m := range reTag.FindAllStringSubmatch(body, -1) {
		closing, name, self := m[1] == "/", strings.ToLower(m[2]), m[3] == "/"
		switch {
		case self || void[name]:
		case !closing:
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("</%s> closes %v: page not well formed", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t.Errorf("elements never closed: %v", stack)
	}
	text := html2text(page)
	for _, f := range facts {
		if !strings.Contains(text, f) {
			t.Errorf("page lacks %q", f)
		}
	}
}

// html2text is the page's text with entities decoded, as a reader sees it.
func html2text(page string) string {
	s := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page, " ")
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return strings.Join(strings.Fields(r.Replace(s)), " ")
}

// assertConsistent holds a report's fields against each other, whatever the ending: the
// cart is never "not seeded" when the ending says unicorns were put in it; the restore
// is never the safety net's when the safety net found the run already restored; a run
// stopped from outside is not failed for a limit it never reached.
func assertConsistent(t *testing.T, rep *drill.Report) {
	t.Helper()
	e := rep.Ending
	seeded := false
	for _, touched := range e.Touched {
		seeded = seeded || strings.Contains(touched, "unicorns put in its cart")
	}
	if seeded && strings.HasPrefix(rep.Cart.NotChecked, "no cart was seeded") {
		t.Errorf("the ending says a cart was seeded (%q) and the cart says %q", e.Touched, rep.Cart.NotChecked)
	}
	if sn := rep.SafetyNet; sn != nil && sn.AlreadyRestored && (e.RestoredBy == "safety net" || rep.Restore.By == "safety net") {
		t.Errorf("restored by the safety net (%q), which found the run already restored", e.Restored)
	}
	if e.Kind == drill.EndAborted && slices.Contains(rep.LimitsFailed, "failoverTimeoutSeconds") {
		t.Errorf("a run stopped from outside fails failoverTimeoutSeconds: %v", rep.LimitsFailed)
	}
}
