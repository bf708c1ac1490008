package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/statemachine"
)

// worstConfig: the shortest interval (10 ms, for the page too), the longest timeouts
// (840 s for each switch, CloudFront's longest origin settings per request) and an
// error budget that never stops the drill early, so a probe runs its whole 840 s.
const worstConfig = `{"distribution":"d111111abcdef8.cloudfront.net","primaryBucket":"ui-primary","items":20,"probeIntervalMs":10,` +
	`"failoverTimeoutSeconds":840,"errorBudgetSeconds":840,"errorBudgetPercent":100,"stableSharePercent":99,"stableWindowSeconds":5}`

var worstOrigin = &drill.OriginSettings{ConnectionAttempts: 3, ConnectionTimeoutSeconds: 10, ResponseTimeoutSeconds: 600}

// errorLog is 840 s of samples every 10 ms on both paths, every one an error, with
// every status from 400 to 599, timeouts and long transport errors: the most varied
// log a probe can keep.
func errorLog(mode string, start time.Time) drill.SampleLog {
	var samples []drill.Sample
	long := "dial tcp 203.0.113.10:443: connect: connection refused " + strings.Repeat("(and a long explanation) ", 8)
	for i := range 84_000 {
		sent := start.Add(time.Duration(i) * 10 * time.Millisecond)
		for _, path := range []string{"/config.json", "/"} {
			s := drill.Sample{SentAt: sent, At: sent.Add(7 * time.Millisecond), Path: path, Status: 400 + i%200, Cache: "Error from cloudfront", Pop: "IAD89-P1"}
			switch i % 211 {
			case 200:
				s.Status, s.Error = 0, drill.ErrTimeout
			case 201:
				s.Status, s.Error = 0, long
			}
			samples = append(samples, s)
		}
	}
	l := drill.NewSampleLog(start, samples)
	l.Execution, l.Mode, l.End, l.Ended = "worst-case", mode, start.Add(840*time.Second), drill.EndedTimeout
	l.ConfigIntervalMs, l.PageIntervalMs, l.RequestTimeoutMs = 10, 10, 1835000
	// Ten stop alarms of the longest names, whose reads kept failing with a long error.
	l.AlarmWatch = &drill.AlarmWatch{Reads: 168, FailedReads: 100, UnwatchedSeconds: 29.9, LongestUnwatchedSeconds: 29.9, LimitSeconds: 30,
		LastError: strings.Repeat("operation error CloudWatch: DescribeAlarms, exceeded maximum number of attempts ", 40)[:probe.MaxAlarmErrorBytes]}
	for i := range drill.MaxStopAlarms {
		l.AlarmWatch.Alarms = append(l.AlarmWatch.Alarms, fmt.Sprintf("%s-%d", strings.Repeat("a", 250), i))
	}
	return l
}

// steadyLog is a preflight that passed.
func steadyLog(start time.Time) drill.SampleLog {
	var samples []drill.Sample
	for i := range 3 {
		sent := start.Add(time.Duration(i) * 10 * time.Millisecond)
		samples = append(samples,
			drill.Sample{SentAt: sent, At: sent.Add(5 * time.Millisecond), Path: "/config.json", Status: 200, Region: "us-east-1"},
			drill.Sample{SentAt: sent, At: sent.Add(5 * time.Millisecond), Path: "/", Status: 200})
	}
	l := drill.NewSampleLog(start, samples)
	l.Execution, l.Mode, l.End, l.Ended = "worst-case", drill.ModeSteady, start.Add(40*time.Millisecond), drill.EndedStable
	l.ConfigIntervalMs, l.PageIntervalMs = 10, 10
	return l
}

