package sandbox

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/policy"
)

// ListExecutions to the real SDK client: a state machine's executions, newest first,
// filtered by status and paged; DescribeExecution returns an execution's input; both
// held to the caller's policy.
func TestListExecutionsAndInput(t *testing.T) {
	s := start(t, Config{})
	sm := "arn:aws:states:us-east-1:000000000000:stateMachine:failover-drill"
	exec := func(name string) string {
		return "arn:aws:states:us-east-1:000000000000:execution:failover-drill:" + name
	}
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range []string{"a", "b", "c"} {
		s.ExecutionStarted(exec(name), sm, name, t0.Add(time.Duration(i)*time.Minute))
	}
	s.ExecutionInput(exec("b"), `{"dryRun":true}`)
	s.ExecutionEnded(exec("a"), "SUCCEEDED", t0.Add(30*time.Second), "", "")
	s.ExecutionStarted("arn:aws:states:us-east-1:000000000000:execution:other:x", "arn:aws:states:us-east-1:000000000000:stateMachine:other", "x", t0)

	c := awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", awsconf.SandboxAdmin)
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 2, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Executions {
			names = append(names, aws.ToString(e.Name))
			if aws.ToString(e.Name) == "a" && (e.Status != types.ExecutionStatusSucceeded || !aws.ToTime(e.StopDate).Equal(t0.Add(30*time.Second))) {
				t.Errorf("ended execution %+v", e)
			}
		}
		if token = out.NextToken; token == nil {
			if pages != 1 {
				t.Errorf("%d pages of 2, want 2", pages+1)
			}
			break
		}
	}
	if got := join(names); got != "c,b,a" {
		t.Errorf("executions %s, want c,b,a (newest first, this state machine only)", got)
	}
	out, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(out.Executions) != 2 {
		t.Errorf("running: %+v %v, want b and c", out, err)
	}
	d, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec("b"))})
	if err != nil || aws.ToString(d.Input) != `{"dryRun":true}` {
		t.Errorf("input %q, %v", aws.ToString(d.Input), err)
	}

	s.SetPolicies(map[string][]policy.Statement{"report": {{Actions: []string{"states:ListExecutions"}, Resources: []string{sm}}}})
	as := awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", "report")
	if _, err := as.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm)}); err != nil {
		t.Errorf("allowed: %v", err)
	}
	if _, err := as.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:other")}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("another state machine: %v, want AccessDeniedException", err)
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
