package sweeper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// fakeSFN answers DescribeExecution from a function field.
type fakeSFN struct {
	describe func(arn string) (*sfn.DescribeExecutionOutput, error)
	asked    []string
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.ExecutionArn))
	return f.describe(aws.ToString(in.ExecutionArn))
}

var now = ledgertest.Start.Add(time.Hour)

func lock(id drill.RunID, bucket string) drill.Ticket {
	return ledgertest.WithID(drill.Ticket{Bucket: bucket, Region: "us-east-1", Status: drill.TicketHeld, Prior: &drill.PublicAccessBlock{}}, id)
}

func described(status types.ExecutionStatus, start, stop time.Time) (*sfn.DescribeExecutionOutput, error) {
	out := &sfn.DescribeExecutionOutput{Status: status, StartDate: aws.Time(start)}
	if !stop.IsZero() {
		out.StopDate = aws.Time(stop)
	}
	return out, nil
}

func TestSweepDecidesPerLock(t *testing.T) {
	for _, tc := range []struct {
		name     string
		describe func(arn string) (*sfn.DescribeExecutionOutput, error)
		restore  error
		want     string
		status   string
		restored bool
		wantErr  bool
	}{
		{name: "still running: left alone", want: sweeper.Running, status: "RUNNING",
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusRunning, ledgertest.Start, time.Time{})
			}},
		{name: "redrive pending: left alone", want: sweeper.Running, status: "PENDING_REDRIVE",
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusPendingRedrive, ledgertest.Start, now.Add(-time.Hour))
			}},
		{name: "aborted long ago: restored", want: sweeper.Restored, status: "ABORTED", restored: true,
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusAborted, ledgertest.Start, now.Add(-10*time.Minute))
			}},
		{name: "timed out exactly Settle ago: restored", want: sweeper.Restored, status: "TIMED_OUT", restored: true,
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusTimedOut, ledgertest.Start, now.Add(-70*time.Second))
			}},
		{name: "failed less than Settle ago: its block-bucket may still run; next sweep", want: sweeper.Settling, status: "FAILED",
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusFailed, ledgertest.Start, now.Add(-69*time.Second))
			}},
		{name: "history gone: restored", want: sweeper.Restored, status: "gone", restored: true,
			describe: func(arn string) (*sfn.DescribeExecutionOutput, error) {
				return nil, &types.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + arn + "'")}
			}},
		{name: "the ARN names a newer run of the same name: ours ended, restored", want: sweeper.Restored, restored: true,
			status: "replaced by the run started 2025-06-01T12:10:00.000Z",
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusRunning, ledgertest.Start.Add(10*time.Minute-123*time.Millisecond), time.Time{})
			}},
		{name: "the newer run of the same name began less than Settle ago: next sweep", want: sweeper.Settling,
			status: "replaced by the run started 2025-06-01T12:59:30.123Z",
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusRunning, now.Add(-30*time.Second), time.Time{})
			}},
		{name: "Step Functions denies: unchecked, an error", want: sweeper.Unchecked, wantErr: true,
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return nil, &types.InvalidArn{Message: aws.String("nope")}
			}},
		{name: "the restore fails: stranded, an error", want: sweeper.Stranded, status: "ABORTED", restored: true, wantErr: true,
			restore: &drill.BucketChangedDuringDrill{Bucket: "ui-bucket", Prior: "none", Found: "x"},
			describe: func(string) (*sfn.DescribeExecutionOutput, error) {
				return described(types.ExecutionStatusAborted, ledgertest.Start, now.Add(-time.Hour))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := ledgertest.New()
			id := ledgertest.ID("run-a")
			store.PutTicket(drill.LockKey("ui-bucket"), lock(id, "ui-bucket"))
			fake := &fakeSFN{describe: tc.describe}
			var got []drill.RestoreInput
			var metrics bytes.Buffer
			h := &sweeper.Handler{
				Ledger: store.Ledger(), SFN: fake, Settle: 70 * time.Second, Now: func() time.Time { return now }, Metrics: &metrics,
				Restore: func(_ context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
					got = append(got, in)
					return drill.RestoreResult{Execution: in.Execution, MatchesPrior: tc.restore == nil}, tc.restore
				},
			}
			res, err := h.Handle(context.Background(), sweeper.Input{})
			if err != nil {
				t.Fatalf("err = %v: a lock's finding is not the sweep's failure", err)
			}
			if len(res.Findings) != 1 {
				t.Fatalf("findings %+v", res.Findings)
			}
			f := res.Findings[0]
			if f.Outcome != tc.want || f.Status != tc.status || f.Bucket != "ui-bucket" || f.Execution != "run-a" || !f.StartTime.Equal(id.StartTime) {
				t.Errorf("finding %+v, want outcome %s status %q", f, tc.want, tc.status)
			}
			if res.Counts[tc.want] != 1 || len(res.Counts) != 6 {
				t.Errorf("counts %v", res.Counts)
			}
			if len(fake.asked) != 1 || fake.asked[0] != id.ExecutionArn {
				t.Errorf("described %v", fake.asked)
			}
			if tc.restored {
				want := drill.RestoreInput{Execution: "run-a", ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, Bucket: "ui-bucket", Reason: drill.ReasonSweeper, Status: tc.status}
				if len(got) != 1 || got[0] != want {
					t.Errorf("restore calls %+v, want %+v", got, want)
				}
			} else if len(got) != 0 {
				t.Errorf("restored %+v", got)
			}
			if (f.Restore != nil) != (tc.want == sweeper.Restored) || (f.Error != "") != tc.wantErr {
				t.Errorf("finding %+v", f)
			}
			if tc.want == sweeper.Stranded && !strings.Contains(f.Error, "changed during the drill") {
				t.Errorf("finding error %q", f.Error)
			}
			var line map[string]any
			if err := json.Unmarshal(metrics.Bytes(), &line); err != nil {
				t.Fatalf("metrics %q: %v", metrics.String(), err)
			}
			counts := map[string]string{sweeper.MetricRestored: sweeper.Restored, sweeper.MetricStranded: sweeper.Stranded, sweeper.MetricUnchecked: sweeper.Unchecked, sweeper.MetricUnreadable: sweeper.Unreadable}
			for metric, outcome := range counts {
				want := 0.0
				if outcome == tc.want {
					want = 1
				}
				if line[metric] != want {
					t.Errorf("metric %s = %v, want %v: %s", metric, line[metric], want, metrics.String())
				}
			}
			if line[sweeper.MetricLocks] != 1.0 || line["Function"] != "sweeper" || !strings.Contains(metrics.String(), `"Namespace":"FailoverDrill"`) {
				t.Errorf("metrics %s", metrics.String())
			}
		})
	}
}

