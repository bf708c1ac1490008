package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/cost"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/restore"
)

// requestCounter counts the S3 requests the drill's functions send, attempts included
// (S3 bills each), by operation. One Env counts for one run at a time.
type requestCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

// option adds the counter to an S3 client: after the retry middleware, so every
// attempt is counted.
func (c *requestCounter) option(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("drillCountRequests",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.ops[awsmiddleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// take returns the counts so far and starts again.
func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = map[string]int{}
	return out
}

// Cost is what the run used, measured: state transitions and each Task's duration from
// the runner's events, the S3 requests the functions sent, the probe's samples from its
// logs. The safety net's restore counts with the wait it would have on AWS, not the
// local one (safetyNetOnAWS).
func Cost(out *Outcome, blockSentAt *time.Time, s3ops map[string]int) drill.Cost {
	u := cost.Usage{Source: "measured", S3Counted: true}
	var entered time.Time
	var backoff time.Duration
	var attempts int
	for _, ev := range out.Result.Events {
		switch ev.Type {
		case asl.StateEntered:
			u.StateTransitions++
			entered, backoff, attempts = ev.At, 0, 0
		case asl.TaskRetryScheduled:
			u.StateTransitions++ // a retry is billed as a transition
			backoff += ev.Duration
			attempts++
		case asl.StateExited:
			fn, ok := cost.TaskFunctions[ev.State]
			if !ok {
				continue
			}
			d := ev.Duration - backoff
			if d < 0 || entered.IsZero() {
				d = ev.Duration
			}
			// Each attempt is an invocation; their durations are not told apart.
			for i := 0; i <= attempts; i++ {
				u.Invoke(fn, d/time.Duration(attempts+1))
			}
		}
	}
	if sn := out.SafetyNet; sn != nil && !sn.StartedAt.IsZero() {
		d, note := safetyNetOnAWS(sn.StartedAt, sn.FinishedAt.Sub(sn.StartedAt), blockSentAt)
		u.Invoke(drill.FuncRestore, d)
		if note != "" {
			u.Notes = append(u.Notes, note)
		}
	}
	for _, l := range out.Logs {
		if l != nil {
			u.ProbeRequests += len(l.Unpack())
		}
	}
	for _, ev := range out.Result.Events {
		if ev.Type == asl.StateExited && ev.State == "SeedCart" {
			u.SeedRequests++ // config.json through the distribution; the shop's API is not the distribution
		}
	}
	for op, n := range s3ops {
		switch cost.S3Tier(op) {
		case "put":
			u.S3.Put += n
		case "get":
			u.S3.Get += n
		}
	}
	u.Notes = append(u.Notes,
		"not counted: the sweeper (every 5 minutes whether or not a drill runs), CloudWatch Logs, X-Ray, EventBridge, SNS, data transfer (config.json is a few hundred bytes)")
	return cost.Estimate(u)
}

// safetyNetOnAWS is how long the safety net's restore, which took `took` locally from
// started, would run on AWS: it looks a second time only while a block of the run can
// still land, until blockSentAt plus the settle, which is restore.DefaultSettle there
// and SafetyNetSettle here. A run that never blocked is looked at once either way.
func safetyNetOnAWS(started time.Time, took time.Duration, blockSentAt *time.Time) (time.Duration, string) {
	if blockSentAt == nil {
		return took, ""
	}
	wait := func(settle time.Duration) time.Duration { return max(blockSentAt.Add(settle).Sub(started), 0) }
	local, aws := wait(SafetyNetSettle), wait(restore.DefaultSettle)
	return max(took-local, 0) + aws, fmt.Sprintf("the safety net's restore is counted with the wait it would have on AWS, until no block of the run can land (%.0f s after the block was sent, %.0f s locally)",
		restore.DefaultSettle.Seconds(), SafetyNetSettle.Seconds())
}
