package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/probe"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/sweeper"
	"github.com/unishop/failover-drill/statemachine"
)

const (
	testBucket       = "unicorn-ui-primary"
	testDistribution = "d111111abcdef8.cloudfront.net"
	testEmail        = "sre@example.com"
	testAlarmTopic   = "arn:aws:sns:us-east-1:123456789012:sre-pager"
	testSchedule     = "rate(7 days)"
	testDistID       = "E2QWRUHAPOMQZL"
	testAlarm        = "HighErrorRate"
	testReadiness    = "rate(1 hour)"
)

const (
	testLedger       = "failoverdrill-ledger1234abcd-0123456789ab" // an earlier deployment's ledger
	testRepo         = "unishop/unicorn-shop"
	testOIDCProvider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
)

// One jsii runtime and one app for the whole package: each jsii start costs seconds
// and hundreds of MB. Tests that need it call fixture(t); config tests never start it.
var (
	fxOnce    sync.Once
	fx        *fixtures
	fxErr     error
	jsiiUsed  bool
	tmpRoot   string
	repoRoot  string
	stubbedFn []string // functions missing from the tree, stubbed for these tests only
)

type fixtures struct {
	app                awscdk.App
	plain, scheduled   awscdk.Stack
	plainT, scheduledT map[string]any // template JSON
	plainNag, schedNag []string       // cdk-nag errors and warnings
	// takeover takes over an earlier deployment's ledger and creates the CI role with
	// GitHub's OIDC provider.
	takeover    awscdk.Stack
	takeoverT   map[string]any
	takeoverNag []string
	synthTime   time.Duration
	// What the scheduled stack was built from, to build it again (TestTemplateDoesNotDependOnTheDay).
	appCtx       map[string]any
	scheduledCfg Config
	builder      FunctionBuilder
}

const silenceNodeEOL = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"

