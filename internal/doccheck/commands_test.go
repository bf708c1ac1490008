package doccheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/toolcheck"
)

// docCommands are every command of every sh/bash/shell block of the docs.
func docCommands(t *testing.T, root string) []Command {
	t.Helper()
	var out []Command
	for _, b := range docBlocks(t, root) {
		if ShellLangs[b.Lang] {
			out = append(out, Commands(b)...)
		}
	}
	return out
}

// docBlocks are the fenced blocks of every documentation file, in order.
func docBlocks(t *testing.T, root string) []Block {
	t.Helper()
	files, err := Docs(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []Block
	for _, f := range files {
		text, err := ReadDoc(root, f)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := Blocks(f, text)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, blocks...)
	}
	return out
}

// env is what every command the test runs gets: no AWS profile of the machine's,
// dummy credentials, and AWS's endpoints replaced by the replica's.
type env struct {
	root, bin, work string
	sb              *sandbox.Sandbox
	values          map[string]string // placeholder -> the replica's value
	ctxFile         string            // written by the docs' drill configure
	ctxMu           sync.Mutex
}

func (e *env) vars() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	// HOME stays: Go's build cache and the npm cache live under it.
	return append(out, "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(e.work, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.work, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
		"AWS_ENDPOINT_URL_S3="+e.sb.Primary().S3URL, "AWS_ENDPOINT_URL_SFN="+e.sb.SFNEndpoint(),
		"AWS_ENDPOINT_URL_CLOUDFRONT="+e.sb.CloudFrontURL(), "AWS_ENDPOINT_URL_CLOUDWATCH="+e.sb.CloudWatchURL())
}

// run runs a program with the test's environment in dir, at most d.
func (e *env) run(t *testing.T, dir string, d time.Duration, name string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, e.vars()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q: still running after %v\n%s", name, args, d, out.String())
	}
	if cmd.ProcessState == nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// Every command shown in a sh/bash/shell block of README.md and docs/*.md, run or
// checked as written: drill commands against the replica (the ones that need an
// account with AWS's endpoints pointed at it), cdk commands synthesized with the
// context `drill configure` writes plus the -c flags shown, aws commands against the
// replica's endpoints, the test command held to .ci/run. A command no check knows
// fails the test: write a check, or fence it as text.
func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the documented commands run drills and a cdk synth")
	}
	root := toolcheck.RepoRoot()
	cmds := docCommands(t, root)
	if only := os.Getenv(OnlyFileEnv); only != "" { // a writer's quick loop over one page
		cmds = slices.DeleteFunc(cmds, func(c Command) bool { return c.File != only })
		t.Logf("%s=%s: only that file's %d commands", OnlyFileEnv, only, len(cmds))
	}
	if len(cmds) == 0 {
		t.Fatal("no commands found in the docs")
	}
	e := &env{root: root, work: t.TempDir()}
	e.bin = filepath.Join(e.work, "drill")
	build := exec.Command("go", "build", "-o", e.bin, "./cmd/drill")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	sb.CreateStateMachine(local.StateMachineARN("us-east-1"))
	e.sb = sb
	e.values = map[string]string{
		"<LedgerBucketName>": sb.Config().LedgerBucket, "<bucket>": sb.Primary().Bucket, "<S3 endpoint>": sb.Primary().S3URL,
		"<StateMachineArn>": local.StateMachineARN("us-east-1"), "<name>": "doc-example", "<start>": "2025-06-01T12:00:00Z",
		"<sandbox S3 endpoint>": sb.Primary().S3URL, "<sandbox CloudFront API>": sb.CloudFrontURL(),
		"<sandbox Step Functions endpoint>": sb.SFNEndpoint(), "<sandbox CloudWatch endpoint>": sb.CloudWatchURL(),
	}

	// The quick commands first (drill configure writes the context the synths
	// need), then the drills (a few at a time: they mostly wait) alongside the cdk
	// synths (one at a time: they compute), then what reads the drills' reports.
	var quick, drills, afterDrills []Command
	seen := map[string]string{}
	for _, c := range cmds {
		if first, ok := seen[c.Raw]; ok { // the same command on two pages runs once
			t.Logf("%s: checked as %s", c, first)
			continue
		}
		seen[c.Raw] = fmt.Sprintf("%s:%d", c.File, c.Line)
		w, _ := Words(c.Raw)
		switch {
		case isDrill(w, "local"):
			drills = append(drills, c)
		case isDrill(w, "history") && !slices.Contains(w, "--ledger"):
			afterDrills = append(afterDrills, c)
		default:
			quick = append(quick, c)
		}
	}
	start := time.Now()
	synths := map[string][]string{} // -c flags, sorted and joined -> the flags
	synthUsers := map[string][]string{}
	for _, c := range quick {
		t.Run(c.String(), func(t *testing.T) {
			if ctxFlags, ok := e.check(t, c); ok {
				key := strings.Join(ctxFlags, " ")
				synths[key] = ctxFlags
				synthUsers[key] = append(synthUsers[key], c.String())
			}
		})
	}
	keys := make([]string, 0, len(synths))
	for k := range synths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Run("drills and synths", func(t *testing.T) {
		// Three drills at a time: more, beside a synth, starved the timing-sensitive
		// tests of the packages go test ./... runs next to this one.
		drillSlots, synthSlot := make(chan struct{}, 3), make(chan struct{}, 1)
		for _, c := range drills {
			t.Run(c.String(), func(t *testing.T) {
				t.Parallel()
				drillSlots <- struct{}{}
				defer func() { <-drillSlots }()
				e.check(t, c)
			})
		}
		for _, k := range keys {
			t.Run("cdk synth "+k, func(t *testing.T) {
				t.Parallel()
				synthSlot <- struct{}{}
				defer func() { <-synthSlot }()
				e.synth(t, synths[k], synthUsers[k])
			})
		}
	})
	for _, c := range afterDrills {
		t.Run(c.String(), func(t *testing.T) { e.check(t, c) })
	}
	t.Logf("all %d documented commands (%d drills, %d cdk synths) took %v", len(cmds), len(drills), len(keys), time.Since(start).Round(time.Second))
}

