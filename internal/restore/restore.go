// Package restore is restore's logic: put the primary bucket's Block Public Access
// configuration back to exactly what the restore ticket recorded, verify it, take the
// synthetic cart back out, mark the ticket restored and release the lock, in that
// order, so a crash at any point leaves a ticket a re-run can finish.
package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
)

// PublicAccessAPI is the part of the S3 client used on the target bucket.
type PublicAccessAPI = pab.API

// CartAPI is the part of the shop client restore uses (shop.Client implements it).
type CartAPI interface {
	RemoveFromCart(ctx context.Context, host, userUUID, unicornUUID string) error
}

// VerifyDelays are the pauses before each read-back of the restored configuration:
// S3 settings are eventually consistent, so a first read may still see the block.
var VerifyDelays = []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// CartBudget bounds the best-effort cart clean-up so it cannot eat the restore's time.
const CartBudget = 20 * time.Second

// Handler restores by ticket. DefaultBucket is where to look for a lock when the
// run has no ticket and the input names no bucket (the safety net's case).
type Handler struct {
	S3            func(region string) PublicAccessAPI
	Ledger        *ledger.Ledger
	Cart          CartAPI
	DefaultBucket string
	Log           *slog.Logger
	Now           func() time.Time
	Sleep         func(ctx context.Context, d time.Duration) error
}

// Handle restores what execution changed. It is idempotent: any number of runs, in
// the flow, after a failure or from the safety net, end in the same state.
//
//   - no ticket for the execution (and no lock of its own): NothingToRestore;
//   - the bucket locked by another execution: Skipped, nothing touched;
//   - ticket restored and no lock of ours: AlreadyRestored, the current
//     configuration is read and compared with the prior;
//   - otherwise: put back the prior (or delete the configuration if there was none),
//     verify by reading back (*drill.RestoreMismatch if it still differs), clear the
//     seeded cart (best effort), mark the run's ticket restored, release the lock.
func (h *Handler) Handle(ctx context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
	started := h.now().UTC()
	if in.Execution == "" {
		return drill.RestoreResult{}, &drill.InvalidInput{Problems: []string{"execution: missing"}}
	}
	res := drill.RestoreResult{Execution: in.Execution}
	finish := func() (drill.RestoreResult, error) {
		res.Timing = drill.Timing{StartedAt: started, FinishedAt: h.now().UTC()}
		return res, nil
	}
	log := h.log().With("execution", in.Execution, "reason", in.Reason)

	run, err := h.Ledger.RunTicket(ctx, in.Execution)
	if err != nil {
		return drill.RestoreResult{}, fmt.Errorf("restore %s: %w", in.Execution, err)
	}
	bucket := in.Bucket
	if bucket == "" {
		bucket = h.DefaultBucket
	}
	if run != nil {
		bucket = run.Bucket
	}
	res.Bucket = bucket
	var lock *drill.Ticket
	if bucket != "" {
		if lock, err = h.Ledger.Lock(ctx, bucket); err != nil {
			return drill.RestoreResult{}, fmt.Errorf("restore %s: %w", bucket, err)
		}
	}
	ours := lock != nil && lock.Execution == in.Execution
	ticket := run
	if ticket == nil && ours {
		// Crashed between taking the lock and writing the run's ticket: the lock is
		// the same ticket.
		log.Info("no run ticket; restoring from this execution's lock", "bucket", bucket)
		ticket = lock
	}
	log = log.With("bucket", bucket)

	if ticket == nil {
		res.NothingToRestore, res.MatchesPrior = true, true
		switch {
		case lock != nil:
			res.Skipped = fmt.Sprintf("bucket %s is locked by drill %s; this execution changed nothing", bucket, lock.Execution)
		case bucket == "":
			res.Skipped = "no ticket for this execution and no bucket to look for its lock"
		}
		log.Info("nothing to restore", "skipped", res.Skipped)
		return finish()
	}
	res.Prior = ticket.Prior

	if lock != nil && !ours {
		res.Skipped = fmt.Sprintf("bucket %s is locked by drill %s; not touching it", bucket, lock.Execution)
		if ticket.Status == drill.TicketRestored {
			// Restored and verified earlier; the bucket now belongs to another drill.
			res.AlreadyRestored, res.MatchesPrior, res.RestoredAt = true, true, ticket.RestoredAt
			log.Info("already restored; bucket now locked by another drill", "holder", lock.Execution)
		} else {
			log.Error("this execution's ticket is not restored but another drill holds the lock; not touching the bucket",
				"holder", lock.Execution, "prior", pab.String(ticket.Prior))
		}
		return finish()
	}

	api := h.S3(ticket.Region)
	if ticket.Status == drill.TicketRestored && !ours {
		current, err := pab.Read(ctx, api, ticket.Bucket)
		if err != nil {
			return drill.RestoreResult{}, fmt.Errorf("restore %s: %w", bucket, err)
		}
		res.AlreadyRestored, res.ReadBack, res.RestoredAt = true, current, ticket.RestoredAt
		res.MatchesPrior = pab.Equal(current, ticket.Prior)
		log.Info("already restored", "prior", pab.String(ticket.Prior), "current", pab.String(current), "matches", res.MatchesPrior)
		return finish()
	}

	// Put back exactly the prior.
	if err := pab.Set(ctx, api, ticket.Bucket, ticket.Prior); err != nil {
		return drill.RestoreResult{}, fmt.Errorf("restore %s: %w", bucket, err)
	}
	restoredAt := h.now().UTC()
	readBack, err := h.verify(ctx, api, ticket.Bucket, ticket.Prior)
	if err != nil {
		return drill.RestoreResult{}, fmt.Errorf("restore %s: verify: %w", bucket, err)
	}
	if !pab.Equal(readBack, ticket.Prior) {
		log.Warn("restored configuration reads back differently", "prior", pab.String(ticket.Prior), "readBack", pab.String(readBack))
		return drill.RestoreResult{}, &drill.RestoreMismatch{Bucket: ticket.Bucket, Want: pab.String(ticket.Prior), Got: pab.String(readBack)}
	}
	log.Info("public access block restored", "prior", pab.String(ticket.Prior), "restoredAt", restoredAt)
	res.ReadBack, res.MatchesPrior, res.RestoredAt = readBack, true, &restoredAt

	res.CartCleared, res.CartError = h.clearCart(ctx, ticket.Seed)
	if res.CartError != "" {
		log.Warn("synthetic cart not cleared", "error", res.CartError)
	}

	done := *ticket
	done.Status, done.RestoredAt = drill.TicketRestored, &restoredAt
	if err := h.Ledger.PutRunTicket(ctx, done); err != nil {
		return drill.RestoreResult{}, fmt.Errorf("restore %s: mark ticket restored: %w", bucket, err)
	}
	if ours {
		if err := h.Ledger.ReleaseLock(ctx, ticket.Bucket); err != nil {
			return drill.RestoreResult{}, fmt.Errorf("restore %s: release lock: %w", bucket, err)
		}
		log.Info("lock released")
	}
	return finish()
}

