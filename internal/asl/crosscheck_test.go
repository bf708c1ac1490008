package asl_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/toolcheck"
	"github.com/unishop/failover-drill/statemachine"
)

// scenarios mirror testdata/crosscheck.json.
type scenarios struct {
	Substitutions map[string]string          `json:"substitutions"`
	Outputs       map[string]json.RawMessage `json:"outputs"`
	Scenarios     []struct {
		Name    string                     `json:"name"`
		Input   json.RawMessage            `json:"input"`
		Fail    []string                   `json:"fail"`
		Error   string                     `json:"error"`
		Outputs map[string]json.RawMessage `json:"outputs"`
	} `json:"scenarios"`
}

type call struct {
	State   string          `json:"state"`
	Payload json.RawMessage `json:"payload"`
}

type outcome struct {
	Name   string          `json:"name"`
	Status string          `json:"status"`
	Calls  []call          `json:"calls"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
}

// TestRunnerAgreesWithAWSLocalStepFunctions runs the real ASL file through an
// independent engine (npm aws-local-stepfunctions) and through this runner, with the
// same stub functions, and requires the same result for every scenario: the same
// Task invocations in the same order with the same payloads (Parameters, paths, the
// context object, intrinsics), the same final status, error and cause, the same output.
func TestRunnerAgreesWithAWSLocalStepFunctions(t *testing.T) {
	_, node := toolcheck.NodeModule(t, "aws-local-stepfunctions")
	root := toolcheck.RepoRoot()
	testdata := filepath.Join(root, "internal", "asl", "testdata")
	aslFile := filepath.Join(root, "statemachine", "failover-drill.asl.json")
	scenarioFile := filepath.Join(testdata, "crosscheck.json")

	cmd := exec.Command(node, filepath.Join(testdata, "crosscheck.mjs"), aslFile, scenarioFile)
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=--require="+filepath.Join(testdata, "polyfill.cjs"))
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws-local-stepfunctions: %v\n%s", err, stderr)
	}
	var theirs []outcome
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatalf("decode aws-local-stepfunctions results: %v\n%s", err, out)
	}

	raw, err := os.ReadFile(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	var sc scenarios
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	if len(theirs) != len(sc.Scenarios) {
		t.Fatalf("%d results for %d scenarios", len(theirs), len(sc.Scenarios))
	}
	m, err := asl.Load(statemachine.Definition, sc.Substitutions)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range sc.Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			ours := outcome{Name: s.Name}
			tasks := map[string]asl.TaskFunc{}
			for _, fn := range m.Functions() {
				tasks[fn] = func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
					state := asl.StateName(ctx)
					ours.Calls = append(ours.Calls, call{State: state, Payload: payload})
					if slices.Contains(s.Fail, state) {
						name := s.Error
						if name == "" {
							name = "InjectedFault"
						}
						return nil, &asl.TaskError{Name: name, Cause: "injected fault in " + state}
					}
					if o, ok := s.Outputs[state]; ok {
						return o, nil
					}
					if o, ok := sc.Outputs[state]; ok {
						return o, nil
					}
					return json.RawMessage(`{}`), nil
				}
			}
			res := m.Run(context.Background(), "crosscheck", s.Input, asl.Options{
				Tasks:           tasks,
				Sleep:           func(context.Context, time.Duration) error { return nil },
				Now:             func() time.Time { return start },
				StateMachineArn: "arn:aws:states:local:000000000000:stateMachine:failover-drill",
			})
			ours.Status, ours.Output, ours.Error, ours.Cause = res.Status, res.Output, res.Error, res.Cause
			want := theirs[i]
			if ours.Status != want.Status || ours.Error != want.Error || (ours.Error != "" && ours.Cause != want.Cause) {
				t.Errorf("runner: %s %s %q; aws-local-stepfunctions: %s %s %q", ours.Status, ours.Error, ours.Cause, want.Status, want.Error, want.Cause)
			}
			if want.Status == asl.StatusSucceeded && !jsonEqual(ours.Output, want.Output) {
				t.Errorf("output: runner %s, aws-local-stepfunctions %s", ours.Output, want.Output)
			}
			if len(ours.Calls) != len(want.Calls) {
				t.Fatalf("runner called %v, aws-local-stepfunctions %v", states(ours.Calls), states(want.Calls))
			}
			for j := range ours.Calls {
				if ours.Calls[j].State != want.Calls[j].State || !jsonEqual(ours.Calls[j].Payload, want.Calls[j].Payload) {
					t.Errorf("call %d: runner %s %s; aws-local-stepfunctions %s %s", j,
						ours.Calls[j].State, ours.Calls[j].Payload, want.Calls[j].State, want.Calls[j].Payload)
				}
			}
		})
	}
}

func states(calls []call) []string {
	var s []string
	for _, c := range calls {
		s = append(s, c.State)
	}
	return s
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(normalizeStart(x), normalizeStart(y))
}

// startTime is the shape of $$.Execution.StartTime in Step Functions.
var startTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// normalizeStart replaces a well-formed "startedAt" or "startTime"
// ($$.Execution.StartTime) with a marker: aws-local-stepfunctions always uses the real
// clock for it.
func normalizeStart(v any) any {
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"startedAt", "startTime"} {
			if s, ok := m[k].(string); ok && startTime.MatchString(s) {
				m[k] = "<execution start time>"
			}
		}
	}
	return v
}
