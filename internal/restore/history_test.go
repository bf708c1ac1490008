package restore_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/restore"
)

// fakeHistory serves events (oldest first) as Step Functions pages them, newest first
// when asked, and counts the calls.
type fakeHistory struct {
	events []types.HistoryEvent
	calls  int
}

func (f *fakeHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.calls++
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	size := int(in.MaxResults)
	out := &sfn.GetExecutionHistoryOutput{}
	for i := from; i < min(from+size, len(f.events)); i++ {
		idx := i
		if in.ReverseOrder {
			idx = len(f.events) - 1 - i
		}
		out.Events = append(out.Events, f.events[idx])
	}
	if from+size < len(f.events) {
		out.NextToken = aws.String(strconv.Itoa(from + size))
	}
	return out, nil
}

var historyStart = time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC)

// history numbers events and stamps them from historyStart on.
func history(evs ...types.HistoryEvent) []types.HistoryEvent {
	for i := range evs {
		evs[i].Id, evs[i].PreviousEventId = int64(i+1), int64(i)
		evs[i].Timestamp = aws.Time(historyStart.Add(time.Duration(i) * time.Second))
	}
	return evs
}

func ev(typ types.HistoryEventType) types.HistoryEvent { return types.HistoryEvent{Type: typ} }

func entered(typ types.HistoryEventType, name string) types.HistoryEvent {
	return types.HistoryEvent{Type: typ, StateEnteredEventDetails: &types.StateEnteredEventDetails{Name: aws.String(name)}}
}

func exited(typ types.HistoryEventType, name string) types.HistoryEvent {
	return types.HistoryEvent{Type: typ, StateExitedEventDetails: &types.StateExitedEventDetails{Name: aws.String(name)}}
}

func taskFailed(errName, cause string) types.HistoryEvent {
	return types.HistoryEvent{Type: types.HistoryEventTypeTaskFailed, TaskFailedEventDetails: &types.TaskFailedEventDetails{
		Error: aws.String(errName), Cause: aws.String(cause), Resource: aws.String("invoke"), ResourceType: aws.String("lambda")}}
}

// task is a Task state's entry, its attempts (each "" succeeds, else fails with that
// error) and, when exit, its exit.
func task(name string, exit bool, attempts ...string) []types.HistoryEvent {
	out := []types.HistoryEvent{entered(types.HistoryEventTypeTaskStateEntered, name)}
	for _, a := range attempts {
		out = append(out, ev(types.HistoryEventTypeTaskScheduled), ev(types.HistoryEventTypeTaskStarted))
		if a == "" {
			out = append(out, ev(types.HistoryEventTypeTaskSucceeded))
		} else {
			out = append(out, taskFailed(a, "cause of "+a))
		}
	}
	if exit {
		out = append(out, exited(types.HistoryEventTypeTaskStateExited, name))
	}
	return out
}

func concat(parts ...[]types.HistoryEvent) []types.HistoryEvent {
	var out []types.HistoryEvent
	for _, p := range parts {
		out = append(out, p...)
	}
	return history(out...)
}

var started = []types.HistoryEvent{ev(types.HistoryEventTypeExecutionStarted)}

