package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/report"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func timing(from, to float64) drill.Timing {
	return drill.Timing{StartedAt: at(from), FinishedAt: at(to)}
}

func ptr[T any](v T) *T { return &v }

var partial = &drill.PublicAccessBlock{BlockPublicAcls: true}

// samplesOf answers config.json and the page every 100 ms from..to (seconds from t0),
// answered 5 ms later, from region(t) ("" for a 403).
func samplesOf(from, to float64, region func(t float64) string) []drill.Sample {
	var out []drill.Sample
	for t := from; t < to-1e-9; t += 0.1 {
		r := region(t)
		for _, path := range []string{"/config.json", "/"} {
			s := drill.Sample{SentAt: at(t), At: at(t + 0.005), Path: path, Status: 200}
			if r == "" {
				s.Status = 403
			} else if path == "/config.json" {
				s.Region = r
			}
			out = append(out, s)
		}
	}
	return out
}

func logOf(mode string, since *time.Time, from, to float64, region func(float64) string) *drill.SampleLog {
	l := drill.NewSampleLog(at(from), samplesOf(from, to, region))
	l.Execution, l.ExecutionStartTime, l.Mode, l.Since, l.End, l.Ended = "run-a", drill.At(t0), mode, since, at(to), drill.EndedStable
	l.ConfigIntervalMs, l.PageIntervalMs = 100, 100
	return &l
}

func switchAt(s float64, before, after string) func(float64) string {
	return func(t float64) string {
		if t < s {
			return before
		}
		return after
	}
}

// 1 s windows of 10 answers show a 70% share (measure: 9 needed).
const limits = `,"stableSharePercent":70,"stableWindowSeconds":1`

// passing is the state and the logs of a drill that went well: blocked at 3.9 s, the
// secondary serves from 4.95 s; restored at 8.5 s, the primary serves from 9.55 s.
func passing() (drill.ReportInput, report.Logs) {
	cart := []string{"u1", "u2", "u3"}
	blockedAt, restoredAt := at(3.9), at(8.5)
	in := drill.ReportInput{
		Execution: "run-a",
		StartedAt: t0,
		State: drill.State{
			Config: json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket","primaryRegion":"us-east-1","secondaryRegion":"us-west-1","items":3,"probeIntervalMs":100,"failoverTimeoutSeconds":6,"steadySamples":3` + limits + `}`),
			Preflight: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(0, 2), Mode: drill.ModeSteady, ServedRegion: "us-east-1", FirstExpectedAt: ptr(at(0.1)),
			}},
			Seed: &drill.Step[drill.SeedResult]{Payload: drill.SeedResult{Timing: timing(2, 3), Cart: cart, User: drill.User{UUID: "user-1"}}},
			Block: &drill.Step[drill.BlockResult]{Payload: drill.BlockResult{
				Timing: timing(3, 4), Bucket: "ui-bucket", Region: "us-east-1", Prior: partial, BlockedAt: blockedAt,
			}},
			Failover: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(4, 8), Mode: drill.ModeFailover, Since: ptr(blockedAt), ServedRegion: "us-west-1",
				Cart: &drill.CartCheck{Intact: true, Expected: cart, Got: cart},
			}},
			Restore: &drill.Step[drill.RestoreResult]{Payload: drill.RestoreResult{
				Timing: timing(8, 9), Execution: "run-a", Bucket: "ui-bucket", Prior: partial, ReadBack: partial,
				MatchesPrior: true, RestoredAt: ptr(restoredAt), CartCleared: true,
			}},
			Recovery: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(9, 11), Mode: drill.ModeRecovery, Since: ptr(restoredAt), ServedRegion: "us-east-1",
			}},
		},
	}
	logs := report.Logs{
		drill.ModeSteady:   logOf(drill.ModeSteady, nil, 0.05, 1, func(float64) string { return "us-east-1" }),
		drill.ModeFailover: logOf(drill.ModeFailover, ptr(blockedAt), 3.95, 8, switchAt(4.9, "us-east-1", "us-west-1")),
		drill.ModeRecovery: logOf(drill.ModeRecovery, ptr(restoredAt), 8.55, 12, switchAt(9.5, "us-west-1", "us-east-1")),
	}
	return in, logs
}

