package statemachine_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/toolcheck"
	"github.com/unishop/failover-drill/statemachine"
)

// asl-validator (npm) checks the file against the Amazon States Language schema,
// placeholders included.
func TestASLValidator(t *testing.T) {
	bin := toolcheck.NodeBin(t, "asl-validator")
	file := filepath.Join(toolcheck.RepoRoot(), "statemachine", "failover-drill.asl.json")
	out, err := exec.Command(bin, "--json-path", file).CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator rejects the definition: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "is valid") {
		t.Fatalf("asl-validator output does not say valid:\n%s", out)
	}
}

// The flow's safety properties, read off the file itself.
func TestEveryStateFromPreflightOnReachesRestore(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type           string
			Next           string
			Default        string
			TimeoutSeconds float64
			Retry          []any
			Choices        []struct{ Next string }
			Catch          []struct {
				ErrorEquals []string
				Next        string
				ResultPath  string
			}
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Readiness", "Preflight", "SeedCart", "Replication", "BlockBucket", "AwaitFailover", "Restore", "AwaitRecovery", "Report"} {
		st, ok := def.States[name]
		if !ok {
			t.Fatalf("state %s missing", name)
		}
		caught := false
		for _, c := range st.Catch {
			for _, e := range c.ErrorEquals {
				if e == "States.ALL" && c.Next == "RestoreAfterFailure" {
					caught = true
				}
			}
		}
		if !caught {
			t.Errorf("state %s has no States.ALL catch to RestoreAfterFailure", name)
		}
	}
	if def.States["NotReady"].Next != "RestoreAfterFailure" {
		t.Error("a failed readiness check must take the failure path (NotReady -> RestoreAfterFailure)")
	}
	if def.States["RestoreAfterFailure"].Next != "RestoredAfterFailure" || def.States["ReportAfterFailure"].Next != "NoCause" || def.States["NoCause"].Next != "RestoreOutcome" {
		t.Error("the failure path must be RestoreAfterFailure -> RestoredAfterFailure -> (RecoveryCheck) -> ReportAfterFailure -> NoCause -> RestoreOutcome")
	}
	for _, c := range def.States["RestoreAfterFailure"].Catch {
		if c.Next != "ReportAfterFailure" {
			t.Errorf("a failed restore must go straight to the report, not to %s", c.Next)
		}
	}
	// The recovery check is best effort: whatever it does, the flow reaches the report
	// with the original error still in $.error, soon.
	choice := def.States["RestoredAfterFailure"]
	nexts := []string{choice.Default}
	for _, c := range choice.Choices {
		nexts = append(nexts, c.Next)
	}
	for _, n := range nexts {
		if n != "ReportAfterFailure" && n != "RecoveryCheck" {
			t.Errorf("RestoredAfterFailure leads to %s", n)
		}
	}
	check := def.States["RecoveryCheck"]
	if check.Type != "Task" || check.Next != "ReportAfterFailure" || len(check.Retry) != 0 || check.TimeoutSeconds == 0 || check.TimeoutSeconds > 120 {
		t.Errorf("RecoveryCheck %+v: want a Task with no retry, at most 120 s, then ReportAfterFailure", check)
	}
	caughtAll := false
	for _, c := range check.Catch {
		if c.Next != "ReportAfterFailure" || c.ResultPath == "$.error" || c.ResultPath == "$" || c.ResultPath == "$.restoreError" {
			t.Errorf("RecoveryCheck catch %+v must reach the report and keep the original error and the restore's", c)
		}
		caughtAll = caughtAll || slices.Contains(c.ErrorEquals, "States.ALL")
	}
	if !caughtAll {
		t.Error("RecoveryCheck must catch States.ALL")
	}
}

// The execution's TimeoutSeconds covers the worst case of its states, so it can never
// time out between BlockBucket and the end of the restore while every state is still
// within its own bounds (a timeout there would strand the block until the sweeper
// came). It stays within 15 minutes of that worst case, so it still ends a stuck run.
func TestExecutionTimeoutCoversTheWorstCase(t *testing.T) {
	b, err := statemachine.WorstCase(statemachine.Definition)
	if err != nil {
		t.Fatal(err)
	}
	timeout, err := statemachine.TimeoutSeconds(statemachine.Definition)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for i, s := range b.Path {
		if b.State[i] > 0 {
			steps = append(steps, fmt.Sprintf("%s %v", s, b.State[i]))
		}
	}
	t.Logf("worst case %v (%.0f s) along %s; TimeoutSeconds %.0f s", b.Total, b.Total.Seconds(), strings.Join(steps, " + "), timeout.Seconds())
	if timeout < b.Total {
		t.Errorf("TimeoutSeconds %.0f s is under the worst case %.0f s: raise it", timeout.Seconds(), b.Total.Seconds())
	}
	if timeout > b.Total+15*time.Minute {
		t.Errorf("TimeoutSeconds %.0f s is more than 15 min over the worst case %.0f s: lower it", timeout.Seconds(), b.Total.Seconds())
	}
	for _, must := range []string{"BlockBucket", "AwaitFailover", "RestoreAfterFailure", "ReportAfterFailure"} {
		if !slices.Contains(b.Path, must) {
			t.Errorf("the worst path %v misses %s", b.Path, must)
		}
	}
}