func TestSweepOfNothingAndOfBrokenLocks(t *testing.T) {
	store := ledgertest.New()
	h := &sweeper.Handler{Ledger: store.Ledger(), SFN: &fakeSFN{}, Restore: nil}
	res, err := h.Handle(context.Background(), sweeper.Input{})
	if err != nil || len(res.Findings) != 0 || res.StartedAt.IsZero() || res.FinishedAt.Before(res.StartedAt) {
		t.Fatalf("empty ledger: %+v, %v", res, err)
	}

	// A lock an older version wrote (no ARN, no start) cannot be checked: a person must look.
	store.PutTicket(drill.LockKey("ui-bucket"), drill.Ticket{Bucket: "ui-bucket", Execution: "old", Status: drill.TicketHeld})
	res, err = h.Handle(context.Background(), sweeper.Input{})
	if err != nil || res.Counts[sweeper.Stranded] != 1 || !strings.Contains(res.Findings[0].Error, "does not identify its execution") {
		t.Errorf("legacy lock: %+v, %v", res, err)
	}

	// One lock that cannot be decoded is reported (its own outcome and metric) and the
	// sweep goes on: every other lock is still restored.
	store.Delete(drill.LockKey("ui-bucket"))
	id := ledgertest.ID("run-b")
	store.Objects[drill.LockKey("a-bucket")] = ledgertest.Object{Body: []byte("<html>"), ETag: `"x"`}
	store.PutTicket(drill.LockKey("b-bucket"), lock(id, "b-bucket"))
	var restored []string
	var metrics bytes.Buffer
	h = &sweeper.Handler{Ledger: store.Ledger(), Settle: 70 * time.Second, Now: func() time.Time { return now }, Metrics: &metrics,
		SFN: &fakeSFN{describe: func(string) (*sfn.DescribeExecutionOutput, error) {
			return described(types.ExecutionStatusAborted, ledgertest.Start, now.Add(-time.Hour))
		}},
		Restore: func(_ context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
			restored = append(restored, in.Bucket)
			return drill.RestoreResult{Execution: in.Execution, MatchesPrior: true}, nil
		},
	}
	res, err = h.Handle(context.Background(), sweeper.Input{})
	if err != nil || len(res.Findings) != 2 || res.Counts[sweeper.Unreadable] != 1 || res.Counts[sweeper.Restored] != 1 {
		t.Fatalf("an undecodable lock beside a restorable one: %+v, %v", res, err)
	}
	if f := res.Findings[0]; f.Outcome != sweeper.Unreadable || f.Key != drill.LockKey("a-bucket") || !strings.Contains(f.Error, "a-bucket") {
		t.Errorf("unreadable finding %+v", f)
	}
	if len(restored) != 1 || restored[0] != "b-bucket" {
		t.Errorf("restored %v, want b-bucket past the unreadable lock", restored)
	}
	if !strings.Contains(metrics.String(), `"`+sweeper.MetricUnreadable+`":1`) {
		t.Errorf("metrics %s: want %s 1", metrics.String(), sweeper.MetricUnreadable)
	}

	store.ListErr = func(string) error { return pabtest.APIError("ListObjectsV2", 403, "AccessDenied") }
	if _, err := h.Handle(context.Background(), sweeper.Input{}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("listing denied: %v", err)
	}
}