func TestBuildPass(t *testing.T) {
	now := at(13)
	in, logs := passing()
	r := report.Build(in, logs, now)
	if r.Verdict != drill.Pass || len(r.Reasons) != 0 || len(r.LimitsFailed) != 0 {
		t.Fatalf("verdict %s, reasons %q", r.Verdict, r.Reasons)
	}
	want := "pass: failover stable in 1.055 s (0.950..1.060) to us-west-1, recovery stable in 1.055 s (0.950..1.060) to us-east-1, " +
		"unsampled 0.600 s of 8.100 s (7.4%), 0 user-visible errors (error rate 0.00%), 0 slow, 0 unanswered, latency p95 5 ms, cart intact, bucket restored exactly"
	if r.Summary != want {
		t.Errorf("summary\n got %q\nwant %q", r.Summary, want)
	}
	if r.Execution != "run-a" || !r.StartedAt.Equal(t0) || !r.FinishedAt.Equal(now) {
		t.Errorf("header = %s %v %v", r.Execution, r.StartedAt, r.FinishedAt)
	}
	if r.Target.PrimaryBucket != "ui-bucket" || r.Target.SecondaryRegion != "us-west-1" || r.Target.Distribution != "d111.cloudfront.net" {
		t.Errorf("target = %+v", r.Target)
	}
	near := func(a time.Time, s float64) bool { return a.Sub(at(s)).Abs() < 2*time.Microsecond }
	if !r.Failover.Stable || r.Failover.Seconds != 1.055 || !r.Failover.BlockedAt.Equal(at(3.9)) || !near(*r.Failover.FirstSecondaryAt, 4.955) {
		t.Errorf("failover = %+v", r.Failover)
	}
	if !r.Recovery.Stable || r.Recovery.Seconds != 1.055 || r.Recovery.ServedRegion != "us-east-1" || !near(*r.Recovery.FirstPrimaryAt, 9.555) {
		t.Errorf("recovery = %+v", r.Recovery)
	}
	if r.Failover.Phases == nil || r.Failover.Phases.Mixed != nil || r.Baseline == nil || r.Baseline.Samples != 20 {
		t.Errorf("phases %+v baseline %+v", r.Failover.Phases, r.Baseline)
	}
	if r.Limits.StableSharePercent != 70 || r.Limits.MaxLatencyP95Ms != drill.Defaults.MaxLatencyP95Ms {
		t.Errorf("limits %+v", r.Limits)
	}
	if r.Samples[drill.ModeFailover] != drill.SamplesKey("run-a", drill.At(t0), drill.ModeFailover) {
		t.Errorf("samples %v", r.Samples)
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name+":"+s.Status)
	}
	if !reflect.DeepEqual(names, []string{"Preflight:succeeded", "SeedCart:succeeded", "BlockBucket:succeeded", "AwaitFailover:succeeded", "Restore:succeeded", "AwaitRecovery:succeeded"}) {
		t.Errorf("steps %q", names)
	}
}

// M6: the block may take effect as soon as its put is sent. Here it was sent at 3.4 s,
// took effect at once (the secondary served from 3.5 s), and S3 answered only at
// 3.9 s. Counted from the answer, the switch's bounds would be clamped after the
// moment it happened; counted from the sending, they hold it.
func TestFailoverCountsFromTheBlocksSending(t *testing.T) {
	in, logs := passing()
	sent := at(3.4)
	in.State.Block.Payload.BlockSentAt = sent
	logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(sent), 3.95, 8, switchAt(3.5, "us-east-1", "us-west-1"))
	r := report.Build(in, logs, at(12))
	if r.Failover.BlockSentAt == nil || !r.Failover.BlockSentAt.Equal(sent) || !r.Failover.BlockedAt.Equal(at(3.9)) {
		t.Fatalf("failover %+v: want blockSentAt 3.4 s and blockedAt 3.9 s", r.Failover)
	}
	ph := r.Failover.Phases
	if ph == nil || !ph.Since.Equal(sent) || ph.FirstNew == nil {
		t.Fatalf("phases %+v: want them counted from the sending", ph)
	}
	truth := at(3.5).Sub(sent).Seconds()
	if lo, hi := ph.FirstNew.LoSeconds, ph.FirstNew.HiSeconds; lo > truth || hi < truth {
		t.Errorf("first secondary answer bounds %.3f..%.3f s do not hold the switch at %.3f s", lo, hi, truth)
	}
}

