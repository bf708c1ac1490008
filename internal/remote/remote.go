// Package remote drives a drill deployed on AWS through Step Functions: it starts an
// execution of the state machine and follows it until it ends. The ledger's read side
// is internal/ledger's; the input's checks are the contract's (drill.CheckInput). It
// holds no flags and prints nothing; cmd/drill does both.
package remote

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// StartAPI is the Step Functions call that starts a drill.
type StartAPI interface {
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// DescribeAPI is the Step Functions call that follows a drill.
type DescribeAPI interface {
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var (
	_ StartAPI    = (*sfn.Client)(nil)
	_ DescribeAPI = (*sfn.Client)(nil)
)

// stateMachineARN matches arn:<partition>:states:<region>:<account>:stateMachine:<name>,
// optionally qualified by a version or an alias, which StartExecution also accepts.
var stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:stateMachine:[^:\s]{1,80}(?::[A-Za-z0-9_-]{1,80})?$`)

// StateMachineRegion checks the shape of a state machine ARN and returns its region,
// the region the Step Functions calls must go to.
func StateMachineRegion(arn string) (string, error) {
	m := stateMachineARN.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>; the stack output StateMachineArn)", arn)
	}
	return m[1], nil
}

// Start starts an execution and returns its ARN. An empty name lets Step Functions
// pick one (a UUID).
func Start(ctx context.Context, api StartAPI, stateMachineARN, input, name string) (string, error) {
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := api.StartExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("start execution of %s: %w", stateMachineARN, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Execution is what DescribeExecution last said about an execution.
type Execution struct {
	ARN    string
	Name   string
	Start  time.Time // with Name, the run's folder in the ledger (drill.RunFolder)
	Status types.ExecutionStatus
	Output string // the report JSON when SUCCEEDED
	Error  string // FAILED, TIMED_OUT, ABORTED
	Cause  string
}

// Running reports whether the execution has not reached a final status yet.
// PENDING_REDRIVE is a redriven execution about to run again.
func (e Execution) Running() bool {
	return e.Status == types.ExecutionStatusRunning || e.Status == types.ExecutionStatusPendingRedrive
}

// Wait polls DescribeExecution every poll interval until the execution leaves RUNNING
// and returns its final state. onPoll, if not nil, sees every answer. When ctx ends
// first, Wait returns the last state seen and an error wrapping ctx.Err(); the
// execution itself keeps running.
func Wait(ctx context.Context, api DescribeAPI, executionARN string, poll time.Duration, onPoll func(Execution)) (Execution, error) {
	last := Execution{ARN: executionARN, Status: types.ExecutionStatusRunning}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("stopped waiting: %w", ctx.Err())
			}
			return last, fmt.Errorf("describe execution %s: %w", executionARN, err)
		}
		last = Execution{
			ARN: executionARN, Name: aws.ToString(out.Name), Start: aws.ToTime(out.StartDate), Status: out.Status,
			Output: aws.ToString(out.Output), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
		}
		if onPoll != nil {
			onPoll(last)
		}
		if !last.Running() {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("stopped waiting: %w", ctx.Err())
		case <-t.C:
		}
	}
}
