// Package block is block-bucket's logic: record a restore ticket in the ledger, then
// block all public access on the primary UI bucket. The bucket is changed only after
// the ticket that can undo the change is stored, and a block that lands after restore
// began is undone (see Handle).
package block

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
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
	// Sleep waits between attempts to take a lock a dry run holds (default clock.Sleep).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Margin is how long before its deadline block-bucket stops starting work, so it
// always has time to look at the run ticket after its put and undo a block that
// landed after restore began.
const Margin = 10 * time.Second

// confirmBudget bounds that final look and the undo.
const confirmBudget = 8 * time.Second

// DryRunLockWait is how long block-bucket waits for a lock a dry run holds: a dry run
// takes the lock, reads the bucket and has Restore release it, a few seconds, so a
// drill that meets one (a scheduled dry run and a drill started together) waits
// instead of being refused. A dry-run lock held longer is treated as any other.
const DryRunLockWait = 20 * time.Second

// dryRunLockPoll is the pause between attempts to take a lock a dry run holds.
const dryRunLockPoll = 250 * time.Millisecond

// Handle blocks the primary bucket, in an order that lets restore win every race:
//
//  1. claim the run: create its ticket, status claimed (If-None-Match: *); the ticket's
//     key holds the execution's start, so a reused name never finds an old run's
//     ticket; a ticket already restoring, restored or abandoned means restore came
//     first: *drill.RunClosed;
//  2. take the bucket's lock (another execution's lock, a reused name's included:
//     *drill.LockHeld);
//  3. under the lock, read the configuration as the prior (one that already blocks all
//     public access is refused: Preflight just saw the site up, so it is stale or
//     someone else's block) and record it in the lock, status held (If-Match): the
//     lock never expires, so the restore data lives as long as the lock;
//  4. record it in the run ticket, status held, with the moment it is about to send
//     the put (BlockSentAt), If-Match the version it read: a ticket restore has
//     already taken over is never blocked;
//  5. put drill.BlockAll;
//  6. read the ticket again: if restore has started meanwhile, put the prior back.
//
// Re-invoking it for the same execution (a Lambda retry) is harmless: a held lock's
// Prior is kept, not the configuration read now, which may already be the block, and
// step 4 is made again (a new BlockSentAt) before the put is sent again. A lock or
// ticket restore marked changed (someone else changed the bucket during the drill) is
// never written, unblocked or released here: it is left to a person.
func (h *Handler) Handle(ctx context.Context, in drill.BlockInput) (drill.BlockResult, error) {
	started := h.now()
	cfg, err := drill.ParseConfig(in.Config)
	var invalid *drill.InvalidInput
	if err != nil && !errors.As(err, &invalid) {
		return drill.BlockResult{}, err // ParseConfig reports only *drill.InvalidInput
	}
	var problems []string
	if invalid != nil {
		problems = append(problems, invalid.Problems...)
	}
	if problems = append(problems, in.ID().Problems()...); len(problems) > 0 {
		return drill.BlockResult{}, &drill.InvalidInput{Problems: problems}
	}
	id := in.ID()
	bucket, region := cfg.PrimaryBucket, cfg.PrimaryRegion
	log := h.log().With("execution", in.Execution, "startTime", in.StartTime.String(), "bucket", bucket, "region", region)
	work, cancel := withMargin(ctx, Margin)
	defer cancel()

	run, runETag, reinvoked, err := h.claim(work, id, bucket, region, in.Seed, cfg.DryRun)
	if err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	lock, lockETag, err := h.takeLock(work, run, log)
	if err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}
	if !lock.ID().Same(id) {
		log.Warn("bucket locked by another drill; nothing changed", "holder", lock.ID().String(), "since", lock.CreatedAt)
		return drill.BlockResult{}, &drill.LockHeld{Bucket: bucket, Holder: lock.ID().String()}
	}
	if lock.Status == drill.TicketChanged || lock.Status == drill.TicketRestored {
		// Restore has taken this run over (the lock is settling, or left to a person).
		return drill.BlockResult{}, &drill.RunClosed{Execution: id.Execution, Status: lock.Status}
	}

	api := h.S3(region)
	if lock.Status != drill.TicketHeld {
		current, err := pab.Read(work, api, bucket)
		if err != nil {
			return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
		}
		if current != nil && *current == drill.BlockAll {
			return drill.BlockResult{}, h.giveUp(ctx, run, &drill.SteadyStateFailed{Msg: fmt.Sprintf(
				"bucket %s already blocks all public access, though the site was just serving from it: refusing to record that as the configuration to restore", bucket)})
		}
		if cfg.DryRun {
			// The dry run proved the claim, the lock and the read; it stops before
			// recording a prior, so the run ticket and the lock stay claimed and
			// Restore abandons the run and releases the lock, conditionally, as it
			// does for a run that never blocked.
			log.Info("dry run: lock taken and configuration read; the bucket is not changed", "current", pab.String(current))
			return drill.BlockResult{
				Timing: drill.Timing{StartedAt: started.UTC(), FinishedAt: h.now().UTC()},
				Bucket: bucket, Region: region, Prior: current, DryRun: true, Reinvoked: reinvoked,
			}, nil
		}
		lock.Prior, lock.Status, lock.Seed = current, drill.TicketHeld, run.Seed
		if _, err := h.Ledger.ReplaceLock(work, lock, lockETag); err != nil {
			if errors.Is(err, ledger.ErrChanged) {
				// Released or replaced under us: restore has taken the run over, or a
				// person unlocked the bucket.
				return drill.BlockResult{}, h.giveUp(ctx, run, h.closed(work, id, err))
			}
			return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
		}
		log.Info("prior recorded in the lock", "prior", pab.String(lock.Prior))
	}
	run.Prior = lock.Prior
	log.Info("storing the restore ticket (a re-invocation keeps the stored prior)", "prior", pab.String(run.Prior), "reinvoked", reinvoked)
	// Before every put, held and the moment it is about to be sent, If-Match the version
	// read: restore bounds how long a late block of this run can land by it.
	run.Status, run.BlockSentAt = drill.TicketHeld, later(run.BlockSentAt, h.now().UTC())
	if _, err := h.Ledger.ReplaceRunTicket(work, run, runETag); err != nil {
		if errors.Is(err, ledger.ErrChanged) {
			return drill.BlockResult{}, h.giveUp(ctx, run, h.closed(work, id, err))
		}
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, err)
	}

	// The put may take effect anywhere between its sending and its answer: both are
	// recorded, so the failover is measured from the earliest moment it can have begun.
	sentAt := h.now().UTC()
	putErr := pab.Put(work, api, bucket, drill.BlockAll)
	blockedAt := h.now().UTC()
	// Even a failed put may have landed (a timeout); either way, if restore has begun
	// meanwhile, the block must not outlive it.
	if err := h.confirm(ctx, api, run); err != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, h.giveUp(ctx, run, err))
	}
	if putErr != nil {
		return drill.BlockResult{}, fmt.Errorf("block %s: %w", bucket, putErr)
	}
	log.Info("all public access blocked", "blockSentAt", sentAt, "blockedAt", blockedAt)

	return drill.BlockResult{
		Timing:      drill.Timing{StartedAt: started.UTC(), FinishedAt: h.now().UTC()},
		Bucket:      bucket,
		Region:      region,
		Prior:       run.Prior,
		BlockSentAt: sentAt,
		BlockedAt:   blockedAt,
		Reinvoked:   reinvoked,
	}, nil
}

