package main

import (
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/statemachine"
)

// ctx returns a context getter over a map, as TryGetContext would answer.
func ctx(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func validContext() map[string]any {
	return map[string]any{
		CtxPrimaryBucket:      "unicorn-ui-primary",
		CtxDistributionDomain: "d111111abcdef8.cloudfront.net",
		CtxDistributionID:     "E2QWRUHAPOMQZL",
		CtxAlarmTopicArn:      "arn:aws:sns:us-east-1:123456789012:sre-pager",
	}
}

func TestConfigFromContextDefaults(t *testing.T) {
	got, err := ConfigFromContext(ctx(validContext()))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		PrimaryBucket:       "unicorn-ui-primary",
		DistributionDomain:  "d111111abcdef8.cloudfront.net",
		DistributionID:      "E2QWRUHAPOMQZL",
		PrimaryRegion:       "us-east-1",
		SecondaryRegion:     "us-west-1",
		AlarmTopicArn:       "arn:aws:sns:us-east-1:123456789012:sre-pager",
		ReportRetentionDays: 90,
		Limits:              drill.Limits{StableSharePercent: 99, StableWindowSeconds: 5, MaxErrorRatePercent: 1, MaxErrorRunSeconds: 5, MaxLatencyP95Ms: 3000},
		// Readiness: no stop alarms, no schedule by default.
		MaxReplicationLagSeconds: 30,
		FailoverTargetSeconds:    60,
		GitHubRef:                DefaultGitHubRef,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestConfigFromContextValues(t *testing.T) {
	m := validContext()
	m[CtxPrimaryRegion] = "eu-west-1"
	m[CtxSecondaryRegion] = "eu-central-1"
	m[CtxSchedule] = "cron(0 6 ? * MON *)"
	m[CtxNotifyEmail] = "sre@example.com"
	m[CtxReportRetentionDays] = float64(30) // a JSON number from cdk.json
	m[CtxDistributionDomain] = "https://d111111abcdef8.cloudfront.net"
	m["maxLatencyP95Ms"] = "1500" // -c maxLatencyP95Ms=1500
	m["stableSharePercent"] = float64(95)
	got, err := ConfigFromContext(ctx(m))
	if err != nil {
		t.Fatal(err)
	}
	m[CtxDistributionID] = "E2QWRUHAPOMQZL"
	m[CtxStopAlarms] = "HighErrorRate, CheckoutLatency"
	m[CtxMaxReplicationLagSeconds] = "45"
	m[CtxReadinessSchedule] = "rate(1 hour)"
	got, err = ConfigFromContext(ctx(m))
	if err != nil {
		t.Fatal(err)
	}
	if got.DistributionID != "E2QWRUHAPOMQZL" || !slices.Equal(got.StopAlarms, []string{"HighErrorRate", "CheckoutLatency"}) ||
		got.MaxReplicationLagSeconds != 45 || got.ReadinessSchedule != "rate(1 hour)" {
		t.Fatalf("readiness context: got %+v", got)
	}
	m[CtxStopAlarms] = []any{"HighErrorRate"} // a JSON list from cdk.json
	if got, err = ConfigFromContext(ctx(m)); err != nil || !slices.Equal(got.StopAlarms, []string{"HighErrorRate"}) {
		t.Fatalf("stopAlarms as a JSON list: %v %v", got.StopAlarms, err)
	}
	if got.PrimaryRegion != "eu-west-1" || got.SecondaryRegion != "eu-central-1" || got.Schedule != "cron(0 6 ? * MON *)" ||
		got.NotifyEmail != "sre@example.com" || got.ReportRetentionDays != 30 ||
		got.DistributionDomain != "https://d111111abcdef8.cloudfront.net" ||
		got.Limits.MaxLatencyP95Ms != 1500 || got.Limits.StableSharePercent != 95 || got.Limits.StableWindowSeconds != 5 {
		t.Fatalf("got %+v", got)
	}
}

func TestConfigFromContextErrors(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]any // merged over validContext; nil value deletes the key
		keys []string       // context keys the error must name, and no others
	}{
		{name: "missing primaryBucket", set: map[string]any{CtxPrimaryBucket: nil}, keys: []string{CtxPrimaryBucket}},
		{name: "empty primaryBucket", set: map[string]any{CtxPrimaryBucket: " "}, keys: []string{CtxPrimaryBucket}},
		{name: "bad primaryBucket", set: map[string]any{CtxPrimaryBucket: "Unicorn_UI"}, keys: []string{CtxPrimaryBucket}},
		{name: "IP primaryBucket", set: map[string]any{CtxPrimaryBucket: "192.168.1.1"}, keys: []string{CtxPrimaryBucket}},
		{name: "missing distributionDomain", set: map[string]any{CtxDistributionDomain: nil}, keys: []string{CtxDistributionDomain}},
		{name: "bad distributionDomain", set: map[string]any{CtxDistributionDomain: "not a domain"}, keys: []string{CtxDistributionDomain}},
		{name: "distribution with path", set: map[string]any{CtxDistributionDomain: "https://d1.cloudfront.net/x"}, keys: []string{CtxDistributionDomain}},
		{name: "http distribution", set: map[string]any{CtxDistributionDomain: "http://127.0.0.1:8080"}, keys: []string{CtxDistributionDomain}},
		{name: "both required missing", set: map[string]any{CtxPrimaryBucket: nil, CtxDistributionDomain: nil}, keys: []string{CtxDistributionDomain, CtxPrimaryBucket}},
		// Without it the distribution check could never run: required, like the target.
		{name: "missing distributionId", set: map[string]any{CtxDistributionID: nil}, keys: []string{CtxDistributionID}},
		{name: "empty distributionId", set: map[string]any{CtxDistributionID: ""}, keys: []string{CtxDistributionID}},
		{name: "bad primaryRegion", set: map[string]any{CtxPrimaryRegion: "virginia"}, keys: []string{CtxPrimaryRegion}},
		{name: "failoverTargetSeconds zero", set: map[string]any{CtxFailoverTargetSeconds: float64(0)}, keys: []string{CtxFailoverTargetSeconds}},
		{name: "failoverTargetSeconds beyond the wait", set: map[string]any{CtxFailoverTargetSeconds: "900"}, keys: []string{CtxFailoverTargetSeconds}},
		{name: "failoverTargetSeconds not a number", set: map[string]any{CtxFailoverTargetSeconds: "a minute"}, keys: []string{CtxFailoverTargetSeconds}},
		{name: "bad secondaryRegion", set: map[string]any{CtxSecondaryRegion: "US-WEST-1"}, keys: []string{CtxSecondaryRegion}},
		{name: "same regions", set: map[string]any{CtxSecondaryRegion: "us-east-1"}, keys: []string{CtxSecondaryRegion}},
		{name: "region not a string", set: map[string]any{CtxPrimaryRegion: float64(1)}, keys: []string{CtxPrimaryRegion}},
		{name: "schedule not an expression", set: map[string]any{CtxSchedule: "weekly"}, keys: []string{CtxSchedule}},
		{name: "schedule rate without unit", set: map[string]any{CtxSchedule: "rate(7)"}, keys: []string{CtxSchedule}},
		{name: "schedule rate zero", set: map[string]any{CtxSchedule: "rate(0 days)"}, keys: []string{CtxSchedule}},
		{name: "schedule cron with 5 fields", set: map[string]any{CtxSchedule: "cron(0 6 * * 1)"}, keys: []string{CtxSchedule}},
		{name: "schedule at()", set: map[string]any{CtxSchedule: "at(2030-01-01T00:00:00)"}, keys: []string{CtxSchedule}},
		{name: "schedule every 30 minutes", set: map[string]any{CtxSchedule: "rate(30 minutes)"}, keys: []string{CtxSchedule}},
		{name: "schedule every 59 minutes", set: map[string]any{CtxSchedule: "rate(59 minutes)"}, keys: []string{CtxSchedule}},
		{name: "cron every minute of an hour", set: map[string]any{CtxSchedule: "cron(* 6 ? * MON *)"}, keys: []string{CtxSchedule}},
		{name: "cron twice an hour", set: map[string]any{CtxSchedule: "cron(0,30 6 ? * MON *)"}, keys: []string{CtxSchedule}},
		{name: "cron every 15 minutes", set: map[string]any{CtxSchedule: "cron(0/15 * * * ? *)"}, keys: []string{CtxSchedule}},
		{name: "cron minute out of range", set: map[string]any{CtxSchedule: "cron(60 6 ? * MON *)"}, keys: []string{CtxSchedule}},
		{name: "bad email", set: map[string]any{CtxNotifyEmail: "sre-at-example"}, keys: []string{CtxNotifyEmail}},
		{name: "no one to tell: neither notifyEmail nor alarmTopicArn", set: map[string]any{CtxAlarmTopicArn: nil}, keys: []string{CtxNotifyEmail}},
		{name: "alarmTopicArn not an ARN", set: map[string]any{CtxAlarmTopicArn: "sre-pager"}, keys: []string{CtxAlarmTopicArn}},
		{name: "alarmTopicArn of another service", set: map[string]any{CtxAlarmTopicArn: "arn:aws:sqs:us-east-1:123456789012:sre-pager"}, keys: []string{CtxAlarmTopicArn}},
		{name: "alarmTopicArn without an account", set: map[string]any{CtxAlarmTopicArn: "arn:aws:sns:us-east-1::sre-pager"}, keys: []string{CtxAlarmTopicArn}},
		{name: "alarmTopicArn with a bad name", set: map[string]any{CtxAlarmTopicArn: "arn:aws:sns:us-east-1:123456789012:sre pager"}, keys: []string{CtxAlarmTopicArn}},
		{name: "email without domain dot", set: map[string]any{CtxNotifyEmail: "sre@localhost"}, keys: []string{CtxNotifyEmail}},
		{name: "retention zero", set: map[string]any{CtxReportRetentionDays: "0"}, keys: []string{CtxReportRetentionDays}},
		{name: "retention too long", set: map[string]any{CtxReportRetentionDays: float64(3651)}, keys: []string{CtxReportRetentionDays}},
		{name: "retention not a number", set: map[string]any{CtxReportRetentionDays: "ninety"}, keys: []string{CtxReportRetentionDays}},
		{name: "retention fraction", set: map[string]any{CtxReportRetentionDays: float64(1.5)}, keys: []string{CtxReportRetentionDays}},
		{name: "retention bool", set: map[string]any{CtxReportRetentionDays: true}, keys: []string{CtxReportRetentionDays}},
		{name: "stable share above 100", set: map[string]any{"stableSharePercent": "101"}, keys: []string{"stableSharePercent"}},
		{name: "latency limit not a number", set: map[string]any{"maxLatencyP95Ms": "fast"}, keys: []string{"maxLatencyP95Ms"}},
		{name: "a window too short to show 99%", set: map[string]any{"stableWindowSeconds": float64(2)}, keys: []string{"stableWindowSeconds"}},
		{name: "bad distributionId", set: map[string]any{CtxDistributionID: "e2qwruhapomqzl"}, keys: []string{CtxDistributionID}},
		{name: "stopAlarms not a list", set: map[string]any{CtxStopAlarms: float64(3)}, keys: []string{CtxStopAlarms}},
		{name: "stopAlarms item not a string", set: map[string]any{CtxStopAlarms: []any{"a", true}}, keys: []string{CtxStopAlarms}},
		{name: "stopAlarms name too long", set: map[string]any{CtxStopAlarms: strings.Repeat("x", 256)}, keys: []string{CtxStopAlarms}},
		{name: "replication lag zero", set: map[string]any{CtxMaxReplicationLagSeconds: "0"}, keys: []string{CtxMaxReplicationLagSeconds}},
		{name: "replication lag beyond the readiness Lambda", set: map[string]any{CtxMaxReplicationLagSeconds: float64(301)}, keys: []string{CtxMaxReplicationLagSeconds}},
		{name: "readinessSchedule not an expression", set: map[string]any{CtxReadinessSchedule: "hourly"}, keys: []string{CtxReadinessSchedule}},
		{name: "schedule with no daily or weekly grid", set: map[string]any{CtxSchedule: "rate(90 minutes)", CtxReadinessSchedule: "rate(5 hours)"}, keys: []string{CtxReadinessSchedule, CtxSchedule}},
		{name: "ledgerBucket not a bucket name", set: map[string]any{CtxLedgerBucket: "Not_A_Bucket"}, keys: []string{CtxLedgerBucket}},
		{name: "githubRepository not owner/name", set: map[string]any{CtxGitHubRepository: "unicorn-shop"}, keys: []string{CtxGitHubRepository}},
		{name: "githubRef with a wildcard", set: map[string]any{CtxGitHubRepository: testRepo, CtxGitHubRef: "refs/heads/*"}, keys: []string{CtxGitHubRef}},
		{name: "githubOidcProviderArn of another provider", set: map[string]any{CtxGitHubRepository: testRepo, CtxGitHubOIDCProviderArn: "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"}, keys: []string{CtxGitHubOIDCProviderArn}},
		{name: "readinessSchedule more often than hourly", set: map[string]any{CtxReadinessSchedule: "rate(5 minutes)"}, keys: []string{CtxReadinessSchedule}},
	}
	keyAtStart := regexp.MustCompile(`^(\w+):`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := validContext()
			for k, v := range tc.set {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			_, err := ConfigFromContext(ctx(m))
			var cerr *ContextError
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want a *ContextError", err)
			}
			var named []string
			for _, p := range cerr.Problems {
				mm := keyAtStart.FindStringSubmatch(p)
				if mm == nil || !slices.Contains(ContextKeys, mm[1]) {
					t.Errorf("problem %q does not start with a context key", p)
					continue
				}
				if !slices.Contains(named, mm[1]) {
					named = append(named, mm[1])
				}
			}
			sort.Strings(named)
			if !slices.Equal(named, tc.keys) {
				t.Errorf("problems name %v, want %v: %v", named, tc.keys, err)
			}
			for _, k := range tc.keys {
				if !strings.Contains(err.Error(), k+":") {
					t.Errorf("message %q does not name %s", err, k)
				}
			}
		})
	}
}

