package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/unishop/failover-drill/internal/policy"
)

// The template does not depend on the day it is synthesized: the scheduled stack
// (a drill schedule and hourly dry runs) built again in another app is the same
// template, and no date appears in it (a StartDate computed at synth would).
func TestTemplateDoesNotDependOnTheDay(t *testing.T) {
	f := fixture(t)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &f.appCtx})
	cfg := f.scheduledCfg
	again := NewFailoverDrillStack(app, "FailoverDrillScheduled", &FailoverDrillStackProps{Config: &cfg, Functions: f.builder})
	var tmpl map[string]any
	cdkAssert(t, func() { tmpl = *assertions.Template_FromStack(again, nil).ToJSON() })
	a, _ := json.Marshal(f.scheduledT)
	b, _ := json.Marshal(tmpl)
	if string(a) != string(b) {
		t.Errorf("two synths of the same configuration differ:\n%s\n%s", a, b)
	}
	if d := regexp.MustCompile(`20[0-9]{2}-[01][0-9]-[0-3][0-9]T`).FindString(string(a)); d != "" {
		t.Errorf("the template holds a date (%s...): it depends on the day of synth", d)
	}
}

// renderDeep is render applied at every level: intrinsics become ${...} strings
// inside a JSON document.
func renderDeep(v any) string {
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["Ref"]; ok {
				return render(v)
			}
			if _, ok := v["Fn::GetAtt"]; ok {
				return render(v)
			}
			if _, ok := v["Fn::Join"]; ok {
				return render(v)
			}
			out := map[string]any{}
			for k, x := range v {
				out[k] = walk(x)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		}
		return v
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(walk(v))
	return strings.TrimSpace(b.String())
}

