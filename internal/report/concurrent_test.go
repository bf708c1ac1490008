package report_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/report"
)

// executions is a hand-written Step Functions fake: list and describe as functions.
type executions struct {
	list     func(*sfn.ListExecutionsInput) (*sfn.ListExecutionsOutput, error)
	describe func(*sfn.DescribeExecutionInput) (*sfn.DescribeExecutionOutput, error)
}

func (e executions) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return e.list(in)
}

func (e executions) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return e.describe(in)
}

const (
	stateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:failover-drill"
	myArn        = "arn:aws:states:us-east-1:123456789012:execution:failover-drill:dry-1"
)

// A dry run that failed while a drill ran says skipped, naming the drill; one that
// overlapped only another dry run, or nothing, stays not-ready; one that cannot ask
// stays not-ready and says why; a ready or unverified dry run is not asked about.
func TestDryRunDisturbedByADrill(t *testing.T) {
	// The dry run ran from t0 (dryRun()'s start) to at(20).
	item := func(name string, start float64, stop *float64) types.ExecutionListItem {
		it := types.ExecutionListItem{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:failover-drill:" + name),
			Name: aws.String(name), StartDate: aws.Time(at(start)), Status: types.ExecutionStatusRunning}
		if stop != nil {
			it.StopDate, it.Status = aws.Time(at(*stop)), types.ExecutionStatusSucceeded
		}
		return it
	}
	f := func(v float64) *float64 { return &v }
	inputs := map[string]string{"drill-1": `{}`, "dry-2": `{"dryRun":true}`, "drill-old": `{}`}
	for _, tc := range []struct {
		name    string
		mutate  func(*drill.ReportInput)
		items   []types.ExecutionListItem
		listErr error
		verdict string
		says    string
	}{
		{"a drill running", failedDryRun, []types.ExecutionListItem{item("dry-1", 0, nil), item("drill-1", -30, nil)}, nil, drill.SkippedBusy, "skipped: drill in progress: execution drill-1"},
		{"a drill that ended during the dry run", failedDryRun, []types.ExecutionListItem{item("drill-1", -30, f(5))}, nil, drill.SkippedBusy, "succeeded at"},
		{"a drill that ended before", failedDryRun, []types.ExecutionListItem{item("drill-old", -300, f(-10))}, nil, drill.Unready, "not-ready"},
		{"only another dry run", failedDryRun, []types.ExecutionListItem{item("dry-2", -1, nil)}, nil, drill.Unready, "not-ready"},
		{"Step Functions cannot be asked", failedDryRun, nil, errors.New("AccessDeniedException"), drill.Unready, "could not tell whether a drill ran"},
		{"ready", func(*drill.ReportInput) {}, []types.ExecutionListItem{item("drill-1", -30, nil)}, nil, drill.Ready, "ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := dryRun()
			in.Execution, in.ExecutionArn = "dry-1", myArn
			tc.mutate(&in)
			api := executions{
				list: func(l *sfn.ListExecutionsInput) (*sfn.ListExecutionsOutput, error) {
					if aws.ToString(l.StateMachineArn) != stateMachine {
						t.Errorf("listed %s, want %s", aws.ToString(l.StateMachineArn), stateMachine)
					}
					return &sfn.ListExecutionsOutput{Executions: tc.items}, tc.listErr
				},
				describe: func(d *sfn.DescribeExecutionInput) (*sfn.DescribeExecutionOutput, error) {
					name := aws.ToString(d.ExecutionArn)[strings.LastIndex(aws.ToString(d.ExecutionArn), ":")+1:]
					return &sfn.DescribeExecutionOutput{Input: aws.String(inputs[name])}, nil
				},
			}
			store := ledgertest.New()
			h := &report.Handler{Ledger: store.Ledger(), Now: func() time.Time { return at(20) }, Executions: api}
			r, err := h.Handle(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.verdict || !strings.Contains(r.Summary+strings.Join(r.Reasons, " "), tc.says) {
				t.Errorf("verdict %s summary %q reasons %v, want %s saying %q", r.Verdict, r.Summary, r.Reasons, tc.verdict, tc.says)
			}
			if (r.Verdict == drill.SkippedBusy) != (r.ConcurrentDrill != nil) {
				t.Errorf("concurrent drill %+v with verdict %s", r.ConcurrentDrill, r.Verdict)
			}
			if html := store.Objects[drill.ReportHTMLKey("dry-1", drill.At(in.StartedAt))].Body; r.ConcurrentDrill != nil && !strings.Contains(string(html), "A drill ran during this dry run: execution <code>drill-1</code>") {
				t.Errorf("report.html does not name the drill")
			}
		})
	}
}

// failedDryRun: the dry run's Preflight failed (the primary answered 403: blocked).
func failedDryRun(in *drill.ReportInput) {
	in.State.Error = &drill.ErrorInfo{Error: "SteadyStateFailed", Cause: "steady state not met: the primary answers 403"}
	in.State.Block, in.State.Seed = nil, nil
}

// A skipped dry run feeds no readiness figure (the NotReady alarm treats missing data
// as not breaching) but is counted.
func TestEMFDryRunSkipped(t *testing.T) {
	r := report.Build(dryRun(), nil, at(20))
	r.Verdict = drill.SkippedBusy
	line, err := report.EMF(r, at(20))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(line); !strings.Contains(s, `"DryRunSkipped":1`) || strings.Contains(s, "DryRunReady") {
		t.Errorf("EMF %s", s)
	}
}
