package main

import (
	"context"
	"encoding/json"
	"errors"
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

// cfnLintBinary is cfn-lint, or it skips the test saying why: in CI (CI=true) it fails.
func cfnLintBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		msg := "cfn-lint not found on PATH (pip install cfn-lint==1.51.0): the templates were not linted"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// cfnLint runs cfn-lint on files with no rule ignored, fails the test on every finding
// outside cfnLintIgnored, and returns the ignored rules that reported something.
func cfnLint(t *testing.T, bin string, files ...string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--format", "parseable", "--"}, files...)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		// file:line:column:endline:endcolumn:rule:message
		f := strings.SplitN(line, ":", 7)
		if len(f) < 7 {
			t.Errorf("cfn-lint printed %q", line)
			continue
		}
		rule := f[5]
		if _, ok := cfnLintIgnored[rule]; !ok {
			t.Errorf("cfn-lint %s %s (%s:%s)", rule, f[6], filepath.Base(f[0]), f[1])
		}
		seen[rule] = true
	}
	return seen
}

// Every synthesized template passes cfn-lint, a linter nobody here wrote, with zero
// findings outside cfnLintIgnored, and every ignored rule is still needed. In CI
// (CI=true) a missing cfn-lint fails the test; elsewhere it skips, saying how to
// install it. TestCDKSynthThroughPinnedCLI lints the CLI's template the same way.
func TestCFNLint(t *testing.T) {
	bin := cfnLintBinary(t)
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
	seen := cfnLint(t, bin, files...)
	for rule, why := range cfnLintIgnored {
		if !seen[rule] {
			t.Errorf("cfn-lint rule %s is ignored (%s) but reports nothing: drop it from cfnLintIgnored", rule, why)
		}
	}
}
