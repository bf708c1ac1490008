package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
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

// passing is the state of a drill that went well.
func passing() drill.ReportInput {
	cart := []string{"u1", "u2", "u3"}
	return drill.ReportInput{
		Execution: "run-a",
		StartedAt: t0,
		State: drill.State{
			Config: json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket","primaryRegion":"us-east-1","secondaryRegion":"us-west-1","items":3,"probeIntervalMs":250,"failoverTimeoutSeconds":600,"steadySamples":3}`),
			Preflight: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(0, 2), Mode: drill.ModeSteady, ServedRegion: "us-east-1", FirstExpectedAt: ptr(at(0.1)), UserVisibleErrors: 0,
			}},
			Seed: &drill.Step[drill.SeedResult]{Payload: drill.SeedResult{Timing: timing(2, 3), Cart: cart, User: drill.User{UUID: "user-1"}}},
			Block: &drill.Step[drill.BlockResult]{Payload: drill.BlockResult{
				Timing: timing(3, 4), Bucket: "ui-bucket", Region: "us-east-1", Prior: partial, BlockedAt: at(3.9),
			}},
			Failover: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(4, 8), Mode: drill.ModeFailover, Since: ptr(at(3.9)), FirstExpectedAt: ptr(at(7.1)),
				Seconds: 3.2, ServedRegion: "us-west-1", UserVisibleErrors: 1,
				Cart: &drill.CartCheck{Intact: true, Expected: cart, Got: cart},
			}},
			Restore: &drill.Step[drill.RestoreResult]{Payload: drill.RestoreResult{
				Timing: timing(8, 9), Execution: "run-a", Bucket: "ui-bucket", Prior: partial, ReadBack: partial,
				MatchesPrior: true, RestoredAt: ptr(at(8.5)), CartCleared: true,
			}},
			Recovery: &drill.Step[drill.ProbeResult]{Payload: drill.ProbeResult{
				Timing: timing(9, 11), Mode: drill.ModeRecovery, Since: ptr(at(8.5)), FirstExpectedAt: ptr(at(10.6)),
				Seconds: 2.1, ServedRegion: "us-east-1", UserVisibleErrors: 2,
			}},
		},
	}
}

func TestBuildPass(t *testing.T) {
	now := at(12)
	r := report.Build(passing(), now)
	if r.Verdict != drill.Pass || len(r.Reasons) != 0 {
		t.Fatalf("verdict %s, reasons %q", r.Verdict, r.Reasons)
	}
	want := "pass: failover 3.2s to us-west-1, recovery 2.1s, 3 user-visible errors, cart intact, bucket restored exactly"
	if r.Summary != want {
		t.Errorf("summary\n got %q\nwant %q", r.Summary, want)
	}
	if r.Execution != "run-a" || !r.StartedAt.Equal(t0) || !r.FinishedAt.Equal(now) {
		t.Errorf("header = %s %v %v", r.Execution, r.StartedAt, r.FinishedAt)
	}
	if r.Target.PrimaryBucket != "ui-bucket" || r.Target.SecondaryRegion != "us-west-1" || r.Target.Distribution != "d111.cloudfront.net" {
		t.Errorf("target = %+v", r.Target)
	}
	if r.Failover.Seconds != 3.2 || !r.Failover.BlockedAt.Equal(at(3.9)) || !r.Failover.FirstSecondaryAt.Equal(at(7.1)) {
		t.Errorf("failover = %+v", r.Failover)
	}
	if r.Recovery.Seconds != 2.1 || r.Recovery.ServedRegion != "us-east-1" || !r.Recovery.RestoredAt.Equal(at(8.5)) || !r.Recovery.FirstPrimaryAt.Equal(at(10.6)) {
		t.Errorf("recovery = %+v", r.Recovery)
	}
	if !r.Cart.Intact || len(r.Cart.Got) != 3 || !r.Restore.MatchesPrior || *r.Restore.Prior != *partial || *r.Restore.ReadBack != *partial {
		t.Errorf("cart %+v restore %+v", r.Cart, r.Restore)
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name+":"+s.Status)
	}
	wantSteps := []string{"Preflight:succeeded", "SeedCart:succeeded", "BlockBucket:succeeded", "AwaitFailover:succeeded", "Restore:succeeded", "AwaitRecovery:succeeded"}
	if !reflect.DeepEqual(names, wantSteps) {
		t.Errorf("steps %q", names)
	}
	if !r.Steps[2].Start.Equal(at(3)) || !r.Steps[2].End.Equal(at(4)) {
		t.Errorf("block step times %+v", r.Steps[2])
	}
}

func TestBuildVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *drill.ReportInput)
		want   []string // substrings, one per expected reason, in order
	}{
		{name: "state error", change: func(in *drill.ReportInput) {
			in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: "failover timeout: still us-east-1"}
		}, want: []string{"error: FailoverTimeout: failover timeout"}},
		{name: "failover stayed on the primary", change: func(in *drill.ReportInput) {
			in.State.Failover.Payload.ServedRegion = "us-east-1"
		}, want: []string{"failover: served by us-east-1, want the secondary region us-west-1"}},
		{name: "failover never happened", change: func(in *drill.ReportInput) {
			in.State.Failover.Payload.ServedRegion, in.State.Failover.Payload.FirstExpectedAt = "", nil
		}, want: []string{"failover: the distribution never served the secondary region us-west-1"}},
		{name: "cart not intact", change: func(in *drill.ReportInput) {
			c := in.State.Failover.Payload.Cart
			c.Intact, c.Got, c.Error = false, []string{"u1"}, "missing u2, u3"
		}, want: []string{"cart: not intact after failover (expected 3 unicorns, got 1): missing u2, u3"}},
		{name: "cart not checked", change: func(in *drill.ReportInput) {
			in.State.Failover.Payload.Cart = nil
		}, want: []string{"cart: not checked"}},
		{name: "restore does not match", change: func(in *drill.ReportInput) {
			rs := &in.State.Restore.Payload
			rs.MatchesPrior, rs.ReadBack = false, &drill.BlockAll
		}, want: []string{"restore: the bucket reads back {blockPublicAcls:true ignorePublicAcls:true"}},
		{name: "restore found nothing though blocked", change: func(in *drill.ReportInput) {
			rs := &in.State.Restore.Payload
			rs.NothingToRestore, rs.Prior, rs.ReadBack = true, nil, nil
		}, want: []string{"restore: found nothing to restore"}},
		{name: "restore skipped", change: func(in *drill.ReportInput) {
			rs := &in.State.Restore.Payload
			rs.Skipped, rs.MatchesPrior = "bucket ui-bucket is locked by drill run-b; not touching it", false
		}, want: []string{"restore: skipped: bucket ui-bucket is locked by drill run-b"}},
		{name: "restore error on the failure path", change: func(in *drill.ReportInput) {
			in.State.Restore = nil
			in.State.RestoreError = &drill.ErrorInfo{Error: "RestoreMismatch", Cause: "reads back ..."}
		}, want: []string{"restore failed: RestoreMismatch", "restore: did not run"}},
		{name: "recovery on the wrong region", change: func(in *drill.ReportInput) {
			in.State.Recovery.Payload.ServedRegion = "us-west-1"
		}, want: []string{"recovery: served by us-west-1, want the primary region us-east-1"}},
		{name: "recovery missing", change: func(in *drill.ReportInput) {
			in.State.Recovery = nil
		}, want: []string{"recovery: not observed"}},
		{name: "every criterion fails", change: func(in *drill.ReportInput) {
			in.State.Error = &drill.ErrorInfo{Error: "States.Timeout", Cause: ""}
			in.State.Failover.Payload.ServedRegion = "us-east-1"
			in.State.Failover.Payload.Cart.Intact = false
			in.State.Restore.Payload.MatchesPrior = false
			in.State.Recovery = nil
		}, want: []string{"error: States.Timeout", "failover: served by us-east-1", "cart: not intact", "restore: the bucket reads back", "recovery: not observed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := passing()
			tc.change(&in)
			r := report.Build(in, at(12))
			if r.Verdict != drill.Fail {
				t.Fatalf("verdict %s, want fail", r.Verdict)
			}
			if len(r.Reasons) != len(tc.want) {
				t.Fatalf("reasons %q, want %d", r.Reasons, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(r.Reasons[i], w) {
					t.Errorf("reason %d %q does not contain %q", i, r.Reasons[i], w)
				}
			}
			if !strings.HasPrefix(r.Summary, "fail: "+r.Reasons[0]) || strings.Contains(r.Summary, "\n") {
				t.Errorf("summary %q", r.Summary)
			}
		})
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
			wantReason: "error: InvalidInput",
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
				in := passing()
				in.State.Failover, in.State.Recovery = nil, nil
				in.State.Error = &drill.ErrorInfo{Error: "FailoverTimeout", Cause: "no failover in 600s"}
				return in
			}(),
			wantSteps:  []string{"Preflight:succeeded", "SeedCart:succeeded", "BlockBucket:succeeded", "Restore:caught"},
			wantReason: "error: FailoverTimeout",
			check: func(t *testing.T, r drill.Report) {
				if !r.Restore.MatchesPrior || r.Failover.BlockedAt == nil || r.Cart.Expected == nil {
					t.Errorf("restore %+v failover %+v cart %+v", r.Restore, r.Failover, r.Cart)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := report.Build(tc.in, at(1))
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
			if _, err := report.HTML(r); err != nil {
				t.Errorf("HTML: %v", err)
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	in := passing()
	in.State.Error = &drill.ErrorInfo{Error: "<script>alert(1)</script>", Cause: `"><img src=x onerror=alert(2)>`}
	in.State.Failover.Payload.Cart.Got = []string{"<b>u1</b>"}
	in.Execution = "run-<i>a</i>"
	page, err := report.HTML(report.Build(in, at(12)))
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, bad := range []string{"<script>", "<img", "<b>u1", "<i>a"} {
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
		r, err := h.Handle(context.Background(), passing())
		if err != nil {
			t.Fatal(err)
		}
		var stored drill.Report
		if err := json.Unmarshal(store.Objects[drill.ReportKey("run-a")].Body, &stored); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalize(t, stored), normalize(t, r)) {
			t.Errorf("stored report differs from the returned one:\n%+v\n%+v", stored, r)
		}
		if html := store.Objects[drill.ReportHTMLKey("run-a")]; !strings.Contains(string(html.Body), "pass") || !strings.HasPrefix(html.ContentType, "text/html") {
			t.Errorf("html object %q (%s)", html.Body, html.ContentType)
		}
	})
	t.Run("throttled ledger is transient", func(t *testing.T) {
		store := ledgertest.New()
		store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 503, "SlowDown") }
		h := &report.Handler{Ledger: store.Ledger()}
		_, err := h.Handle(context.Background(), passing())
		if got := drill.ErrorName(drill.Classify(err)); got != "Transient" {
			t.Errorf("err %v classified %s", err, got)
		}
	})
	t.Run("no execution", func(t *testing.T) {
		store := ledgertest.New()
		h := &report.Handler{Ledger: store.Ledger()}
		_, err := h.Handle(context.Background(), drill.ReportInput{})
		if got := drill.ErrorName(drill.Classify(err)); got != "InvalidInput" || len(store.Calls) != 0 {
			t.Errorf("err %v (%s), calls %q", err, got, store.Calls)
		}
	})
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
	r, err := h.Handle(context.Background(), passing())
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
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, out.String())
	}
	m := doc.AWS.CloudWatchMetrics
	if len(m) != 1 || m[0].Namespace != report.MetricsNamespace || len(m[0].Metrics) != 5 || doc.AWS.Timestamp != at(20).UnixMilli() {
		t.Fatalf("EMF metadata %+v", doc.AWS)
	}
	for _, name := range m[0].Dimensions[0] {
		if name != "Bucket" || doc.Bucket == "" {
			t.Errorf("dimension %s has no value", name)
		}
	}
	if doc.DrillPassed != 1 || doc.FailoverSeconds == nil || *doc.FailoverSeconds != r.Failover.Seconds ||
		doc.RecoverySeconds == nil || *doc.RecoverySeconds != r.Recovery.Seconds || doc.UserVisibleErrors == nil {
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
	in := passing()
	in.State.RestoreError = &drill.ErrorInfo{Error: "BucketChangedDuringDrill", Cause: `{"errorMessage":"bucket changed"}`}
	r := report.Build(in, at(20))
	if r.RestoreError == nil || r.RestoreError.Error != "BucketChangedDuringDrill" || r.Verdict != drill.Fail {
		t.Errorf("report %+v", r)
	}
	line, err := report.EMF(r, at(20))
	if err != nil || !strings.Contains(string(line), `"RestoreFailed":1`) {
		t.Errorf("EMF %s, %v", line, err)
	}
}
