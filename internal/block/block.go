// Package block is block-bucket's logic: record a restore ticket in the ledger, then
// block all public access on the primary UI bucket. The bucket is changed only after
// the ticket that can undo the change is stored.
package block

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
)

// PublicAccessAPI is the part of the S3 client used on the target bucket.
type PublicAccessAPI = pab.API

// Handler blocks the primary bucket. S3 returns a client for a region (the bucket's
// control calls must go to its own region).
type Handler struct {
	S3     func(region string) PublicAccessAPI
	Ledger *ledger.Ledger
	Log    *slog.Logger
	Now    func() time.Time
}

// Handle takes the bucket's lock with a ticket holding the bucket's current
// configuration, writes the run's ticket, then puts drill.BlockAll.
//
// Re-invoking it for the same execution (a Lambda retry after a crash or a timeout)
// is harmless: the stored ticket's Prior is kept, not the configuration read now,
// which may already be the block. A lock held by another execution is a
// *drill.LockHeld and nothing is changed; so is an execution already restored.
func (h *Handler) Handle(ctx context.Context, in drill.BlockInput) (drill.BlockResult, error) {
	started := h.now()
	cfg, err := drill.ParseConfig(in.Config)
	if problems := problemsOf(err); in.Execution == "" || problems != nil {
		if in.Execution == "" {
			problems = append(problems, "execution: missing")
		}
		return drill.BlockResult{}, &drill.InvalidInput{Problems: problems}
	}
	bucket, region := cfg.PrimaryBucket, cfg.PrimaryRegion
	log := h.log().With("execution", in.Execution, "bucket", bucket, "region", region)

	// A run already restored must never be blocked again: this would be a late
	// invocation still running after the state machine moved on to Restore.
	run, err := h.Ledger.RunTicket(ctx, in.Execution)
	if err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	if run != nil && run.Status == drill.TicketRestored {
		return drill.BlockResult{}, fmt.Errorf("block %s: execution %s was already restored at %s; refusing to block again",
			bucket, in.Execution, fmtTime(run.RestoredAt))
	}

	api := h.S3(region)
	current, err := pab.Read(ctx, api, bucket)
	if err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}

	ticket := drill.Ticket{
		Bucket:    bucket,
		Region:    region,
		Execution: in.Execution,
		CreatedAt: h.now().UTC(),
		Prior:     current,
		Seed:      seededCart(in.Seed),
		Status:    drill.TicketHeld,
	}
	held, created, err := h.Ledger.TakeLock(ctx, ticket)
	if err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	reinvoked := false
	if !created {
		if held.Execution != in.Execution {
			log.Warn("bucket locked by another drill; nothing changed", "holder", held.Execution, "since", held.CreatedAt)
			return drill.BlockResult{}, &drill.LockHeld{Bucket: bucket, Holder: held.Execution}
		}
		// Our own lock from an earlier attempt: its Prior is the truth.
		ticket, reinvoked = held, true
		log.Info("re-invoked: using the stored ticket", "prior", pab.String(ticket.Prior), "current", pab.String(current))
	}

	if err := h.Ledger.PutRunTicket(ctx, ticket); err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	log.Info("restore ticket stored", "prior", pab.String(ticket.Prior))

	if err := pab.Put(ctx, api, bucket, drill.BlockAll); err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	blockedAt := h.now().UTC()
	log.Info("all public access blocked", "blockedAt", blockedAt)

	return drill.BlockResult{
		Timing:    drill.Timing{StartedAt: started.UTC(), FinishedAt: h.now().UTC()},
		Bucket:    bucket,
		Region:    region,
		Prior:     ticket.Prior,
		BlockedAt: blockedAt,
		Reinvoked: reinvoked,
	}, nil
}

func seededCart(s *drill.SeedResult) *drill.SeededCart {
	if s == nil {
		return nil
	}
	return &drill.SeededCart{
		APIHost:  s.APIHost,
		UserUUID: s.User.UUID,
		Unicorns: append([]string(nil), s.Cart...),
	}
}

// problemsOf returns the problems of an *drill.InvalidInput (or the text of any other
// error), nil when err is nil.
func problemsOf(err error) []string {
	if err == nil {
		return nil
	}
	if ii, ok := err.(*drill.InvalidInput); ok {
		return append([]string(nil), ii.Problems...)
	}
	return []string{"config: " + err.Error()}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
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