// verify reads the configuration back until it equals want or VerifyDelays run out,
// and returns the last reading.
func (h *Handler) verify(ctx context.Context, api PublicAccessAPI, bucket string, want *drill.PublicAccessBlock) (*drill.PublicAccessBlock, error) {
	var got *drill.PublicAccessBlock
	var lastErr error
	for _, d := range VerifyDelays {
		if d > 0 {
			if err := h.sleep(ctx, d); err != nil {
				return nil, err
			}
		}
		p, err := pab.Read(ctx, api, bucket)
		if err != nil {
			if !pab.IsTransient(err) {
				return nil, err
			}
			lastErr = err
			continue
		}
		got, lastErr = p, nil
		if pab.Equal(got, want) {
			return got, nil
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return got, nil
}

// clearCart removes the seeded unicorns from the synthetic user's cart. It never
// fails the restore: problems come back as text.
func (h *Handler) clearCart(ctx context.Context, seed *drill.SeededCart) (cleared bool, problem string) {
	if seed == nil || len(seed.Unicorns) == 0 {
		return true, ""
	}
	if h.Cart == nil {
		return false, "no shop client configured"
	}
	if seed.APIHost == "" || seed.UserUUID == "" {
		return false, "ticket's seed has no API host or user"
	}
	ctx, cancel := context.WithTimeout(ctx, CartBudget)
	defer cancel()
	var errs []error
	for _, u := range seed.Unicorns {
		if err := h.Cart.RemoveFromCart(ctx, seed.APIHost, seed.UserUUID, u); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", u, err))
		}
	}
	if len(errs) > 0 {
		msg := errors.Join(errs...).Error()
		return false, truncate(strings.ReplaceAll(msg, "\n", "; "), 1000)
	}
	return true, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
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