// M3: a run stopped while AwaitRecovery ran (Ctrl-C in local mode) reaches the report
// without block-bucket's or restore's output; the probes' logs still say when they
// measured from. The report and its timeline count from there, not from the start.
func TestInterruptedRunCountsFromTheProbesLogs(t *testing.T) {
	in, logs := passing()
	in.State.Block, in.State.Failover, in.State.Restore, in.State.Recovery = nil, nil, nil, nil
	in.Interrupted = "AwaitRecovery"
	r := report.Build(in, logs, at(12))
	if r.Failover.BlockSentAt == nil || !r.Failover.BlockSentAt.Equal(at(3.9)) || r.Recovery.RestoredAt == nil || !r.Recovery.RestoredAt.Equal(at(8.5)) {
		t.Fatalf("blockSentAt %v restoredAt %v: want 3.9 s and 8.5 s from the sample logs", r.Failover.BlockSentAt, r.Recovery.RestoredAt)
	}
	if r.Failover.Seconds != 1.055 || r.Coverage == nil || r.Visitors == nil || r.Visitors.Samples == 0 {
		t.Errorf("failover %v s, coverage %+v, visitors %+v: want them measured from the logs", r.Failover.Seconds, r.Coverage, r.Visitors)
	}
	line := report.TimelineLine(r)
	if !strings.Contains(line, "block 0.000s > first secondary 1.055s > stable 1.055s | restore 4.600s") {
		t.Errorf("timeline %q: want it counted from the block", line)
	}
}

func TestBuildVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *drill.ReportInput, logs report.Logs)
		want   []string // substrings, one per expected reason, in order
		limits []string
	}{
		{name: "state error, in full", change: func(in *drill.ReportInput, _ report.Logs) {
			in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: strings.Repeat("x", 400) + " statuses: 403 x12"}
		}, want: []string{"failed: FailoverTimeout: xxx"}},
		{name: "failover never stable: the primary keeps serving a third", change: func(_ *drill.ReportInput, logs report.Logs) {
			n := 0
			logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 8, func(t float64) string {
				if n++; t < 4.9 || n%3 == 0 {
					return "us-east-1"
				}
				return "us-west-1"
			})
			logs[drill.ModeFailover].Ended = drill.EndedTimeout
		}, want: []string{"failover: us-west-1 never served stably (70% of config.json answers in every 1 s window) within failoverTimeoutSeconds 6; the timeout forced the bucket's restore; in its last 1 s: 10 config.json answers"},
			limits: []string{"failoverTimeoutSeconds"}},
		{name: "failover not measured", change: func(in *drill.ReportInput, logs report.Logs) {
			delete(logs, drill.ModeFailover)
			in.State.Failover.Payload.SamplesError = "AccessDenied"
		}, want: []string{"failover: not measured: no sample log in the ledger and no result from the probe (the log was not kept: AccessDenied)"}},
		{name: "cart not intact", change: func(in *drill.ReportInput, _ report.Logs) {
			c := in.State.Failover.Payload.Cart
			c.Intact, c.Got, c.Error = false, []string{"u1"}, "missing u2, u3"
		}, want: []string{"cart: not intact after failover (expected 3 unicorns, got 1): missing u2, u3"}},
		{name: "cart not checked", change: func(in *drill.ReportInput, _ report.Logs) {
			in.State.Failover.Payload.Cart = nil
		}, want: []string{"cart: not read through the secondary API"}},
		{name: "restore does not match", change: func(in *drill.ReportInput, _ report.Logs) {
			rs := &in.State.Restore.Payload
			rs.MatchesPrior, rs.ReadBack = false, &drill.BlockAll
		}, want: []string{"restore: the bucket reads back {blockPublicAcls:true ignorePublicAcls:true"}},
		{name: "restore found nothing though blocked", change: func(in *drill.ReportInput, _ report.Logs) {
			rs := &in.State.Restore.Payload
			rs.NothingToRestore, rs.Prior, rs.ReadBack = true, nil, nil
		}, want: []string{"restore: found nothing to restore"}},
		{name: "restore skipped", change: func(in *drill.ReportInput, _ report.Logs) {
			rs := &in.State.Restore.Payload
			rs.Skipped, rs.MatchesPrior = "bucket ui-bucket is locked by drill run-b; not touching it", false
		}, want: []string{"restore: skipped: bucket ui-bucket is locked by drill run-b"}},
		{name: "restore error on the failure path", change: func(in *drill.ReportInput, logs report.Logs) {
			in.State.Restore = nil
			delete(logs, drill.ModeRecovery)
			in.State.Recovery = nil
			in.State.RestoreError = &drill.ErrorInfo{Error: "RestoreMismatch", Cause: "reads back ..."}
		}, want: []string{"the restore did not finish, the bucket may still be blocked: RestoreMismatch"}},
		{name: "visitors saw errors for 1.2 s", change: func(in *drill.ReportInput, logs report.Logs) {
			in.State.Config = json.RawMessage(strings.Replace(string(in.State.Config), `"steadySamples":3`, `"steadySamples":3,"maxErrorRunSeconds":1`, 1))
			logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 8.4, func(t float64) string {
				switch {
				case t < 4.9:
					return "us-east-1"
				case t < 6.1:
					return ""
				}
				return "us-west-1"
			})
		}, want: []string{"maxErrorRatePercent: visitors saw errors", "maxErrorRunSeconds: visitors saw errors for 1.200 s without a good answer (limit 1 s), from 1.055 s after the block (24 errors in a row)"},
			limits: []string{"maxErrorRatePercent", "maxErrorRunSeconds"}},
		{name: "slow answers", change: func(in *drill.ReportInput, logs report.Logs) {
			for _, l := range logs {
				for i := range l.Samples {
					l.Samples[i].SentMs -= 4000
				}
			}
		}, want: []string{"maxLatencyP95Ms: visitors waited 4005 ms or more for 5% of answers (p95; limit 3000 ms"}, limits: []string{"maxLatencyP95Ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, logs := passing()
			tc.change(&in, logs)
			r := report.Build(in, logs, at(12))
			if r.Verdict != drill.Fail {
				t.Fatalf("verdict %s, want fail", r.Verdict)
			}
			if len(r.Reasons) < len(tc.want) {
				t.Fatalf("reasons %q, want %d", r.Reasons, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(r.Reasons[i], w) {
					t.Errorf("reason %d %q does not contain %q", i, r.Reasons[i], w)
				}
			}
			for _, l := range tc.limits {
				if !slices.Contains(r.LimitsFailed, l) {
					t.Errorf("limits failed %v, want %s", r.LimitsFailed, l)
				}
			}
			if !strings.HasPrefix(r.Summary, "fail: failover ") || !strings.Contains(r.Summary, r.Reasons[0][:20]) || strings.Contains(r.Summary, "\n") {
				t.Errorf("summary %q", r.Summary)
			}
		})
	}
}