func TestConfigFromContextAcceptsSchedules(t *testing.T) {
	for _, s := range []string{"rate(1 day)", "rate(7 days)", "rate(12 hours)", "rate(1 hour)", "rate(60 minutes)",
		"cron(0 6 ? * MON *)", "cron(15 10 1 * ? *)", "cron(0 * * * ? *)"} {
		t.Run(s, func(t *testing.T) {
			m := validContext()
			m[CtxSchedule] = s
			if _, err := ConfigFromContext(ctx(m)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// I1: by default every alarm would publish to a topic nobody subscribes to. Synth
// stops unless the deployment names a recipient, and says which keys can.
func TestSynthNeedsSomeoneToTell(t *testing.T) {
	m := validContext()
	delete(m, CtxAlarmTopicArn)
	_, err := ConfigFromContext(ctx(m))
	if err == nil || !strings.Contains(err.Error(), CtxNotifyEmail) || !strings.Contains(err.Error(), CtxAlarmTopicArn) {
		t.Fatalf("err = %v, want one naming %s and %s", err, CtxNotifyEmail, CtxAlarmTopicArn)
	}
	for _, set := range []map[string]any{
		{CtxNotifyEmail: "sre@example.com"},
		{CtxAlarmTopicArn: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:Pager_Duty-1"},
		{CtxNotifyEmail: "sre@example.com", CtxAlarmTopicArn: "arn:aws:sns:eu-central-1:123456789012:chatbot"},
	} {
		m := validContext()
		delete(m, CtxAlarmTopicArn)
		maps.Copy(m, set)
		c, err := ConfigFromContext(ctx(m))
		if err != nil || c.NotifyEmail != strOf(set[CtxNotifyEmail]) || c.AlarmTopicArn != strOf(set[CtxAlarmTopicArn]) {
			t.Errorf("%v: %+v, %v", set, c, err)
		}
	}
	if got := AlarmTopicRegion("arn:aws:sns:eu-central-1:123456789012:chatbot"); got != "eu-central-1" {
		t.Errorf("AlarmTopicRegion = %q", got)
	}
}

func strOf(v any) string { s, _ := v.(string); return s }

// A schedule under an hour stops synth with a message naming the key and the minimum.
func TestScheduleUnderAnHourSaysWhy(t *testing.T) {
	m := validContext()
	m[CtxSchedule] = "rate(30 minutes)"
	_, err := ConfigFromContext(ctx(m))
	if err == nil || !strings.Contains(err.Error(), "schedule: \"rate(30 minutes)\" runs a drill every 30m0s; drills must be at least 1h0m0s apart") {
		t.Errorf("err = %v", err)
	}
}

// aslPlaceholders are the ${Name} placeholders of the embedded ASL.
func aslPlaceholders(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9]*)\}`).FindAllStringSubmatch(statemachine.Definition, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

func TestDefinitionSubstitutionsCoverEveryPlaceholder(t *testing.T) {
	cfg, err := ConfigFromContext(ctx(validContext()))
	if err != nil {
		t.Fatal(err)
	}
	arns := map[string]string{}
	for _, n := range FunctionNames() {
		arns[n] = "arn:aws:lambda:us-east-1:123456789012:function:" + n
	}
	subs, err := DefinitionSubstitutions(cfg, arns)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, v := range subs {
		keys = append(keys, k)
		if v == "" {
			t.Errorf("substitution %s is empty", k)
		}
	}
	sort.Strings(keys)
	placeholders := aslPlaceholders(t)
	if !slices.Equal(keys, placeholders) {
		t.Errorf("substitution keys %v\n!= ASL placeholders %v", keys, placeholders)
	}
	shared := slices.Clone(drill.Placeholders)
	sort.Strings(shared)
	if !slices.Equal(keys, shared) {
		t.Errorf("substitution keys %v\n!= drill.Placeholders %v", keys, shared)
	}
	if subs["PrimaryBucket"] != "unicorn-ui-primary" || subs["DistributionDomain"] != "d111111abcdef8.cloudfront.net" ||
		subs["PrimaryRegion"] != "us-east-1" || subs["SecondaryRegion"] != "us-west-1" ||
		subs["RestoreFunctionArn"] != arns[drill.FuncRestore] || subs["ProbeFunctionArn"] != arns[drill.FuncProbe] ||
		subs["StableSharePercent"] != "99" || subs["MaxLatencyP95Ms"] != "3000" {
		t.Errorf("substitutions map the wrong values: %v", subs)
	}

	delete(arns, drill.FuncReport)
	if _, err := DefinitionSubstitutions(cfg, arns); err == nil || !strings.Contains(err.Error(), drill.FuncReport) {
		t.Errorf("missing report ARN: err = %v, want one naming %s", err, drill.FuncReport)
	}
}

func TestFunctionNamesAreTheDrillFunctions(t *testing.T) {
	want := []string{drill.FuncBlock, drill.FuncProbe, drill.FuncReadiness, drill.FuncReport, drill.FuncRestore, drill.FuncSeedCart, drill.FuncSweeper, drill.FuncDatabase}
	got := FunctionNames()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("FunctionNames() = %v, want %v", got, want)
	}
}

// A deployment without distributionId could never run the distribution check: synth
// stops, and the message names the key, the distribution and where its ID is found.
func TestDistributionIDRequiredSaysWhereToFindIt(t *testing.T) {
	m := validContext()
	delete(m, CtxDistributionID)
	_, err := ConfigFromContext(ctx(m))
	if err == nil {
		t.Fatal("synth accepted a deployment without distributionId")
	}
	for _, s := range []string{"distributionId: missing", "d111111abcdef8.cloudfront.net", "CloudFront console", "aws cloudfront list-distributions"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q: %v", s, err)
		}
	}
}