// takeLock takes the bucket's lock for run, or returns the lock another execution
// holds. One a dry run holds is waited for, up to DryRunLockWait: it is released within
// seconds, and a drill must not be refused because a dry run was reading the bucket.
func (h *Handler) takeLock(ctx context.Context, run drill.Ticket, log *slog.Logger) (drill.Ticket, string, error) {
	deadline := h.now().Add(DryRunLockWait)
	for waited := false; ; waited = true {
		lock, etag, _, err := h.Ledger.TakeLock(ctx, run)
		if err != nil || lock.ID().Same(run.ID()) || !lock.DryRun || !h.now().Add(dryRunLockPoll).Before(deadline) {
			if waited && err == nil {
				log.Info("waited for a dry run's lock", "holder", lock.ID().String(), "taken", lock.ID().Same(run.ID()))
			}
			return lock, etag, err
		}
		if !waited {
			log.Info("bucket locked by a dry run; waiting for it to release the lock", "holder", lock.ID().String(), "waitSeconds", DryRunLockWait.Seconds())
		}
		sleep := h.Sleep
		if sleep == nil {
			sleep = clock.Sleep
		}
		if sleep(ctx, dryRunLockPoll) != nil {
			return lock, etag, nil // the invocation ends: LockHeld, as without the wait
		}
	}
}

// later is the later of a recorded moment (nil: none) and now: a re-invocation on a
// clock a little behind never moves the bound earlier.
func later(recorded *time.Time, now time.Time) *time.Time {
	if recorded != nil && recorded.After(now) {
		t := *recorded
		return &t
	}
	return &now
}

// claim creates the run's ticket, or picks up this execution's earlier claim.
func (h *Handler) claim(ctx context.Context, id drill.RunID, bucket, region string, seed *drill.SeedResult, dryRun bool) (run drill.Ticket, etag string, reinvoked bool, err error) {
	run = drill.Ticket{
		Bucket:       bucket,
		Region:       region,
		Execution:    id.Execution,
		ExecutionArn: id.ExecutionArn,
		StartTime:    id.StartTime,
		CreatedAt:    h.now().UTC(),
		Seed:         seededCart(seed),
		Status:       drill.TicketClaimed,
		DryRun:       dryRun,
	}
	etag, err = h.Ledger.CreateRunTicket(ctx, run)
	if err == nil {
		return run, etag, false, nil
	}
	if !errors.Is(err, ledger.ErrChanged) {
		return run, "", false, err
	}
	existing, etag, err := h.Ledger.RunTicketVersion(ctx, id)
	if err != nil {
		return run, "", false, err
	}
	if existing == nil {
		return run, "", false, &drill.Transient{Msg: "run ticket " + drill.RunTicketKey(id) + " vanished while claiming it"}
	}
	if existing.Status != drill.TicketClaimed && existing.Status != drill.TicketHeld {
		return run, "", false, &drill.RunClosed{Execution: id.Execution, Status: existing.Status}
	}
	if existing.Bucket != bucket || existing.Region != region {
		return run, "", false, &drill.InvalidInput{Problems: []string{fmt.Sprintf(
			"primaryBucket: execution %s already claimed bucket %s in %s", id.Execution, existing.Bucket, existing.Region)}}
	}
	return *existing, etag, true, nil
}