// OnlyFileEnv names one documentation file (docs/deploy.md) whose commands alone
// TestCommands runs.
const OnlyFileEnv = "DOCCHECK_FILE"

func isDrill(w []string, sub string) bool {
	w = drillArgs(w)
	return w != nil && (sub == "" || len(w) > 0 && w[0] == sub)
}

// drillArgs are the arguments of a drill command (drill ... or go run ./cmd/drill
// ...), nil when it is not one.
func drillArgs(w []string) []string {
	switch {
	case len(w) >= 1 && w[0] == "drill":
		return w[1:]
	case len(w) >= 3 && w[0] == "go" && w[1] == "run" && w[2] == "./cmd/drill":
		return w[3:]
	}
	return nil
}

// check runs or checks one command; for a cdk command it returns the -c flags its
// synth needs.
func (e *env) check(t *testing.T, c Command) ([]string, bool) {
	t.Helper()
	if parts := strings.Split(c.Raw, " && "); len(parts) > 1 {
		ci, err := os.ReadFile(filepath.Join(e.root, ".ci", "run"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(ci), "\n"), c.Raw) {
			t.Fatalf("a chain of commands is checked only as .ci/run's test command, which it is not")
		}
		return nil, false // CI runs it as written: it is .ci/run's command line
	}
	w, err := Words(c.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for len(w) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(w[0]) {
		t.Fatalf("an environment assignment (%s) in a documented command: the check would not see it", w[0])
	}
	switch {
	case drillArgs(w) != nil:
		e.drill(t, drillArgs(w))
	case len(w) >= 2 && w[0] == "npx" && w[1] == "cdk":
		return e.cdk(t, w[2:]), true
	case w[0] == "aws":
		e.aws(t, w[1:])
	case w[0] == "npm":
		if len(w) < 2 || w[1] != "ci" {
			t.Fatalf("only npm ci is documented")
		}
		for _, f := range w[2:] {
			if f != "--no-audit" && f != "--no-fund" {
				t.Fatalf("npm ci flag %s: not one the test knows", f)
			}
		}
		if _, err := os.Stat(filepath.Join(e.root, "package-lock.json")); err != nil {
			t.Fatal("npm ci needs package-lock.json")
		}
	case w[0] == "go":
		e.goCommand(t, w[1:])
	case w[0] == "gremlins":
		// gremlins unleash [--workers N] [--timeout-coefficient N] ./internal/<package>
		args := w[1:]
		if len(args) > 0 && args[0] == "unleash" {
			args = args[1:]
		} else {
			t.Fatalf("gremlins: want gremlins unleash [--workers N] [--timeout-coefficient N] ./internal/<package>")
		}
		for len(args) > 2 && (args[0] == "--workers" || args[0] == "--timeout-coefficient") {
			if _, err := strconv.Atoi(args[1]); err != nil {
				t.Fatalf("gremlins %s %q: want a number", args[0], args[1])
			}
			args = args[2:]
		}
		if len(args) != 1 {
			t.Fatalf("gremlins unleash %v: want one package after the flags", args)
		}
		if _, err := os.Stat(filepath.Join(e.root, args[0])); err != nil {
			t.Fatalf("gremlins unleash %s: %v", args[0], err)
		}
	default:
		t.Fatalf("no check knows %q: run it in a check here, or fence the block with another tag if it is not a command", w[0])
	}
	return nil, false
}
