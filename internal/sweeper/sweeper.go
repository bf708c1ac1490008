// Package sweeper is the sweeper function's logic: the safety net that does not depend
// on an event. Step Functions delivers its status-change events best effort, so the
// EventBridge rule that restores after a stopped, timed-out or failed execution can
// miss one. The sweeper runs on a schedule, lists every lock in the ledger, asks Step
// Functions whether each lock's execution is still running, and restores (through
// restore's own code) every lock whose execution has ended.
//
// Its time bound, from an execution's end to its bucket restored, is the schedule's
// interval + Settle + one restore (see README, "Safety").
package sweeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
)

// ExecutionAPI is the Step Functions call the sweeper makes.
type ExecutionAPI interface {
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

var _ ExecutionAPI = (*sfn.Client)(nil)

// Interval is how often the deployed schedule runs the sweeper.
const Interval = 5 * time.Minute

// Outcomes of one lock in one sweep.
const (
	// Running: its execution still runs; the flow restores it.
	Running = "running"
	// Settling: its execution ended less than Settle ago; a block-bucket it started may
	// still be running, so the next sweep restores it.
	Settling = "settling"
	// Restored: its execution had ended and the sweeper restored the bucket and
	// released the lock: the event-driven safety net had missed it.
	Restored = "restored"
	// Stranded: its execution has ended but the restore failed (or the lock names no
	// execution): the bucket may still be blocked, a person must act.
	Stranded = "stranded"
	// Unchecked: Step Functions could not say whether its execution still runs.
	Unchecked = "unchecked"
	// Unreadable: the lock object could not be read or decoded. The sweep goes on with
	// every other lock; this one is reported (its own metric and alarm) every sweep
	// until a person looks at it (drill status names its key).
	Unreadable = "unreadable"
)

// Input is what the schedule sends; the sweeper needs nothing from it.
type Input struct{}

// Finding is what the sweep found and did about one lock.
type Finding struct {
	Key          string               `json:"key,omitempty"` // the lock's ledger key, for an unreadable one
	Bucket       string               `json:"bucket"`
	Execution    string               `json:"execution"`
	ExecutionArn string               `json:"executionArn,omitempty"`
	StartTime    drill.Instant        `json:"startTime"`
	Status       string               `json:"status,omitempty"` // the execution's, or "gone" when Step Functions no longer knows it
	Outcome      string               `json:"outcome"`
	Error        string               `json:"error,omitempty"`
	Restore      *drill.RestoreResult `json:"restore,omitempty"`
}

// Result is one sweep.
type Result struct {
	drill.Timing
	Findings []Finding      `json:"findings"`
	Counts   map[string]int `json:"counts"`
}

// Handler sweeps. Restore is restore's own Handle (the same checks, the same ledger
// protocol). Settle is how long after an execution's end the sweeper waits before
// restoring it: a block-bucket the execution started lives at most that long.
// Metrics, if set, receives one CloudWatch Embedded Metric Format line per sweep.
type Handler struct {
	Ledger  *ledger.Ledger
	SFN     ExecutionAPI
	Restore func(ctx context.Context, in drill.RestoreInput) (drill.RestoreResult, error)
	Settle  time.Duration
	Now     func() time.Time
	Log     *slog.Logger
	Metrics io.Writer
}

// Handle sweeps every lock once. A lock left stranded or unchecked is a finding, in
// the result and the metrics (their alarm), not an error: the function fails only when
// it cannot sweep at all (the ledger cannot be listed), which its Errors alarm reports.
func (h *Handler) Handle(ctx context.Context, _ Input) (Result, error) {
	res := Result{Counts: map[string]int{Running: 0, Settling: 0, Restored: 0, Stranded: 0, Unchecked: 0, Unreadable: 0}}
	res.StartedAt = h.now().UTC()
	locks, err := h.Ledger.Locks(ctx)
	if err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	res.Findings = []Finding{}
	for _, e := range locks {
		f := Finding{Key: e.Key, Outcome: Unreadable}
		if e.Err != nil {
			f.Error = e.Err.Error()
		} else {
			f = h.sweep(ctx, e.Lock)
		}
		res.Counts[f.Outcome]++
		res.Findings = append(res.Findings, f)
		log := h.log().With("bucket", f.Bucket, "execution", f.Execution, "startTime", f.StartTime.String(), "status", f.Status, "outcome", f.Outcome)
		switch f.Outcome {
		case Restored:
			log.Warn("restored a lock whose execution had ended: the safety-net event was missed")
		case Stranded, Unchecked:
			log.Error("lock not restored", "error", f.Error)
		case Unreadable:
			log.Error("lock unreadable: reported, the sweep goes on with the others", "key", f.Key, "error", f.Error)
		default:
			log.Info("lock left for now")
		}
	}
	res.FinishedAt = h.now().UTC()
	h.emit(len(locks), res)
	return res, nil
}

// sweep decides about one lock and, when its execution has ended, restores it.
func (h *Handler) sweep(ctx context.Context, lock drill.Ticket) Finding {
	f := Finding{Bucket: lock.Bucket, Execution: lock.Execution, ExecutionArn: lock.ExecutionArn, StartTime: lock.StartTime}
	id := lock.ID()
	if p := id.Problems(); len(p) > 0 {
		f.Outcome, f.Error = Stranded, fmt.Sprintf("the lock does not identify its execution (%v): check the bucket, then drill restore or drill unlock", p)
		return f
	}
	state, err := Describe(ctx, h.SFN, id)
	if err != nil {
		f.Outcome, f.Error = Unchecked, err.Error()
		return f
	}
	f.Status = state.Status
	if state.Running {
		f.Outcome = Running
		return f
	}
	ended := state.Ended
	if !ended.IsZero() && h.now().Sub(ended) < h.Settle {
		f.Outcome = Settling
		return f
	}
	r, err := h.Restore(ctx, drill.RestoreInput{
		Execution: lock.Execution, ExecutionArn: lock.ExecutionArn, StartTime: lock.StartTime,
		Bucket: lock.Bucket, Reason: drill.ReasonSweeper, Status: state.Status,
	})
	if err != nil {
		f.Outcome, f.Error = Stranded, drill.Classify(err).Error()
		return f
	}
	f.Outcome, f.Restore = Restored, &r
	return f
}

// ExecutionState is what Step Functions says about a lock's execution.
type ExecutionState struct {
	// Status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE; "gone"
	// when Step Functions no longer knows the execution (90 days after it closed); or
	// "replaced by the run started <time>" when its ARN now names a newer execution of
	// the same name (ours ended before that one started).
	Status  string
	Running bool
	// Ended is when it ended (for a replaced run: when the newer one started, the
	// latest it can have ended); zero when running or gone.
	Ended time.Time
}

// Describe asks Step Functions about id's execution.
func Describe(ctx context.Context, api ExecutionAPI, id drill.RunID) (ExecutionState, error) {
	out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(id.ExecutionArn)})
	var gone *types.ExecutionDoesNotExist
	if errors.As(err, &gone) {
		return ExecutionState{Status: "gone"}, nil
	}
	if err != nil {
		return ExecutionState{}, fmt.Errorf("describe execution %s: %w", id.ExecutionArn, err)
	}
	started := drill.At(aws.ToTime(out.StartDate))
	if !started.Equal(id.StartTime) {
		return ExecutionState{Status: "replaced by the run started " + started.String(), Ended: started.Time()}, nil
	}
	if out.Status == types.ExecutionStatusRunning || out.Status == types.ExecutionStatusPendingRedrive {
		return ExecutionState{Status: string(out.Status), Running: true}, nil
	}
	return ExecutionState{Status: string(out.Status), Ended: aws.ToTime(out.StopDate)}, nil
}