// TestWorstCasePayloadFitsStepFunctions runs the real ASL file in the local runner
// through a worst-case drill: every failover sample an error for the whole 840 s at
// the shortest interval with the longest timeouts. The probe's error (its real
// message, from probe.Summarize over that log) and the report (the real report
// handler, reading the logs from a ledger) travel as they would on AWS, and every
// state's input and output and every Task's payload and result is measured: the
// largest must stay under Step Functions' 256 KiB (States.DataLimitExceeded is
// terminal: no Catch would see it, and the bucket would wait for the safety net).
func TestWorstCasePayloadFitsStepFunctions(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	blockedAt := t0.Add(10 * time.Second)
	store := ledgertest.New()
	led := store.Ledger()
	logs := map[string]drill.SampleLog{drill.ModeSteady: steadyLog(t0), drill.ModeFailover: errorLog(drill.ModeFailover, blockedAt)}
	cart := make([]string, 20)
	for i := range cart {
		cart[i] = fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
	}
	seed := drill.SeedResult{Timing: drill.Timing{StartedAt: t0, FinishedAt: t0}, User: drill.User{UUID: "1b0c2f6e-6f1e-4c55-9d2a-1f1f1f1f1f1f",
		Email: "drill-worst-case-00000000@failover-drill.example"}, Cart: cart, ServedRegion: "us-east-1", APIHost: "https://abc123.execute-api.us-east-1.amazonaws.com/Production"}
	rep := &report.Handler{Ledger: led, Now: func() time.Time { return blockedAt.Add(900 * time.Second) }}

	probeTask := func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var in drill.ProbeInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
		in.Origin = worstOrigin
		// The probe keeps its log in the run's folder, named by the payload's start.
		l, ok := logs[in.Mode]
		if ok {
			l.ExecutionStartTime = in.StartTime
			if _, err := led.PutSamples(context.Background(), l); err != nil {
				return nil, err
			}
		}
		res, err := probe.Summarize(in, l)
		if err != nil {
			return nil, drill.Classify(err)
		}
		return json.Marshal(res)
	}
	tasks := map[string]asl.TaskFunc{
		local.FunctionARN(drill.FuncProbe): probeTask,
		local.FunctionARN(drill.FuncSeedCart): func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.Marshal(seed)
		},
		local.FunctionARN(drill.FuncBlock): func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return json.Marshal(drill.BlockResult{Bucket: "ui-primary", Region: "us-east-1", Prior: &drill.PublicAccessBlock{BlockPublicAcls: true}, BlockSentAt: blockedAt, BlockedAt: blockedAt})
		},
		local.FunctionARN(drill.FuncRestore): func(context.Context, json.RawMessage) (json.RawMessage, error) {
			at := blockedAt.Add(850 * time.Second)
			p := &drill.PublicAccessBlock{BlockPublicAcls: true}
			return json.Marshal(drill.RestoreResult{Execution: "worst-case", Bucket: "ui-primary", Prior: p, ReadBack: p, MatchesPrior: true, RestoredAt: &at, CartCleared: true})
		},
		// Not reached on this path (the failover times out); its result's size is held
		// by internal/drill's TestDatabaseResultStaysSmall.
		local.FunctionARN(drill.FuncDatabase): func(context.Context, json.RawMessage) (json.RawMessage, error) {
			return nil, fmt.Errorf("the database stage runs only after a stable failover")
		},
		local.FunctionARN(drill.FuncReport): func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
			var in drill.ReportInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, err
			}
			r, err := rep.Handle(ctx, in)
			if err != nil {
				return nil, drill.Classify(err)
			}
			return json.Marshal(r)
		},
	}
	// Readiness at its largest: every check with its evidence, ten stop alarms.
	tasks[local.FunctionARN(drill.FuncReadiness)] = func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var in drill.ReadinessInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
		res := drill.ReadinessResult{Ready: true, Proceed: true, Skipped: []string{}, Summary: strings.Repeat("ready: every check passed; ", 20), Origin: *worstOrigin,
			SecondaryAPI: "https://def456.execute-api.us-west-1.amazonaws.com/Production"}
		for i := range drill.MaxStopAlarms {
			res.StopAlarms = append(res.StopAlarms, fmt.Sprintf("%s-%d", strings.Repeat("a", 240), i))
		}
		for _, n := range drill.CheckNames {
			res.Checks = append(res.Checks, drill.Check{Name: n, Status: drill.CheckPass, Evidence: []string{strings.Repeat("evidence ", 100), strings.Repeat("more ", 100)}})
		}
		return json.Marshal(res)
	}
	subs := map[string]string{"DistributionDomain": "d111111abcdef8.cloudfront.net", "PrimaryBucket": "ui-primary", "PrimaryRegion": "us-east-1", "SecondaryRegion": "us-west-1",
		"DistributionId": "E2QWRUHAPOMQZL", "MaxReplicationLagSeconds": "30", "GlobalCluster": drill.NoGlobalCluster}
	for _, f := range drill.Functions {
		if f.Placeholder != "" {
			subs[f.Placeholder] = local.FunctionARN(f.Name)
		}
	}
	for k, v := range drill.LimitSubstitutions(drill.Defaults) {
		subs[k] = v
	}
	m, err := asl.Load(statemachine.Definition, subs)
	if err != nil {
		t.Fatal(err)
	}
	res := m.Run(context.Background(), "worst-case", json.RawMessage(worstConfig), asl.Options{Tasks: tasks})
	if res.Status != asl.StatusFailed || res.Error != "FailoverTimeout" {
		t.Fatalf("status %s error %s cause %.300s, want FAILED with the probe's FailoverTimeout", res.Status, res.Error, res.Cause)
	}
	largest, where := 0, ""
	for _, ev := range res.Events {
		if ev.Bytes > largest {
			largest, where = ev.Bytes, ev.Type+" "+ev.State
		}
	}
	t.Logf("largest payload of the worst case: %d bytes (%.1f%% of %d), at %s", largest, 100*float64(largest)/asl.MaxPayloadBytes, asl.MaxPayloadBytes, where)
	if largest == 0 || largest >= asl.MaxPayloadBytes/2 {
		t.Errorf("largest payload %d bytes at %s: want well under the %d-byte limit", largest, where, asl.MaxPayloadBytes)
	}
	// What the report made of it: every error counted, the reasons in full.
	raw, ok := store.Objects[drill.ReportKey("worst-case", drill.At(res.Start))]
	if !ok {
		t.Fatal("no report in the ledger")
	}
	var r drill.Report
	if err := json.Unmarshal(raw.Body, &r); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Errors(); n != 168_000 || r.Verdict != drill.Fail || !strings.Contains(r.Reasons[0], "AwaitFailover failed: FailoverTimeout") || len(r.Visitors.Outcomes) != 202 {
		t.Errorf("report: %v errors, verdict %s, %d outcomes, reasons %.300q", r.UserVisibleErrors, r.Verdict, len(r.Visitors.Outcomes), r.Reasons)
	}
}
