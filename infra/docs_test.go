package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/cost"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// Generated documentation: the test writes the expected text and fails when the file
// differs; UPDATE_DOCS=1 go test ./infra/ -run 'Doc' rewrites it.
func checkGenerated(t *testing.T, rel, begin, end, want string) {
	t.Helper()
	path := filepath.Join(repoRoot, rel)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %s ... %s section", rel, begin, end)
	}
	updated := doc[:i+len(begin)] + "\n" + want + doc[j:]
	if updated == doc {
		return
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: section rewritten", rel)
		return
	}
	t.Errorf("%s: the section between %s and %s is not what the code says (UPDATE_DOCS=1 go test ./infra/ -run Doc rewrites it); want:\n%s", rel, begin, end, want)
}

// docValues name the policy's resources as a reader of the docs sees them.
var docValues = policy.Values{
	TargetBucketArn: "arn:aws:s3:::<primaryBucket>",
	LedgerArn:       "<ledger>",
	Executions:      "arn:aws:states:<region>:<account>:execution:<state machine name>",
	StateMachineArn: "<StateMachineArn>",
	DistributionArn: "arn:aws:cloudfront::<account>:distribution/<distributionId>",
}

// policyTable renders statements by principal: one row per statement.
func policyTable(header string, names []string, sts func(string) []policy.Statement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | statement | actions | resources |\n|---|---|---|---|\n", header)
	for _, n := range names {
		list := sts(n)
		if len(list) == 0 {
			fmt.Fprintf(&b, "| %s | — | nothing but its logs and X-Ray | |\n", n)
			continue
		}
		for _, st := range list {
			res := make([]string, len(st.Resources))
			for i, r := range st.Resources {
				res[i] = "`" + r + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", n, st.Sid, strings.Join(st.Actions, "`, `"), strings.Join(res, ", "))
		}
	}
	return b.String()
}

// docs/deploy.md's least-privilege tables are internal/policy, rendered: the functions'
// roles, and what each command run against the deployment (and the CI role) needs.
func TestLeastPrivilegeDoc(t *testing.T) {
	fns := slices.Clone(FunctionNames())
	checkGenerated(t, "docs/deploy.md", "<!-- policy:functions -->", "<!-- /policy:functions -->",
		policyTable("function", fns, func(n string) []policy.Statement { return policy.For(n, docValues) }))
	cmds := []string{"start", "report", "history"}
	checkGenerated(t, "docs/deploy.md", "<!-- policy:commands -->", "<!-- /policy:commands -->",
		policyTable("command", cmds, func(n string) []policy.Statement { return policy.CommandFor(n, docValues) }))
	for cmd := range policy.Commands {
		if !slices.Contains(cmds, cmd) {
			t.Errorf("policy.Commands declares %s, which the docs/deploy.md table leaves out", cmd)
		}
	}
}

// continuousMetrics are the custom metrics written all month: the sweeper's, every
// sweep, and DryRunReady when dry runs are scheduled.
func continuousMetrics(cfg Config) int {
	n := len(sweeper.Metrics)
	if cfg.ReadinessSchedule != "" {
		n++
	}
	return n
}

// docs/standing-cost.md is computed by internal/cost from the synthesized templates:
// the default deployment, and one with a weekly drill and hourly dry runs.
func TestStandingCostDoc(t *testing.T) {
	f := fixture(t)
	defCfg, err := ConfigFromContext(func(k string) any { return f.appCtx[k] })
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range []struct {
		title string
		tmpl  map[string]any
		cfg   Config
	}{
		{"Default deployment (no schedule, no dry runs)", f.plainT, defCfg},
		{fmt.Sprintf("With `schedule=%s`, `readinessSchedule=%s` and the database stage (`globalCluster`)", testSchedule, testReadiness), f.scheduledT, f.scheduledCfg},
	} {
		s, err := cost.StandingFromTemplate(c.tmpl, cost.StandingInput{ContinuousMetrics: continuousMetrics(c.cfg)})
		if err != nil {
			t.Fatal(err)
		}
		if s.MonthlyUSD <= 0 {
			t.Errorf("%s: standing cost $%v", c.title, s.MonthlyUSD)
		}
		fmt.Fprintf(&b, "### %s: $%.2f a month\n\n| item | quantity a month | unit price (USD) | USD a month |\n|---|---:|---:|---:|\n", c.title, s.MonthlyUSD)
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "| %s | %s %s | %s | %.4f |\n", l.Item, trimFloat(l.Quantity), l.Unit, trimFloat(l.UnitPrice), l.USD)
		}
		fmt.Fprintf(&b, "| **total** | | | **%.2f** |\n\n", s.MonthlyUSD)
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- Not counted: %s.\n", n)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Prices as of %s (us-east-1, on-demand, without free tiers), stated in `internal/cost`. The sweeper (%d MB) is billed at its timeout (%v) for every sweep: an upper bound.\n",
		cost.PricesAsOf, drill.FunctionMemoryMB[drill.FuncSweeper], SweeperTimeout)
	checkGenerated(t, "docs/standing-cost.md", "<!-- standing-cost -->", "<!-- /standing-cost -->", b.String())
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.8f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// The trust policy docs/ci-role.md hands to people who bring their own role is the one
// the stack writes: the provider, the action, aud and the exact sub.
func TestCIRoleDoc(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "ci-role.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, "```json\n")
	j := strings.Index(doc[i+1:], "```\n")
	if i < 0 || j < 0 {
		t.Fatal("docs/ci-role.md: no json block")
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Principal struct{ Federated string }
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(doc[i+len("```json\n"):i+1+j]), &trust); err != nil {
		t.Fatalf("docs/ci-role.md's trust policy: %v", err)
	}
	if len(trust.Statement) != 1 {
		t.Fatalf("docs/ci-role.md's trust policy has %d statements, want 1", len(trust.Statement))
	}
	st := trust.Statement[0]
	want := map[string]map[string]string{"StringEquals": {
		GitHubOIDCHost + ":aud": GitHubOIDCAudience,
		GitHubOIDCHost + ":sub": CISubject("<owner>/<repo>", DefaultGitHubRef),
	}}
	if st.Effect != "Allow" || st.Action != "sts:AssumeRoleWithWebIdentity" || !strings.HasSuffix(st.Principal.Federated, ":oidc-provider/"+GitHubOIDCHost) ||
		!reflect.DeepEqual(st.Condition, want) {
		t.Errorf("docs/ci-role.md's trust policy %+v, want the stack's: %v", st, want)
	}
	if !strings.Contains(doc, fmt.Sprintf("`MaxSessionDuration` %d", int(CISessionDuration.Seconds()))) {
		t.Errorf("docs/ci-role.md does not state MaxSessionDuration %d", int(CISessionDuration.Seconds()))
	}
}