// ReadEnd names the state a stopped, timed-out or failed execution was in, from its
// history read newest first in bounded pages.
func TestReadEnd(t *testing.T) {
	// A Task retried so often that its entry is more than the 300 events ReadEnd reads back.
	attempts := make([]string, 150)
	for i := range attempts {
		attempts[i] = "Flaky"
	}
	long := concat(started, task("Retrying", false, attempts...), []types.HistoryEvent{ev(types.HistoryEventTypeExecutionTimedOut)})
	for _, tc := range []struct {
		name    string
		events  []types.HistoryEvent
		start   time.Time
		want    *drill.HistoryFacts
		wantErr string
		calls   int
	}{
		{name: "stopped in a Task", events: concat(started, task("Seed", true, ""), task("AwaitFailover", false), []types.HistoryEvent{
			{Type: types.HistoryEventTypeExecutionAborted, ExecutionAbortedEventDetails: &types.ExecutionAbortedEventDetails{Error: aws.String("Manual"), Cause: aws.String("stopped by a person")}}}),
			want: &drill.HistoryFacts{InterruptedState: "AwaitFailover", Error: "Manual", Cause: "stopped by a person"}, calls: 1},
		{name: "timed out while retrying", events: concat(started, task("AwaitFailover", false, "Flaky", "Flaky"), []types.HistoryEvent{
			{Type: types.HistoryEventTypeExecutionTimedOut, ExecutionTimedOutEventDetails: &types.ExecutionTimedOutEventDetails{Error: aws.String("States.Timeout")}}}),
			want: &drill.HistoryFacts{InterruptedState: "AwaitFailover", Error: "States.Timeout"}, calls: 1},
		{name: "stopped between states", events: concat(started, task("Seed", true, ""), []types.HistoryEvent{ev(types.HistoryEventTypeExecutionAborted)}),
			want: &drill.HistoryFacts{}, calls: 1},
		// A failure a retry made good is not the one; the caught one is, though a later
		// Task ran and the execution failed in a Fail state.
		{name: "failed after a caught failure", events: concat(started, task("Seed", true, "Flaky", ""), task("Block", true, "BlockError"),
			task("RestoreAfterFailure", true, "Busy", ""), []types.HistoryEvent{entered(types.HistoryEventTypeFailStateEntered, "DrillFailed"),
				{Type: types.HistoryEventTypeExecutionFailed, ExecutionFailedEventDetails: &types.ExecutionFailedEventDetails{Error: aws.String("DrillFailed")}}}),
			want: &drill.HistoryFacts{FailedState: "Block", Error: "BlockError", Cause: "cause of BlockError"}, calls: 1},
		{name: "failed in a Fail state, no Task failed", events: concat(started, task("Seed", true, ""), []types.HistoryEvent{
			entered(types.HistoryEventTypeFailStateEntered, "VerdictFail"),
			{Type: types.HistoryEventTypeExecutionFailed, ExecutionFailedEventDetails: &types.ExecutionFailedEventDetails{Error: aws.String("DrillFailed"), Cause: aws.String("the verdict is fail")}}}),
			want: &drill.HistoryFacts{FailedState: "VerdictFail", Error: "DrillFailed", Cause: "the verdict is fail"}, calls: 1},
		{name: "succeeded", events: concat(started, task("Seed", true, ""), []types.HistoryEvent{ev(types.HistoryEventTypeExecutionSucceeded)}), calls: 1},
		{name: "still running", events: concat(started, task("Seed", false)), wantErr: "has not ended", calls: 1},
		{name: "no events", wantErr: "no events", calls: 1},
		{name: "replaced", start: historyStart.Add(time.Hour), events: concat(started, []types.HistoryEvent{entered(types.HistoryEventTypeFailStateEntered, "X"),
			ev(types.HistoryEventTypeExecutionFailed)}), want: &drill.HistoryFacts{FailedState: "X"}, wantErr: "another execution's", calls: 1},
		{name: "beyond the pages read", events: long, want: &drill.HistoryFacts{}, wantErr: "not in its last 300 events", calls: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeHistory{events: tc.events}
			start := tc.start
			if start.IsZero() {
				start = historyStart
			}
			id := drill.RunID{Execution: "run", ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:failover-drill:run", StartTime: drill.At(start)}
			got, err := restore.ReadEnd(context.Background(), api, id)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("facts %+v, want %+v", got, tc.want)
			}
			if api.calls != tc.calls {
				t.Errorf("%d calls, want %d", api.calls, tc.calls)
			}
		})
	}
}

