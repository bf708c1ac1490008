package local

import (
	"context"
	"encoding/json"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
)

// withColdStart starts every handler d late (0: as it is).
func withColdStart(tasks map[string]asl.TaskFunc, d time.Duration) map[string]asl.TaskFunc {
	if d <= 0 {
		return tasks
	}
	out := make(map[string]asl.TaskFunc, len(tasks))
	for arn, next := range tasks {
		out[arn] = func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-t.C:
			}
			return next(ctx, payload)
		}
	}
	return out
}
