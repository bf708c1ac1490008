package restore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
)

// HistoryAPI is the Step Functions call a restore after the execution's end makes for
// its record.
type HistoryAPI interface {
	GetExecutionHistory(ctx context.Context, params *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

var _ HistoryAPI = (*sfn.Client)(nil)

// HistoryBudget bounds the history lookup, the SDK's retries included: it runs after
// the restore and only adds to its record.
const HistoryBudget = 5 * time.Second

// History pages read, newest first: the end of an execution is in its last events.
const (
	historyPages    = 3
	historyPageSize = 100
)

// endsWithHistory are the endings whose record names a state.
var endsWithHistory = map[string]bool{"ABORTED": true, "TIMED_OUT": true, "FAILED": true}

// recordHistory adds to rec which state the execution was in when it was stopped or
// timed out, or which failed it. Best effort, within HistoryBudget: a failure is
// logged and recorded (HistoryError), never the restore's.
func (h *Handler) recordHistory(ctx context.Context, in drill.RestoreInput, rec *drill.RestoreRecord) {
	if h.History == nil || !endsWithHistory[in.Status] {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), HistoryBudget)
	defer cancel()
	facts, err := ReadEnd(ctx, h.History, in.ID())
	rec.ExecutionHistory = facts // what was found, even when the rest was not
	if err != nil {
		rec.HistoryError = err.Error()
		h.log().Warn("execution history not read in full: the restore record may name no state", "execution", in.Execution, "error", err)
	}
}

// ReadEnd reads id's history newest first, at most historyPages pages, and says which
// state was entered and never exited when the execution was stopped or timed out, or,
// when it failed, which Task failed last with no retry making it good (else the state
// it failed in), with the error and cause. Nil for an execution that succeeded.
func ReadEnd(ctx context.Context, api HistoryAPI, id drill.RunID) (*drill.HistoryFacts, error) {
	r := endReader{start: id.StartTime}
	var token *string
	for range historyPages {
		out, err := api.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(id.ExecutionArn), ReverseOrder: true, IncludeExecutionData: aws.Bool(false),
			MaxResults: historyPageSize, NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("get execution history %s: %w", id.ExecutionArn, err)
		}
		for _, ev := range out.Events {
			if done, err := r.see(ev); err != nil || done {
				return r.result(), err
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if r.terminal == "" {
		return nil, fmt.Errorf("execution history %s: no events", id.ExecutionArn)
	}
	f := r.result()
	if f != nil && f.FailedState == "" && f.InterruptedState == "" {
		return f, fmt.Errorf("execution history %s: the state is not in its last %d events", id.ExecutionArn, historyPages*historyPageSize)
	}
	return f, nil
}

// endReader walks a history newest first.
type endReader struct {
	start    drill.Instant
	terminal types.HistoryEventType
	facts    drill.HistoryFacts
	// Failed executions: failed is set once a Task failure is found, named by the state
	// entered before it; retried is set when a Task of the state now walked back
	// through succeeded after its failures; fallback is the state the execution failed
	// in (the last one entered) with the execution's error.
	failed   bool
	retried  bool
	fallback string
}

// see takes the next (older) event; done when the facts are complete.
func (r *endReader) see(ev types.HistoryEvent) (done bool, err error) {
	if r.terminal == "" {
		return r.end(ev)
	}
	entered := strings.HasSuffix(string(ev.Type), "StateEntered")
	name := ""
	if entered && ev.StateEnteredEventDetails != nil {
		name = aws.ToString(ev.StateEnteredEventDetails.Name)
	}
	if ev.Type == types.HistoryEventTypeExecutionStarted {
		if started := drill.At(aws.ToTime(ev.Timestamp)); !started.Equal(r.start) {
			return true, fmt.Errorf("the history is another execution's of that name (started %s, this one %s)", started, r.start)
		}
		return true, nil
	}
	if r.terminal != types.HistoryEventTypeExecutionFailed {
		// Stopped or timed out: the last state entered and never exited was running.
		switch {
		case entered:
			r.facts.InterruptedState = name
			return true, nil
		case strings.HasSuffix(string(ev.Type), "StateExited"):
			return true, nil // stopped between two states: none was interrupted
		}
		return false, nil
	}
	if entered {
		if r.failed {
			r.facts.FailedState = name
			return true, nil
		}
		if r.fallback == "" {
			r.fallback = name
		}
		r.retried = false
		return false, nil
	}
	if errName, cause, ok := taskFailure(ev); ok && !r.retried && !r.failed {
		r.failed, r.facts.Error, r.facts.Cause = true, errName, cause
	}
	switch ev.Type {
	case types.HistoryEventTypeTaskSucceeded, types.HistoryEventTypeLambdaFunctionSucceeded, types.HistoryEventTypeActivitySucceeded:
		r.retried = true
	}
	return false, nil
}

// end takes the newest event, which must be the execution's end.
func (r *endReader) end(ev types.HistoryEvent) (bool, error) {
	switch ev.Type {
	case types.HistoryEventTypeExecutionSucceeded:
		return true, nil
	case types.HistoryEventTypeExecutionAborted:
		if d := ev.ExecutionAbortedEventDetails; d != nil {
			r.facts.Error, r.facts.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
		}
	case types.HistoryEventTypeExecutionTimedOut:
		if d := ev.ExecutionTimedOutEventDetails; d != nil {
			r.facts.Error, r.facts.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
		}
	case types.HistoryEventTypeExecutionFailed:
		if d := ev.ExecutionFailedEventDetails; d != nil {
			r.facts.Error, r.facts.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
		}
	default:
		return true, fmt.Errorf("the execution has not ended in its history (its last event is %s)", ev.Type)
	}
	r.terminal = ev.Type
	return false, nil
}

// result is nil for a succeeded execution; a failed one with no Task failure found
// names the state it failed in, with the execution's error.
func (r *endReader) result() *drill.HistoryFacts {
	if r.terminal == "" || r.terminal == types.HistoryEventTypeExecutionSucceeded {
		return nil
	}
	f := r.facts
	if r.terminal == types.HistoryEventTypeExecutionFailed && f.FailedState == "" && !r.failed {
		f.FailedState = r.fallback
	}
	return &f
}

// taskFailure is a failed Task's (or Lambda's, or activity's) error and cause.
func taskFailure(ev types.HistoryEvent) (errName, cause string, ok bool) {
	switch {
	case ev.TaskFailedEventDetails != nil:
		return aws.ToString(ev.TaskFailedEventDetails.Error), aws.ToString(ev.TaskFailedEventDetails.Cause), true
	case ev.TaskTimedOutEventDetails != nil:
		return aws.ToString(ev.TaskTimedOutEventDetails.Error), aws.ToString(ev.TaskTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), true
	case ev.LambdaFunctionTimedOutEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Cause), true
	case ev.ActivityFailedEventDetails != nil:
		return aws.ToString(ev.ActivityFailedEventDetails.Error), aws.ToString(ev.ActivityFailedEventDetails.Cause), true
	}
	return "", "", false
}