func TestMain(m *testing.M) {
	// jsii prepares its Node process, environment included, while the CDK packages
	// initialize (RegisterClass), before TestMain runs: os.Setenv here would be too late
	// to silence the Node 20 end-of-life banner. Re-exec the test binary once with it set.
	if os.Getenv(silenceNodeEOL) == "" && runtime.GOOS != "windows" {
		if exe, err := os.Executable(); err == nil {
			_ = syscall.Exec(exe, os.Args, append(os.Environ(), silenceNodeEOL+"=20"))
			// Exec returns only on failure: carry on, with the banner.
		}
	}
	code := func() int {
		var err error
		if tmpRoot, err = os.MkdirTemp("", "infra-test-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmpRoot)
		wd, _ := os.Getwd()
		if repoRoot, err = findModuleRoot(wd); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() {
			if jsiiUsed {
				jsii.Close()
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// stubBuilder stands in for the functions' builds, so a test synthesises the stack
// without compiling seven Go programs: a placeholder bootstrap in the
// test's temp dir. Nothing is created in the source tree.
type stubBuilder struct{ dir string }

func (s stubBuilder) AssetDir(name string) (string, error) {
	d := filepath.Join(s.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, os.WriteFile(filepath.Join(d, "bootstrap"), []byte("stub "+name), 0o755)
}

func missingFunctions() []string {
	var missing []string
	for _, n := range FunctionNames() {
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", n, "main.go")); err != nil {
			missing = append(missing, n)
		}
	}
	return missing
}

func fixture(t *testing.T) *fixtures {
	t.Helper()
	fxOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				fxErr = fmt.Errorf("building the test app panicked: %v", r)
			}
		}()
		jsiiUsed = true
		var builder FunctionBuilder
		if stubbedFn = missingFunctions(); len(stubbedFn) > 0 {
			builder = stubBuilder{dir: filepath.Join(tmpRoot, "stub")}
		} else {
			builder = &GoBuilder{RepoRoot: repoRoot, OutDir: filepath.Join(tmpRoot, "build")}
		}

		// The CLI passes cdk.json's context to the app; so does the test.
		appCtx := map[string]any{}
		raw, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
		if err != nil {
			fxErr = err
			return
		}
		var cdkJSON struct {
			Context map[string]any `json:"context"`
		}
		if err := json.Unmarshal(raw, &cdkJSON); err != nil {
			fxErr = fmt.Errorf("cdk.json: %w", err)
			return
		}
		for k, v := range cdkJSON.Context {
			appCtx[k] = v
		}
		appCtx[CtxPrimaryBucket] = testBucket
		appCtx[CtxDistributionDomain] = testDistribution
		appCtx[CtxDistributionID] = testDistID
		// Someone must be told when an alarm fires: the default stack names the team's
		// topic, the variant subscribes an email as well.
		appCtx[CtxAlarmTopicArn] = testAlarmTopic

		f := &fixtures{}
		f.app = awscdk.NewApp(&awscdk.AppProps{Context: &appCtx, Outdir: jsii.String(filepath.Join(tmpRoot, "cdk.out"))})
		// Default stack: configuration read from the app's context, as main.go does.
		f.plain = NewFailoverDrillStack(f.app, "FailoverDrill", &FailoverDrillStackProps{Functions: builder})
		// Variant: a schedule, an email subscription (beside the team's topic), and readiness configured: the
		// distribution's ID, a stop alarm and continuous readiness.
		cfg, err := ConfigFromContext(func(k string) any {
			switch k {
			case CtxSchedule:
				return testSchedule
			case CtxNotifyEmail:
				return testEmail
			case CtxDistributionID:
				return testDistID
			case CtxStopAlarms:
				return testAlarm
			case CtxReadinessSchedule:
				return testReadiness
			case CtxFailoverTargetSeconds:
				return "45"
			case CtxGitHubRepository:
				return testRepo
			case CtxGitHubOIDCProviderArn:
				return testOIDCProvider
			case CtxGlobalCluster:
				return testGlobalCluster
			case CtxPrimaryCluster:
				return testPrimaryCluster
			case CtxSecondaryCluster:
				return testSecondaryCluster
			}
			return appCtx[k]
		})
		if err != nil {
			fxErr = err
			return
		}
		f.scheduled = NewFailoverDrillStack(f.app, "FailoverDrillScheduled", &FailoverDrillStackProps{Config: &cfg, Functions: builder})
		takeoverCfg, err := ConfigFromContext(func(k string) any {
			switch k {
			case CtxLedgerBucket:
				return testLedger
			case CtxGitHubRepository:
				return testRepo
			}
			return appCtx[k]
		})
		if err != nil {
			fxErr = err
			return
		}
		f.takeover = NewFailoverDrillStack(f.app, "FailoverDrillTakeover", &FailoverDrillStackProps{Config: &takeoverCfg, Functions: builder})
		awscdk.Aspects_Of(f.app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		f.appCtx, f.scheduledCfg, f.builder = appCtx, cfg, builder

		start := time.Now()
		f.plainT = *assertions.Template_FromStack(f.plain, nil).ToJSON()
		f.scheduledT = *assertions.Template_FromStack(f.scheduled, nil).ToJSON()
		f.takeoverT = *assertions.Template_FromStack(f.takeover, nil).ToJSON()
		f.synthTime = time.Since(start)
		f.plainNag = nagFindings(f.plain)
		f.schedNag = nagFindings(f.scheduled)
		f.takeoverNag = nagFindings(f.takeover)
		fx = f
	})
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	if len(stubbedFn) > 0 {
		t.Logf("functions %v are not in the tree yet: stubbed for this test run only", stubbedFn)
	}
	return fx
}

// nagFindings are the cdk-nag AwsSolutions errors and warnings on stack.
func nagFindings(stack awscdk.Stack) []string {
	a := assertions.Annotations_FromStack(stack)
	var out []string
	re := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	// Annotations returns only cxapi.SynthesisMessage, whose fields the Go binding marks
	// deprecated with no replacement to read them through.
	for _, m := range *a.FindError(jsii.String("*"), re) {
		//lint:ignore SA1019 the only type Annotations.FindError returns
		out = append(out, fmt.Sprintf("ERROR %s: %v", *m.Id, m.Entry.Data))
	}
	for _, m := range *a.FindWarning(jsii.String("*"), re) {
		//lint:ignore SA1019 the only type Annotations.FindWarning returns
		out = append(out, fmt.Sprintf("WARNING %s: %v", *m.Id, m.Entry.Data))
	}
	return out
}

// cdkAssert runs a CDK assertion, which panics on failure, and turns the panic into t.Fatal.
func cdkAssert(t *testing.T, assertion func()) {
	t.Helper()
	var msg any
	func() {
		defer func() { msg = recover() }()
		assertion()
	}()
	if msg != nil {
		t.Fatalf("CDK assertion failed: %v", msg)
	}
}

// ---- template helpers (plain Go over the template JSON) ----

func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// render flattens intrinsics into a readable string: {"Ref":"X"} -> ${X},
// {"Fn::GetAtt":["X","Arn"]} -> ${X.Arn}, Fn::Join -> the joined parts.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if ref, ok := v["Ref"]; ok {
			return "${" + ref.(string) + "}"
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok {
			return "${" + ga[0].(string) + "." + ga[1].(string) + "}"
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, render(p))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func logicalID(t *testing.T, stack awscdk.Stack, path ...string) string {
	t.Helper()
	node := stack.Node()
	for _, p := range path {
		c := node.TryFindChild(jsii.String(p))
		if c == nil {
			t.Fatalf("no construct %v in %s", path, *stack.StackName())
		}
		node = c.Node()
	}
	cfn, ok := node.DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%v has no CloudFormation resource", path)
	}
	return *stack.GetLogicalId(cfn)
}

// statement is an IAM policy statement, rendered.
type statement struct {
	role, sid string
	actions   []string
	resources []string
}

// roleStatements returns every statement of every AWS::IAM::Policy, by role logical ID.
func roleStatements(tmpl map[string]any) map[string][]statement {
	out := map[string][]statement{}
	for _, pol := range resources(tmpl, "AWS::IAM::Policy") {
		p := props(pol)
		doc := p["PolicyDocument"].(map[string]any)
		for _, role := range list(p["Roles"]) {
			roleID := role.(map[string]any)["Ref"].(string)
			for _, s := range list(doc["Statement"]) {
				sm := s.(map[string]any)
				st := statement{role: roleID}
				st.sid, _ = sm["Sid"].(string)
				for _, a := range list(sm["Action"]) {
					st.actions = append(st.actions, a.(string))
				}
				for _, r := range list(sm["Resource"]) {
					st.resources = append(st.resources, render(r))
				}
				out[roleID] = append(out[roleID], st)
			}
		}
	}
	return out
}

// ---- tests ----

func TestSynthTime(t *testing.T) {
	f := fixture(t)
	t.Logf("two stacks, cdk-nag included: synthesized in %v", f.synthTime.Round(time.Millisecond))
}

func TestFunctionsAreGoOnGraviton(t *testing.T) {
	f := fixture(t)
	fns := resources(f.plainT, "AWS::Lambda::Function")
	if len(fns) != 8 {
		t.Fatalf("%d Lambda functions, want 8 (seven of the flow and the sweeper)", len(fns))
	}
	// Without globalCluster context no role may call RDS: the database stage is off.
	if tpl, _ := json.Marshal(f.plainT); strings.Contains(string(tpl), `"rds:`) {
		t.Error("the template grants an RDS action without globalCluster context")
	}
	logGroups := resources(f.plainT, "AWS::Logs::LogGroup")
	wantTimeout := map[string]float64{
		drill.FuncProbe: 900, drill.FuncSeedCart: 120, drill.FuncBlock: 60, drill.FuncRestore: 180, drill.FuncReport: 60, drill.FuncSweeper: 120,
		drill.FuncReadiness: 360, drill.FuncDatabase: 900,
	}
	ledgerID := logicalID(t, f.plain, "Ledger")
	wantEnv := map[string]map[string]string{
		drill.FuncProbe:    {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncSeedCart: {},
		drill.FuncBlock:    {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncReport:   {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncRestore:  {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		// No stopAlarms in the default stack's context: an empty list.
		drill.FuncReadiness: {drill.EnvStopAlarms: "[]"},
		drill.FuncSweeper:   {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncDatabase:  {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
	}
	for _, spec := range functionSpecs {
		t.Run(spec.name, func(t *testing.T) {
			id := logicalID(t, f.plain, spec.id)
			fn, ok := fns[id]
			if !ok {
				t.Fatalf("function %s (%s) not in the template", spec.name, id)
			}
			p := props(fn)
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || render(p["Architectures"]) != "[arm64]" {
				t.Errorf("runtime %v handler %v architectures %v, want provided.al2023, bootstrap, [arm64]",
					p["Runtime"], p["Handler"], p["Architectures"])
			}
			if p["Timeout"] != wantTimeout[spec.name] {
				t.Errorf("timeout %v, want %v", p["Timeout"], wantTimeout[spec.name])
			}
			if render(p["TracingConfig"]) != `{"Mode":"Active"}` {
				t.Errorf("tracing %v, want Active", render(p["TracingConfig"]))
			}
			lc, _ := p["LoggingConfig"].(map[string]any)
			lg, _ := lc["LogGroup"].(map[string]any)
			lgID, _ := lg["Ref"].(string)
			if logGroup, ok := logGroups[lgID]; !ok || props(logGroup)["RetentionInDays"] == nil {
				t.Errorf("log group %v: want an explicit log group with retention", render(lc["LogGroup"]))
			}
			got := map[string]string{}
			if env, ok := p["Environment"].(map[string]any); ok {
				for k, v := range env["Variables"].(map[string]any) {
					got[k] = render(v)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(wantEnv[spec.name]) {
				t.Errorf("environment %v, want %v", got, wantEnv[spec.name])
			}
		})
	}
	cdkAssert(t, func() {
		assertions.Template_FromJSON(&f.plainT, nil).ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"),
			map[string]any{"Runtime": "provided.al2023", "Architectures": []string{"arm64"}, "Handler": "bootstrap"},
			jsii.Number(8))
	})
}

func stateMachine(t *testing.T, tmpl map[string]any) (string, map[string]any) {
	t.Helper()
	sms := resources(tmpl, "AWS::StepFunctions::StateMachine")
	if len(sms) != 1 {
		t.Fatalf("%d state machines, want 1", len(sms))
	}
	for id, sm := range sms {
		return id, props(sm)
	}
	return "", nil
}

func TestStateMachineDefinitionIsInlineAndComplete(t *testing.T) {
	f := fixture(t)
	_, p := stateMachine(t, f.plainT)
	if p["StateMachineType"] != "STANDARD" {
		t.Errorf("type %v, want STANDARD", p["StateMachineType"])
	}
	// The definition is the ASL file itself, inline.
	def, ok := p["DefinitionString"].(string)
	if !ok || def != statemachine.Definition {
		t.Fatalf("DefinitionString is not the embedded ASL file verbatim: %v", p["DefinitionString"])
	}
	subs, ok := p["DefinitionSubstitutions"].(map[string]any)
	if !ok {
		t.Fatalf("no DefinitionSubstitutions: %v", p["DefinitionSubstitutions"])
	}
	// The set of placeholders in the ASL equals the set of substitution keys.
	var keys []string
	for k := range subs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := slices.Clone(drill.Placeholders)
	sort.Strings(want)
	if got := Placeholders(def); !slices.Equal(got, want) || !slices.Equal(keys, want) {
		t.Errorf("ASL placeholders %v, substitution keys %v, drill.Placeholders %v: must be one set", got, keys, want)
	}
	// Every flow function's ARN is substituted, from that function.
	for _, spec := range functionSpecs {
		if spec.placeholder == "" {
			continue
		}
		got := render(subs[spec.placeholder])
		if want := "${" + logicalID(t, f.plain, spec.id) + ".Arn}"; got != want {
			t.Errorf("%s = %s, want %s", spec.placeholder, got, want)
		}
	}
	wantValues := map[string]string{"DistributionDomain": testDistribution, "PrimaryBucket": testBucket, "PrimaryRegion": "us-east-1", "SecondaryRegion": "us-west-1"}
	for k, v := range wantValues {
		if subs[k] != v {
			t.Errorf("%s = %v, want %s", k, subs[k], v)
		}
	}
	// Substituted the way CloudFormation will, the definition is JSON with the deployed
	// defaults in Configure and the ASL's execution timeout.
	rendered := regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`).ReplaceAllStringFunc(def, func(m string) string {
		k := m[2 : len(m)-1]
		if v, ok := subs[k].(string); ok {
			return v
		}
		return "arn:aws:lambda:us-east-1:123456789012:function:" + k
	})
	var asl map[string]any
	if err := json.Unmarshal([]byte(rendered), &asl); err != nil {
		t.Fatalf("substituted definition is not JSON: %v", err)
	}
	deployed := asl["States"].(map[string]any)["Configure"].(map[string]any)["Parameters"].(map[string]any)["deployed"].(map[string]any)
	// The limits become numbers at run time: States.StringToJson of the substituted digits.
	wantDeployed := map[string]any{"distribution": testDistribution, "primaryBucket": testBucket, "primaryRegion": "us-east-1", "secondaryRegion": "us-west-1",
		"stableSharePercent.$": "States.StringToJson('99')", "stableWindowSeconds.$": "States.StringToJson('5')",
		"maxErrorRatePercent.$": "States.StringToJson('1')", "maxErrorRunSeconds.$": "States.StringToJson('5')", "maxLatencyP95Ms.$": "States.StringToJson('3000')",
		"distributionId": testDistID, "maxReplicationLagSeconds.$": "States.StringToJson('30')", "globalCluster": "-"}
	if fmt.Sprint(deployed) != fmt.Sprint(wantDeployed) {
		t.Errorf("deployed defaults %v, want %v", deployed, wantDeployed)
	}
	worst, err := statemachine.WorstCase(def)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := asl["TimeoutSeconds"].(float64); got != 23540 || got < worst.Total.Seconds() {
		t.Errorf("execution timeout %v, want 23540 (>= the worst case %v)", asl["TimeoutSeconds"], worst.Total)
	}
}

func TestCheckSubstitutions(t *testing.T) {
	asl := `{"a":"${One}","b":"${Two}","c":"${One}","d":"$.x"}`
	if err := CheckSubstitutions(asl, map[string]string{"One": "1", "Two": "2"}); err != nil {
		t.Errorf("complete substitutions: %v", err)
	}
	if err := CheckSubstitutions(asl, map[string]string{"One": "1"}); err == nil || !strings.Contains(err.Error(), "Two") {
		t.Errorf("missing substitution: err = %v, want one naming Two", err)
	}
	if err := CheckSubstitutions(asl, map[string]string{"One": "1", "Two": "2", "Three": "3"}); err == nil || !strings.Contains(err.Error(), "Three") {
		t.Errorf("unused substitution: err = %v, want one naming Three", err)
	}
}

func TestStateMachineLoggingTracingAndRole(t *testing.T) {
	f := fixture(t)
	smID, p := stateMachine(t, f.plainT)
	lc := p["LoggingConfiguration"].(map[string]any)
	if lc["Level"] != "ALL" || lc["IncludeExecutionData"] != false {
		t.Errorf("logging %v, want level ALL without execution data", render(lc))
	}
	if render(p["TracingConfiguration"]) != `{"Enabled":true}` {
		t.Errorf("tracing %v, want enabled", render(p["TracingConfiguration"]))
	}
	roleID := p["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
	var invoked []string
	for _, st := range roleStatements(f.plainT)[roleID] {
		for _, a := range st.actions {
			if strings.HasPrefix(a, "lambda:") {
				if a != "lambda:InvokeFunction" {
					t.Errorf("state machine role has %s", a)
				}
				invoked = append(invoked, st.resources...)
			}
		}
	}
	var want []string
	for _, spec := range functionSpecs {
		if spec.placeholder != "" { // not the sweeper: the flow never calls it
			want = append(want, "${"+logicalID(t, f.plain, spec.id)+".Arn}")
		}
	}
	sort.Strings(invoked)
	sort.Strings(want)
	if !slices.Equal(invoked, want) {
		t.Errorf("state machine %s may invoke %v, want exactly %v", smID, invoked, want)
	}
}

// One declaration, two enforcers: every function role's statements in the template are
// exactly internal/policy's, the same statements the local replica enforces. Only the
// Lambda service's own use of restore's role (its async-invoke failure destination,
// the DLQ) and each role's logs and X-Ray are beyond the declaration.
func TestRolePoliciesAreThePolicySource(t *testing.T) {
	f := fixture(t)
	smID, _ := stateMachine(t, f.plainT)
	dlq := "${" + logicalID(t, f.plain, "DeliveryDLQ") + ".Arn}"
	values := policy.Values{
		TargetBucketArn: "arn:${AWS::Partition}:s3:::" + testBucket,
		LedgerArn:       "${" + logicalID(t, f.plain, "Ledger") + ".Arn}",
		Executions:      "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${" + smID + ".Name}",
		StateMachineArn: "${" + smID + "}",
		DistributionArn: "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/" + testDistID,
	}
	all := roleStatements(f.plainT)
	for _, spec := range functionSpecs {
		t.Run(spec.name, func(t *testing.T) {
			var got []string
			sids := map[string]bool{}
			for _, st := range all[logicalID(t, f.plain, spec.id+"Role")] {
				for _, a := range st.actions {
					if strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") {
						continue
					}
					for _, r := range st.resources {
						if strings.HasPrefix(a, "sqs:") && r == dlq && spec.name == drill.FuncRestore {
							continue // the async-invoke failure destination
						}
						got = append(got, a+" "+r)
					}
				}
				sids[st.sid] = true
			}
			sort.Strings(got)
			got = slices.Compact(got)
			want := policy.Grants(policy.For(spec.name, values))
			if !slices.Equal(got, want) {
				t.Errorf("granted\n  %s\nwant (internal/policy)\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, st := range policy.For(spec.name, values) {
				if !sids[st.Sid] {
					t.Errorf("statement %s not in the template", st.Sid)
				}
			}
		})
	}
	// And the facts the declaration stands for, against the template itself.
	targetARN := values.TargetBucketArn
	bucketControl := regexp.MustCompile(`^s3:(Get|Put|Delete)(Bucket)?PublicAccessBlock$`)
	var pabRoles []string
	for roleID, sts := range all {
		for _, st := range sts {
			for _, a := range st.actions {
				if bucketControl.MatchString(a) {
					if !slices.Equal(st.resources, []string{targetARN}) {
						t.Errorf("role %s: %s on %v, want only %s", roleID, a, st.resources, targetARN)
					}
					if !slices.Contains(pabRoles, roleID) {
						pabRoles = append(pabRoles, roleID)
					}
				}
				if strings.Contains(a, "*") {
					t.Errorf("role %s: wildcard action %s", roleID, a)
				}
			}
		}
	}
	sort.Strings(pabRoles)
	want := []string{logicalID(t, f.plain, "BlockBucketFunctionRole"), logicalID(t, f.plain, "RestoreFunctionRole"), logicalID(t, f.plain, "SweeperFunctionRole")}
	sort.Strings(want)
	if !slices.Equal(pabRoles, want) {
		t.Errorf("roles with public access block permissions: %v, want block-bucket, restore and the sweeper %v", pabRoles, want)
	}
}

func TestNoStarResourceExceptWhereAWSRequiresIt(t *testing.T) {
	f := fixture(t)
	// Actions without resource-level permissions (X-Ray, log delivery), and the drill's
	// own list, each with AWS's reason (internal/policy.StarOnly): an action without a
	// resource type, and cloudwatch:DescribeAlarms, which returns composite alarms only
	// when scoped to *.
	starOnly := regexp.MustCompile(`^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$`)
	for _, tmpl := range []map[string]any{f.plainT, f.scheduledT} {
		for roleID, sts := range roleStatements(tmpl) {
			for _, st := range sts {
				if !slices.Contains(st.resources, "*") {
					continue
				}
				for _, a := range st.actions {
					if !starOnly.MatchString(a) && policy.StarOnly[a] == "" {
						t.Errorf("role %s: %s on *", roleID, a)
					}
				}
			}
		}
	}
}

func TestLedgerBucket(t *testing.T) {
	f := fixture(t)
	id := logicalID(t, f.plain, "Ledger")
	b := resources(f.plainT, "AWS::S3::Bucket")[id]
	if b["DeletionPolicy"] != "Retain" || b["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("ledger deletion policy %v/%v, want Retain", b["DeletionPolicy"], b["UpdateReplacePolicy"])
	}
	p := props(b)
	if render(p["PublicAccessBlockConfiguration"]) != `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}` {
		t.Errorf("public access block %v", render(p["PublicAccessBlockConfiguration"]))
	}
	if render(p["VersioningConfiguration"]) != `{"Status":"Enabled"}` {
		t.Errorf("versioning %v", render(p["VersioningConfiguration"]))
	}
	if !strings.Contains(render(p["BucketEncryption"]), "AES256") {
		t.Errorf("encryption %v, want S3-managed", render(p["BucketEncryption"]))
	}
	var runsRule map[string]any
	for _, r := range p["LifecycleConfiguration"].(map[string]any)["Rules"].([]any) {
		if rr := r.(map[string]any); rr["Prefix"] == "runs/" {
			runsRule = rr
		}
	}
	if runsRule == nil || runsRule["ExpirationInDays"] != float64(90) || runsRule["Status"] != "Enabled" ||
		render(runsRule["NoncurrentVersionExpiration"]) != `{"NoncurrentDays":90}` {
		t.Errorf("runs/ lifecycle rule %v, want expiry after 90 days (cdk.json default), noncurrent too", render(runsRule))
	}
	// enforceSSL: the bucket policy denies aws:SecureTransport=false.
	cdkAssert(t, func() {
		assertions.Template_FromJSON(&f.plainT, nil).HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"Bucket": map[string]any{"Ref": id},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})},
		})
	})
}

func TestSafetyNet(t *testing.T) {
	f := fixture(t)
	smID, _ := stateMachine(t, f.plainT)
	id := logicalID(t, f.plain, "SafetyNet")
	p := props(resources(f.plainT, "AWS::Events::Rule")[id])
	wantPattern := fmt.Sprintf(`{"detail":{"stateMachineArn":[{"Ref":%q}],"status":["SUCCEEDED","FAILED","TIMED_OUT","ABORTED"]},"detail-type":["Step Functions Execution Status Change"],"source":["aws.states"]}`, smID)
	if got, _ := json.Marshal(p["EventPattern"]); string(got) != wantPattern {
		t.Errorf("pattern\n %s\nwant\n %s", got, wantPattern)
	}
	targets := p["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("%d targets, want 1", len(targets))
	}
	tg := targets[0].(map[string]any)
	if render(tg["Arn"]) != "${"+logicalID(t, f.plain, "RestoreFunction")+".Arn}" {
		t.Errorf("target %v, want the restore function", render(tg["Arn"]))
	}
	it := tg["InputTransformer"].(map[string]any)
	var paths map[string]any = it["InputPathsMap"].(map[string]any)
	tmpl := it["InputTemplate"].(string)
	for name, path := range paths {
		tmpl = strings.ReplaceAll(tmpl, "<"+name+">", `"`+path.(string)+`"`)
	}
	if tmpl != `{"execution":"$.detail.name","executionArn":"$.detail.executionArn","reason":"safety-net","startTime":"$.detail.startDate","status":"$.detail.status"}` {
		t.Errorf("input %s, want the execution's name, ARN, start and status from the event, and reason safety-net", tmpl)
	}
	if r, _ := tg["RetryPolicy"].(map[string]any); r == nil || r["MaximumRetryAttempts"].(float64) < 1 {
		t.Errorf("retry policy %v, want retries", render(tg["RetryPolicy"]))
	}
	dlqID := logicalID(t, f.plain, "DeliveryDLQ")
	if render(tg["DeadLetterConfig"]) != `{"Arn":${`+dlqID+`.Arn}}` && render(tg["DeadLetterConfig"].(map[string]any)["Arn"]) != "${"+dlqID+".Arn}" {
		t.Errorf("dead-letter config %v, want the DLQ", render(tg["DeadLetterConfig"]))
	}
	q := props(resources(f.plainT, "AWS::SQS::Queue")[dlqID])
	if q["SqsManagedSseEnabled"] != true {
		t.Errorf("DLQ encryption %v, want SSE", render(q))
	}
	cdkAssert(t, func() {
		assertions.Template_FromJSON(&f.plainT, nil).HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})},
		})
	})
}

// schedules are the template's schedules that start the state machine (the drill's).
func drillSchedules(t *testing.T, tmpl map[string]any) map[string]map[string]any {
	t.Helper()
	smID, _ := stateMachine(t, tmpl)
	out := map[string]map[string]any{}
	for id, s := range resources(tmpl, "AWS::Scheduler::Schedule") {
		tg := props(s)["Target"].(map[string]any)
		if render(tg["Arn"]) == "${"+smID+"}" && !strings.Contains(render(tg["Input"]), "dryRun") { // not the readiness schedule
			out[id] = s
		}
	}
	return out
}

func TestScheduleOnlyWhenConfigured(t *testing.T) {
	f := fixture(t)
	if n := len(drillSchedules(t, f.plainT)); n != 0 {
		t.Errorf("default stack has %d drill schedules, want none", n)
	}
	scheds := drillSchedules(t, f.scheduledT)
	if len(scheds) != 1 {
		t.Fatalf("scheduled stack has %d drill schedules, want 1", len(scheds))
	}
	delete(scheds, logicalID(t, f.scheduled, "ReadinessSchedule")) // TestContinuousReadiness
	smID, _ := stateMachine(t, f.scheduledT)
	dlq := "${" + logicalID(t, f.scheduled, "DeliveryDLQ") + ".Arn}"
	for _, s := range scheds {
		p := props(s)
		tg := p["Target"].(map[string]any)
		// Not at deploy time: rate(7 days) without a start date would start at once;
		// the cron on its grid fires only on Mondays at 00:00 UTC, and no start date
		// ties the template to the day of synth.
		if p["ScheduleExpression"] != "cron(0 0 ? * MON *)" || p["ScheduleExpressionTimezone"] != "Etc/UTC" || tg["Input"] != "{}" {
			t.Errorf("schedule %v, want %s as cron(0 0 ? * MON *) UTC starting the state machine with {}", render(p), testSchedule)
		}
		if p["StartDate"] != nil || p["EndDate"] != nil {
			t.Errorf("schedule has a start or end date: %v %v", p["StartDate"], p["EndDate"])
		}
		// Scheduler's default would keep retrying for 24 hours: a drill started hours
		// late is not wanted.
		if render(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":900,"MaximumRetryAttempts":3}` || render(tg["DeadLetterConfig"].(map[string]any)["Arn"]) != dlq {
			t.Errorf("retry %v, dead letters %v: want retries and the DLQ", render(tg["RetryPolicy"]), render(tg["DeadLetterConfig"]))
		}
		roleID := tg["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		dlq := "${" + logicalID(t, f.scheduled, "DeliveryDLQ") + ".Arn}"
		for _, st := range roleStatements(f.scheduledT)[roleID] {
			switch {
			case slices.Equal(st.actions, []string{"states:StartExecution"}) && slices.Equal(st.resources, []string{"${" + smID + "}"}):
			case slices.Equal(st.actions, []string{"sqs:SendMessage"}) && slices.Equal(st.resources, []string{dlq}):
			default:
				t.Errorf("schedule role may %v on %v, want only states:StartExecution on this state machine and the DLQ", st.actions, st.resources)
			}
		}
	}
}

// Every accepted rate becomes the cron on its grid (multiples of the interval from
// Monday 00:00 UTC), moved by the offset; a cron stays as written; a rate with no such
// grid is refused, naming what to use instead.
func TestSchedulerExpression(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		offset time.Duration
		want   string
	}{
		{"rate(1 hour)", 0, "cron(0 * * * ? *)"},
		{"rate(60 minutes)", 0, "cron(0 * * * ? *)"},
		{"rate(2 hours)", 0, "cron(0 0/2 * * ? *)"},
		{"rate(12 hours)", 0, "cron(0 0/12 * * ? *)"},
		{"rate(1 day)", 0, "cron(0 0 * * ? *)"},
		{"rate(24 hours)", 0, "cron(0 0 * * ? *)"},
		{"rate(7 days)", 0, "cron(0 0 ? * MON *)"},
		{"rate(1 hour)", ReadinessOffset, "cron(30 * * * ? *)"},
		{"rate(6 hours)", ReadinessOffset, "cron(30 0/6 * * ? *)"},
		{"rate(1 day)", ReadinessOffset, "cron(30 0 * * ? *)"},
		{"rate(7 days)", ReadinessOffset, "cron(30 0 ? * MON *)"},
		{"cron(0 6 ? * MON *)", ReadinessOffset, "cron(0 6 ? * MON *)"},
	} {
		got, err := SchedulerExpression(tc.expr, tc.offset)
		if err != nil || got != tc.want {
			t.Errorf("SchedulerExpression(%s, %v) = %q, %v; want %q", tc.expr, tc.offset, got, err, tc.want)
		}
	}
	for _, expr := range []string{"rate(5 hours)", "rate(90 minutes)", "rate(2 days)", "rate(14 days)"} {
		if _, err := SchedulerExpression(expr, 0); err == nil || !strings.Contains(err.Error(), "use a cron") {
			t.Errorf("SchedulerExpression(%s): %v, want a refusal naming cron", expr, err)
		}
		_, err := ConfigFromContext(func(k string) any {
			return map[string]any{CtxPrimaryBucket: testBucket, CtxDistributionDomain: testDistribution, CtxDistributionID: testDistID,
				CtxNotifyEmail: testEmail, CtxSchedule: expr}[k]
		})
		if err == nil || !strings.Contains(err.Error(), CtxSchedule+": ") {
			t.Errorf("schedule %s: synth accepted it (%v)", expr, err)
		}
	}
}

// The weekly drill (Mondays 00:00 UTC) and hourly dry runs no longer start in the same
// minute: over a year of runs, the closest a dry run comes to a drill is the offset,
// and rate pairs whose grids would meet anyway are refused at synth.
func TestDrillAndDryRunGridsKeepApart(t *testing.T) {
	// Every accepted rate fires on the hour; moved by the offset, the dry runs fire at
	// half past, ReadinessOffset from any drill.
	for _, rate := range []string{"rate(1 hour)", "rate(3 hours)", "rate(1 day)", "rate(7 days)"} {
		drillCron, _ := SchedulerExpression(rate, 0)
		dryCron, _ := SchedulerExpression(rate, ReadinessOffset)
		if !strings.HasPrefix(drillCron, "cron(0 ") || !strings.HasPrefix(dryCron, "cron(30 ") {
			t.Errorf("%s: drills %s, dry runs %s: want minute 0 and minute 30", rate, drillCron, dryCron)
		}
	}
	for _, tc := range []struct {
		drill, readiness string
		collide          bool
	}{
		{"rate(7 days)", "rate(1 hour)", false},
		{"rate(1 day)", "rate(90 minutes)", false},     // gcd 90 min: 30 min apart
		{"rate(90 minutes)", "rate(1 hour)", true},     // gcd 30 min: the offset lands on the drills' grid
		{"rate(7 days)", "rate(100 minutes)", true},    // gcd 20 min: 10 min apart
		{"cron(0 6 ? * MON *)", "rate(1 hour)", false}, // a cron is the user's choice (README)
	} {
		if got, closest := gridsCollide(tc.drill, tc.readiness); got != tc.collide {
			t.Errorf("gridsCollide(%s, %s) = %v (%v), want %v", tc.drill, tc.readiness, got, closest, tc.collide)
		}
	}
}

// The sweeper is always deployed (not tied to the drill's schedule) and runs every 5
// minutes, retried, into the DLQ; only a failed sweep's next sweep retries it.
func TestSweeperAlwaysRuns(t *testing.T) {
	f := fixture(t)
	for name, tmpl := range map[string]map[string]any{"default": f.plainT, "scheduled": f.scheduledT} {
		stack := f.plain
		if name == "scheduled" {
			stack = f.scheduled
		}
		fnID := logicalID(t, stack, "SweeperFunction")
		var found int
		for _, s := range resources(tmpl, "AWS::Scheduler::Schedule") {
			p := props(s)
			tg := p["Target"].(map[string]any)
			if render(tg["Arn"]) != "${"+fnID+".Arn}" {
				continue
			}
			found++
			if p["ScheduleExpression"] != "rate(5 minutes)" || render(p["FlexibleTimeWindow"]) != `{"Mode":"OFF"}` || p["State"] == "DISABLED" {
				t.Errorf("%s: sweeper schedule %v", name, render(p))
			}
			if render(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":300,"MaximumRetryAttempts":3}` || tg["DeadLetterConfig"] == nil {
				t.Errorf("%s: sweeper target retry %v DLQ %v", name, render(tg["RetryPolicy"]), render(tg["DeadLetterConfig"]))
			}
		}
		if found != 1 {
			t.Errorf("%s stack: %d sweeper schedules, want 1", name, found)
		}
		for _, c := range resources(tmpl, "AWS::Lambda::EventInvokeConfig") {
			p := props(c)
			if render(p["FunctionName"]) == "${"+fnID+"}" && p["MaximumRetryAttempts"] != float64(0) {
				t.Errorf("%s: sweeper async retries %v, want 0 (the next sweep is the retry)", name, p["MaximumRetryAttempts"])
			}
		}
	}
	if SweeperTimeout >= sweeper.Interval {
		t.Errorf("sweeper timeout %v must stay under its interval %v", SweeperTimeout, sweeper.Interval)
	}
}

// Every way an execution can end badly, restore failures and the sweeper's findings
// each have an alarm on the topic.
func TestAlarms(t *testing.T) {
	f := fixture(t)
	topicID := logicalID(t, f.plain, "Notifications")
	smID, _ := stateMachine(t, f.plainT)
	sweeperID := logicalID(t, f.plain, "SweeperFunction")
	alarms := resources(f.plainT, "AWS::CloudWatch::Alarm")
	for _, tc := range []struct {
		id, namespace, metric, dimension, op string
		missing                              string
	}{
		{"ExecutionsTimedOut", "AWS/States", "ExecutionsTimedOut", `{"Ref":"` + smID + `"}`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"ExecutionsAborted", "AWS/States", "ExecutionsAborted", `{"Ref":"` + smID + `"}`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"RestoreFailed", "FailoverDrill", "RestoreFailed", `"` + testBucket + `"`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"PrimaryNotServingAfterDrill", "FailoverDrill", "PrimaryNotServingAfterDrill", `"` + testBucket + `"`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"SweeperRestoredLock", "FailoverDrill", "SweeperRestoredLocks", `"sweeper"`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"SweeperFoundUnreadableLock", "FailoverDrill", "SweeperUnreadableLocks", `"sweeper"`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"SweeperFailing", "AWS/Lambda", "Errors", `{"Ref":"` + sweeperID + `"}`, "GreaterThanOrEqualToThreshold", "notBreaching"},
		{"SweeperNotRunning", "AWS/Lambda", "Invocations", `{"Ref":"` + sweeperID + `"}`, "LessThanThreshold", "breaching"},
		{"UndeliveredEvents", "AWS/SQS", "NumberOfMessagesSent", "", "GreaterThanOrEqualToThreshold", "notBreaching"},
	} {
		a, ok := alarms[logicalID(t, f.plain, tc.id)]
		if !ok {
			t.Errorf("no alarm %s", tc.id)
			continue
		}
		p := props(a)
		dims, _ := json.Marshal(p["Dimensions"])
		if p["Namespace"] != tc.namespace || p["MetricName"] != tc.metric || !strings.Contains(string(dims), tc.dimension) ||
			p["ComparisonOperator"] != tc.op || p["Threshold"] != float64(1) || p["TreatMissingData"] != tc.missing ||
			render(p["AlarmActions"]) != "[${"+topicID+"},"+testAlarmTopic+"]" {
			t.Errorf("alarm %s: %v; want it on the drill's topic and the team's", tc.id, render(p))
		}
	}
	// Every alarm says when it is over, on the same topics.
	for id, a := range alarms {
		if p := props(a); render(p["OKActions"]) != render(p["AlarmActions"]) {
			t.Errorf("alarm %s: OK actions %v, want %v", id, render(p["OKActions"]), render(p["AlarmActions"]))
		}
	}
	// One failed sweep is retried by the next; two in a row page.
	if p := props(alarms[logicalID(t, f.plain, "SweeperFailing")]); p["EvaluationPeriods"] != float64(2) || p["DatapointsToAlarm"] != float64(2) || p["Period"] != float64(300) {
		t.Errorf("SweeperFailing %v, want 2 of 2 five-minute periods", render(p))
	}
	// Messages sent in the last minute, not messages waiting: the next undelivered
	// event pages again after a quiet minute, however many still wait.
	if p := props(alarms[logicalID(t, f.plain, "UndeliveredEvents")]); p["Period"] != float64(60) || p["Statistic"] != "Sum" {
		t.Errorf("UndeliveredEvents %v, want the sum of messages sent per minute", render(p))
	}
	// A run stopped not ready raises NotReady only: ExecutionsFailed counts failed
	// executions less the ReadinessNotReady rule's matches.
	failed, _ := json.Marshal(props(alarms[logicalID(t, f.plain, "ExecutionsFailed")])["Metrics"])
	ruleID := logicalID(t, f.plain, "ReadinessNotReady")
	for _, want := range []string{`"Expression":"FILL(failed, 0) - FILL(notready, 0)"`, `"MetricName":"ExecutionsFailed"`, `"Namespace":"AWS/States"`,
		`"MetricName":"TriggeredRules"`, `{"Name":"RuleName","Value":{"Ref":"` + ruleID + `"}}`} {
		if !strings.Contains(string(failed), want) {
			t.Errorf("ExecutionsFailed metrics %s lack %s", failed, want)
		}
	}
	stranded := props(alarms[logicalID(t, f.plain, "SweeperFoundStrandedLock")])
	if m, _ := json.Marshal(stranded["Metrics"]); !strings.Contains(string(m), "stranded + unchecked") ||
		!strings.Contains(string(m), "SweeperStrandedLocks") || !strings.Contains(string(m), "SweeperUncheckedLocks") {
		t.Errorf("SweeperFoundStrandedLock alarm %s", m)
	}
}

func TestNotifications(t *testing.T) {
	f := fixture(t)
	topicID := logicalID(t, f.plain, "Notifications")
	topic := props(resources(f.plainT, "AWS::SNS::Topic")[topicID])
	if topic["KmsMasterKeyId"] == nil {
		t.Errorf("topic not encrypted")
	}
	if n := len(resources(f.plainT, "AWS::SNS::Subscription")); n != 0 {
		t.Errorf("default stack (alarmTopicArn only) has %d subscriptions, want none", n)
	}
	// Every alarm of both stacks reaches a person: the team's topic (both) and the email
	// (the variant). Nothing is granted on the team's topic, and a rule keeps the stack
	// in its region (an alarm publishes only to a topic in its own region).
	for name, tmpl := range map[string]map[string]any{"default": f.plainT, "scheduled": f.scheduledT} {
		for id, a := range resources(tmpl, "AWS::CloudWatch::Alarm") {
			if !strings.Contains(render(props(a)["AlarmActions"]), testAlarmTopic) {
				t.Errorf("%s: alarm %s does not publish to alarmTopicArn", name, id)
			}
		}
		if strings.Contains(render(resources(tmpl, "AWS::IAM::Policy")), "sre-pager") || strings.Contains(render(resources(tmpl, "AWS::SNS::TopicPolicy")), "sre-pager") {
			t.Errorf("%s: a policy names the team's topic; the stack must grant nothing on it", name)
		}
		rules, _ := tmpl["Rules"].(map[string]any)
		rule, _ := json.Marshal(rules["AlarmTopicInStackRegion"])
		if !strings.Contains(string(rule), `{"Fn::Equals":["us-east-1",{"Ref":"AWS::Region"}]}`) || !strings.Contains(string(rule), CtxAlarmTopicArn) {
			t.Errorf("%s: region rule %s", name, rule)
		}
	}
	subs := resources(f.scheduledT, "AWS::SNS::Subscription")
	if len(subs) != 1 {
		t.Fatalf("stack with notifyEmail has %d subscriptions, want 1", len(subs))
	}
	for _, s := range subs {
		if p := props(s); p["Protocol"] != "email" || p["Endpoint"] != testEmail {
			t.Errorf("subscription %v", render(p))
		}
	}

	smID, _ := stateMachine(t, f.plainT)
	rule := props(resources(f.plainT, "AWS::Events::Rule")[logicalID(t, f.plain, "DrillResults")])
	// Every drill that ended, but not what ReadinessNotReady tells already (a run
	// stopped not ready or unverified), nor a dry run that ended ready.
	wantPattern := fmt.Sprintf(`{"detail":{"$or":[{"status":["TIMED_OUT","ABORTED"]},{"error":[{"anything-but":["NotReady","Unverified"]}],"status":["FAILED"]},`+
		`{"input":[{"anything-but":{"wildcard":"*\"dryRun\":true*"}}],"status":["SUCCEEDED"]}],"stateMachineArn":[{"Ref":%q}]},`+
		`"detail-type":["Step Functions Execution Status Change"],"source":["aws.states"]}`, smID)
	if got, _ := json.Marshal(rule["EventPattern"]); string(got) != wantPattern {
		t.Errorf("results pattern\n %s\nwant\n %s", got, wantPattern)
	}
	if tg := rule["Targets"].([]any)[0].(map[string]any); render(tg["Arn"]) != "${"+topicID+"}" {
		t.Errorf("results target %v, want the topic", render(tg["Arn"]))
	}
	// The message names the run: its name and start (epoch milliseconds, which
	// drill report --start reads), since a reused name has several runs' folders.
	msg := render(rule["Targets"].([]any)[0].(map[string]any)["InputTransformer"])
	for _, want := range []string{`"detail-startDate":"$.detail.startDate"`, `--execution \u003cdetail-name\u003e --start \u003cdetail-startDate\u003e`,
		`"startDate\":\u003cdetail-startDate\u003e`} {
		if !strings.Contains(msg, want) {
			t.Errorf("results message %s lacks %s", msg, want)
		}
	}

}

func TestOutputs(t *testing.T) {
	f := fixture(t)
	outs := f.plainT["Outputs"].(map[string]any)
	smID, _ := stateMachine(t, f.plainT)
	want := map[string]string{
		"StateMachineArn":  "${" + smID + "}",
		"LedgerBucketName": "${" + logicalID(t, f.plain, "Ledger") + "}",
		"TopicArn":         "${" + logicalID(t, f.plain, "Notifications") + "}",
		"StartCommand":     "aws stepfunctions start-execution --state-machine-arn ${" + smID + "} --input '{}'",
	}
	for name, v := range want {
		o, ok := outs[name].(map[string]any)
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		if got := render(o["Value"]); got != v {
			t.Errorf("output %s = %s, want %s", name, got, v)
		}
	}
}

func TestCDKNagHasNoFindings(t *testing.T) {
	f := fixture(t)
	for name, findings := range map[string][]string{"default": f.plainNag, "scheduled": f.schedNag, "takeover": f.takeoverNag} {
		for _, m := range findings {
			t.Errorf("%s stack: %s", name, m)
		}
	}
	// And the documented way: zero unsuppressed errors.
	for _, s := range []awscdk.Stack{f.plain, f.scheduled, f.takeover} {
		errs := assertions.Annotations_FromStack(s).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		if len(*errs) != 0 {
			t.Errorf("%s: %d cdk-nag errors", *s.StackName(), len(*errs))
		}
	}
}

// Every suppression names a rule and carries a specific reason.
func TestNagSuppressionsHaveReasons(t *testing.T) {
	f := fixture(t)
	n := 0
	for id, r := range f.scheduledT["Resources"].(map[string]any) {
		md, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := md["cdk_nag"].(map[string]any)
		for _, s := range list(nag["rules_to_suppress"]) {
			if s == nil {
				continue
			}
			sup := s.(map[string]any)
			n++
			reason, _ := sup["reason"].(string)
			if len(reason) < 60 {
				t.Errorf("%s: suppression of %v has a vague reason %q", id, sup["id"], reason)
			}
			if sup["id"] == "AwsSolutions-IAM5" && sup["applies_to"] == nil {
				t.Errorf("%s: IAM5 suppressed without applies_to", id)
			}
		}
	}
	if n == 0 {
		t.Errorf("no suppressions found in template metadata")
	}
}

// A bad context value stops a real app's stack construction with the key in the message.
func TestBadContextStopsSynth(t *testing.T) {
	fixture(t) // share the jsii runtime
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		CtxPrimaryBucket:       "Unicorn_UI",
		CtxDistributionDomain:  testDistribution,
		CtxDistributionID:      testDistID,
		CtxReportRetentionDays: "0",
	}, Outdir: jsii.String(filepath.Join(tmpRoot, "bad.out"))})
	var msg string
	func() {
		defer func() { msg = fmt.Sprint(recover()) }()
		NewFailoverDrillStack(app, "Bad", &FailoverDrillStackProps{Functions: stubBuilder{dir: filepath.Join(tmpRoot, "stub-bad")}})
	}()
	for _, key := range []string{CtxPrimaryBucket, CtxReportRetentionDays} {
		if !strings.Contains(msg, key+":") {
			t.Errorf("construction with bad %s: %q does not name it", key, msg)
		}
	}
}

func TestFunctionsBuiltFromSource(t *testing.T) {
	fixture(t)
	if len(stubbedFn) > 0 {
		msg := fmt.Sprintf("functions %v are missing from functions/: the stack was tested with stub code", stubbedFn)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// Each Task's TimeoutSeconds must exceed its function's own timeout: Lambda then ends
// a stuck invocation first, so a late block-bucket can never land after the failure
// path has restored the bucket.
func TestTaskTimeoutsExceedFunctionTimeouts(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type           string
			TimeoutSeconds float64
			Parameters     struct{ FunctionName string }
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	for _, spec := range functionSpecs {
		// The safety net's restore waits out a late block-bucket, then works.
		if spec.name == drill.FuncRestore && spec.timeout < restore.DefaultSettle+30*time.Second {
			t.Errorf("restore's timeout %v leaves under 30 s after the safety net's settle (%v)", spec.timeout, restore.DefaultSettle)
		}
		if spec.name == drill.FuncBlock && spec.timeout != drill.BlockTimeout {
			t.Errorf("block-bucket's timeout %v, want drill.BlockTimeout %v (restore's settle is built on it)", spec.timeout, drill.BlockTimeout)
		}
	}
	for name, st := range def.States {
		if st.Type != "Task" {
			continue
		}
		var found bool
		for _, spec := range functionSpecs {
			if st.Parameters.FunctionName == "${"+spec.placeholder+"}" {
				found = true
				if name == "RecoveryCheck" {
					// The failure path's look must end soon, so its Task's timeout is short.
					// The probe changes nothing and bounds itself: its budget and the write
					// of its sample log end within the Task's timeout; were it late, it
					// would only write that log.
					if own := drill.RecoveryCheckBudget + probe.WriteReserve; st.TimeoutSeconds <= own.Seconds() || spec.name != drill.FuncProbe {
						t.Errorf("state %s: TimeoutSeconds %v <= the recovery check's own bound %v (%s)", name, st.TimeoutSeconds, own, spec.name)
					}
					continue
				}
				if st.TimeoutSeconds <= spec.timeout.Seconds() {
					t.Errorf("state %s: TimeoutSeconds %v <= %s's timeout %v", name, st.TimeoutSeconds, spec.name, spec.timeout)
				}
			}
		}
		if !found {
			t.Errorf("state %s invokes %q, not one of the stack's functions", name, st.Parameters.FunctionName)
		}
	}
}

// Readiness grants: the distribution named by distributionId, the alarms (readiness
// and probe), the account's Block Public Access; nothing more.
func TestReadinessGrants(t *testing.T) {
	f := fixture(t)
	all := roleStatements(f.scheduledT)
	granted := func(id string) []string {
		var out []string
		for _, st := range all[logicalID(t, f.scheduled, id+"Role")] {
			for _, a := range st.actions {
				if strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") {
					continue
				}
				for _, r := range st.resources {
					out = append(out, a+" "+r)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	// DescribeAlarms on *: CloudWatch returns composite alarms only to a caller whose
	// permission is scoped to * (see internal/policy.StarOnly).
	want := map[string][]string{
		"ReadinessFunction": {
			"cloudfront:GetDistributionConfig arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/" + testDistID,
			"cloudwatch:DescribeAlarms *",
			// The scheduled variant has the database stage: readiness reads the global cluster.
			"rds:DescribeGlobalClusters arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:" + testGlobalCluster,
			"s3:GetAccountPublicAccessBlock *",
		},
		"ProbeFunction": {"cloudwatch:DescribeAlarms *", "s3:PutObject ${" + logicalID(t, f.scheduled, "Ledger") + ".Arn}/runs/*/????????T??????.???Z/samples-*.json"},
	}
	for id, w := range want {
		if got := granted(id); !slices.Equal(got, w) {
			t.Errorf("%s granted\n  %s\nwant\n  %s", id, strings.Join(got, "\n  "), strings.Join(w, "\n  "))
		}
	}
	fn := props(resources(f.scheduledT, "AWS::Lambda::Function")[logicalID(t, f.scheduled, "ReadinessFunction")])
	if env := render(fn["Environment"]); !strings.Contains(env, `"STOP_ALARMS":"[\"`+testAlarm+`\"]"`) {
		t.Errorf("readiness environment %s, want STOP_ALARMS=[%q]", env, testAlarm)
	}
}

// Continuous readiness: dry runs on readinessSchedule, never at deploy time (a rate
// schedule starts on its grid at least an hour after synth), retried and dead-lettered; an alarm on a
// not-ready dry run, and a notification naming the failed check.
func TestContinuousReadiness(t *testing.T) {
	f := fixture(t)
	if _, ok := resources(f.plainT, "AWS::Scheduler::Schedule")[logicalID(t, f.plain, "SweeperSchedule")]; !ok || len(resources(f.plainT, "AWS::Scheduler::Schedule")) != 1 {
		t.Errorf("default stack's schedules %d, want only the sweeper's", len(resources(f.plainT, "AWS::Scheduler::Schedule")))
	}
	id := logicalID(t, f.scheduled, "ReadinessSchedule")
	p := props(resources(f.scheduledT, "AWS::Scheduler::Schedule")[id])
	smID, _ := stateMachine(t, f.scheduledT)
	tg := p["Target"].(map[string]any)
	// rate(1 hour) on the drills' grid moved by ReadinessOffset: half past every hour,
	// never at deploy time, no start date.
	if p["ScheduleExpression"] != "cron(30 * * * ? *)" || render(tg["Arn"]) != "${"+smID+"}" || tg["Input"] != `{"dryRun":true}` {
		t.Errorf("readiness schedule %v, want %s as cron(30 * * * ? *) starting the state machine with {\"dryRun\":true}", render(p), testReadiness)
	}
	if p["StartDate"] != nil {
		t.Errorf("StartDate %v, want none: the template must not depend on the day of synth", p["StartDate"])
	}
	if render(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":900,"MaximumRetryAttempts":3}` {
		t.Errorf("retry policy %v, want 3 attempts within 15 minutes (not Scheduler's 24 hours)", render(tg["RetryPolicy"]))
	}
	if tg["DeadLetterConfig"] == nil {
		t.Errorf("no dead-letter queue on the readiness schedule's target")
	}
	topicID := logicalID(t, f.plain, "Notifications")
	alarm := props(resources(f.plainT, "AWS::CloudWatch::Alarm")[logicalID(t, f.plain, "NotReady")])
	if alarm["MetricName"] != "DryRunReady" || alarm["Namespace"] != "FailoverDrill" || alarm["ComparisonOperator"] != "LessThanThreshold" ||
		alarm["Threshold"] != float64(1) || render(alarm["AlarmActions"]) != "[${"+topicID+"},"+testAlarmTopic+"]" {
		t.Errorf("NotReady alarm %v", render(alarm))
	}
	rule := props(resources(f.plainT, "AWS::Events::Rule")[logicalID(t, f.plain, "ReadinessNotReady")])
	if got, _ := json.Marshal(rule["EventPattern"]); !strings.Contains(string(got), `"error":["NotReady","Unverified"]`) || !strings.Contains(string(got), `"status":["FAILED"]`) {
		t.Errorf("ReadinessNotReady pattern %s", got)
	}
	tgt := rule["Targets"].([]any)[0].(map[string]any)
	if it := render(tgt["InputTransformer"]); !strings.Contains(it, "$.detail.cause") {
		t.Errorf("notification %s does not carry the execution's cause (the failed checks)", it)
	}
}

// CloudFormation refuses a template whose resources depend on each other in a circle;
// synth does not notice. The state machine names the functions it invokes, so a grant
// naming the state machine (the report's and the sweeper's) must not sit where a
// function depends on it: no cycle through Ref, Fn::GetAtt, Fn::Sub or DependsOn.
func TestNoDependencyCycle(t *testing.T) {
	f := fixture(t)
	for name, tmpl := range map[string]map[string]any{"default": f.plainT, "scheduled": f.scheduledT} {
		res, _ := tmpl["Resources"].(map[string]any)
		deps := map[string][]string{}
		sub := regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)
		var walk func(from string, v any)
		walk = func(from string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					switch k {
					case "Ref":
						if id, ok := x.(string); ok {
							deps[from] = append(deps[from], id)
						}
					case "Fn::GetAtt":
						if l, ok := x.([]any); ok && len(l) > 0 {
							deps[from] = append(deps[from], fmt.Sprint(l[0]))
						}
					case "Fn::Sub":
						str := x
						if l, ok := x.([]any); ok && len(l) > 0 {
							str = l[0]
						}
						if s, ok := str.(string); ok {
							for _, m := range sub.FindAllStringSubmatch(s, -1) {
								deps[from] = append(deps[from], m[1])
							}
						}
					}
					walk(from, x)
				}
			case []any:
				for _, x := range v {
					walk(from, x)
				}
			}
		}
		for id, r := range res {
			rm := r.(map[string]any)
			walk(id, rm["Properties"])
			if rm["DependsOn"] != nil {
				for _, d := range list(rm["DependsOn"]) {
					deps[id] = append(deps[id], d.(string))
				}
			}
		}
		state := map[string]int{} // 1 visiting, 2 done
		var path []string
		var visit func(id string) bool
		visit = func(id string) bool {
			if _, ok := res[id]; !ok || state[id] == 2 {
				return false
			}
			if state[id] == 1 {
				t.Errorf("%s stack: dependency cycle %s -> %s", name, strings.Join(path, " -> "), id)
				return true
			}
			state[id] = 1
			path = append(path, id)
			for _, d := range deps[id] {
				if visit(d) {
					return true
				}
			}
			path = path[:len(path)-1]
			state[id] = 2
			return false
		}
		ids := slices.Sorted(maps.Keys(res))
		for _, id := range ids {
			if visit(id) {
				break
			}
		}
	}
}

// TestDashboardAndFailoverTarget: a dashboard graphs the report's EMF metrics across
// drills, and an alarm fires when a drill's stable failover is above
// failoverTargetSeconds (60 by default, 45 in the variant).
func TestDashboardAndFailoverTarget(t *testing.T) {
	f := fixture(t)
	for _, tc := range []struct {
		name      string
		stack     awscdk.Stack
		tmpl      map[string]any
		threshold float64
	}{{"default", f.plain, f.plainT, 60}, {"failoverTargetSeconds 45", f.scheduled, f.scheduledT, 45}} {
		t.Run(tc.name, func(t *testing.T) {
			a := props(resources(tc.tmpl, "AWS::CloudWatch::Alarm")[logicalID(t, tc.stack, "FailoverAboveTarget")])
			dims, _ := json.Marshal(a["Dimensions"])
			if a["Namespace"] != "FailoverDrill" || a["MetricName"] != "FailoverSeconds" || a["Threshold"] != tc.threshold ||
				a["ComparisonOperator"] != "GreaterThanThreshold" || a["TreatMissingData"] != "notBreaching" || !strings.Contains(string(dims), testBucket) ||
				!strings.Contains(render(a["AlarmActions"]), logicalID(t, tc.stack, "Notifications")) {
				t.Errorf("alarm %s", render(a))
			}
			dashboards := resources(tc.tmpl, "AWS::CloudWatch::Dashboard")
			if len(dashboards) != 1 {
				t.Fatalf("%d dashboards, want 1", len(dashboards))
			}
			for _, d := range dashboards {
				body := render(props(d)["DashboardBody"])
				for _, m := range []string{"FailoverSeconds", "RecoverySeconds", "DrillPassed", "RestoreFailed", "UserVisibleErrors", "ErrorRatePercent", "LatencyP95Ms", "ReplicationSeconds", "failoverTargetSeconds"} {
					if !strings.Contains(body, m) {
						t.Errorf("dashboard lacks %s", m)
					}
				}
			}
		})
	}
}

// The database stage's names in the scheduled variant's context.
const (
	testGlobalCluster    = "unishop-global"
	testPrimaryCluster   = "unishop-east"
	testSecondaryCluster = "unishop-west"
)

// With globalCluster context the stage's functions may describe the global cluster
// and switch it over on it and its two named members, readiness may only describe
// it, and a DatabaseLostWrites alarm watches the stage; nothing grants
// FailoverGlobalCluster or RemoveFromGlobalCluster, and the deployed default names
// the cluster.
func TestDatabaseStageDeployment(t *testing.T) {
	f := fixture(t)
	tpl, _ := json.Marshal(f.scheduledT)
	for _, forbidden := range []string{"rds:FailoverGlobalCluster", "rds:RemoveFromGlobalCluster", `"rds:*"`} {
		if strings.Contains(string(tpl), forbidden) {
			t.Errorf("the template grants %s", forbidden)
		}
	}
	for _, want := range []string{
		`:global-cluster:` + testGlobalCluster, `:cluster:` + testPrimaryCluster, `:cluster:` + testSecondaryCluster,
		`"rds:SwitchoverGlobalCluster"`, `"rds:DescribeGlobalClusters"`, `"GlobalCluster":"` + testGlobalCluster + `"`,
	} {
		if !strings.Contains(string(tpl), want) {
			t.Errorf("the template lacks %s", want)
		}
	}
	alarms := resources(f.scheduledT, "AWS::CloudWatch::Alarm")
	found := false
	for _, a := range alarms {
		if props(a)["MetricName"] == report.MetricDatabaseLostWrites {
			found = true
		}
	}
	if !found {
		t.Error("no alarm on DatabaseLostWrites with globalCluster context")
	}
	for _, a := range resources(f.plainT, "AWS::CloudWatch::Alarm") {
		if props(a)["MetricName"] == report.MetricDatabaseLostWrites {
			t.Error("a DatabaseLostWrites alarm without globalCluster context")
		}
	}
}