// confirm reads the run ticket after the put. Held: the block stands and restore will
// undo it. Anything else: restore has begun, so the block is undone here and now.
// It runs on its own budget, not work's, which may already be spent.
func (h *Handler) confirm(ctx context.Context, api PublicAccessAPI, run drill.Ticket) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmBudget)
	defer cancel()
	now, _, err := h.Ledger.RunTicketVersion(ctx, run.ID())
	if err != nil {
		return fmt.Errorf("confirm the run ticket after blocking (restore will still put back %s): %w", pab.String(run.Prior), err)
	}
	if now != nil && now.Status == drill.TicketHeld {
		return nil
	}
	status := "gone"
	if now != nil {
		status = now.Status
	}
	if status == drill.TicketChanged {
		// Restore found someone else's configuration on the bucket: whatever this put
		// landed on is theirs to decide, not ours to overwrite again; the lock and the
		// sweeper's alarm keep telling a person.
		h.log().Error("late block on a bucket changed during the drill: left for a person (drill status)", "execution", run.Execution, "bucket", run.Bucket)
		return &drill.RunClosed{Execution: run.Execution, Status: status}
	}
	if lock, err := h.Ledger.Lock(ctx, run.Bucket); err == nil && lock != nil && !lock.ID().Same(run.ID()) && lock.Restorer() {
		// Restored and released, and now another drill's bucket, one that recorded its
		// prior: its own restore puts back what it recorded; an undo here would break
		// its failover mid-way. A dry run's lock, or a claim, restores nothing: the
		// block is undone here. (The lock is kept until no block of a run can land, so
		// this needs a lock released by hand.)
		h.log().Warn("late block on a bucket another drill now holds; leaving it to that drill", "execution", run.Execution, "holder", lock.ID().String())
		return &drill.RunClosed{Execution: run.Execution, Status: status}
	}
	h.log().Warn("restore began while blocking; undoing the block", "execution", run.Execution, "status", status, "prior", pab.String(run.Prior))
	if err := pab.Set(ctx, api, run.Bucket, run.Prior); err != nil {
		return fmt.Errorf("undo the block (run ticket %s): %w", status, err)
	}
	return &drill.RunClosed{Execution: run.Execution, Status: status}
}

// giveUp releases the lock this execution took when it will not block after all:
// restore has taken over the run (a *drill.RunClosed), and may already have finished
// and released it; or the prior it read is already a full block (a
// *drill.SteadyStateFailed), with nothing recorded. A lock left behind would stop every
// later drill. Other errors, and a run restore marked changed, keep the lock. (This is why
// block-bucket's policy has s3:DeleteObject on locks/.)
func (h *Handler) giveUp(ctx context.Context, run drill.Ticket, err error) error {
	var closed *drill.RunClosed
	var steady *drill.SteadyStateFailed
	if !errors.As(err, &closed) && !errors.As(err, &steady) {
		return err
	}
	if closed != nil && closed.Status == drill.TicketChanged {
		return err // a changed run's lock stays until a person releases it
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmBudget)
	defer cancel()
	if _, relErr := h.Ledger.ReleaseIfHeldBy(ctx, run.Bucket, run.ID()); relErr != nil {
		h.log().Warn("could not release the lock after giving up", "execution", run.Execution, "error", relErr)
	}
	return err
}

// closed explains a lost conditional write: restore got to the run first.
func (h *Handler) closed(ctx context.Context, id drill.RunID, cause error) error {
	now, _, err := h.Ledger.RunTicketVersion(ctx, id)
	if err != nil || now == nil {
		return &drill.Transient{Msg: fmt.Sprintf("run ticket of %s changed while blocking: %v", id.Execution, cause)}
	}
	if now.Status == drill.TicketClaimed || now.Status == drill.TicketHeld {
		// A concurrent invocation of this same execution, or the lock was released by
		// hand; the state machine retries.
		return &drill.Transient{Msg: fmt.Sprintf("ledger of %s changed by a concurrent invocation: %v", id.Execution, cause)}
	}
	return &drill.RunClosed{Execution: id.Execution, Status: now.Status}
}

// withMargin ends ctx margin before its deadline, if it has one.
func withMargin(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-margin))
	}
	return context.WithCancel(ctx)
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
