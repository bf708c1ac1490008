package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cdkCLI is the pinned CDK CLI (package.json), or it skips the test: it fails it in CI.
func cdkCLI(t *testing.T) string {
	t.Helper()
	cli := filepath.Join(repoRoot, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cli); err != nil {
		msg := "node_modules/.bin/cdk not found: run `npm ci` at the repository root to install the pinned CDK CLI"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if missing := missingFunctions(); len(missing) > 0 {
		msg := "functions " + strings.Join(missing, ", ") + " missing from functions/: cannot synthesize the real app"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cli
}

func runCDK(t *testing.T, cli string, args ...string) (string, time.Duration, error) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, cli, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(),
		"CDK_DISABLE_CLI_TELEMETRY=true",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return string(out), time.Since(start), err
}

// The real app through the pinned CLI: cdk.json's app command, its context, the Go
// function builds and cdk-nag (the CLI fails on any error annotation).
func TestCDKSynthThroughPinnedCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping cdk synth through the CLI")
	}
	cli := cdkCLI(t)
	outDir := filepath.Join(t.TempDir(), "cdk.out")
	out, took, err := runCDK(t, cli, "synth", "-q", "--no-notices", "-o", outDir,
		"-c", CtxPrimaryBucket+"="+testBucket, "-c", CtxDistributionDomain+"="+testDistribution, "-c", CtxDistributionID+"="+testDistID,
		"-c", CtxAlarmTopicArn+"="+testAlarmTopic)
	if err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, out)
	}
	t.Logf("cdk synth through the CLI took %v", took.Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(outDir, StackID+".template.json")); err != nil {
		t.Fatalf("no template: %v\n%s", err, out)
	}
	if strings.Contains(out, "AwsSolutions-") {
		t.Errorf("cdk-nag findings in the CLI output:\n%s", out)
	}
	// The CLI's template passes cfn-lint too (TestCFNLint's rules); without cfn-lint
	// outside CI the synth above still counts, and the log says what was not done.
	if bin, err := exec.LookPath("cfn-lint"); err == nil {
		cfnLint(t, bin, filepath.Join(outDir, StackID+".template.json"))
	} else if os.Getenv("CI") == "true" {
		t.Error("cfn-lint not found on PATH: the CLI's template was not linted")
	} else {
		t.Log("cfn-lint not found on PATH (pip install cfn-lint==1.51.0): the CLI's template was not linted")
	}

	// A bad value stops synth with a message naming the key; so do a missing
	// distributionId and a deployment whose alarms would reach no one (neither
	// notifyEmail nor alarmTopicArn), naming each.
	out, _, err = runCDK(t, cli, "synth", "-q", "--no-notices", "-o", filepath.Join(t.TempDir(), "bad.out"),
		"-c", CtxPrimaryBucket+"="+testBucket, "-c", CtxDistributionDomain+"="+testDistribution,
		"-c", CtxSchedule+"=weekly")
	if err == nil {
		t.Fatalf("cdk synth with schedule=weekly, no distributionId and no recipient succeeded:\n%s", out)
	}
	for _, key := range []string{CtxSchedule + ":", CtxDistributionID + ":", CtxNotifyEmail + ":", CtxAlarmTopicArn} {
		if !strings.Contains(out, key) {
			t.Errorf("cdk synth with schedule=weekly, no distributionId and no recipient: output does not name %s:\n%s", key, out)
		}
	}
}
