package main

import (
	"encoding/json"
	"fmt"
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
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/statemachine"
)

const (
	testBucket       = "unicorn-ui-primary"
	testDistribution = "d111111abcdef8.cloudfront.net"
	testEmail        = "sre@example.com"
	testSchedule     = "rate(7 days)"
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
	synthTime          time.Duration
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

// stubBuilder stands in for functions not written yet: a placeholder bootstrap in the
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

		f := &fixtures{}
		f.app = awscdk.NewApp(&awscdk.AppProps{Context: &appCtx, Outdir: jsii.String(filepath.Join(tmpRoot, "cdk.out"))})
		// Default stack: configuration read from the app's context, as main.go does.
		f.plain = NewFailoverDrillStack(f.app, "FailoverDrill", &FailoverDrillStackProps{Functions: builder})
		// Variant: a schedule and an email subscription.
		cfg, err := ConfigFromContext(func(k string) any {
			switch k {
			case CtxSchedule:
				return testSchedule
			case CtxNotifyEmail:
				return testEmail
			}
			return appCtx[k]
		})
		if err != nil {
			fxErr = err
			return
		}
		f.scheduled = NewFailoverDrillStack(f.app, "FailoverDrillScheduled", &FailoverDrillStackProps{Config: &cfg, Functions: builder})
		awscdk.Aspects_Of(f.app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)

		start := time.Now()
		f.plainT = *assertions.Template_FromStack(f.plain, nil).ToJSON()
		f.scheduledT = *assertions.Template_FromStack(f.scheduled, nil).ToJSON()
		f.synthTime = time.Since(start)
		f.plainNag = nagFindings(f.plain)
		f.schedNag = nagFindings(f.scheduled)
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
	if len(fns) != 5 {
		t.Fatalf("%d Lambda functions, want 5", len(fns))
	}
	logGroups := resources(f.plainT, "AWS::Logs::LogGroup")
	wantTimeout := map[string]float64{
		drill.FuncProbe: 900, drill.FuncSeedCart: 120, drill.FuncBlock: 60, drill.FuncRestore: 180, drill.FuncReport: 60,
	}
	ledgerID := logicalID(t, f.plain, "Ledger")
	wantEnv := map[string]map[string]string{
		drill.FuncProbe:    {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncSeedCart: {},
		drill.FuncBlock:    {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncReport:   {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
		drill.FuncRestore:  {drill.EnvLedgerBucket: "${" + ledgerID + "}"},
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
			jsii.Number(5))
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
	// Every function's ARN is substituted, from that function.
	for _, spec := range functionSpecs {
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
		"maxErrorRatePercent.$": "States.StringToJson('1')", "maxErrorRunSeconds.$": "States.StringToJson('5')", "maxLatencyP95Ms.$": "States.StringToJson('3000')"}
	if fmt.Sprint(deployed) != fmt.Sprint(wantDeployed) {
		t.Errorf("deployed defaults %v, want %v", deployed, wantDeployed)
	}
	if asl["TimeoutSeconds"] != float64(3600) {
		t.Errorf("execution timeout %v, want 3600", asl["TimeoutSeconds"])
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
		want = append(want, "${"+logicalID(t, f.plain, spec.id)+".Arn}")
	}
	sort.Strings(invoked)
	sort.Strings(want)
	if !slices.Equal(invoked, want) {
		t.Errorf("state machine %s may invoke %v, want exactly %v", smID, invoked, want)
	}
}

func TestBucketAccessIsScopedToTheTarget(t *testing.T) {
	f := fixture(t)
	targetARN := "arn:${AWS::Partition}:s3:::" + testBucket
	ledgerID := logicalID(t, f.plain, "Ledger")
	ledgerARN := "${" + ledgerID + ".Arn}"
	roleOf := func(id string) string { return logicalID(t, f.plain, id+"Role") }
	bucketControl := regexp.MustCompile(`^s3:(Get|Put|Delete)(Bucket)?PublicAccessBlock$`)

	var pabRoles []string
	for roleID, sts := range roleStatements(f.plainT) {
		for _, st := range sts {
			for _, a := range st.actions {
				switch {
				case bucketControl.MatchString(a):
					if !slices.Equal(st.resources, []string{targetARN}) {
						t.Errorf("role %s: %s on %v, want only %s", roleID, a, st.resources, targetARN)
					}
					if !slices.Contains(pabRoles, roleID) {
						pabRoles = append(pabRoles, roleID)
					}
				case a == "s3:ListBucket":
					if !slices.Equal(st.resources, []string{ledgerARN}) {
						t.Errorf("role %s: s3:ListBucket on %v, want only the ledger", roleID, st.resources)
					}
				case strings.HasPrefix(a, "s3:"):
					for _, r := range st.resources {
						if r != ledgerARN+"/locks/*" && r != ledgerARN+"/runs/*" && r != ledgerARN+"/"+drill.SamplesKeyPattern {
							t.Errorf("role %s: %s on %s, want only the ledger's locks/*, runs/* and %s", roleID, a, r, drill.SamplesKeyPattern)
						}
					}
				}
				if strings.Contains(a, "*") {
					t.Errorf("role %s: wildcard action %s", roleID, a)
				}
			}
		}
	}
	sort.Strings(pabRoles)
	want := []string{roleOf("BlockBucketFunction"), roleOf("RestoreFunction")}
	sort.Strings(want)
	if !slices.Equal(pabRoles, want) {
		t.Errorf("roles with public access block permissions: %v, want block-bucket and restore %v", pabRoles, want)
	}

	// What each function's role may do, beyond its log group and X-Ray.
	all := roleStatements(f.plainT)
	granted := func(id string) []string {
		var out []string
		for _, st := range all[roleOf(id)] {
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
	pab := []string{"s3:GetBucketPublicAccessBlock " + targetARN, "s3:PutBucketPublicAccessBlock " + targetARN}
	tests := []struct {
		id   string
		want []string
	}{
		// The probe writes its sample logs and nothing else.
		{"ProbeFunction", []string{"s3:PutObject " + ledgerARN + "/runs/*/samples-*.json"}},
		{"SeedCartFunction", nil},
		{"ReportFunction", []string{"s3:GetObject " + ledgerARN + "/runs/*/samples-*.json", "s3:ListBucket " + ledgerARN, "s3:PutObject " + ledgerARN + "/runs/*"}},
		{"BlockBucketFunction", append(slices.Clone(pab),
			"s3:GetObject "+ledgerARN+"/locks/*", "s3:GetObject "+ledgerARN+"/runs/*",
			"s3:ListBucket "+ledgerARN,
			"s3:PutObject "+ledgerARN+"/locks/*", "s3:PutObject "+ledgerARN+"/runs/*")},
		{"RestoreFunction", append(slices.Clone(pab),
			"s3:DeleteObject "+ledgerARN+"/locks/*", "s3:DeleteObject "+ledgerARN+"/runs/*",
			"s3:GetObject "+ledgerARN+"/locks/*", "s3:GetObject "+ledgerARN+"/runs/*",
			"s3:ListBucket "+ledgerARN,
			"s3:PutObject "+ledgerARN+"/locks/*", "s3:PutObject "+ledgerARN+"/runs/*",
			"sqs:GetQueueAttributes ${"+logicalID(t, f.plain, "DeliveryDLQ")+".Arn}",
			"sqs:GetQueueUrl ${"+logicalID(t, f.plain, "DeliveryDLQ")+".Arn}",
			"sqs:SendMessage ${"+logicalID(t, f.plain, "DeliveryDLQ")+".Arn}")},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := granted(tc.id); !slices.Equal(got, want) {
				t.Errorf("granted\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestNoStarResourceExceptWhereAWSRequiresIt(t *testing.T) {
	f := fixture(t)
	// Actions without resource-level permissions.
	starOnly := regexp.MustCompile(`^(xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))$`)
	for _, tmpl := range []map[string]any{f.plainT, f.scheduledT} {
		for roleID, sts := range roleStatements(tmpl) {
			for _, st := range sts {
				if !slices.Contains(st.resources, "*") {
					continue
				}
				for _, a := range st.actions {
					if !starOnly.MatchString(a) {
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
	if tmpl != `{"execution":"$.detail.name","reason":"safety-net"}` {
		t.Errorf("input %s, want execution from $.detail.name and reason safety-net", tmpl)
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

func TestScheduleOnlyWhenConfigured(t *testing.T) {
	f := fixture(t)
	if n := len(resources(f.plainT, "AWS::Scheduler::Schedule")); n != 0 {
		t.Errorf("default stack has %d schedules, want none", n)
	}
	scheds := resources(f.scheduledT, "AWS::Scheduler::Schedule")
	if len(scheds) != 1 {
		t.Fatalf("scheduled stack has %d schedules, want 1", len(scheds))
	}
	smID, _ := stateMachine(t, f.scheduledT)
	for _, s := range scheds {
		p := props(s)
		tg := p["Target"].(map[string]any)
		if p["ScheduleExpression"] != testSchedule || render(tg["Arn"]) != "${"+smID+"}" || tg["Input"] != "{}" {
			t.Errorf("schedule %v, want %s starting the state machine with {}", render(p), testSchedule)
		}
		roleID := tg["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		for _, st := range roleStatements(f.scheduledT)[roleID] {
			if !slices.Equal(st.actions, []string{"states:StartExecution"}) || !slices.Equal(st.resources, []string{"${" + smID + "}"}) {
				t.Errorf("schedule role may %v on %v, want only states:StartExecution on this state machine", st.actions, st.resources)
			}
		}
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
		t.Errorf("default stack has %d subscriptions, want none", n)
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
	wantPattern := fmt.Sprintf(`{"detail":{"stateMachineArn":[{"Ref":%q}],"status":["SUCCEEDED","FAILED","TIMED_OUT","ABORTED"]},"detail-type":["Step Functions Execution Status Change"],"source":["aws.states"]}`, smID)
	if got, _ := json.Marshal(rule["EventPattern"]); string(got) != wantPattern {
		t.Errorf("results pattern\n %s\nwant\n %s", got, wantPattern)
	}
	if tg := rule["Targets"].([]any)[0].(map[string]any); render(tg["Arn"]) != "${"+topicID+"}" {
		t.Errorf("results target %v, want the topic", render(tg["Arn"]))
	}

	alarm := props(resources(f.plainT, "AWS::CloudWatch::Alarm")[logicalID(t, f.plain, "ExecutionsFailed")])
	if alarm["MetricName"] != "ExecutionsFailed" || alarm["Namespace"] != "AWS/States" || alarm["Threshold"] != float64(1) ||
		alarm["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || alarm["Period"] != float64(300) ||
		render(alarm["AlarmActions"]) != "[${"+topicID+"}]" {
		t.Errorf("ExecutionsFailed alarm %v", render(alarm))
	}
	if dims, _ := json.Marshal(alarm["Dimensions"]); !strings.Contains(string(dims), `{"Ref":"`+smID+`"}`) {
		t.Errorf("alarm dimensions %s, want this state machine", dims)
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
	for name, findings := range map[string][]string{"default": f.plainNag, "scheduled": f.schedNag} {
		for _, m := range findings {
			t.Errorf("%s stack: %s", name, m)
		}
	}
	// And the documented way: zero unsuppressed errors.
	for _, s := range []awscdk.Stack{f.plain, f.scheduled} {
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
