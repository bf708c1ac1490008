package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runners are every command as main dispatches it, with factories that fail the test
// when a command asks AWS for anything: -h and a wrong flag must start nothing.
func runners(t *testing.T) map[string]func(args []string, stdout, stderr *bytes.Buffer) int {
	noSFN := func(context.Context, string) (sfnClient, error) {
		t.Error("drill start asked AWS")
		return nil, errNoRegion
	}
	noS3 := func(context.Context, string) (s3Reader, error) { t.Error("asked AWS for S3"); return nil, errNoRegion }
	noOps := func(context.Context) (opsEnv, error) {
		t.Error("an operator command asked AWS")
		return opsEnv{}, errNoRegion
	}
	ctx := context.Background()
	return map[string]func(args []string, stdout, stderr *bytes.Buffer) int{
		"local":         func(a []string, o, e *bytes.Buffer) int { return runLocal(ctx, a, o, e) },
		"sandbox":       func(a []string, o, e *bytes.Buffer) int { return runSandbox(ctx, a, o, e) },
		"public-access": func(a []string, o, e *bytes.Buffer) int { return runPublicAccess(ctx, a, o, e) },
		"configure":     func(a []string, o, e *bytes.Buffer) int { return runConfigure(ctx, a, o, e) },
		"start":         func(a []string, o, e *bytes.Buffer) int { return runStart(ctx, a, o, e, noSFN) },
		"report":        func(a []string, o, e *bytes.Buffer) int { return runReport(ctx, a, o, e, noS3) },
		"history":       func(a []string, o, e *bytes.Buffer) int { return runHistory(ctx, a, o, e, noS3) },
		"status":        func(a []string, o, e *bytes.Buffer) int { return runStatus(ctx, a, o, e, noOps) },
		"restore":       func(a []string, o, e *bytes.Buffer) int { return runRestore(ctx, a, o, e, noOps) },
		"unlock": func(a []string, o, e *bytes.Buffer) int {
			return runUnlock(ctx, a, strings.NewReader(""), o, e, noOps)
		},
	}
}

// TestHelpAndWrongFlagEverywhere: -h (and --help) print the command's synopsis and
// every flag on stdout and exit 0, as "drill --help" does; a flag the command does not
// have gets two lines on stderr, naming the flag and the synopsis, and exit 2, never
// the whole flag list.
func TestHelpAndWrongFlagEverywhere(t *testing.T) {
	for name, run := range runners(t) {
		t.Run(name, func(t *testing.T) {
			for _, h := range []string{"-h", "--help"} {
				var stdout, stderr bytes.Buffer
				if code := run([]string{h}, &stdout, &stderr); code != 0 {
					t.Errorf("%s: exit %d, want 0\n%s", h, code, stderr.String())
				}
				if !strings.HasPrefix(stdout.String(), "usage: drill "+name) || !strings.Contains(stdout.String(), "\nflags:\n") || stderr.Len() != 0 {
					t.Errorf("%s: stdout %q\nstderr %q", h, stdout.String(), stderr.String())
				}
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-nope"}, &stdout, &stderr); code != exitUsage {
				t.Errorf("-nope: exit %d, want 2", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "drill "+name+": flag provided but not defined: -nope") ||
				!strings.HasPrefix(lines[1], "usage: drill "+name) || !strings.Contains(lines[1], "-h lists every flag") {
				t.Errorf("-nope: want two lines, the flag and the synopsis; stderr:\n%s", stderr.String())
			}
		})
	}
}

// TestLogsOnlyWhenAsked: a command's structured logs are off by default, text with -v,
// JSON lines with --log-json.
func TestLogsOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // a prefix of the line logged; "" for none
	}{{nil, ""}, {[]string{"-v"}, "time="}, {[]string{"--log-json"}, `{"time":`}} {
		var stderr bytes.Buffer
		newCLI("drill x", tc.args, &bytes.Buffer{}, &stderr).logger().Info("a line", "k", "v")
		if got := stderr.String(); (tc.want == "" && got != "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: logged %q, want a line starting %q", tc.args, got, tc.want)
		}
	}
}

// TestOperatorCommandsHint: status, restore and unlock, with no AWS configuration at
// all, say in one line what to set, as drill report does: no region is exit 2 (as a
// missing --region is), no credentials exit 3; the SDK's error, and its own log lines,
// only with -v.
func TestOperatorCommandsHint(t *testing.T) {
	noAWSConfig(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	ctx := context.Background()
	cmds := map[string]func(args []string, stdout, stderr *bytes.Buffer) int{
		"status": func(a []string, o, e *bytes.Buffer) int { return runStatus(ctx, a, o, e, awsOps) },
		"restore": func(a []string, o, e *bytes.Buffer) int {
			return runRestore(ctx, append(a, "--bucket", "b-ok"), o, e, awsOps)
		},
		"unlock": func(a []string, o, e *bytes.Buffer) int {
			return runUnlock(ctx, append(a, "--bucket", "b-ok", "--confirm", "b-ok"), strings.NewReader(""), o, e, awsOps)
		},
	}
	for name, run := range cmds {
		for _, tc := range []struct {
			args    []string
			code    int
			hint    string
			verbose bool
		}{
			{[]string{"--ledger", "l-ok"}, exitUsage, "drill " + name + ": no AWS region: pass --region <region>", false},
			{[]string{"--ledger", "l-ok", "--region", "us-east-1"}, exitNoVerdict, "drill " + name + ": no AWS credentials: set AWS_PROFILE", false},
			{[]string{"--ledger", "l-ok", "--region", "us-east-1", "-v"}, exitNoVerdict, "drill " + name + ": no AWS credentials: set AWS_PROFILE", true},
		} {
			sdkVerbose = tc.verbose // main sets it from the arguments
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			msg := stderr.String()
			if code != tc.code || !strings.HasPrefix(msg, tc.hint) {
				t.Errorf("%s %v: exit %d, want %d; stderr:\n%s", name, tc.args, code, tc.code, msg)
			}
			if hasSDK := strings.Contains(msg, "SDK: "); hasSDK != tc.verbose && tc.code == exitNoVerdict {
				t.Errorf("%s %v: the SDK's error shown %v:\n%s", name, tc.args, hasSDK, msg)
			}
			if !tc.verbose && strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("%s %v: more than one line without -v:\n%s", name, tc.args, msg)
			}
		}
	}
	sdkVerbose = false
}
