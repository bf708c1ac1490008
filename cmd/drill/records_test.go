package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// TestReportShowsTheSafetyNet: the safety net records its restore next to the report;
// drill report shows both, and for a stopped execution, which never wrote a report, it
// shows what the safety net put back. It reads as a principal held to exactly the
// grants policy.Commands["report"] declares.
func TestReportShowsTheSafetyNet(t *testing.T) {
	env, err := local.Start(sandbox.Config{PropagationDelay: 200 * time.Millisecond, ReplicationLag: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() })
	sc := env.Sandbox.Config()
	pols := local.Policies(sc, env.StateMachineArn)
	pols["drill-report"] = policy.CommandFor("report", policy.Values{LedgerArn: "arn:aws:s3:::" + sc.LedgerBucket})
	env.Sandbox.SetPolicies(pols)
	input := json.RawMessage(`{"probeIntervalMs":50,"stableWindowSeconds":1,"stableSharePercent":95}`)

	if _, err := env.Run(context.Background(), local.RunOptions{Name: "rec-pass", Input: input}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	if _, err := env.Run(ctx, local.RunOptions{Name: "rec-stopped", Input: input, OnEvent: func(ev asl.Event) {
		if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
			once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
		}
	}}); err != nil {
		t.Fatal(err)
	}
	factory := func(context.Context, string) (history.LedgerAPI, error) {
		return awsconf.SandboxFactoryAs(env.Sandbox.S3Endpoints(), "drill-report")(sc.PrimaryRegion), nil
	}

	var stdout, stderr bytes.Buffer
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "rec-pass"}, &stdout, &stderr, factory); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "verdict: PASS") || !strings.Contains(stdout.String(), "safety net          ") ||
		!strings.Contains(stdout.String(), "after the execution ended SUCCEEDED: already restored") {
		t.Errorf("report without the safety net's restore:\n%s%s", stdout.String(), stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := runReport(context.Background(), []string{"--ledger", sc.LedgerBucket, "--execution", "rec-stopped"}, &stdout, &stderr, factory); code != exitFail {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFail, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "the execution ended before its Report state (it ended ABORTED)") ||
		!strings.Contains(stdout.String(), "after the execution ended ABORTED: put back") || !strings.Contains(stdout.String(), "matches the prior: true") {
		t.Errorf("stopped run:\n%s%s", stdout.String(), stderr.String())
	}

	stdout.Reset()
	if code := runReport(context.Background(), []string{"--json", "--ledger", sc.LedgerBucket, "--execution", "rec-pass"}, &stdout, &stderr, factory); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Verdict  string                `json:"verdict"`
		Restores []drill.RestoreRecord `json:"restores"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Verdict != drill.Pass || len(doc.Restores) != 1 || doc.Restores[0].Reason != drill.ReasonSafetyNet {
		t.Errorf("json %+v %v\n%s", doc, err, stdout.String())
	}
}
