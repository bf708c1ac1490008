package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// The Lambda Runtime Interface Emulator runs the real function binaries (main.go,
// aws-lambda-go's runtime API client, the SDK's default config chain) the way Lambda
// does; the sandbox stands in for S3. This proves the wiring and that the Lambda error
// type of a typed drill error is the name the ASL catches.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

func installRIE(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	cmd := exec.Command("go", "install", riePackage)
	// The environment's CGO_ENABLED, as go test's: the standard library it needs is
	// then the one already compiled for the test binary.
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot install the Lambda Runtime Interface Emulator (%v):\n%s", err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return filepath.Join(bin, "aws-lambda-rie")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lambdaFn is one function binary running under the emulator.
type lambdaFn struct{ url string }

func startUnderRIE(t *testing.T, rie, name string, env map[string]string) lambdaFn {
	t.Helper()
	bootstrap := hostBinary(t, name)
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator for %s never listened on %s:\n%s", name, addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return lambdaFn{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
}

// invoke returns the function's response payload (its result, or aws-lambda-go's
// {"errorType","errorMessage"} document).
func (f lambdaFn) invoke(t *testing.T, payload any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(payload)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("invoke: response %d is not a JSON object: %s", resp.StatusCode, raw)
	}
	return out
}

func TestFunctionsUnderTheRuntimeEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: builds the Lambda Runtime Interface Emulator")
	}
	rie := installRIE(t)
	sb, err := sandbox.Start(sandbox.Config{
		PrimaryPAB:       &drill.PublicAccessBlock{BlockPublicPolicy: true},
		PropagationDelay: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	sc := sb.Config()
	// The SDK's standard environment, as Lambda sets it, plus the endpoint override
	// that points S3 at the sandbox (an IP endpoint makes the SDK use path-style).
	// Each signs as itself, and the sandbox holds it to its deployed policy.
	sb.SetPolicies(local.Policies(sc, local.StateMachineARN(sc.PrimaryRegion)))
	awsEnv := func(function string) map[string]string {
		return map[string]string{
			"AWS_REGION": sc.PrimaryRegion, "AWS_ACCESS_KEY_ID": function, "AWS_SECRET_ACCESS_KEY": "local-secret",
			"AWS_ENDPOINT_URL_S3": sb.Primary().S3URL, drill.EnvLedgerBucket: sc.LedgerBucket,
		}
	}
	block := startUnderRIE(t, rie, drill.FuncBlock, awsEnv(drill.FuncBlock))
	restore := startUnderRIE(t, rie, drill.FuncRestore, awsEnv(drill.FuncRestore))
	id := func(name string) map[string]any {
		return map[string]any{"execution": name, "startTime": "2025-06-01T12:00:00.123Z",
			"executionArn": asl.ExecutionARN(local.StateMachineARN(sc.PrimaryRegion), name)}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}

	t.Run("typed error keeps its name through aws-lambda-go", func(t *testing.T) {
		out := block.invoke(t, with(id("rie-1"), "config", map[string]any{"items": 0}))
		if out["errorType"] != "InvalidInput" {
			t.Fatalf("errorType %v, want InvalidInput (the ASL's ErrorEquals): %v", out["errorType"], out)
		}
		for _, field := range []string{"distribution", "primaryBucket", "items"} {
			if !strings.Contains(fmt.Sprint(out["errorMessage"]), field+":") {
				t.Errorf("errorMessage %q does not name %s", out["errorMessage"], field)
			}
		}
		if n := len(sb.PABChanges()); n != 0 {
			t.Errorf("invalid input changed the bucket %d times", n)
		}
	})

	t.Run("block then restore", func(t *testing.T) {
		cfg := map[string]any{"distribution": sb.DistributionURL(), "primaryBucket": sc.PrimaryBucket}
		out := block.invoke(t, with(id("rie-2"), "config", cfg))
		if out["errorType"] != nil || out["blockedAt"] == nil {
			t.Fatalf("block: %v", out)
		}
		if got, _ := sb.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != drill.BlockAll {
			t.Fatalf("after block the bucket has %+v", got)
		}
		// What RestoreAfterFailure sends. A block of the run could still land for
		// DefaultSettle after block-bucket sent it, so the failure path's restore puts the
		// prior back and keeps the lock, marked restored and settling until then (its
		// grant to mark a lock, used): the safety net, which waits for that moment, or
		// the sweeper, releases it.
		out = restore.invoke(t, with(id("rie-2"), "reason", drill.ReasonFailure))
		if out["errorType"] != nil || out["matchesPrior"] != true || out["settlingUntil"] == nil {
			t.Fatalf("restore: %v", out)
		}
		want := drill.PublicAccessBlock{BlockPublicPolicy: true}
		if got, _ := sb.PublicAccessBlock(sc.PrimaryBucket); got == nil || *got != want {
			t.Errorf("after restore the bucket has %+v, want %+v", got, want)
		}
		body, held := sb.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket))
		var lock drill.Ticket
		if err := json.Unmarshal(body, &lock); !held || err != nil || lock.Status != drill.TicketRestored || lock.SettlingUntil == nil {
			t.Errorf("lock %s (held %v, %v): want it kept, restored and settling", body, held, err)
		}
	})
}
