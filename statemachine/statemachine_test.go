package statemachine_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
			Type  string
			Next  string
			Catch []struct {
				ErrorEquals []string
				Next        string
			}
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SeedCart", "BlockBucket", "AwaitFailover", "Restore", "AwaitRecovery", "Report"} {
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
	if def.States["RestoreAfterFailure"].Next != "ReportAfterFailure" || def.States["ReportAfterFailure"].Next != "RestoreOutcome" {
		t.Error("the failure path must be RestoreAfterFailure -> ReportAfterFailure -> RestoreOutcome")
	}
}
