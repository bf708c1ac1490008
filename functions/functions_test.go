// Package functions_test builds every Lambda the way infra/ does and checks the
// binaries: they build for linux/arm64, and they refuse to start without their
// configuration, naming the missing variable.
package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

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

// build compiles a function with the flags infra/ uses for Lambda (or for the host).
func build(tb testing.TB, name, goos, goarch string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+name)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s for %s/%s: %v\n%s", name, goos, goarch, err, b)
	}
	return out
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
			bin := build(t, fn.name, "linux", runtime.GOARCH)
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
				st, err := os.Stat(build(b, fn.name, "linux", "arm64"))
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
