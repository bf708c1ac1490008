package local_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
)

func startWith(t *testing.T, cfg sandbox.Config) *local.Env {
	t.Helper()
	if cfg.PropagationDelay == 0 {
		cfg.PropagationDelay = 300 * time.Millisecond
	}
	if cfg.ReplicationLag == 0 {
		cfg.ReplicationLag = 50 * time.Millisecond
	}
	env, err := local.Start(cfg, nil)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// assertUntouched: the primary bucket's configuration was never written, no lock is
// left, and the seeded cart (if any) was taken out again.
func assertUntouched(t *testing.T, env *local.Env) {
	t.Helper()
	sc := env.Sandbox.Config()
	for _, c := range env.Sandbox.PABChanges() {
		if c.Bucket == sc.PrimaryBucket {
			t.Errorf("the primary bucket's configuration was written: %s %+v at %s", c.Op, c.Config, c.At)
		}
	}
	if _, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket)); held {
		t.Error("lock left behind")
	}
}

func checkOf(rep *drill.Report, name string) drill.Check {
	for _, c := range rep.Readiness.Checks {
		if c.Name == name {
			return c
		}
	}
	return drill.Check{Name: name, Status: "absent"}
}

// Each readiness check fails in the replica when the lab cannot fail over, and the
// drill stops before BlockBucket: the primary bucket is never written, the report's
// reason names the check and the cause, the execution fails with NotReady.
func TestReadinessChecksFail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    sandbox.Config
		input  string
		setup  func(env *local.Env)
		alarm  *local.AlarmTrigger
		check  string
		says   []string
		seeded bool // the failure comes after SeedCart: the cart must be cleared
	}{
		{name: "origin group without 403", cfg: sandbox.Config{FailoverCodes: []int{500, 502, 503, 504}},
			check: drill.CheckDistribution, says: []string{"403", "origin group"}},
		{name: "config.json cached, query string not in the key", cfg: sandbox.Config{CacheConfigJSON: true},
			check: drill.CheckDistribution, says: []string{"/config.json", "CachingOptimized", "query string"}},
		{name: "secondary down", setup: func(env *local.Env) { env.Sandbox.SetOriginDown(env.Sandbox.Config().SecondaryRegion, true) },
			check: drill.CheckSecondaryOrigin, says: []string{"secondary origin", "config.json"}},
		{name: "account-level Block Public Access", cfg: sandbox.Config{AccountPAB: &drill.PublicAccessBlock{RestrictPublicBuckets: true}},
			check: drill.CheckAccountPAB, says: []string{"account-level Block Public Access", "RestrictPublicBuckets", sandbox.AccountID}},
		{name: "stop alarm already in ALARM", alarm: &local.AlarmTrigger{},
			check: drill.CheckStopAlarms, says: []string{sandbox.DefaultStopAlarm, "ALARM"}},
		// An input's extra alarm that does not exist is a fail, never ignored.
		{name: "input names an alarm that does not exist", input: `{"stopAlarms":["no-such-alarm"]}`,
			check: drill.CheckStopAlarms, says: []string{"stop alarm no-such-alarm does not exist"}},
		{name: "replication behind", cfg: sandbox.Config{ReplicationLag: 3 * time.Second}, input: `{"maxReplicationLagSeconds":1}`,
			check: drill.CheckReplication, says: []string{"maxReplicationLagSeconds (1 s)", "secondary API"}, seeded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startWith(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(env)
			}
			input := tc.input
			if input == "" {
				input = fastInput
			}
			began := time.Now()
			out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(input), StopAlarm: tc.alarm})
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Report
			if out.Result.Status != asl.StatusFailed || out.Result.Error != "NotReady" || rep.Verdict != drill.Fail {
				t.Fatalf("status %s error %s verdict %s: %s", out.Result.Status, out.Result.Error, rep.Verdict, out.Result.Cause)
			}
			if c := checkOf(rep, tc.check); c.Status != drill.CheckFail || c.Action == "" {
				t.Errorf("check %s: %+v, want fail with an action", tc.check, c)
			}
			reasons := strings.Join(rep.Reasons, "\n")
			for _, s := range tc.says {
				if !strings.Contains(reasons, s) {
					t.Errorf("reasons do not say %q:\n%s", s, reasons)
				}
			}
			if !strings.Contains(out.Result.Cause, tc.check) {
				t.Errorf("the execution's cause does not name the check %s: %s", tc.check, out.Result.Cause)
			}
			for _, s := range rep.Steps {
				if s.Name == "BlockBucket" || s.Name == "SeedCart" && !tc.seeded {
					t.Errorf("step %s ran", s.Name)
				}
			}
			assertUntouched(t, env)
			if tk := runTicket(t, env, out.ID); tk.Status != drill.TicketAbandoned {
				t.Errorf("run ticket %s, want abandoned (Restore ran on the failure path and found nothing to restore)", tk.Status)
			}
			if c := checkOf(rep, tc.check); tc.seeded && !strings.Contains(strings.Join(c.Evidence, " "), "cleared again") {
				t.Errorf("the seeded cart was not cleared: %v", c.Evidence)
			}
			t.Logf("stopped in %v: %s", time.Since(began).Round(time.Millisecond), rep.Reasons[0])
		})
	}
}