// A failed run keeps what visitors saw: the failover probe timed out (no payload), but
// its log is in the ledger, so its errors are counted and the figures reported.
func TestFailedRunKeepsErrorsAndLatency(t *testing.T) {
	in, logs := passing()
	in.State.Failover, in.State.Recovery = nil, nil
	in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: "error budget spent"}
	logs[drill.ModeFailover] = logOf(drill.ModeFailover, ptr(at(3.9)), 3.95, 6, switchAt(4.9, "us-east-1", ""))
	logs[drill.ModeFailover].Ended = drill.EndedErrorBudget
	delete(logs, drill.ModeRecovery)
	r := report.Build(in, logs, at(12))
	if n, _ := r.Errors(); n != 22 || r.Visitors == nil || r.Visitors.Errors != 22 || r.Visitors.Latency.P95Ms != 5 {
		t.Errorf("userVisibleErrors %v visitors %+v, want the 22 403s of the failed probe", r.UserVisibleErrors, r.Visitors)
	}
	if !slices.Contains(r.LimitsFailed, "errorBudgetPercent") || !strings.Contains(r.Summary, "22 user-visible errors") {
		t.Errorf("limits %v summary %q", r.LimitsFailed, r.Summary)
	}
	if r.Failover.Phases == nil || r.Failover.Phases.Ended != drill.EndedErrorBudget || r.Failover.Stable {
		t.Errorf("failover %+v", r.Failover)
	}
}

// Without logs (a ledger that could not be read) the probes' summaries are used.
func TestBuildFromSummaries(t *testing.T) {
	in, logs := passing()
	full := report.Build(in, logs, at(12))
	in.State.Failover.Payload.Phases = full.Failover.Phases
	in.State.Recovery.Payload.Phases = full.Recovery.Phases
	r := report.Build(in, nil, at(12))
	if r.Verdict != drill.Pass || r.Failover.Seconds != full.Failover.Seconds || r.Visitors == nil || r.Visitors.Samples != full.Visitors.Samples {
		t.Errorf("from summaries: %s %v %+v; from logs %v %+v", r.Verdict, r.Failover.Seconds, r.Visitors, full.Failover.Seconds, full.Visitors)
	}
}

