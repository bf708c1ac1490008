package doccheck

import (
	"bytes"
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

	"github.com/unishop/failover-drill/internal/toolcheck"
)

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
		t.Logf("exit %d against the replica: %s", code, lastLine(out))
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

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}
