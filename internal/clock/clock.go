// Package clock has the one way the drill waits: a sleep that ends early, with the
// context's error, when the context does.
package clock

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends, whichever comes first. A d <= 0 returns at once
// (ctx's error, if it has ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
