package doccheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/toolcheck"
)

// docCommands are every command of every sh/bash/shell block of the docs.
func docCommands(t *testing.T, root string) []Command {
	t.Helper()
	files, err := Docs(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []Command
	for _, f := range files {
		text, err := ReadDoc(root, f)
		if err != nil {
			t.Fatal(err)
		}
		blocks, err := Blocks(f, text)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if ShellLangs[b.Lang] {
				out = append(out, Commands(b)...)
			}
		}
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
	return append(out, "HOME="+e.work, "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
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

	// Drills first (a few at a time: they mostly wait), then what reads their
	// reports, then the rest, then the cdk synths the cdk commands need.
	var drills, rest []Command
	for _, c := range cmds {
		if w, _ := Words(c.Raw); isDrill(w, "local") {
			drills = append(drills, c)
		} else {
			rest = append(rest, c)
		}
	}
	start := time.Now()
	t.Run("drills", func(t *testing.T) {
		sem := make(chan struct{}, 3)
		for _, c := range drills {
			t.Run(c.String(), func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				e.check(t, c)
			})
		}
	})
	t.Logf("%d drill commands took %v", len(drills), time.Since(start).Round(time.Second))
	synths := map[string][]string{} // -c flags, sorted and joined -> the flags
	var synthUsers = map[string][]string{}
	for _, c := range rest {
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
	for _, k := range keys {
		t.Run("cdk synth "+k, func(t *testing.T) { e.synth(t, synths[k], synthUsers[k]) })
	}
	t.Logf("all %d documented commands took %v", len(cmds), time.Since(start).Round(time.Second))
}

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
		if len(w) != 3 || w[1] != "unleash" {
			t.Fatalf("gremlins: want gremlins unleash ./internal/<package>")
		}
		if _, err := os.Stat(filepath.Join(e.root, w[2])); err != nil {
			t.Fatalf("gremlins unleash %s: %v", w[2], err)
		}
	default:
		t.Fatalf("no check knows %q: run it in a check here, or fence the block with another tag if it is not a command", w[0])
	}
	return nil, false
}

// drill runs a drill command: local in the shared reports folder (exit 0 pass or
// 1 fail are both drills that ran), sandbox until it prints its URL, configure
// against the replica's control plane, and the rest against the replica's endpoints
// through AWS's environment variables; exit 2 (usage) is a command that fails as
// written.
func (e *env) drill(t *testing.T, args []string) {
	t.Helper()
	args, missing := Substitute(args, e.values)
	if len(missing) > 0 {
		t.Fatalf("no replica value for %v: add one to the test's placeholders", missing)
	}
	if len(args) == 0 {
		t.Fatal("drill without a command")
	}
	reports := filepath.Join(e.work, "reports")
	_ = os.MkdirAll(reports, 0o755)
	switch args[0] {
	case "local":
		code, out := e.run(t, reports, 4*time.Minute, e.bin, args...)
		if code != 0 && code != 1 || !strings.Contains(out, "verdict") {
			t.Fatalf("exit %d, want a verdict (exit 0 or 1):\n%s", code, out)
		}
	case "sandbox":
		e.sandboxCommand(t, args)
	case "configure":
		if !slices.Contains(args, "--cloudfront-endpoint") {
			// Against the replica's account: its distribution and buckets.
			args = append(args, "--cloudfront-endpoint", e.sb.CloudFrontURL(), "--s3-endpoint", e.sb.Primary().S3URL)
		}
		if !slices.Contains(args, "--file") {
			args = append(args, "--file", filepath.Join(e.work, "cdk.context.json"))
		}
		code, out := e.run(t, e.work, time.Minute, e.bin, args...)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if !slices.Contains(args, "--dry-run") {
			e.ctxMu.Lock()
			e.ctxFile = args[slices.Index(args, "--file")+1]
			e.ctxMu.Unlock()
		}
	case "history":
		code, out := e.run(t, reports, time.Minute, e.bin, args...)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	default:
		code, out := e.run(t, reports, time.Minute, e.bin, args...)
		if code == 2 || args[0] == "public-access" && code != 0 {
			t.Fatalf("exit %d: the command fails as written:\n%s", code, out)
		}
		t.Logf("exit %d against the replica", code)
	}
}

// sandboxCommand starts drill sandbox, waits for the URL it prints, and stops it
// with Ctrl-C, as a person would.
func (e *env) sandboxCommand(t *testing.T, args []string) {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.vars()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "Open it in a browser") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("drill sandbox printed no URL in a minute:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("drill sandbox after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("drill sandbox did not stop on Ctrl-C:\n%s", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cdk checks a cdk command's subcommand and flags and returns its -c flags.
func (e *env) cdk(t *testing.T, args []string) []string {
	t.Helper()
	if len(args) == 0 || !slices.Contains([]string{"bootstrap", "deploy", "diff", "destroy", "synth"}, args[0]) {
		t.Fatalf("cdk %v: the test knows bootstrap, deploy, diff, destroy and synth", args)
	}
	var ctx []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c" || a == "--context":
			if i+1 == len(args) || !strings.Contains(args[i+1], "=") {
				t.Fatalf("%s without key=value", a)
			}
			ctx = append(ctx, args[i+1])
			i++
		case a == "--force" && args[0] == "destroy", a == "--require-approval" && args[0] == "deploy":
			if a == "--require-approval" {
				i++
			}
		default:
			t.Fatalf("cdk %s: argument %q is not one the test knows (a placeholder or an environment cannot be synthesized)", args[0], a)
		}
	}
	slices.Sort(ctx)
	return ctx
}

