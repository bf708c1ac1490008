package readiness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
)

// DefaultReplicationPoll is the pause between reads of the cart through the secondary API.
const DefaultReplicationPoll = 250 * time.Millisecond

// replication waits for the seeded cart to be readable through the secondary API. The
// lag is counted from the moment seed-cart finished (its last write was just before),
// so it is a slight underestimate. A dry run, or a cart that never arrives, has the
// cart taken out again: the drill will not block, so restore will not clean it.
func (h *Handler) replication(ctx context.Context, cfg drill.Config, in drill.ReadinessInput) (drill.ReadinessResult, error) {
	const name = drill.CheckReplication
	res := *in.Previous
	res.Checks = slices.DeleteFunc(slices.Clone(res.Checks), func(c drill.Check) bool { return c.Name == name })
	seed := in.Seed
	want := slices.Sorted(slices.Values(seed.Cart))
	from := seed.FinishedAt
	if from.IsZero() {
		from = h.now()
	}
	var check drill.Check
	if res.SecondaryAPI == "" {
		check = skip(name, "the secondary API is unknown (see the secondary-origin check)", "make the secondary-origin check run")
	} else {
		max := time.Duration(cfg.MaxReplicationLagSeconds) * time.Second
		deadline := from.Add(max)
		poll := h.ReplicationPoll
		if poll <= 0 {
			poll = DefaultReplicationPoll
		}
		var got []string
		var lastErr error
		for {
			c, err := h.Shop.Cart(ctx, res.SecondaryAPI, seed.User.UUID)
			at := h.now()
			got, lastErr = c, err
			if err == nil && slices.Equal(c, want) {
				secs := drill.Seconds(at.Sub(from))
				res.ReplicationSeconds = &secs
				check = pass(name, fmt.Sprintf("the seeded cart (%d unicorns of user %s) was readable through the secondary API %s %.3f s after it was written (maxReplicationLagSeconds %d)",
					len(want), seed.User.UUID, res.SecondaryAPI, secs, cfg.MaxReplicationLagSeconds))
				break
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if !at.Add(poll).Before(deadline) {
				msg := fmt.Sprintf("the seeded cart was not readable through the secondary API %s within maxReplicationLagSeconds (%d s): it read %v, want %v",
					res.SecondaryAPI, cfg.MaxReplicationLagSeconds, got, want)
				if lastErr != nil {
					msg += fmt.Sprintf(" (last error: %v)", lastErr)
				}
				check = fail(name, msg+"; a failover now would lose carts",
					"find why the cart table (DynamoDB global table) replicates slowly, or raise maxReplicationLagSeconds if that lag is acceptable")
				break
			}
			if err := clock.Sleep(ctx, poll); err != nil {
				return res, err
			}
		}
	}
	if cfg.DryRun || check.Status == drill.CheckFail {
		check.Evidence = append(check.Evidence, h.clearCart(ctx, seed))
	}
	res.Checks = append(res.Checks, check)
	if cfg.GlobalCluster != "" {
		const dbName = drill.CheckDatabaseReplication
		res.Checks = slices.DeleteFunc(res.Checks, func(c drill.Check) bool { return c.Name == dbName })
		res.Checks = append(res.Checks, h.databaseReplication(ctx, cfg, seed, res.SecondaryAPI))
	}
	return res, nil
}

// clearCart takes the seeded unicorns out again through the primary API (best effort).
func (h *Handler) clearCart(ctx context.Context, seed *drill.SeedResult) string {
	var failed []string
	for _, u := range seed.Cart {
		if err := h.Shop.RemoveFromCart(ctx, seed.APIHost, seed.User.UUID, u); err != nil {
			failed = append(failed, u+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Sprintf("the seeded cart could not be cleared: %v", failed)
	}
	return fmt.Sprintf("the seeded cart (%d unicorns) was cleared again", len(seed.Cart))
}
