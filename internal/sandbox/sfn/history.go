package sfn

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
)

// historyEvent is one event of an execution's history as Step Functions records it:
// its type, when, and its details under the member the API names for the type
// (detailsKey), or none.
type historyEvent struct {
	Type       string
	At         time.Time
	DetailsKey string
	Details    map[string]any
}

// The lambda:invoke integration, as the Task events of the drill's states name it.
const (
	resourceType = "lambda"
	resource     = "invoke"
)

// Event records one event of the local runner for arn's execution, as the history
// events Step Functions writes for it; stateType is the Type of the event's state
// ("" for an execution event). An unknown ARN is ignored.
//
// The runner's events map onto Step Functions' as AWS records a standard workflow:
// a state's entry is <Type>StateEntered, and a Task's also TaskScheduled and
// TaskStarted (a retry schedules and starts again); a state that failed, and one the
// execution's stop or timeout interrupted, is never exited: the history ends with
// the execution's own event (ExecutionFailed, ExecutionAborted, ExecutionTimedOut).
// A Catch writes no event of its own: the caught state exits.
func (s *Service) Event(arn string, ev asl.Event, stateType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[arn]
	if !ok {
		return
	}
	add := func(typ string, at time.Time, key string, details map[string]any) {
		e.history = append(e.history, historyEvent{Type: typ, At: at, DetailsKey: key, Details: details})
	}
	task := func(typ string, at time.Time, key string, extra map[string]any) {
		d := map[string]any{"resourceType": resourceType, "resource": resource}
		for k, v := range extra {
			d[k] = v
		}
		add(typ, at, key, d)
	}
	schedule := func(at time.Time) {
		task("TaskScheduled", at, "taskScheduledEventDetails", map[string]any{"region": arnRegion(arn), "parameters": "{}"})
		task("TaskStarted", at, "taskStartedEventDetails", nil)
	}
	errorCause := func() map[string]any {
		d := map[string]any{}
		if ev.Error != "" {
			d["error"] = ev.Error
		}
		if ev.Cause != "" {
			d["cause"] = ev.Cause
		}
		return d
	}
	switch ev.Type {
	case asl.ExecutionStarted:
		add("ExecutionStarted", ev.At, "executionStartedEventDetails", map[string]any{"inputDetails": map[string]bool{"truncated": false}})
	case asl.StateEntered:
		add(stateType+"StateEntered", ev.At, "stateEnteredEventDetails", map[string]any{"name": ev.State, "inputDetails": map[string]bool{"truncated": false}})
		if stateType == "Task" {
			schedule(ev.At)
		}
	case asl.TaskFailed:
		task("TaskFailed", ev.At, "taskFailedEventDetails", errorCause())
	case asl.TaskRetryScheduled:
		schedule(ev.At.Add(ev.Duration)) // the next attempt starts once the delay has passed
	case asl.TaskSucceeded:
		task("TaskSucceeded", ev.At, "taskSucceededEventDetails", map[string]any{"outputDetails": map[string]bool{"truncated": false}})
	case asl.StateExited:
		if ev.Error == "" && stateType != "Fail" {
			add(stateType+"StateExited", ev.At, "stateExitedEventDetails", map[string]any{"name": ev.State, "outputDetails": map[string]bool{"truncated": false}})
		}
	case asl.ExecutionSucceeded:
		add("ExecutionSucceeded", ev.At, "executionSucceededEventDetails", map[string]any{"outputDetails": map[string]bool{"truncated": false}})
	case asl.ExecutionFailed:
		add("ExecutionFailed", ev.At, "executionFailedEventDetails", errorCause())
	case asl.ExecutionAborted:
		add("ExecutionAborted", ev.At, "executionAbortedEventDetails", errorCause()) // present, empty without a reason
	case asl.ExecutionTimedOut:
		add("ExecutionTimedOut", ev.At, "executionTimedOutEventDetails", errorCause())
	}
	s.execs[arn] = e
}

// arnRegion is the region of an execution ARN (arn:aws:states:<region>:...).
func arnRegion(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 3 {
		return parts[3]
	}
	return ""
}

// historyRequest is GetExecutionHistory's input.
type historyRequest struct {
	ExecutionArn         string `json:"executionArn"`
	MaxResults           int    `json:"maxResults"`
	NextToken            string `json:"nextToken"`
	ReverseOrder         bool   `json:"reverseOrder"`
	IncludeExecutionData *bool  `json:"includeExecutionData"`
}

// history answers GetExecutionHistory: the execution's events, oldest first or (with
// reverseOrder) newest first, maxResults a page (default 100, at most 1000), nextToken
// to go on.
func (s *Service) history(w http.ResponseWriter, r *http.Request, in historyRequest) {
	arn := in.ExecutionArn
	if !s.allowed(w, r, "states:GetExecutionHistory", arn) {
		return
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		writeError(w, http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", in.MaxResults))
		return
	}
	size := in.MaxResults
	if size == 0 {
		size = 100
	}
	s.mu.Lock()
	e, ok := s.execs[arn]
	events := slices.Clone(e.history)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "ExecutionDoesNotExist", fmt.Sprintf("Execution Does Not Exist: '%s'", arn))
		return
	}
	from := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(events) {
			writeError(w, http.StatusBadRequest, "InvalidToken", "Invalid Token: '"+in.NextToken+"'")
			return
		}
		from = n
	}
	includeData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	items := []map[string]any{}
	for i := from; i < min(from+size, len(events)); i++ {
		idx := i
		if in.ReverseOrder {
			idx = len(events) - 1 - i
		}
		items = append(items, render(events[idx], idx+1, includeData, e.Input))
	}
	out := map[string]any{"events": items}
	if to := from + size; to < len(events) {
		out["nextToken"] = strconv.Itoa(to)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// render is one event as the API sends it: ids count from 1, each event's previous is
// the one before it (0 for the first).
func render(ev historyEvent, id int, includeData bool, input string) map[string]any {
	out := map[string]any{"id": id, "previousEventId": id - 1, "timestamp": epoch(ev.At), "type": ev.Type}
	if ev.DetailsKey != "" {
		d := map[string]any{}
		for k, v := range ev.Details {
			d[k] = v
		}
		if ev.Type == "ExecutionStarted" && includeData && input != "" {
			d["input"] = input
		}
		out[ev.DetailsKey] = d
	}
	return out
}