// A crashed Lambda (out of memory, its own timeout) is reported as Lambda.Unknown, and
// Step Functions' best practices also retry Lambda.ClientExecutionTimeoutException. The
// states that are safe to invoke again retry both: each is idempotent by design
// (readiness only reads; seed-cart finds the same user and reconciles its cart;
// block-bucket keeps the lock's prior; restore and report converge on the same
// result; Preflight only samples). The probes that run while the shop is degraded
// (AwaitFailover, AwaitRecovery) retry the service's error but not a crash: a probe
// that crashed at its 15-minute timeout would keep visitors on the secondary for
// another 15 minutes; the failure path restores at once instead.
func TestCrashedLambdasAreRetriedWhereSafe(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type  string
			Retry []struct{ ErrorEquals []string }
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	retries := func(state, name string) bool {
		for _, r := range def.States[state].Retry {
			if slices.Contains(r.ErrorEquals, name) || slices.Contains(r.ErrorEquals, "States.ALL") {
				return true
			}
		}
		return false
	}
	idempotent := []string{"Readiness", "Preflight", "SeedCart", "Replication", "BlockBucket", "Restore", "ReleaseLock", "Report", "RestoreAfterFailure", "ReportAfterFailure"}
	for _, st := range idempotent {
		for _, e := range []string{"Lambda.Unknown", "Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException"} {
			if !retries(st, e) {
				t.Errorf("%s does not retry %s", st, e)
			}
		}
	}
	for _, st := range []string{"AwaitFailover", "AwaitRecovery", "SwitchDatabase", "SwitchDatabaseBack"} {
		if !retries(st, "Lambda.ClientExecutionTimeoutException") || retries(st, "Lambda.Unknown") {
			t.Errorf("%s: want Lambda.ClientExecutionTimeoutException retried and Lambda.Unknown not", st)
		}
	}
	// The failure path's recovery check is best effort and bounded: it retries nothing
	// (TestEveryStateFromPreflightOnReachesRestore holds its Catch).
	if r := def.States["RecoveryCheck"].Retry; len(r) != 0 {
		t.Errorf("RecoveryCheck retries %v: a best-effort check after a failure must not delay the ending", r)
	}
	for name, st := range def.States {
		if st.Type == "Task" && !slices.Contains(idempotent, name) && !slices.Contains([]string{"AwaitFailover", "AwaitRecovery", "SwitchDatabase", "SwitchDatabaseBack", "RecoveryCheck"}, name) {
			t.Errorf("Task %s: decide whether a crash is retried, and list it here", name)
		}
	}
}

func TestWorstCaseArithmetic(t *testing.T) {
	def := `{"StartAt":"A","TimeoutSeconds":10,"States":{
		"A":{"Type":"Task","TimeoutSeconds":10,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":2,"IntervalSeconds":3,"BackoffRate":4,"MaxDelaySeconds":5},{"ErrorEquals":["Y"]}],
		     "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Slow"}],"Next":"C"},
		"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Slow"}],"Default":"Done"},
		"Slow":{"Type":"Task","TimeoutSeconds":100,"End":true},
		"Done":{"Type":"Succeed"}}}`
	b, err := statemachine.WorstCase(def)
	if err != nil {
		t.Fatal(err)
	}
	// A: 1 + 2 + 3 attempts of 10 s; delays 3 + min(12, 5) (first retrier) + 1 + 2 + 4 (defaults).
	if want := (60 + 3 + 5 + 7 + 100) * time.Second; b.Total != want || !slices.Equal(b.Path, []string{"A", "C", "Slow"}) {
		t.Errorf("worst case %v along %v, want %v along A, C, Slow", b.Total, b.Path, want)
	}
	for _, bad := range []string{
		`{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"}}}`,
		`{`,
	} {
		if _, err := statemachine.WorstCase(bad); err == nil {
			t.Errorf("WorstCase(%s) = nil error", bad)
		}
	}
}