// The dry run: every check passes in a healthy replica, the cart is seeded and
// cleared, the lock taken and released, and the bucket's configuration is read but
// never written. Verdict ready, execution SUCCEEDED, output the report.
func TestDryRunIsReadyAndChangesNothing(t *testing.T) {
	env := startWith(t, sandbox.Config{PrimaryPAB: partial})
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(`{"dryRun":true,"probeIntervalMs":50}`)})
	if err != nil {
		t.Fatal(err)
	}
	rep := out.Report
	if out.Result.Status != asl.StatusSucceeded || rep.Verdict != drill.Ready || !rep.DryRun {
		t.Fatalf("status %s verdict %s reasons %v: %s", out.Result.Status, rep.Verdict, rep.Reasons, out.Result.Cause)
	}
	for _, name := range drill.CheckNames {
		if c := checkOf(rep, name); c.Status != drill.CheckPass || len(c.Evidence) == 0 {
			t.Errorf("check %s: %+v, want pass with evidence", name, c)
		}
	}
	if !rep.Replication.Measured || rep.Replication.Seconds <= 0 {
		t.Errorf("replication %+v, want a measured lag", rep.Replication)
	}
	var output drill.Report
	if err := json.Unmarshal(out.Result.Output, &output); err != nil || output.Verdict != drill.Ready || len(output.Readiness.Checks) != len(drill.CheckNames) {
		t.Errorf("execution output (what a console user reads) %s: %v", out.Result.Output, err)
	}
	assertUntouched(t, env)
	if got, ok := env.Sandbox.PublicAccessBlock(env.Sandbox.Config().PrimaryBucket); !ok || *got != *partial {
		t.Errorf("bucket %+v, want its prior %+v", got, *partial)
	}
	if tk := runTicket(t, env, out.ID); tk.Status != drill.TicketAbandoned || tk.Seed == nil {
		t.Errorf("run ticket %+v: want the claimed dry run abandoned by Restore", tk)
	} else if cart := waitCart(env, env.Sandbox.Config().PrimaryRegion, tk.Seed.UserUUID, 0); len(cart) != 0 {
		t.Errorf("seeded cart %v left behind", cart)
	}
	for _, s := range rep.Steps {
		if s.Name == "AwaitFailover" || s.Name == "AwaitRecovery" {
			t.Errorf("a dry run ran %s", s.Name)
		}
	}
}

