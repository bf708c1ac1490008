package drill_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/statemachine"
)

// TestFunctionsTableAgreesWithTheASL: the ASL file and drill.Functions say the same:
// every Task state of the flow is listed under the function whose ${Placeholder} it
// invokes, with the TimeoutSeconds the file gives it; every state the table lists is a
// Task of the file; each state's timeout is above its function's own bound, so the
// function's named error comes before States.Timeout. And every function has a folder
// under functions/.
func TestFunctionsTableAgreesWithTheASL(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type           string
			TimeoutSeconds int
			Parameters     struct{ FunctionName string }
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range drill.Functions {
		if f.Name == "" || f.MemoryMB < 128 || f.Timeout <= 0 || f.Timeout > 15*time.Minute {
			t.Errorf("%s: name, memory %d MB (Lambda: 128..10240) or timeout %v (Lambda: up to 15 min) missing or out of range", f.Name, f.MemoryMB, f.Timeout)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "functions", f.Name, "main.go")); err != nil {
			t.Errorf("%s: no functions/%s/main.go: %v", f.Name, f.Name, err)
		}
		if (f.Placeholder == "") != (len(f.States) == 0) {
			t.Errorf("%s: placeholder %q but %d states: a function the flow calls has both", f.Name, f.Placeholder, len(f.States))
		}
		for _, s := range f.States {
			listed[s.Name] = true
			st, ok := def.States[s.Name]
			switch {
			case !ok || st.Type != "Task":
				t.Errorf("%s: state %s is not a Task of the ASL", f.Name, s.Name)
				continue
			case st.Parameters.FunctionName != "${"+f.Placeholder+"}":
				t.Errorf("%s: state %s invokes %s, want ${%s}", f.Name, s.Name, st.Parameters.FunctionName, f.Placeholder)
			case st.TimeoutSeconds != s.TimeoutSeconds:
				t.Errorf("%s: state %s has TimeoutSeconds %d in the ASL, %d in drill.Functions", f.Name, s.Name, st.TimeoutSeconds, s.TimeoutSeconds)
			}
			bound := f.Timeout
			if s.Budget > 0 {
				bound = s.Budget
			}
			if time.Duration(s.TimeoutSeconds)*time.Second <= bound {
				t.Errorf("%s: state %s times out at %d s, not above the function's own bound %v", f.Name, s.Name, s.TimeoutSeconds, bound)
			}
		}
	}
	for name, st := range def.States {
		if st.Type == "Task" && !listed[name] {
			t.Errorf("Task state %s is in the ASL but under no function of drill.Functions", name)
		}
	}
	if got := drill.TaskFunctions(); len(got) != len(listed) || got["RecoveryCheck"] != drill.FuncProbe {
		t.Errorf("TaskFunctions %v", got)
	}
	if slices.Contains(drill.FunctionNames(), "") || len(drill.FunctionMemoryMB) != len(drill.Functions) {
		t.Errorf("names %v, memory %v", drill.FunctionNames(), drill.FunctionMemoryMB)
	}
}