// A restore after the execution's end records, from the execution's history, the state
// it was stopped in: only when it was stopped, timed out or failed, only with a history
// client, and a history it cannot read is recorded as such without failing the restore.
func TestRestoreRecordNamesTheState(t *testing.T) {
	stopped := concat(started, task("Seed", true, ""), task("AwaitFailover", false), []types.HistoryEvent{
		{Type: types.HistoryEventTypeExecutionAborted, ExecutionAbortedEventDetails: &types.ExecutionAbortedEventDetails{Error: aws.String("Manual")}}})
	for _, tc := range []struct {
		name      string
		status    string
		history   *fakeHistory
		want      *drill.HistoryFacts
		wantErr   string
		wantCalls int
	}{
		{name: "stopped: the state it was in", status: "ABORTED", history: &fakeHistory{events: stopped},
			want: &drill.HistoryFacts{InterruptedState: "AwaitFailover", Error: "Manual"}, wantCalls: 1},
		{name: "succeeded: no history read", status: "SUCCEEDED", history: &fakeHistory{events: stopped}},
		{name: "no history client: none read", status: "ABORTED"},
		{name: "an empty history: recorded as an error, the restore stands", status: "TIMED_OUT", history: &fakeHistory{},
			wantErr: "no events", wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			if tc.history != nil {
				f.h.History = tc.history
			}
			in := rin("run-a", drill.ReasonSweeper)
			in.Status = tc.status
			if _, err := f.h.Handle(context.Background(), in); err != nil {
				t.Fatalf("restore: %v", err)
			}
			f.assertRestored(t, "run-a", partial)
			key := drill.RestoreRecordKey("run-a", ledgertest.ID("run-a").StartTime, drill.ReasonSweeper)
			o, ok := f.ledger.Objects[key]
			if !ok {
				t.Fatalf("no restore record at %s", key)
			}
			var rec drill.RestoreRecord
			if err := json.Unmarshal(o.Body, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.ExecutionStatus != tc.status || rec.Result == nil || rec.Error != "" {
				t.Errorf("record %+v", rec)
			}
			if (rec.ExecutionHistory == nil) != (tc.want == nil) || tc.want != nil && *rec.ExecutionHistory != *tc.want {
				t.Errorf("record's history %+v, want %+v", rec.ExecutionHistory, tc.want)
			}
			if (tc.wantErr == "") != (rec.HistoryError == "") || !strings.Contains(rec.HistoryError, tc.wantErr) {
				t.Errorf("record's history error %q, want %q", rec.HistoryError, tc.wantErr)
			}
			if tc.history != nil && tc.history.calls != tc.wantCalls {
				t.Errorf("history read %d times, want %d", tc.history.calls, tc.wantCalls)
			}
		})
	}
}

// Every kind of Task failure Step Functions records names the state that failed, with
// its error and cause: a Task's failure or timeout, a Lambda's, an activity's.
func TestReadEndNamesEveryKindOfTaskFailure(t *testing.T) {
	e, c := aws.String("E"), aws.String("C")
	for name, failure := range map[string]types.HistoryEvent{
		"task failed":       {Type: types.HistoryEventTypeTaskFailed, TaskFailedEventDetails: &types.TaskFailedEventDetails{Error: e, Cause: c}},
		"task timed out":    {Type: types.HistoryEventTypeTaskTimedOut, TaskTimedOutEventDetails: &types.TaskTimedOutEventDetails{Error: e, Cause: c}},
		"lambda failed":     {Type: types.HistoryEventTypeLambdaFunctionFailed, LambdaFunctionFailedEventDetails: &types.LambdaFunctionFailedEventDetails{Error: e, Cause: c}},
		"lambda timed out":  {Type: types.HistoryEventTypeLambdaFunctionTimedOut, LambdaFunctionTimedOutEventDetails: &types.LambdaFunctionTimedOutEventDetails{Error: e, Cause: c}},
		"activity failed":   {Type: types.HistoryEventTypeActivityFailed, ActivityFailedEventDetails: &types.ActivityFailedEventDetails{Error: e, Cause: c}},
		"no failure at all": {Type: types.HistoryEventTypeTaskStarted},
	} {
		t.Run(name, func(t *testing.T) {
			events := concat(started, task("Seed", true, ""), []types.HistoryEvent{
				entered(types.HistoryEventTypeTaskStateEntered, "Block"), ev(types.HistoryEventTypeTaskScheduled), failure,
				exited(types.HistoryEventTypeTaskStateExited, "Block"),
				entered(types.HistoryEventTypeFailStateEntered, "DrillFailed"),
				{Type: types.HistoryEventTypeExecutionFailed, ExecutionFailedEventDetails: &types.ExecutionFailedEventDetails{Error: aws.String("DrillFailed")}}})
			id := drill.RunID{Execution: "run", ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:failover-drill:run", StartTime: drill.At(historyStart)}
			got, err := restore.ReadEnd(context.Background(), &fakeHistory{events: events}, id)
			want := drill.HistoryFacts{FailedState: "Block", Error: "E", Cause: "C"}
			if failure.Type == types.HistoryEventTypeTaskStarted {
				want = drill.HistoryFacts{FailedState: "DrillFailed", Error: "DrillFailed"}
			}
			if err != nil || got == nil || *got != want {
				t.Errorf("ReadEnd = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}