// policyStatements are a resource policy's statements (a topic's, a key's, a role's
// trust).
func policyStatements(doc any) []map[string]any {
	var out []map[string]any
	for _, s := range list(doc.(map[string]any)["Statement"]) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// Who may talk to the alarms: every statement of the topic's policy and of its key's
// that lets a service in is held to this stack's alarms (aws:SourceAccount and
// aws:SourceArn on alarms named <stack>-*), to this stack's rules (aws:SourceArn,
// one per rule), or, for EventBridge on the key (where SNS supports neither key), to
// this topic's encryption context. The sweeper schedule's role trusts this account's
// Scheduler only.
func TestTrustsAreConditioned(t *testing.T) {
	f := fixture(t)
	for name, c := range map[string]struct {
		stack awscdk.Stack
		tmpl  map[string]any
	}{"default": {f.plain, f.plainT}, "scheduled": {f.scheduled, f.scheduledT}} {
		stackName := *c.stack.StackName()
		alarmARN := "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:" + stackName + "-*"
		rules := []string{"${" + logicalID(t, c.stack, "DrillResults") + ".Arn}", "${" + logicalID(t, c.stack, "ReadinessNotReady") + ".Arn}"}
		var ruleSources []string
		for _, tp := range resources(c.tmpl, "AWS::SNS::TopicPolicy") {
			for _, st := range policyStatements(props(tp)["PolicyDocument"]) {
				svc := render(st["Principal"])
				cond := st["Condition"]
				switch {
				case !strings.Contains(svc, "Service"):
					continue // the EnforceSSL deny
				case svc == `{"Service":"cloudwatch.amazonaws.com"}`:
					if renderDeep(cond) != `{"ArnLike":{"aws:SourceArn":"`+alarmARN+`"},"StringEquals":{"aws:SourceAccount":"${AWS::AccountId}"}}` {
						t.Errorf("%s: topic lets CloudWatch publish under %v", name, renderDeep(cond))
					}
				case svc == `{"Service":"events.amazonaws.com"}`:
					c, _ := cond.(map[string]any)
					arn := render(c["ArnEquals"].(map[string]any)["aws:SourceArn"])
					if renderDeep(c["StringEquals"]) != `{"aws:SourceAccount":"${AWS::AccountId}"}` {
						t.Errorf("%s: topic lets EventBridge publish under %v", name, render(cond))
					}
					ruleSources = append(ruleSources, arn)
				default:
					t.Errorf("%s: topic lets %s publish", name, svc)
				}
			}
		}
		slices.Sort(ruleSources)
		slices.Sort(rules)
		if !slices.Equal(ruleSources, rules) {
			t.Errorf("%s: EventBridge may publish from %v, want exactly this stack's rules %v", name, ruleSources, rules)
		}
		for _, k := range resources(c.tmpl, "AWS::KMS::Key") {
			for _, st := range policyStatements(props(k)["KeyPolicy"]) {
				svc, cond := render(st["Principal"]), renderDeep(st["Condition"])
				switch svc {
				case `{"Service":"cloudwatch.amazonaws.com"}`:
					if cond != `{"ArnLike":{"aws:SourceArn":"`+alarmARN+`"},"StringEquals":{"aws:SourceAccount":"${AWS::AccountId}"}}` {
						t.Errorf("%s: key lets CloudWatch in under %s", name, cond)
					}
				case `{"Service":"events.amazonaws.com"}`:
					if cond != `{"StringLike":{"kms:EncryptionContext:aws:sns:topicArn":"arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:`+stackName+`-Notifications*"}}` {
						t.Errorf("%s: key lets EventBridge in under %s", name, cond)
					}
				default:
					if strings.Contains(svc, "Service") {
						t.Errorf("%s: key lets %s in", name, svc)
					}
				}
			}
		}
		roleID := logicalID(t, c.stack, "SweeperScheduleRole")
		trust := policyStatements(props(resources(c.tmpl, "AWS::IAM::Role")[roleID])["AssumeRolePolicyDocument"])
		if len(trust) != 1 || renderDeep(trust[0]["Condition"]) != `{"ArnLike":{"aws:SourceArn":"arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/default"},"StringEquals":{"aws:SourceAccount":"${AWS::AccountId}"}}` {
			t.Errorf("%s: sweeper schedule role trusts %v", name, render(trust))
		}
	}
}

// Teardown keeps the evidence: the DLQ and every log group survive cdk destroy (the
// log groups expire their events after LogRetention, the DLQ each message after 14
// days); the state machine's log group carries the stack's ID so a stack deployed
// again under the same name does not collide with the one kept. The stack refuses a
// region other than primaryRegion.
func TestTeardownKeepsEvidence(t *testing.T) {
	f := fixture(t)
	dlq := resources(f.plainT, "AWS::SQS::Queue")[logicalID(t, f.plain, "DeliveryDLQ")]
	if dlq["DeletionPolicy"] != "Retain" || dlq["UpdateReplacePolicy"] != "Retain" || props(dlq)["MessageRetentionPeriod"] != float64(DLQRetentionDays*24*3600) {
		t.Errorf("DLQ %v, want retained, messages kept %d days", render(dlq), DLQRetentionDays)
	}
	groups := resources(f.plainT, "AWS::Logs::LogGroup")
	if len(groups) != len(functionSpecs)+1 {
		t.Errorf("%d log groups, want one per function and the state machine's", len(groups))
	}
	for id, g := range groups {
		if g["DeletionPolicy"] != "Retain" || props(g)["RetentionInDays"] != float64(90) {
			t.Errorf("log group %s: %v, want retained and expiring after 90 days", id, render(g))
		}
	}
	name := render(props(groups[logicalID(t, f.plain, "StateMachineLogs")])["LogGroupName"])
	if !strings.Contains(name, "/aws/vendedlogs/states/FailoverDrill-") || !strings.Contains(name, "AWS::StackId") {
		t.Errorf("state machine log group name %s, want the stack's ID in it", name)
	}
	rules, _ := f.plainT["Rules"].(map[string]any)
	rule, _ := json.Marshal(rules["StackInPrimaryRegion"])
	if !strings.Contains(string(rule), `{"Fn::Equals":[{"Ref":"AWS::Region"},"us-east-1"]}`) || !strings.Contains(string(rule), CtxPrimaryRegion) {
		t.Errorf("region rule %s, want the stack held to primaryRegion", rule)
	}
	// Known at synth, the wrong region stops synth, naming the key.
	cdkAssert(t, func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), CtxPrimaryRegion+": the stack's region is eu-west-1") {
				t.Errorf("a stack in eu-west-1 with primaryRegion us-east-1: %v", r)
			}
		}()
		cfg := f.scheduledCfg
		app := awscdk.NewApp(nil)
		NewFailoverDrillStack(app, "Elsewhere", &FailoverDrillStackProps{Config: &cfg, Functions: f.builder,
			StackProps: awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String("eu-west-1"), Account: jsii.String("123456789012")}}})
	})
}

