package report

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/drill"
)

// ExecutionsAPI is what the report asks Step Functions about the state machine's other
// executions.
type ExecutionsAPI interface {
	ListExecutions(ctx context.Context, params *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var _ ExecutionsAPI = (*sfn.Client)(nil)

// MaxExecution bounds how long an execution can run (the ASL's TimeoutSeconds is
// 17 950 s): one that started longer ago than this before a dry run cannot have
// overlapped it, so the listing, newest first, stops there.
const MaxExecution = 5 * time.Hour

// maxListPages bounds the listing (100 executions a page).
const maxListPages = 10

// concurrentDrill finds a drill (an execution of the same state machine whose input is
// not a dry run) that ran at some moment between start and now: it blocked the primary,
// held the lock or set off a stop alarm, so a dry run meanwhile proves nothing either
// way. An execution whose input cannot be read counts as a drill.
func concurrentDrill(ctx context.Context, api ExecutionsAPI, executionArn string, start, now time.Time) (*drill.ConcurrentRun, error) {
	sm, ok := stateMachineOf(executionArn)
	if !ok {
		return nil, fmt.Errorf("%q is not an execution ARN", executionArn)
	}
	var token *string
	for page := 0; page < maxListPages; page++ {
		out, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 100, NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list the executions of %s: %w", sm, err)
		}
		for _, e := range out.Executions {
			started, stopped := aws.ToTime(e.StartDate), e.StopDate
			arn := aws.ToString(e.ExecutionArn)
			switch {
			case started.Before(start.Add(-MaxExecution)):
				return nil, nil // newest first: every later one started before this too
			case arn == executionArn, started.After(now), stopped != nil && !stopped.After(start):
				continue // this run, or one that did not overlap it
			}
			run := &drill.ConcurrentRun{Execution: aws.ToString(e.Name), ExecutionArn: arn, Status: string(e.Status), StartedAt: started.UTC()}
			if stopped != nil {
				run.StoppedAt = aws.Time(stopped.UTC())
			}
			d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				run.Note = "its input could not be read, so it counts as a drill: " + err.Error()
				return run, nil
			}
			var in struct {
				DryRun bool `json:"dryRun"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil || !in.DryRun {
				return run, nil
			}
		}
		if token = out.NextToken; token == nil {
			return nil, nil
		}
	}
	return nil, nil
}

// stateMachineOf is the state machine of an execution ARN
// (arn:aws:states:<region>:<account>:execution:<state machine>:<name>).
func stateMachineOf(executionArn string) (string, bool) {
	p := strings.Split(executionArn, ":")
	if len(p) < 8 || p[2] != "states" || p[5] != "execution" {
		return "", false
	}
	return strings.Join(append(p[:5:5], "stateMachine", p[6]), ":"), true
}

// judgeConcurrency turns a not-ready dry run that a drill overlapped into skipped: what
// failed may well be the drill's doing (the primary blocked, the lock held, a stop
// alarm the drill set off), so it is no evidence about the lab; the next dry run checks
// again. A dry run that is ready or unverified is judged as it is. When Step Functions
// cannot be asked, the verdict stays not-ready and a reason says why.
func (h *Handler) judgeConcurrency(ctx context.Context, r *drill.Report, executionArn string, now time.Time) {
	if !r.DryRun || r.Verdict != drill.Unready || h.Executions == nil || executionArn == "" {
		return
	}
	run, err := concurrentDrill(ctx, h.Executions, executionArn, r.StartedAt, now)
	if err != nil {
		r.Reasons = append(r.Reasons, "could not tell whether a drill ran during this dry run: "+oneLine(err.Error()))
		r.Summary = cut(r.Summary+"; could not tell whether a drill ran meanwhile: "+oneLine(err.Error()), maxSummary)
		return
	}
	if run == nil {
		return
	}
	r.ConcurrentDrill = run
	r.Verdict = drill.SkippedBusy
	when := "running"
	if run.StoppedAt != nil {
		when = fmt.Sprintf("%s at %s", strings.ToLower(run.Status), run.StoppedAt.Format(time.RFC3339))
	}
	r.Summary = cut(oneLine(fmt.Sprintf("skipped: drill in progress: execution %s (started %s, %s) ran during this dry run, so what it saw says nothing about the lab "+
		"(the next dry run checks again); it saw: %s", run.Execution, run.StartedAt.Format(time.RFC3339), when, strings.Join(r.Reasons, "; "))), maxSummary)
}