func TestBuildMissingParts(t *testing.T) {
	tests := []struct {
		name       string
		in         drill.ReportInput
		wantSteps  []string
		wantReason string
		check      func(t *testing.T, r drill.Report)
	}{
		{
			name:       "empty state",
			in:         drill.ReportInput{Execution: "run-a"},
			wantReason: "config:",
			check: func(t *testing.T, r drill.Report) {
				if r.Steps == nil || r.Reasons == nil {
					t.Error("steps and reasons must be empty lists, not null")
				}
			},
		},
		{
			name: "unparseable config: report what is there",
			in: drill.ReportInput{Execution: "run-a", State: drill.State{
				Config: json.RawMessage(`{"primaryBucket":"ui-bucket","items":"many"}`),
				Error:  &drill.ErrorInfo{Error: "InvalidInput", Cause: "invalid input: items: must be a int"},
			}},
			wantReason: "Preflight failed: InvalidInput",
			check: func(t *testing.T, r drill.Report) {
				if r.Target.PrimaryBucket != "ui-bucket" {
					t.Errorf("target %+v", r.Target)
				}
				if r.Error == nil || r.Error.Error != "InvalidInput" {
					t.Errorf("error %+v", r.Error)
				}
			},
		},
		{
			name:       "config not JSON at all",
			in:         drill.ReportInput{Execution: "run-a", State: drill.State{Config: json.RawMessage(`"oops"`)}},
			wantReason: "config:",
		},
		{
			name: "failed after the block: restore caught",
			in: func() drill.ReportInput {
				in, _ := passing()
				in.State.Failover, in.State.Recovery = nil, nil
				in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: "no failover in 600s"}
				return in
			}(),
			wantSteps:  []string{"Preflight:succeeded", "SeedCart:succeeded", "BlockBucket:succeeded", "Restore:caught"},
			wantReason: "AwaitFailover failed: FailoverTimeout",
			check: func(t *testing.T, r drill.Report) {
				if !r.Restore.MatchesPrior || r.Failover.BlockedAt == nil || r.Cart.Expected == nil {
					t.Errorf("restore %+v failover %+v cart %+v", r.Restore, r.Failover, r.Cart)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := report.Build(tc.in, nil, at(1))
			if r.Verdict != drill.Fail || len(r.Reasons) == 0 || !strings.HasPrefix(r.Reasons[0], tc.wantReason) {
				t.Errorf("verdict %s reasons %q, want first %q", r.Verdict, r.Reasons, tc.wantReason)
			}
			if tc.wantSteps != nil {
				var names []string
				for _, s := range r.Steps {
					names = append(names, s.Name+":"+s.Status)
				}
				if !reflect.DeepEqual(names, tc.wantSteps) {
					t.Errorf("steps %q, want %q", names, tc.wantSteps)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if _, err := report.HTML(r, nil); err != nil {
				t.Errorf("HTML: %v", err)
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	in, logs := passing()
	in.State.Error = &drill.ErrorInfo{Error: "<script>alert(1)</script>", Cause: `"><img src=x onerror=alert(2)>`}
	in.State.Failover.Payload.Cart.Got = []string{"<b>u1</b>"}
	in.State.Config = json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket","secondaryRegion":"<svg onload=x>"}`)
	in.Execution = "run-<i>a</i>"
	page, err := report.HTML(report.Build(in, logs, at(12)), logs)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, bad := range []string{"<script>", "<img", "<b>u1", "<i>a", "<svg onload"} {
		if strings.Contains(s, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "&lt;b&gt;u1&lt;/b&gt;", "<!DOCTYPE html>", "fail"} {
		if !strings.Contains(s, good) {
			t.Errorf("page lacks %q", good)
		}
	}
}

func TestHandle(t *testing.T) {
	t.Run("writes json and html", func(t *testing.T) {
		store := ledgertest.New()
		h := &report.Handler{Ledger: store.Ledger(), Now: func() time.Time { return at(12) }}
		in, logs := passing()
		putLogs(t, store, logs)
		r, err := h.Handle(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != drill.Pass || !r.Failover.Stable || r.Visitors == nil {
			t.Errorf("report from the ledger's logs: %s %+v", r.Verdict, r.Failover)
		}
		var stored drill.Report
		if err := json.Unmarshal(store.Objects[drill.ReportKey("run-a", drill.At(t0))].Body, &stored); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalize(t, stored), normalize(t, r)) {
			t.Errorf("stored report differs from the returned one:\n%+v\n%+v", stored, r)
		}
		if html := store.Objects[drill.ReportHTMLKey("run-a", drill.At(t0))]; !strings.Contains(string(html.Body), "pass") || !strings.Contains(string(html.Body), "<svg") || !strings.HasPrefix(html.ContentType, "text/html") {
			t.Errorf("html object %q (%s)", html.Body, html.ContentType)
		}
	})
	t.Run("throttled ledger is transient", func(t *testing.T) {
		store := ledgertest.New()
		store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 503, "SlowDown") }
		h := &report.Handler{Ledger: store.Ledger()}
		in, _ := passing()
		_, err := h.Handle(context.Background(), in)
		if got := drill.ErrorName(drill.Classify(err)); got != "Transient" {
			t.Errorf("err %v classified %s", err, got)
		}
	})
	t.Run("no execution", func(t *testing.T) {
		store := ledgertest.New()
		h := &report.Handler{Ledger: store.Ledger()}
		_, err := h.Handle(context.Background(), drill.ReportInput{})
		if got := drill.ErrorName(drill.Classify(err)); got != "InvalidInput" || len(store.Calls) != 0 ||
			!strings.Contains(err.Error(), "execution: missing") || !strings.Contains(err.Error(), "startedAt: missing") {
			t.Errorf("err %v (%s), calls %q", err, got, store.Calls)
		}
	})
	// Step Functions accepts a name again 90 days after its execution closed: the
	// second run's report goes to its own folder and reads only its own sample logs;
	// the first run's report stays as it was.
	t.Run("a reused name", func(t *testing.T) {
		store := ledgertest.New()
		h := &report.Handler{Ledger: store.Ledger(), Now: func() time.Time { return at(12) }}
		in, logs := passing()
		putLogs(t, store, logs)
		if _, err := h.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		first := store.Objects[drill.ReportKey("run-a", drill.At(t0))].Body
		again := in
		again.StartedAt = t0.Add(91 * 24 * time.Hour)
		again.State.Failover, again.State.Recovery = nil, nil
		r, err := h.Handle(context.Background(), again)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Samples) != 0 || r.Visitors != nil {
			t.Errorf("the second run read the first run's sample logs: %v", r.Samples)
		}
		if got := store.Objects[drill.ReportKey("run-a", drill.At(t0))].Body; !bytes.Equal(got, first) {
			t.Error("the first run's report was overwritten")
		}
		key := "runs/run-a/" + drill.KeyTime(drill.At(again.StartedAt)) + "/report.json"
		if _, ok := store.Objects[key]; !ok {
			t.Errorf("no report at %s", key)
		}
	})
}

// putLogs stores the sample logs in the fake ledger, as the probe does.
func putLogs(t *testing.T, store *ledgertest.Store, logs report.Logs) {
	t.Helper()
	for _, l := range logs {
		if _, err := store.Ledger().PutSamples(context.Background(), *l); err != nil {
			t.Fatal(err)
		}
	}
}

// normalize round-trips r through JSON so times compare structurally.
func normalize(t *testing.T, r drill.Report) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHandlerWritesEMFMetrics(t *testing.T) {
	store := ledgertest.New()
	var out bytes.Buffer
	h := &report.Handler{Ledger: store.Ledger(), Now: func() time.Time { return at(20) }, Metrics: &out}
	in, logs := passing()
	putLogs(t, store, logs)
	r, err := h.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Bucket            string
		DrillPassed       float64
		FailoverSeconds   *float64
		RecoverySeconds   *float64
		UserVisibleErrors *float64
		NotServing        *float64 `json:"PrimaryNotServingAfterDrill"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, out.String())
	}
	m := doc.AWS.CloudWatchMetrics
	if len(m) != 1 || m[0].Namespace != report.MetricsNamespace || len(m[0].Metrics) != 9 || doc.AWS.Timestamp != at(20).UnixMilli() {
		t.Fatalf("EMF metadata %+v", doc.AWS)
	}
	for _, name := range m[0].Dimensions[0] {
		if name != "Bucket" || doc.Bucket == "" {
			t.Errorf("dimension %s has no value", name)
		}
	}
	if doc.DrillPassed != 1 || doc.FailoverSeconds == nil || *doc.FailoverSeconds != r.Failover.Seconds ||
		doc.RecoverySeconds == nil || *doc.RecoverySeconds != r.Recovery.Seconds || doc.UserVisibleErrors == nil || doc.NotServing == nil || *doc.NotServing != 0 {
		t.Errorf("metric values %+v for report %+v", doc, r)
	}
}

func TestEMFLeavesOutWhatWasNotMeasured(t *testing.T) {
	line, err := report.EMF(drill.Report{Verdict: drill.Fail}, at(0))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(line); strings.Contains(s, "FailoverSeconds") || strings.Contains(s, "RecoverySeconds") || !strings.Contains(s, `"DrillPassed":0`) ||
		!strings.Contains(s, `"RestoreFailed":0`) {
		t.Errorf("EMF for an unmeasured failed drill: %s", s)
	}
}

// A restore that did not finish is a metric an alarm watches, and the report names it.
func TestRestoreFailedIsAMetricAndNamed(t *testing.T) {
	in, logs := passing()
	in.State.RestoreError = &drill.ErrorInfo{Error: "BucketChangedDuringDrill", Cause: `{"errorMessage":"bucket changed"}`}
	r := report.Build(in, logs, at(20))
	if r.RestoreError == nil || r.RestoreError.Error != "BucketChangedDuringDrill" || r.Verdict != drill.Fail {
		t.Errorf("report %+v", r)
	}
	line, err := report.EMF(r, at(20))
	if err != nil || !strings.Contains(string(line), `"RestoreFailed":1`) {
		t.Errorf("EMF %s, %v", line, err)
	}
}
