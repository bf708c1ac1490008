package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// buildDrill compiles the command once per test binary.
var buildDrill = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "drill-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "drill")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// Ctrl-C during a local drill, in a real process: a line says so at once, the
// interrupted state is marked aborted (never "ok"), the safety net restores the bucket,
// and the report says all that. It also works when the process was started with SIGINT
// ignored, as a non-interactive shell starts a background job.
func TestInterruptedLocalDrillTellsTheTruth(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SKIP: POSIX signals")
	}
	bin, err := buildDrill()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to start the drill with SIGINT ignored: %v", err)
	}
	for _, tc := range []struct {
		name   string
		ignore bool
	}{
		{name: "interactive"},
		{name: "started with SIGINT ignored", ignore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"local", "-propagation", "5s", "-prior", "partial", "-input", `{"probeIntervalMs":50,"failoverTimeoutSeconds":30}`,
				"-out", out, "-name", "sigint-test"}
			cmd := exec.Command(bin, args...)
			if tc.ignore {
				// sh passes an ignored SIGINT on through exec, as to a background job.
				cmd = exec.Command(sh, append([]string{"-c", `trap "" INT; exec "$0" "$@"`, bin}, args...)...)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var all []string
			var sentAt, noticeAt time.Time
			deadline := time.After(60 * time.Second)
		read:
			for {
				select {
				case line, ok := <-lines:
					if !ok {
						break read
					}
					all = append(all, line)
					if sentAt.IsZero() && strings.Contains(line, "BlockBucket") && strings.Contains(line, " ok ") {
						// AwaitFailover now waits out the 5 s propagation: interrupt it.
						time.Sleep(200 * time.Millisecond)
						sentAt = time.Now()
						if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
							t.Fatal(err)
						}
					}
					if noticeAt.IsZero() && strings.Contains(line, "interrupt received") {
						noticeAt = time.Now()
					}
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatalf("no end after 60 s:\n%s\n%s", strings.Join(all, "\n"), stderr.String())
				}
			}
			err = cmd.Wait()
			text := strings.Join(all, "\n")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit %v, want 1 (no pass)\n%s\n%s", err, text, stderr.String())
			}
			if sentAt.IsZero() || noticeAt.IsZero() || noticeAt.Sub(sentAt) > 2*time.Second {
				t.Fatalf("interrupt sent %v, notice %v: want a line at once\n%s\n%s", sentAt, noticeAt, text, stderr.String())
			}
			for _, want := range []string{"AwaitFailover        aborted", "execution aborted", "interrupted: AwaitFailover was running when the execution ended ABORTED",
				"safety net: prior {BlockPublicAcls:true IgnorePublicAcls:true BlockPublicPolicy:false RestrictPublicBuckets:false}, read back {BlockPublicAcls:true IgnorePublicAcls:true BlockPublicPolicy:false RestrictPublicBuckets:false}, matches prior: true"} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
			// No structured log line in a person's output, also after Ctrl-C: they need -v
			// or --log-json.
			for _, l := range append(all, strings.Split(stderr.String(), "\n")...) {
				if strings.HasPrefix(strings.TrimSpace(l), "{") {
					t.Errorf("a JSON log line in the output: %s", l)
				}
			}
			if strings.Contains(text, "AwaitFailover        ok") {
				t.Errorf("the interrupted state is marked ok:\n%s", text)
			}
			raw, err := os.ReadFile(filepath.Join(out, "sigint-test", "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep drill.Report
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != "ABORTED" || rep.InterruptedState != "AwaitFailover" || rep.SafetyNet == nil || !rep.SafetyNet.MatchesPrior ||
				!rep.Restore.MatchesPrior || rep.Restore.Prior == nil || rep.Verdict != drill.Fail {
				t.Errorf("report: status %q interrupted %q safety net %+v restore %+v verdict %s", rep.Status, rep.InterruptedState, rep.SafetyNet, rep.Restore, rep.Verdict)
			}
			for _, st := range rep.Steps {
				if st.Name == "AwaitFailover" && st.Status != "aborted" {
					t.Errorf("step %+v, want aborted", st)
				}
			}
		})
	}
}