// synth runs the pinned CDK CLI's synth with exactly the context the commands had:
// cdk.json's, the cdk.context.json `drill configure` wrote, and their -c flags.
func (e *env) synth(t *testing.T, ctx, users []string) {
	cli := toolcheck.NodeBin(t, "cdk")
	e.ctxMu.Lock()
	ctxFile := e.ctxFile
	e.ctxMu.Unlock()
	if ctxFile == "" {
		t.Fatalf("%v need the context drill configure writes, and no documented drill configure wrote one", users)
	}
	dir := t.TempDir()
	var cdkJSON map[string]any
	raw, err := os.ReadFile(filepath.Join(e.root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		t.Fatal(err)
	}
	// The app runs in the repository, as from its root; CDK reads the context
	// files in this directory.
	cdkJSON["app"] = fmt.Sprintf("cd %q && %s", e.root, cdkJSON["app"])
	raw, _ = json.Marshal(cdkJSON)
	ctxRaw, err := os.ReadFile(ctxFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"cdk.json": raw, "cdk.context.json": ctxRaw} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"synth", "-q", "--no-notices", "-o", filepath.Join(dir, "cdk.out")}
	for _, c := range ctx {
		args = append(args, "-c", c)
	}
	start := time.Now()
	code, out := e.run(t, dir, 8*time.Minute, cli, args...)
	if code != 0 {
		t.Fatalf("cdk synth for %v: exit %d\n%s", users, code, out)
	}
	t.Logf("cdk synth with the configured context %v took %v (for %d commands)", ctx, time.Since(start).Round(time.Second), len(users))
}

// aws runs an aws command: one that names --endpoint-url is for the replica and must
// succeed there; one for a real account runs against the replica's endpoint of its
// service, where it must be understood (exit 0, or an error the service answered; a
// command the CLI cannot parse exits 252, or 2 under v1).
func (e *env) aws(t *testing.T, args []string) {
	t.Helper()
	bin := toolcheck.AWSCLI(t)
	args, missing := Substitute(args, e.values)
	if len(missing) > 0 {
		t.Fatalf("no replica value for %v: add one to the test's placeholders", missing)
	}
	forSandbox := slices.Contains(args, "--endpoint-url")
	if !forSandbox {
		endpoints := map[string]string{"stepfunctions": e.sb.SFNEndpoint(), "s3": e.sb.Primary().S3URL, "s3api": e.sb.Primary().S3URL,
			"cloudwatch": e.sb.CloudWatchURL(), "cloudfront": e.sb.CloudFrontURL()}
		ep, ok := endpoints[args[0]]
		if !ok {
			t.Fatalf("aws %s: no replica endpoint for the service", args[0])
		}
		args = append(args, "--endpoint-url", ep)
	}
	code, out := e.run(t, e.work, time.Minute, bin, args...)
	switch {
	case code == 0:
	case !forSandbox && (code == 254 || code == 255) && strings.Contains(out, "An error occurred ("):
		// v2 says 254, v1 255 for an error the service answered: the CLI parsed the
		// command and sent it (a command it cannot parse exits 252, v1: 2).
		t.Logf("the replica answered an error, so the CLI understood the command: %s", strings.TrimSpace(out))
	default:
		t.Fatalf("aws: exit %d\n%s", code, out)
	}
}

// goCommand checks a go command: building the drill (the test built it so), installing
// it or a pinned tool, or tests whose packages and -run pattern exist.
func (e *env) goCommand(t *testing.T, w []string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(e.root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(mod), "\n", 2)[0], "module"))
	switch {
	case len(w) == 4 && w[0] == "build" && w[1] == "-o" && w[3] == "./cmd/drill":
		// The test ran go build -o <dir>/drill ./cmd/drill.
	case len(w) == 2 && w[0] == "install" && w[1] == module+"/cmd/drill@latest":
	case len(w) == 2 && w[0] == "install" && regexp.MustCompile(`^[a-z0-9.-]+\.[a-z]+/[^@\s]+@v\d+\.\d+\.\d+$`).MatchString(w[1]) && !strings.HasPrefix(w[1], module):
		// A pinned tool: the version is the check (it needs the module proxy).
	case len(w) >= 1 && w[0] == "test":
		e.goTest(t, w[1:])
	default:
		t.Fatalf("go %v: not a go command the test knows", w)
	}
}

// goTest checks go test's packages exist and its -run pattern names tests in them.
func (e *env) goTest(t *testing.T, args []string) {
	t.Helper()
	var pkgs []string
	run := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-run" && i+1 < len(args):
			run = args[i+1]
			i++
		case slices.Contains([]string{"-bench", "-benchtime", "-count", "-timeout", "-outputdir"}, a) && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			pkgs = append(pkgs, a)
		}
	}
	if len(pkgs) == 0 {
		t.Fatal("go test without a package")
	}
	var names []string
	for _, p := range pkgs {
		files, _ := filepath.Glob(filepath.Join(e.root, strings.TrimSuffix(p, "/..."), "*_test.go"))
		if len(files) == 0 {
			t.Fatalf("go test %s: no test files there", p)
		}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Benchmark)\w+)\(`).FindAllStringSubmatch(string(b), -1) {
				names = append(names, m[1])
			}
		}
	}
	if run == "" || run == "^$" {
		return
	}
	re, err := regexp.Compile(run)
	if err != nil {
		t.Fatalf("-run %s: %v", run, err)
	}
	if !slices.ContainsFunc(names, re.MatchString) {
		t.Fatalf("-run %s matches no test of %v", run, pkgs)
	}
}