// MetricsNamespace is the CloudWatch namespace of the sweeper's metrics (the drill's).
const MetricsNamespace = "FailoverDrill"

// Metric names, for the alarms infra/ sets on them, under the dimension
// Function=sweeper.
const (
	MetricDimension = "Function"
	MetricLocks     = "SweeperLocks"
	MetricRestored  = "SweeperRestoredLocks"
	MetricStranded  = "SweeperStrandedLocks"
	MetricUnchecked = "SweeperUncheckedLocks"
	// MetricUnreadable counts locks that could not be read or decoded.
	MetricUnreadable = "SweeperUnreadableLocks"
)

// Metrics are the figures every sweep writes (its standing cost counts them).
var Metrics = []string{MetricLocks, MetricRestored, MetricStranded, MetricUnchecked, MetricUnreadable}

// metricDefs declares Metrics, counts all, for the EMF line.
func metricDefs() []map[string]string {
	out := make([]map[string]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = map[string]string{"Name": m, "Unit": "Count"}
	}
	return out
}

// emit writes the sweep's counts as one EMF line: no PutMetricData permission needed.
func (h *Handler) emit(locks int, res Result) {
	if h.Metrics == nil {
		return
	}
	doc := map[string]any{
		MetricDimension: drill.FuncSweeper,
		MetricLocks:     locks, MetricRestored: res.Counts[Restored],
		MetricStranded: res.Counts[Stranded], MetricUnchecked: res.Counts[Unchecked], MetricUnreadable: res.Counts[Unreadable],
		"_aws": map[string]any{
			"Timestamp": res.FinishedAt.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{{MetricDimension}},
				"Metrics":    metricDefs(),
			}},
		},
	}
	line, _ := json.Marshal(doc)
	_, _ = h.Metrics.Write(append(line, '\n'))
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}
