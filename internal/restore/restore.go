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
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
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
var VerifyDelays = millis(0, 250, 500, 1000, 2000)

func millis(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// CartBudget bounds the best-effort cart clean-up so it cannot eat the restore's time.
const CartBudget = 20 * time.Second

// Handler restores by the run's ticket. Settle is block-bucket's longest life (0:
// DefaultSettle): a block of the run lands at most Settle after the run ticket's
// BlockSentAt, and the safety net looks a second time when that moment has come (see
// Handle).
type Handler struct {
	S3     func(region string) PublicAccessAPI
	Ledger *ledger.Ledger
	Cart   CartAPI
	Settle time.Duration
	// History, when set, is asked which state a stopped, timed-out or failed execution
	// was in, for the record of a restore after its end (nil: the record names none).
	History HistoryAPI
	Log     *slog.Logger
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
}

// DefaultSettle is block-bucket's longest life plus a margin: a stopped execution's
// block-bucket may still be running when the safety net fires, and anything it does
// is over by then.
const DefaultSettle = drill.BlockTimeout + 10*time.Second

// changedAttempts bounds how often restore re-reads a run ticket that a concurrent
// block-bucket changed under it.
const changedAttempts = 5

// Handle restores what the execution changed. It is idempotent: any number of runs,
// in the flow, after a failure, from the safety net, the sweeper or an operator, end
// in the same state. It first settles the run ticket (block-bucket documents the other
// side), then acts on the bucket's lock, which carries the same restore data and never
// expires:
//
//   - no run ticket (none was written, or it expired or was deleted): if the execution
//     holds a lock, the ticket is written again from the lock and the run restored from
//     it; otherwise an abandoned ticket is written so a late block-bucket cannot start;
//     NothingToRestore;
//   - claimed: mark it abandoned (If-Match) so block-bucket cannot go on; NothingToRestore;
//   - abandoned: NothingToRestore (a lock the losing block-bucket took is released);
//   - held, restoring: mark restoring (If-Match); read the bucket: if it holds neither
//     the block nor the prior, someone changed it during the drill: mark the run and
//     its lock changed, keep their settings and the lock, *drill.BucketChangedDuringDrill;
//     else put back exactly the prior (or delete the configuration when there was
//     none), verify (*drill.RestoreMismatch if it reads back differently), clear the
//     seeded cart (best effort), mark restored, release the lock — in that order, so a
//     crash anywhere leaves a ticket a re-run finishes;
//   - changed: never write the bucket again; while the run still holds the lock,
//     *drill.BucketChangedDuringDrill again (the sweeper reports it every sweep); once a
//     person released it (drill unlock), nothing to do;
//   - restored: verify again. A full block found while one of the run's blocks could
//     still land (until BlockSentAt + Settle) is that late block, and is undone. Any
//     other difference, and a full block found after that moment, was set by someone
//     else: a restored run is final, restore never writes the bucket for it again and
//     reports what it holds now (ChangedAfterRestore), neither an error nor a mismatch.
//
// From the safety net (Reason safety-net), when the run's block could still land after
// the first look, it waits until that moment has passed and looks again: stopping an
// execution does not stop a Lambda it already started.
func (h *Handler) Handle(ctx context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
	if problems := in.ID().Problems(); len(problems) > 0 {
		return drill.RestoreResult{}, &drill.InvalidInput{Problems: problems}
	}
	res, err := h.handle(ctx, in)
	if slices.Contains(drill.RestoreRecordReasons, in.Reason) {
		h.record(ctx, in, res, err)
	}
	return res, err
}

// record writes what a restore after the execution's end did next to the run's report
// (drill report shows both), and, from the execution's history, which state was
// interrupted or failed. Best effort: the restore's own outcome is what counts, and
// its error still reaches the caller (and the alarms); the history is read only
// after the restore, so it can neither delay nor fail it.
func (h *Handler) record(ctx context.Context, in drill.RestoreInput, res drill.RestoreResult, err error) {
	rec := drill.RestoreRecord{Execution: in.Execution, ExecutionArn: in.ExecutionArn, StartTime: in.StartTime, Reason: in.Reason,
		ExecutionStatus: in.Status, At: h.now().UTC()}
	if err != nil {
		rec.Error = drill.Classify(err).Error()
	} else {
		rec.Result = &res
	}
	h.recordHistory(ctx, in, &rec)
	if perr := h.Ledger.PutRestoreRecord(context.WithoutCancel(ctx), rec); perr != nil {
		h.log().Warn("restore not recorded in the ledger", "execution", in.Execution, "reason", in.Reason, "error", perr)
	}
}

func (h *Handler) handle(ctx context.Context, in drill.RestoreInput) (drill.RestoreResult, error) {
	first, err := h.restore(ctx, in, time.Time{})
	res := first.res
	if err != nil || in.Reason != drill.ReasonSafetyNet || first.lateUntil.IsZero() || !first.lookedAt.Before(first.lateUntil) {
		return res, err
	}
	wait := max(first.lateUntil.Sub(h.now()), 0)
	h.log().Info("safety net: waiting until no block of the run can land any more, then checking again", "execution", in.Execution, "until", first.lateUntil, "wait", wait)
	if err := h.sleep(ctx, wait); err != nil {
		return res, fmt.Errorf("restore %s: settle: %w", in.Execution, err)
	}
	// The second look stands for the moment the last possible block landed: a block it
	// finds is the run's own.
	second, err := h.restore(ctx, in, first.lateUntil)
	again := second.res
	if err != nil {
		return again, err
	}
	again.Timing.StartedAt = res.Timing.StartedAt
	if again.AlreadyRestored && res.RestoredAt != nil {
		again.AlreadyRestored, again.RestoredAt = res.AlreadyRestored, res.RestoredAt
	}
	again.CartCleared, again.CartError = again.CartCleared || res.CartCleared, res.CartError+again.CartError
	again.TicketMissing = again.TicketMissing || res.TicketMissing
	return again, nil
}

// look is one pass of restore: its result, when it read the bucket (lookedAt: the
// moment it stands for), and until when a block of the run can still land (zero: the
// run never blocked, or it is over for it).
type look struct {
	res       drill.RestoreResult
	lookedAt  time.Time
	lateUntil time.Time
}

// settle is how long after BlockSentAt a block of the run can still land.
func (h *Handler) settle() time.Duration {
	if h.Settle > 0 {
		return h.Settle
	}
	return DefaultSettle
}

// lateUntil is the last moment a block of run can land: BlockSentAt + settle. A
// ticket without BlockSentAt (written by an older version, or again from the lock)
// falls back to its RestoredAt, which is later than the moment restore began, after
// which block-bucket never sends another put.
func (h *Handler) lateUntil(run drill.Ticket) time.Time {
	if run.BlockSentAt != nil {
		return run.BlockSentAt.Add(h.settle())
	}
	if run.RestoredAt != nil {
		return run.RestoredAt.Add(h.settle())
	}
	return h.now().UTC().Add(h.settle())
}

func (h *Handler) restore(ctx context.Context, in drill.RestoreInput, asOf time.Time) (look, error) {
	started := h.now().UTC()
	id := in.ID()
	res := drill.RestoreResult{Execution: in.Execution}
	var lk look
	finish := func() (look, error) {
		res.Timing = drill.Timing{StartedAt: started, FinishedAt: h.now().UTC()}
		lk.res = res
		return lk, nil
	}
	fail := func(err error) (look, error) { return look{}, err }
	log := h.log().With("execution", in.Execution, "startTime", in.StartTime.String(), "reason", in.Reason)

	for range changedAttempts {
		res = drill.RestoreResult{Execution: in.Execution, TicketMissing: res.TicketMissing}
		run, etag, err := h.Ledger.RunTicketVersion(ctx, id)
		if err != nil {
			return look{}, fmt.Errorf("restore %s: %w", in.Execution, err)
		}
		var lock *drill.Ticket
		if run == nil {
			if lock, err = h.ourLock(ctx, id, in.Bucket); err != nil {
				return look{}, err
			}
			// Say in the ledger what happened first, so a block-bucket still on its way
			// cannot start after this: from the lock if the ticket is gone, abandoned if
			// there never was one.
			run = fromLock(id, lock, h.now().UTC())
			if _, err := h.Ledger.CreateRunTicket(ctx, *run); errors.Is(err, ledger.ErrChanged) {
				continue
			} else if err != nil {
				return look{}, fmt.Errorf("restore %s: %w", in.Execution, err)
			}
			if lock == nil {
				log.Info("nothing to restore: no ticket, no lock; marked the run abandoned")
				res.NothingToRestore, res.MatchesPrior = true, true
				return finish()
			}
			log.Warn("run ticket gone (expired or deleted): restoring from the bucket's lock", "bucket", lock.Bucket, "prior", pab.String(lock.Prior), "status", run.Status)
			res.TicketMissing = true
		}
		res.Bucket, res.Prior = run.Bucket, run.Prior
		log = log.With("bucket", run.Bucket)

		switch run.Status {
		case drill.TicketAbandoned:
			// A block-bucket that lost the race may still have taken the lock.
			if err := h.releaseIfOurs(ctx, *run); err != nil {
				return fail(err)
			}
			res.NothingToRestore, res.MatchesPrior = true, true
			return finish()
		case drill.TicketClaimed:
			// block-bucket claimed the run but changed nothing yet; its next conditional
			// write fails on this, so it never will.
			run.Status = drill.TicketAbandoned
			if _, err := h.Ledger.ReplaceRunTicket(ctx, *run, etag); errors.Is(err, ledger.ErrChanged) {
				continue
			} else if err != nil {
				return look{}, fmt.Errorf("restore %s: %w", in.Execution, err)
			}
			if err := h.releaseIfOurs(ctx, *run); err != nil {
				return fail(err)
			}
			log.Info("nothing to restore: block-bucket had not changed the bucket; marked the run abandoned")
			res.NothingToRestore, res.MatchesPrior = true, true
			return finish()
		case drill.TicketHeld:
			run.Status = drill.TicketRestoring
			if _, err := h.Ledger.ReplaceRunTicket(ctx, *run, etag); errors.Is(err, ledger.ErrChanged) {
				continue
			} else if err != nil {
				return look{}, fmt.Errorf("restore %s: %w", in.Execution, err)
			}
			fallthrough
		case drill.TicketRestoring:
			if err := h.apply(ctx, log, run, &res); err != nil {
				return fail(err)
			}
			// A block of the run may still land after this look: the safety net looks again.
			lk.lookedAt, lk.lateUntil = h.now().UTC(), h.lateUntil(*run)
			return finish()
		case drill.TicketChanged:
			if err := h.stillChanged(ctx, log, *run, &res); err != nil {
				return fail(err)
			}
			return finish()
		case drill.TicketRestored:
			lk.lookedAt, lk.lateUntil = asOf, h.lateUntil(*run)
			if err := h.recheck(ctx, log, *run, &res, &lk.lookedAt); err != nil {
				return fail(err)
			}
			return finish()
		default:
			return look{}, fmt.Errorf("restore %s: run ticket has unknown status %q", in.Execution, run.Status)
		}
	}
	return look{}, &drill.Transient{Msg: fmt.Sprintf("restore %s: run ticket kept changing under %d attempts", in.Execution, changedAttempts)}
}

// ourLock is the lock id holds, nil if none: on bucket when the caller knows it (the
// sweeper, an operator), else found by listing the locks.
func (h *Handler) ourLock(ctx context.Context, id drill.RunID, bucket string) (*drill.Ticket, error) {
	var lock *drill.Ticket
	var err error
	if bucket != "" {
		lock, err = h.Ledger.Lock(ctx, bucket)
	} else {
		lock, _, err = h.Ledger.FindLock(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", id.Execution, err)
	}
	if lock == nil || !lock.ID().Same(id) {
		return nil, nil
	}
	return lock, nil
}

// fromLock is the run ticket restore writes when there is none: the lock's restore
// data, restoring when its prior was recorded (the bucket may be blocked), changed
// when restore found the bucket changed during the drill, abandoned when the prior was
// not recorded (block-bucket had not read it, so it had not blocked either) or when
// there is no lock at all.
func fromLock(id drill.RunID, lock *drill.Ticket, now time.Time) *drill.Ticket {
	if lock == nil {
		return &drill.Ticket{Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, CreatedAt: now, Status: drill.TicketAbandoned}
	}
	t := *lock
	t.Status = drill.TicketAbandoned
	switch lock.Status {
	case drill.TicketHeld:
		t.Status = drill.TicketRestoring
	case drill.TicketChanged:
		t.Status = drill.TicketChanged // a person has still to decide: never written again
	}
	return &t
}

// apply puts the prior back, verifies it, clears the cart, marks the run restored and
// releases the lock. The ticket already says restoring, so block-bucket undoes any
// block of its own that lands from now on. It first reads the bucket: a configuration
// that is neither the block nor the prior was put there by someone else during the
// drill: it is kept, and the run and its lock are marked changed so that nothing of
// the drill ever writes the bucket for this run again. run is updated in place.
func (h *Handler) apply(ctx context.Context, log *slog.Logger, run *drill.Ticket, res *drill.RestoreResult) error {
	api := h.S3(run.Region)
	current, err := pab.Read(ctx, api, run.Bucket)
	if err != nil {
		return fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	if !pab.Equal(current, run.Prior) && !pab.Equal(current, &drill.BlockAll) {
		log.Error("bucket changed during the drill: keeping its settings and the lock; the run will never write it again",
			"prior", pab.String(run.Prior), "found", pab.String(current))
		res.ReadBack = current
		run.Status = drill.TicketChanged
		// Unconditional: from restoring on, only restore writes this ticket. The ticket
		// first, then the lock: a crash between the two leaves a changed ticket, whose
		// next restore marks the lock.
		if err := h.Ledger.PutRunTicket(ctx, *run); err != nil {
			return fmt.Errorf("restore %s: mark ticket changed: %w", run.Bucket, err)
		}
		if err := h.markLockChanged(ctx, *run); err != nil {
			return err
		}
		return &drill.BucketChangedDuringDrill{Bucket: run.Bucket, Prior: pab.String(run.Prior), Found: pab.String(current)}
	}
	if err := pab.Set(ctx, api, run.Bucket, run.Prior); err != nil {
		return fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	restoredAt := h.now().UTC()
	readBack, err := h.verify(ctx, api, run.Bucket, run.Prior)
	if err != nil {
		return fmt.Errorf("restore %s: verify: %w", run.Bucket, err)
	}
	if !pab.Equal(readBack, run.Prior) {
		log.Warn("restored configuration reads back differently", "prior", pab.String(run.Prior), "readBack", pab.String(readBack))
		return &drill.RestoreMismatch{Bucket: run.Bucket, Want: pab.String(run.Prior), Got: pab.String(readBack)}
	}
	log.Info("public access block restored", "prior", pab.String(run.Prior), "restoredAt", restoredAt)
	res.ReadBack, res.MatchesPrior, res.RestoredAt = readBack, true, &restoredAt

	res.CartCleared, res.CartError = h.clearCart(ctx, run.Seed)
	if res.CartError != "" {
		log.Warn("synthetic cart not cleared", "error", res.CartError)
	}

	run.Status, run.RestoredAt = drill.TicketRestored, &restoredAt
	// Unconditional: from restoring on, only restore writes this ticket.
	if err := h.Ledger.PutRunTicket(ctx, *run); err != nil {
		return fmt.Errorf("restore %s: mark ticket restored: %w", run.Bucket, err)
	}
	return h.releaseIfOurs(ctx, *run)
}

// markLockChanged records in the run's lock that the bucket was changed during the
// drill, so that a restore from the lock (once the run ticket has expired) still never
// writes the bucket. A lock that is not the run's (released by a person, taken by
// another drill) is left alone.
func (h *Handler) markLockChanged(ctx context.Context, run drill.Ticket) error {
	for range changedAttempts {
		lock, etag, err := h.Ledger.LockVersion(ctx, run.Bucket)
		if err != nil {
			return fmt.Errorf("restore %s: mark lock changed: %w", run.Bucket, err)
		}
		if lock == nil || !lock.ID().Same(run.ID()) || lock.Status == drill.TicketChanged {
			return nil
		}
		lock.Status = drill.TicketChanged
		if _, err := h.Ledger.ReplaceLock(ctx, *lock, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return fmt.Errorf("restore %s: mark lock changed: %w", run.Bucket, err)
		}
		return nil
	}
	return &drill.Transient{Msg: fmt.Sprintf("restore %s: lock kept changing while marking it changed", run.Bucket)}
}

// stillChanged handles a run restore found changed during the drill: the bucket is
// never written. While the run holds the lock (marked changed, if a crash left it
// unmarked) it fails again with *drill.BucketChangedDuringDrill, naming what the
// bucket holds now, so the sweeper and the alarms keep telling a person; once a
// person released the lock (drill unlock), they have decided, and it is skipped.
func (h *Handler) stillChanged(ctx context.Context, log *slog.Logger, run drill.Ticket, res *drill.RestoreResult) error {
	current, err := pab.Read(ctx, h.S3(run.Region), run.Bucket)
	if err != nil {
		return fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	res.ReadBack, res.MatchesPrior = current, pab.Equal(current, run.Prior)
	lock, err := h.ourLock(ctx, run.ID(), run.Bucket)
	if err != nil {
		return err
	}
	if lock == nil {
		res.Skipped = fmt.Sprintf("bucket %s was changed during the drill and a person has released the lock: left as it is (%s)", run.Bucket, pab.String(current))
		log.Info("changed during the drill, lock released by a person: nothing to do", "found", pab.String(current))
		return nil
	}
	if err := h.markLockChanged(ctx, run); err != nil {
		return err
	}
	log.Error("bucket was changed during the drill: left as it is, lock kept until a person releases it (drill unlock)", "prior", pab.String(run.Prior), "found", pab.String(current))
	return &drill.BucketChangedDuringDrill{Bucket: run.Bucket, Prior: pab.String(run.Prior), Found: pab.String(current)}
}

// recheck handles a run already restored: the configuration should still be the
// prior. lookedAt is the moment this look stands for (zero: now, just before it reads
// the bucket); it is set. Until lateUntil a full block is the run's own late block,
// and undone; anything else, and anything after it, was put there by someone else: it
// is reported, not overwritten (a restored run is final).
func (h *Handler) recheck(ctx context.Context, log *slog.Logger, run drill.Ticket, res *drill.RestoreResult, lookedAt *time.Time) error {
	api := h.S3(run.Region)
	if lookedAt.IsZero() {
		*lookedAt = h.now().UTC()
	}
	current, err := pab.Read(ctx, api, run.Bucket)
	if err != nil {
		return fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	res.AlreadyRestored, res.ReadBack, res.RestoredAt = true, current, run.RestoredAt
	if pab.Equal(current, run.Prior) {
		res.MatchesPrior = true
		return h.releaseIfOurs(ctx, run)
	}
	lock, err := h.Ledger.Lock(ctx, run.Bucket)
	if err != nil {
		return fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	if lock != nil && !lock.ID().Same(run.ID()) {
		res.Skipped = fmt.Sprintf("bucket %s was restored by this execution and is now locked by drill %s", run.Bucket, lock.ID().String())
		res.MatchesPrior = true // ours was restored and verified; the bucket is another drill's now
		log.Info("already restored; bucket now belongs to another drill", "holder", lock.ID().String())
		return nil
	}
	lateUntil := h.lateUntil(run)
	if lookedAt.After(lateUntil) || !pab.Equal(current, &drill.BlockAll) {
		// The drill only ever puts the block or the prior: anything else, and a block
		// found when none of the run's can land any more, is someone else's setting.
		res.ChangedAfterRestore = fmt.Sprintf("this run restored and verified the bucket (restoredAt); it now holds %s, which someone else set since (no block of this run can land after %s): left as it is",
			pab.String(current), lateUntil.UTC().Format(time.RFC3339))
		log.Warn("bucket changed after the run was restored: left as it is (a restored run is final)", "prior", pab.String(run.Prior), "found", pab.String(current))
		return h.releaseIfOurs(ctx, run)
	}
	log.Warn("a block of this run landed after the restore; undoing it", "prior", pab.String(run.Prior), "lateUntil", lateUntil)
	if err := pab.Set(ctx, api, run.Bucket, run.Prior); err != nil {
		return fmt.Errorf("restore %s: undo late block: %w", run.Bucket, err)
	}
	readBack, err := h.verify(ctx, api, run.Bucket, run.Prior)
	if err != nil {
		return fmt.Errorf("restore %s: verify: %w", run.Bucket, err)
	}
	if !pab.Equal(readBack, run.Prior) {
		return &drill.RestoreMismatch{Bucket: run.Bucket, Want: pab.String(run.Prior), Got: pab.String(readBack)}
	}
	res.ReadBack, res.MatchesPrior = readBack, true
	return h.releaseIfOurs(ctx, run)
}

// releaseIfOurs deletes the bucket's lock when this execution holds it; another
// drill's lock (a reused name's included) is never touched.
func (h *Handler) releaseIfOurs(ctx context.Context, run drill.Ticket) error {
	if run.Bucket == "" {
		return nil
	}
	released, err := h.Ledger.ReleaseIfHeldBy(ctx, run.Bucket, run.ID())
	if err != nil {
		return fmt.Errorf("restore %s: release lock: %w", run.Bucket, err)
	}
	if released {
		h.log().Info("lock released", "execution", run.Execution, "bucket", run.Bucket)
	}
	return nil
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
	return clock.Sleep(ctx, d)
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
