package local

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/cost"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/statemachine"
)

// Every Task state of the real ASL is priced as the function it invokes: a state the
// cost table does not know would be left out of the estimate without a word.
func TestEveryTaskIsPricedAsItsFunction(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type       string
			Parameters struct{ FunctionName string }
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	// The same placeholders the local deployment substitutes (Start) and the stack does.
	byPlaceholder := map[string]string{
		"${SeedCartFunctionArn}": drill.FuncSeedCart, "${BlockBucketFunctionArn}": drill.FuncBlock,
		"${ProbeFunctionArn}": drill.FuncProbe, "${RestoreFunctionArn}": drill.FuncRestore,
		"${ReportFunctionArn}": drill.FuncReport, "${ReadinessFunctionArn}": drill.FuncReadiness,
		"${DatabaseFunctionArn}": drill.FuncDatabase,
	}
	tasks := 0
	for name, st := range def.States {
		if st.Type != "Task" {
			continue
		}
		tasks++
		fn, ok := cost.TaskFunctions[name]
		if !ok {
			t.Errorf("Task %s is not in cost.TaskFunctions: its invocations are not priced", name)
			continue
		}
		if want, known := byPlaceholder[st.Parameters.FunctionName]; !known || fn != want {
			t.Errorf("Task %s invokes %q but is priced as %s", name, st.Parameters.FunctionName, fn)
		}
	}
	if tasks != len(cost.TaskFunctions) {
		t.Errorf("%d Task states, %d priced: the table names a state the flow no longer has", tasks, len(cost.TaskFunctions))
	}
}

// On AWS the safety net looks a second time only while a block of the run can still
// land: until 70 s after it was sent. Locally that is 1 s, long past when a drill ends.
func TestSafetyNetIsPricedWithItsWaitOnAWS(t *testing.T) {
	sent := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		started time.Time
		took    time.Duration
		block   *time.Time
		want    time.Duration
	}{
		{"never blocked: one look either way", sent, 20 * time.Millisecond, nil, 20 * time.Millisecond},
		{"12 s after the block: waits 58 s on AWS", sent.Add(12 * time.Second), 20 * time.Millisecond, &sent, 58*time.Second + 20*time.Millisecond},
		{"within the local settle: the local wait is replaced", sent.Add(500 * time.Millisecond), 540 * time.Millisecond, &sent, restore.DefaultSettle - 500*time.Millisecond + 40*time.Millisecond},
		{"after the settle on AWS too: no wait", sent.Add(2 * time.Minute), 20 * time.Millisecond, &sent, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := safetyNetOnAWS(tc.started, tc.took, tc.block); got != tc.want {
				t.Errorf("%v, want %v", got, tc.want)
			}
		})
	}
}