// A stop alarm entering ALARM during AwaitFailover stops the drill through the
// restore path, and the report names the alarm.
func TestStopAlarmDuringAwaitFailover(t *testing.T) {
	env := startWith(t, sandbox.Config{PrimaryPAB: partial, PropagationDelay: 2 * time.Second})
	out, err := env.Run(context.Background(), local.RunOptions{
		Input:     json.RawMessage(`{"probeIntervalMs":50,"failoverTimeoutSeconds":30}`),
		StopAlarm: &local.AlarmTrigger{State: "AwaitFailover", After: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Error != "StopAlarm" || out.Report.Verdict != drill.Fail {
		t.Fatalf("error %s verdict %s: %s", out.Result.Error, out.Report.Verdict, out.Result.Cause)
	}
	if reasons := strings.Join(out.Report.Reasons, " "); !strings.Contains(reasons, sandbox.DefaultStopAlarm) || !strings.Contains(reasons, "AwaitFailover") {
		t.Errorf("reasons do not name the alarm and the state: %v", out.Report.Reasons)
	}
	assertRestored(t, env, partial)
	if wall := out.Result.Stop.Sub(out.Result.Start); wall > 15*time.Second {
		t.Errorf("the drill ran %v after its stop alarm", wall)
	}
}

// Without the distribution check (no distributionId, and allowSkippedChecks to drill
// without it), a lab that does not fail over on 403 is blocked (a cached config.json is caught by Preflight already, which
// refuses cache hits; the sandbox's TestCachedConfigServedWhileBlocked shows the
// cache serving while the origin is blocked), and the report explains why failover did not happen from what
// the probe saw, rather than only "failover timeout".
func TestDiagnosisWhenTooLate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sandbox.Config
		says []string
	}{
		{"403 not a failover code", sandbox.Config{FailoverCodes: []int{500, 502, 503, 504}},
			[]string{"visitors got the primary's 403 from CloudFront", "does not fail over on 403"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.PrimaryPAB = partial
			env := startWith(t, cfg)
			out, err := env.Run(context.Background(), local.RunOptions{
				Input: json.RawMessage(`{"distributionId":"","allowSkippedChecks":true,"probeIntervalMs":50,"errorBudgetSeconds":1,"failoverTimeoutSeconds":3}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			if c := checkOf(out.Report, drill.CheckDistribution); c.Status != drill.CheckSkipped || c.Reason == "" {
				t.Errorf("distribution check %+v, want skipped with its reason", c)
			}
			if out.Result.Error != "FailoverTimeout" {
				t.Fatalf("error %s: %s", out.Result.Error, out.Result.Cause)
			}
			for _, s := range tc.says {
				if !strings.Contains(out.Result.Cause, s) {
					t.Errorf("cause does not say %q: %s", s, out.Result.Cause)
				}
			}
			assertRestored(t, env, partial)
		})
	}
}

// The replica enforces readiness's policy on the CloudFront control API: an input that
// names another distribution is denied, and the check says it was skipped for lack of
// permission (it is not silently passed); the drill then goes on, as on AWS.
func TestDistributionOutsideThePolicyIsSkipped(t *testing.T) {
	env := startWith(t, sandbox.Config{PrimaryPAB: partial})
	out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(`{"dryRun":true,"distributionId":"EOTHERDIST01"}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := checkOf(out.Report, drill.CheckDistribution)
	if c.Status != drill.CheckSkipped || !strings.Contains(c.Reason, "no permission") || !strings.Contains(c.Reason, "AccessDenied") {
		t.Errorf("distribution check %+v, want skipped for AccessDenied", c)
	}
	if c := checkOf(out.Report, drill.CheckSecondaryOrigin); c.Status != drill.CheckSkipped {
		t.Errorf("secondary-origin %+v, want skipped (its domain comes from the distribution)", c)
	}
	// What was skipped was not proven: the dry run is not ready, and says so.
	if out.Report.Verdict != drill.NotVerified || out.Result.Status != asl.StatusFailed || out.Result.Error != "Unverified" ||
		!strings.Contains(out.Result.Cause, "distribution") {
		t.Errorf("verdict %s, execution %s %s: %s; want unverified, FAILED Unverified naming the check", out.Report.Verdict, out.Result.Status, out.Result.Error, out.Result.Cause)
	}
	assertUntouched(t, env)
}

// A skipped check fails closed (the review's repro): without a distributionId the
// distribution check cannot see that the origin group ignores 403, so a drill that
// went ahead would block the primary and visitors would get 403s until the error
// budget stopped it. It stops before the block instead, naming the skipped checks; a
// dry run of the same lab is unverified, not ready.
func TestSkippedChecksFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name, input, verdict, errName string
		says                          []string
	}{
		{"drill", `{"distributionId":""}`, drill.Fail, "NotReady",
			[]string{"readiness distribution: skipped, so it did not guard the block", "readiness secondary-origin: skipped", "allowSkippedChecks"}},
		{"dry run", `{"dryRun":true,"distributionId":""}`, drill.NotVerified, "Unverified",
			[]string{"unverified", "distribution", "secondary-origin", "replication"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startWith(t, sandbox.Config{FailoverCodes: []int{500, 502, 503, 504}})
			out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(tc.input)})
			if err != nil {
				t.Fatal(err)
			}
			rep := out.Report
			if rep.Verdict != tc.verdict || out.Result.Status != asl.StatusFailed || out.Result.Error != tc.errName {
				t.Fatalf("verdict %s, execution %s %s (%s); want %s, FAILED %s", rep.Verdict, out.Result.Status, out.Result.Error, out.Result.Cause, tc.verdict, tc.errName)
			}
			text := strings.Join(rep.Reasons, "\n") + "\n" + rep.Summary
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("report does not say %q:\n%s", s, text)
				}
			}
			if len(rep.Readiness.Skipped) == 0 || rep.Readiness.AllowSkippedChecks {
				t.Errorf("readiness skipped %v allowSkippedChecks %v", rep.Readiness.Skipped, rep.Readiness.AllowSkippedChecks)
			}
			for _, s := range rep.Steps {
				if s.Name == "BlockBucket" && !rep.DryRun || s.Name == "AwaitFailover" {
					t.Errorf("step %s ran", s.Name)
				}
			}
			assertUntouched(t, env)
		})
	}
}

// Composite stop alarms, under AWS's rule as the replica models it: CloudWatch returns
// them only to a DescribeAlarms permission scoped to *. With the declared policy a
// composite alarm is read before the drill and watched during it (it stops the drill
// through the restore path); with the old grant, scoped to the alarm's ARN, it cannot
// be read and readiness fails closed, before anything is changed.
func TestCompositeStopAlarm(t *testing.T) {
	t.Run("declared policy: read, and watched", func(t *testing.T) {
		env := startWith(t, sandbox.Config{PrimaryPAB: partial, PropagationDelay: 2 * time.Second, CompositeStopAlarms: true})
		out, err := env.Run(context.Background(), local.RunOptions{
			Input:     json.RawMessage(`{"probeIntervalMs":50,"failoverTimeoutSeconds":30}`),
			StopAlarm: &local.AlarmTrigger{State: "AwaitFailover", After: 200 * time.Millisecond},
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := checkOf(out.Report, drill.CheckStopAlarms); c.Status != drill.CheckPass {
			t.Errorf("stop-alarms check %+v, want pass (the composite alarm read)", c)
		}
		if out.Result.Error != "StopAlarm" || !strings.Contains(out.Result.Cause, sandbox.DefaultStopAlarm) {
			t.Fatalf("error %s: %s, want the composite stop alarm to stop the drill", out.Result.Error, out.Result.Cause)
		}
		assertRestored(t, env, partial)
	})
	t.Run("grant scoped to the alarm's ARN: unreadable, not ready", func(t *testing.T) {
		env := startWith(t, sandbox.Config{CompositeStopAlarms: true})
		sc := env.Sandbox.Config()
		p := local.Policies(sc, env.StateMachineArn)
		for _, fn := range []string{drill.FuncReadiness, drill.FuncProbe} {
			for i, st := range p[fn] {
				if st.Sid == "ReadStopAlarms" {
					p[fn][i].Resources = []string{env.Sandbox.AlarmARN(sandbox.DefaultStopAlarm)}
				}
			}
		}
		env.Sandbox.SetPolicies(p)
		out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(fastInput)})
		if err != nil {
			t.Fatal(err)
		}
		c := checkOf(out.Report, drill.CheckStopAlarms)
		if out.Result.Error != "NotReady" || c.Status != drill.CheckFail || !strings.Contains(c.Reason, "AccessDenied") || !strings.Contains(c.Action, "on *") {
			t.Errorf("error %s, check %+v: want not ready, the alarm unreadable (AccessDenied) and the grant to fix", out.Result.Error, c)
		}
		assertUntouched(t, env)
	})
}

// Stop alarms that become unreadable mid-drill (here the probe's grant is taken away
// as AwaitFailover starts) are not silently given up: the probe stops the drill
// through the restore path once they stay unread beyond its limit, and the report
// records how long they went unwatched.
func TestStopAlarmsUnreadableMidDrill(t *testing.T) {
	env := startWith(t, sandbox.Config{PrimaryPAB: partial, PropagationDelay: 4 * time.Second})
	sc := env.Sandbox.Config()
	out, err := env.Run(context.Background(), local.RunOptions{
		Input: json.RawMessage(`{"probeIntervalMs":50,"failoverTimeoutSeconds":30}`),
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
				p := local.Policies(sc, env.StateMachineArn)
				p[drill.FuncProbe] = slices.DeleteFunc(p[drill.FuncProbe], func(st policy.Statement) bool { return st.Sid == "ReadStopAlarms" })
				env.Sandbox.SetPolicies(p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.Error != "StopAlarmsUnreadable" || !strings.Contains(out.Result.Cause, "AwaitFailover") || !strings.Contains(out.Result.Cause, "AccessDenied") {
		t.Fatalf("error %s: %s, want StopAlarmsUnreadable during AwaitFailover", out.Result.Error, out.Result.Cause)
	}
	w := out.Report.StopAlarms
	if w == nil || w.FailedReads == 0 || w.UnwatchedSeconds < local.LocalAlarmUnreadableLimit.Seconds() || !strings.Contains(w.LastError, "AccessDenied") {
		t.Errorf("report's stop alarms %+v, want the unwatched stretch beyond the limit and the error", w)
	}
	if !strings.Contains(strings.Join(out.Report.Reasons, " "), "StopAlarmsUnreadable") {
		t.Errorf("reasons %v do not name the error", out.Report.Reasons)
	}
	assertRestored(t, env, partial)
	// The failure path's recovery check confirms the primary with a look of 600
	// answers (99% over a 30 s horizon: 8 s at the resolving interval).
	if wall := out.Result.Stop.Sub(out.Result.Start); wall > 20*time.Second {
		t.Errorf("the drill ran %v", wall)
	}
}
