package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/policy"
)

// historyMachine passes, calls a function that fails once and is retried, then calls
// one that never answers: the execution is stopped there.
const historyMachine = `{"StartAt":"Prepare","States":{
 "Prepare":{"Type":"Pass","Next":"Call"},
 "Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"flaky","Payload.$":"$"},
   "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":1,"IntervalSeconds":1}],"ResultPath":null,"Next":"Hang"},
 "Hang":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"hang","Payload.$":"$"},"End":true}}}`

type flakyError struct{}

func (flakyError) Error() string { return "the first call fails" }

// GetExecutionHistory to the real SDK client, for an execution the local runner ran and
// stopped: Step Functions' event types, ids and previousEventId, oldest first or
// newest first, in pages; the stopped state entered and never exited; held to the
// caller's policy.
func TestGetExecutionHistory(t *testing.T) {
	s := start(t, Config{})
	sm := "arn:aws:states:us-east-1:000000000000:stateMachine:failover-drill"
	arn := asl.ExecutionARN(sm, "run-h")
	m, err := asl.Load(historyMachine, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	runCtx, stop := context.WithCancel(ctx(t))
	res := m.Run(runCtx, "run-h", json.RawMessage(`{}`), asl.Options{
		StateMachineArn: sm,
		Sleep:           func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Tasks: map[string]asl.TaskFunc{
			"flaky": func(context.Context, json.RawMessage) (json.RawMessage, error) {
				if calls++; calls == 1 {
					return nil, flakyError{}
				}
				return json.RawMessage(`{}`), nil
			},
			"hang": func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
				stop()
				<-ctx.Done()
				return nil, ctx.Err()
			},
		},
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.ExecutionStarted {
				s.ExecutionStarted(arn, sm, "run-h", ev.At)
				s.ExecutionInput(arn, `{"dryRun":false}`)
			}
			s.ExecutionEvent(arn, ev, m.StateType(ev.State))
		},
	})
	if res.Status != asl.StatusAborted {
		t.Fatalf("run %s, want ABORTED", res.Status)
	}
	s.ExecutionEnded(arn, res.Status, res.Stop, res.Error, res.Cause)

	c := awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", awsconf.SandboxAdmin)
	read := func(c *sfn.Client, reverse bool, page int32) ([]types.HistoryEvent, int, error) {
		var all []types.HistoryEvent
		var token *string
		pages := 0
		for {
			out, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn),
				ReverseOrder: reverse, MaxResults: page, NextToken: token, IncludeExecutionData: aws.Bool(!reverse)})
			if err != nil {
				return nil, pages, err
			}
			pages++
			all = append(all, out.Events...)
			if token = out.NextToken; token == nil {
				return all, pages, nil
			}
		}
	}
	events, pages, err := read(c, false, 0)
	if err != nil || pages != 1 {
		t.Fatalf("history: %d pages, %v", pages, err)
	}
	var got []string
	for i, ev := range events {
		got = append(got, string(ev.Type))
		if ev.Id != int64(i+1) || ev.PreviousEventId != int64(i) || ev.Timestamp == nil {
			t.Errorf("event %d: id %d, previous %d, timestamp %v", i, ev.Id, ev.PreviousEventId, ev.Timestamp)
		}
	}
	want := []string{"ExecutionStarted", "PassStateEntered", "PassStateExited",
		"TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
		"TaskStateEntered", "TaskScheduled", "TaskStarted", "ExecutionAborted"}
	if !slices.Equal(got, want) {
		t.Fatalf("history\n%v\nwant\n%v", got, want)
	}
	if d := events[0].ExecutionStartedEventDetails; d == nil || aws.ToString(d.Input) != `{"dryRun":false}` {
		t.Errorf("ExecutionStarted details %+v, want the input", d)
	}
	if d := events[3].StateEnteredEventDetails; d == nil || aws.ToString(d.Name) != "Call" {
		t.Errorf("TaskStateEntered details %+v, want Call", d)
	}
	if d := events[6].TaskFailedEventDetails; d == nil || aws.ToString(d.Error) != "flakyError" || aws.ToString(d.Cause) == "" ||
		aws.ToString(d.ResourceType) != "lambda" || aws.ToString(d.Resource) != "invoke" {
		t.Errorf("TaskFailed details %+v", d)
	}
	if d := events[10].StateExitedEventDetails; d == nil || aws.ToString(d.Name) != "Call" {
		t.Errorf("TaskStateExited details %+v, want Call", d)
	}
	if events[14].ExecutionAbortedEventDetails == nil {
		t.Error("ExecutionAborted has no details, want them present (empty without a reason)")
	}

	// Newest first, in pages of 4: the same events backwards.
	rev, pages, err := read(c, true, 4)
	if err != nil || pages != 4 || len(rev) != len(events) {
		t.Fatalf("reversed: %d events in %d pages, %v; want %d in 4", len(rev), pages, err, len(events))
	}
	for i, ev := range rev {
		if o := events[len(events)-1-i]; ev.Id != o.Id || ev.Type != o.Type {
			t.Errorf("reversed %d: %d %s, want %d %s", i, ev.Id, ev.Type, o.Id, o.Type)
		}
	}
	if d := rev[len(rev)-1].ExecutionStartedEventDetails; d == nil || d.Input != nil {
		t.Errorf("ExecutionStarted without execution data: %+v, want no input", d)
	}
	if _, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), NextToken: aws.String("x")}); apiCode(err) != "InvalidToken" {
		t.Errorf("bad token: %v, want InvalidToken", err)
	}
	var missing *types.ExecutionDoesNotExist
	if _, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn + "-other")}); !errors.As(err, &missing) {
		t.Errorf("unknown execution: %v, want ExecutionDoesNotExist", err)
	}

	// Held to the policy: the grant on this state machine's executions allows it;
	// DescribeExecution alone does not.
	executions := "arn:aws:states:us-east-1:000000000000:execution:failover-drill:*"
	s.SetPolicies(map[string][]policy.Statement{
		"restore": {{Actions: []string{"states:GetExecutionHistory"}, Resources: []string{executions}}},
		"sweeper": {{Actions: []string{"states:DescribeExecution"}, Resources: []string{executions}}},
	})
	if _, _, err := read(awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", "restore"), true, 0); err != nil {
		t.Errorf("granted: %v", err)
	}
	if _, _, err := read(awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", "sweeper"), true, 0); apiCode(err) != "AccessDeniedException" {
		t.Errorf("without the grant: %v, want AccessDeniedException", err)
	}
}
