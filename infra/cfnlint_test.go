package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cfnLintIgnored are the cfn-lint rules the test ignores, each with why. Everything
// else must report nothing.
var cfnLintIgnored = map[string]string{
	// cfn-lint's bundled Step Functions schema refuses OutputPath on a JSONPath Succeed
	// state, which the States Language allows (a Succeed state may have InputPath and
	// OutputPath) and Step Functions accepts.
	"E3601": "the bundled ASL schema wrongly refuses OutputPath on a JSONPath Succeed state",
	// CDK writes DependsOn for ordering it needs (a role's policy before the function
	// that uses it) even where a Ref or GetAtt already implies it.
	"W3005": "CDK's explicit DependsOn duplicates an implied dependency: noise, harmless",
}

// Every synthesized template passes cfn-lint, a linter nobody here wrote, with zero
// findings outside cfnLintIgnored. In CI (CI=true) a missing cfn-lint fails the test;
// elsewhere it skips, saying how to install it.
func TestCFNLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		msg := "cfn-lint not found on PATH (pip install cfn-lint==1.51.0): the templates were not linted"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	f := fixture(t)
	dir := t.TempDir()
	var files []string
	for name, tmpl := range map[string]map[string]any{"default": f.plainT, "scheduled": f.scheduledT, "takeover": f.takeoverT} {
		b, err := json.MarshalIndent(tmpl, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	ignore := make([]string, 0, len(cfnLintIgnored))
	for rule := range cfnLintIgnored {
		ignore = append(ignore, rule)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--format", "parseable", "--ignore-checks", strings.Join(ignore, ","), "--"}, files...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("cfn-lint %v: %v\n%s", args, err, out)
	}
}