// A redeploy takes over the ledger a destroyed deployment retained: no new bucket, and
// every grant names that bucket.
func TestLedgerTakeover(t *testing.T) {
	f := fixture(t)
	if n := len(resources(f.takeoverT, "AWS::S3::Bucket")); n != 0 {
		t.Errorf("takeover stack creates %d buckets, want none", n)
	}
	ledgerARN := "arn:${AWS::Partition}:s3:::" + testLedger
	var named int
	for _, sts := range roleStatements(f.takeoverT) {
		for _, st := range sts {
			for _, r := range st.resources {
				if strings.Contains(r, "Ledger") {
					t.Errorf("statement %s names %s, not the taken-over ledger", st.sid, r)
				}
				if strings.HasPrefix(r, ledgerARN) {
					named++
				}
			}
		}
	}
	if named == 0 {
		t.Error("no grant names the taken-over ledger")
	}
	outputs, _ := f.takeoverT["Outputs"].(map[string]any)
	if v := render(outputs["LedgerBucketName"].(map[string]any)["Value"]); v != testLedger {
		t.Errorf("LedgerBucketName %s, want %s", v, testLedger)
	}
}

// The CI role: trusted by GitHub's OIDC provider for the repository's workflow on its
// ref only (aud and sub), for a session that covers drill start --wait's longest wait,
// and granted exactly the commands the workflow runs, from internal/policy. With no
// provider named, the stack creates GitHub's; with one, it uses it.
func TestCIRole(t *testing.T) {
	f := fixture(t)
	if n := len(resources(f.plainT, "AWS::IAM::OIDCProvider")); n != 0 || strings.Contains(render(f.plainT), "githubusercontent") {
		t.Errorf("default stack (no githubRepository) has a CI role or provider")
	}
	if CISessionDuration < CIWaitLimit+15*time.Minute {
		t.Errorf("session %v does not cover the wait %v and the report after it", CISessionDuration, CIWaitLimit)
	}
	// The example workflow asks for exactly the role's session.
	wf, err := os.ReadFile(filepath.Join(repoRoot, "examples", "github-actions", "drill.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("role-duration-seconds: %d\n", int(CISessionDuration.Seconds())); !strings.Contains(string(wf), want) {
		t.Errorf("examples/github-actions/drill.yml does not ask for %s", want)
	}
	for name, c := range map[string]struct {
		stack    awscdk.Stack
		tmpl     map[string]any
		provider string
	}{
		"takeover":  {f.takeover, f.takeoverT, "${" + "GitHubOIDCProvider.Arn}"},
		"scheduled": {f.scheduled, f.scheduledT, testOIDCProvider},
	} {
		providers := resources(c.tmpl, "AWS::IAM::OIDCProvider")
		if name == "takeover" {
			p := props(providers["GitHubOIDCProvider"])
			if len(providers) != 1 || p["Url"] != "https://token.actions.githubusercontent.com" || renderDeep(p["ClientIdList"]) != `["sts.amazonaws.com"]` {
				t.Errorf("%s: providers %v, want GitHub's for sts.amazonaws.com", name, render(providers))
			}
		} else if len(providers) != 0 {
			t.Errorf("%s: the stack creates a provider though githubOidcProviderArn names one", name)
		}
		roleID := logicalID(t, c.stack, "CIRole")
		role := props(resources(c.tmpl, "AWS::IAM::Role")[roleID])
		trust := policyStatements(role["AssumeRolePolicyDocument"])
		want := `{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:` + testRepo + `:ref:refs/heads/main"}}`
		if len(trust) != 1 || renderDeep(trust[0]["Condition"]) != want || renderDeep(trust[0]["Principal"]) != `{"Federated":"`+c.provider+`"}` ||
			render(trust[0]["Action"]) != "sts:AssumeRoleWithWebIdentity" {
			t.Errorf("%s: CI role trust %v, want %s for %s", name, render(trust), want, c.provider)
		}
		if role["MaxSessionDuration"] != CISessionDuration.Seconds() {
			t.Errorf("%s: MaxSessionDuration %v, want %v", name, role["MaxSessionDuration"], CISessionDuration.Seconds())
		}
		var got []policy.Statement
		for _, st := range roleStatements(c.tmpl)[roleID] {
			got = append(got, policy.Statement{Sid: st.sid, Actions: st.actions, Resources: st.resources})
		}
		values := templatePolicyValues(t, c.stack, c.tmpl)
		var wantSts []policy.Statement
		for _, cmd := range CICommands {
			wantSts = append(wantSts, policy.CommandFor(cmd, values)...)
		}
		if g, w := policy.Grants(got), policy.Grants(wantSts); !slices.Equal(g, w) {
			t.Errorf("%s: CI role grants\n %v\nwant (internal/policy.Commands %v)\n %v", name, g, CICommands, w)
		}
	}
}

// templatePolicyValues are internal/policy's placeholders as the template renders
// them.
func templatePolicyValues(t *testing.T, stack awscdk.Stack, tmpl map[string]any) policy.Values {
	t.Helper()
	smID, _ := stateMachine(t, tmpl)
	ledger := "arn:${AWS::Partition}:s3:::" + testLedger
	if b := resources(tmpl, "AWS::S3::Bucket"); len(b) == 1 {
		ledger = "${" + slices.Collect(maps.Keys(b))[0] + ".Arn}"
	}
	return policy.Values{
		TargetBucketArn: "arn:${AWS::Partition}:s3:::" + testBucket,
		LedgerArn:       ledger,
		Executions:      "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${" + smID + ".Name}",
		StateMachineArn: "${" + smID + "}",
		DistributionArn: "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/" + testDistID,
	}
}

// The dashboard for the person on call: every alarm's state, executions by status,
// the DLQ, the sweeper's findings, next to the drill figures.
func TestDashboardForOnCall(t *testing.T) {
	f := fixture(t)
	for name, c := range map[string]struct {
		stack awscdk.Stack
		tmpl  map[string]any
	}{"default": {f.plain, f.plainT}, "scheduled": {f.scheduled, f.scheduledT}} {
		dash := render(props(resources(c.tmpl, "AWS::CloudWatch::Dashboard")[logicalID(t, c.stack, "Dashboard")])["DashboardBody"])
		for id := range resources(c.tmpl, "AWS::CloudWatch::Alarm") {
			if !strings.Contains(dash, id+".Arn") {
				t.Errorf("%s: the dashboard does not show alarm %s", name, id)
			}
		}
		for _, want := range []string{"ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted",
			"ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent", "SweeperLocks", "SweeperRestoredLocks", "SweeperStrandedLocks",
			"SweeperUncheckedLocks", "SweeperUnreadableLocks", "FailoverSeconds", "RecoverySeconds", "DryRunReady"} {
			if !strings.Contains(dash, want) {
				t.Errorf("%s: the dashboard lacks %s", name, want)
			}
		}
	}
}

// CIWaitLimit is drill start's --timeout default, read from the command's own help: the
// CI role's session is sized from it.
func TestCIWaitLimitIsDrillStartTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the build of cmd/drill")
	}
	bin := filepath.Join(t.TempDir(), "drill")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drill")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/drill: %v\n%s", err, out)
	}
	out, _ := exec.Command(bin, "start", "-h").CombinedOutput()
	m := regexp.MustCompile(`(?s)-timeout duration\n[^\n]*\(default ([0-9hms.]+)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("drill start -h shows no --timeout default:\n%s", out)
	}
	if d, err := time.ParseDuration(string(m[1])); err != nil || d != CIWaitLimit {
		t.Errorf("drill start --timeout defaults to %s, CIWaitLimit is %v: size the CI role's session from the real wait", m[1], CIWaitLimit)
	}
}
