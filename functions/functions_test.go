// Package functions_test builds the Lambdas and checks the binaries: they refuse to
// start without their configuration, naming the missing variable, and they serve
// under the Lambda Runtime Interface Emulator (rie_test.go). The binaries are built
// once per test binary, all in one go build, and shared by the tests; the deployed
// build (linux/arm64) is infra's tests', and BenchmarkFunctionSize's.
package functions_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

var functions = []struct {
	name string
	env  []string // required env vars
}{
	{drill.FuncSeedCart, nil},
	{drill.FuncBlock, []string{drill.EnvLedgerBucket}},
	{drill.FuncProbe, nil},
	{drill.FuncRestore, []string{drill.EnvLedgerBucket}},
	{drill.FuncReport, []string{drill.EnvLedgerBucket}},
	{drill.FuncSweeper, []string{drill.EnvLedgerBucket}},
	{drill.FuncReadiness, nil}, // STOP_ALARMS is optional (no stop alarms)
	{drill.FuncDatabase, []string{drill.EnvLedgerBucket}},
}

// target is how the functions are built: for where, with which flags and environment.
type target struct {
	goos, goarch string
	flags        []string
	env          []string
}

// deployed is infra/'s GoBuilder exactly: what Lambda runs. Its compile settings
// (linux/arm64, -trimpath, CGO_ENABLED=0) are infra's, so a build here reuses the
// packages infra's tests compiled into the build cache, and the other way round.
var deployed = target{"linux", "arm64",
	[]string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w"}, []string{"CGO_ENABLED=0"}}

// host is what the tests run: the deployed build's tag (no RPC mode in aws-lambda-go)
// and link flags, but go test's own compile settings (no -trimpath, the environment's
// CGO_ENABLED), so every package the functions share with this test binary (the SDK,
// internal/...) comes from the build cache: with -trimpath and CGO_ENABLED=0, a cold
// cache compiled about 460 packages a second time (250 s on the 2-core machine). A
// path in a stack trace and the libc the host's resolver uses are all that differ;
// the tests use IP endpoints, and infra's tests build the deployed binaries.
var host = target{"linux", runtime.GOARCH, []string{"-tags", "lambda.norpc", "-ldflags=-s -w"}, nil}

// build compiles the named functions for t in one go build, into one fresh directory,
// and returns each binary's path. One invocation loads the packages once and links
// the binaries side by side.
func build(t target, names ...string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "functions-"+t.goos+"-"+t.goarch+"-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"build"}, t.flags...)
	args = append(args, "-o", dir+string(filepath.Separator))
	bins := map[string]string{}
	for _, n := range names {
		args = append(args, "./"+n)
		bins[n] = filepath.Join(dir, n) // go build -o dir/ names a binary after its folder
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(append(os.Environ(), "GOOS="+t.goos, "GOARCH="+t.goarch), t.env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("GOOS=%s GOARCH=%s %s go %s: %v\n%s", t.goos, t.goarch, strings.Join(t.env, " "), strings.Join(args, " "), err, b)
	}
	return bins, nil
}

// The host's binaries of the functions the tests run, built once per test binary and
// shared by the tests (they run them, never change them); removed by TestMain.
var (
	hostOnce sync.Once
	hostBins map[string]string
	hostErr  error
	hostDir  string
)

func hostBinary(t *testing.T, name string) string {
	t.Helper()
	hostOnce.Do(func() {
		// The functions the tests run: those with a configuration to refuse without,
		// block-bucket and restore among them (the emulator's).
		var names []string
		for _, fn := range functions {
			if len(fn.env) > 0 {
				names = append(names, fn.name)
			}
		}
		start := time.Now()
		hostBins, hostErr = build(host, names...)
		if hostErr == nil {
			hostDir = filepath.Dir(hostBins[names[0]])
			t.Logf("built the %d functions for linux/%s in %v", len(names), runtime.GOARCH, time.Since(start).Round(time.Millisecond))
		}
	})
	if hostErr != nil {
		t.Fatal(hostErr)
	}
	return hostBins[name]
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hostDir != "" {
		os.RemoveAll(hostDir)
	}
	os.Exit(code)
}

func TestEveryFunctionHasAFolder(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != len(functions) {
		t.Errorf("function folders %v, want exactly the %d functions (the ASL's and the sweeper)", dirs, len(functions))
	}
}

func TestFunctionsRefuseToStartWithoutConfiguration(t *testing.T) {
	for _, fn := range functions {
		if len(fn.env) == 0 {
			continue
		}
		t.Run(fn.name, func(t *testing.T) {
			bin := hostBinary(t, fn.name)
			for _, missing := range fn.env {
				cmd := exec.Command(bin)
				cmd.Env = []string{"PATH=/usr/bin:/bin"}
				for _, v := range fn.env {
					if v != missing {
						cmd.Env = append(cmd.Env, v+"=some-value")
					}
				}
				out, err := cmd.CombinedOutput()
				if err == nil {
					t.Fatalf("started without %s", missing)
				}
				if !strings.Contains(string(out), missing) {
					t.Errorf("without %s it said %q, which does not name the variable", missing, out)
				}
			}
		})
	}
}

// BenchmarkFunctionSize reports each function's size as deployed (linux/arm64,
// -tags lambda.norpc, stripped). Target: <= 12 MB each.
func BenchmarkFunctionSize(b *testing.B) {
	for _, fn := range functions {
		b.Run(fn.name, func(b *testing.B) {
			var size int64
			for range b.N {
				bins, err := build(deployed, fn.name)
				if err != nil {
					b.Fatal(err)
				}
				st, err := os.Stat(bins[fn.name])
				os.RemoveAll(filepath.Dir(bins[fn.name]))
				if err != nil {
					b.Fatal(err)
				}
				size = st.Size()
			}
			b.ReportMetric(float64(size)/1e6, "MB")
			if size > 12e6 {
				b.Errorf("%s is %.1f MB, target <= 12 MB", fn.name, float64(size)/1e6)
			}
		})
	}
}
