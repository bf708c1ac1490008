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
	"github.com/unishop/failover-drill/internal/database"
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
	// Database puts the global database's writer back for a run of the database stage
	// (nil: a run that recorded the database fails to restore, saying why).
	Database *database.PutBack
	Log      *slog.Logger
	Now      func() time.Time
	Sleep    func(ctx context.Context, d time.Duration) error
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
	if err != nil || first.settlingUntil.IsZero() {
		return res, err
	}
	until := first.settlingUntil
	if !waits(in.Reason) {
		// The lock stays, settling: the flow's ReleaseLock state (after a failure, the
		// safety net; whatever is lost, the sweeper) finishes the look.
		res.SettlingUntil = &until
		return res, nil
	}
	wait := max(until.Sub(h.now()), 0)
	h.log().Info("waiting until no block of the run can land any more, then looking again before releasing the lock", "execution", in.Execution, "reason", in.Reason, "until", until, "wait", wait)
	if err := h.sleep(ctx, wait); err != nil {
		res.SettlingUntil = &until
		return res, fmt.Errorf("restore %s: settle: %w", in.Execution, err)
	}
	// The second look stands for the moment the last possible block landed: a block it
	// finds is the run's own.
	second, err := h.restore(ctx, in, until)
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
	again.WaitedSeconds = wait.Seconds()
	return again, nil
}

// waits reports whether a restore for reason waits, in its own invocation, until no
// block of the run can land any more, to look again and release the lock. The flow's
// Restore and the failure path's do not: the recovery is measured meanwhile, and the
// ReleaseLock state (after a failure, the safety net; whatever is lost, the sweeper)
// finishes the look. Every other restorer (ReleaseLock, the safety net and its
// retries, the sweeper, an operator) waits.
func waits(reason string) bool {
	return reason != drill.ReasonFlow && reason != drill.ReasonFailure
}

// look is one pass of restore: its result and, when the run's lock is kept because a
// block of the run can still land, until when (zero: the lock is released, or there
// was nothing to settle).
type look struct {
	res           drill.RestoreResult
	settlingUntil time.Time
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
			if _, err := h.releaseIfOurs(ctx, *run); err != nil {
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
			if _, err := h.releaseIfOurs(ctx, *run); err != nil {
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
			if lk.settlingUntil, err = h.apply(ctx, log, run, &res); err != nil {
				return fail(err)
			}
			return finish()
		case drill.TicketChanged:
			if err := h.stillChanged(ctx, log, *run, &res); err != nil {
				return fail(err)
			}
			return finish()
		case drill.TicketRestored:
			if lk.settlingUntil, err = h.recheck(ctx, log, *run, &res, asOf); err != nil {
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
// when restore found the bucket changed during the drill, restored when the lock was
// kept settling after the restore, abandoned when the prior was
// not recorded (block-bucket had not read it, so it had not blocked either) or when
// there is no lock at all.
func fromLock(id drill.RunID, lock *drill.Ticket, now time.Time) *drill.Ticket {
	if lock == nil {
		return &drill.Ticket{Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, CreatedAt: now, Status: drill.TicketAbandoned}
	}
	t := *lock
	t.Status = drill.TicketAbandoned
	t.SettlingUntil = nil
	switch lock.Status {
	case drill.TicketHeld:
		t.Status = drill.TicketRestoring
	case drill.TicketRestored:
		t.Status = drill.TicketRestored // restored and settling: the next look finishes it
	case drill.TicketChanged:
		t.Status = drill.TicketChanged // a person has still to decide: never written again
	}
	return &t
}

// apply puts the prior back, verifies it, clears the cart, marks the run restored and
// releases the lock, or, when a block of the run can still land, keeps it settling and
// returns until when (see settleOrRelease). The ticket already says restoring, so block-bucket undoes any
// block of its own that lands from now on. It first reads the bucket: a configuration
// that is neither the block nor the prior was put there by someone else during the
// drill: it is kept, and the run and its lock are marked changed so that nothing of
// the drill ever writes the bucket for this run again. run is updated in place.
func (h *Handler) apply(ctx context.Context, log *slog.Logger, run *drill.Ticket, res *drill.RestoreResult) (time.Time, error) {
	api := h.S3(run.Region)
	current, err := pab.Read(ctx, api, run.Bucket)
	if err != nil {
		return time.Time{}, fmt.Errorf("restore %s: %w", run.Bucket, err)
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
			return time.Time{}, fmt.Errorf("restore %s: mark ticket changed: %w", run.Bucket, err)
		}
		if err := h.markLockChanged(ctx, *run); err != nil {
			return time.Time{}, err
		}
		// The bucket is a person's now; the writer is still the run's to put back.
		h.databaseBesideChangedBucket(ctx, log, run, res)
		return time.Time{}, &drill.BucketChangedDuringDrill{Bucket: run.Bucket, Prior: pab.String(run.Prior), Found: pab.String(current)}
	}
	// A bucket that already holds the prior is not written: there is nothing to put
	// back, and a policy that denies the write (an SCP, a changed bucket policy) must not
	// turn a bucket that is fine into RestoreFailed and a stranded lock.
	if !pab.Equal(current, run.Prior) {
		if err := pab.Set(ctx, api, run.Bucket, run.Prior); err != nil {
			return time.Time{}, fmt.Errorf("restore %s: %w", run.Bucket, err)
		}
	}
	restoredAt := h.now().UTC()
	readBack, err := h.verify(ctx, api, run.Bucket, run.Prior)
	if err != nil {
		return time.Time{}, fmt.Errorf("restore %s: verify: %w", run.Bucket, err)
	}
	if !pab.Equal(readBack, run.Prior) {
		log.Warn("restored configuration reads back differently", "prior", pab.String(run.Prior), "readBack", pab.String(readBack))
		return time.Time{}, &drill.RestoreMismatch{Bucket: run.Bucket, Want: pab.String(run.Prior), Got: pab.String(readBack)}
	}
	log.Info("public access block restored", "prior", pab.String(run.Prior), "restoredAt", restoredAt)
	res.ReadBack, res.MatchesPrior, res.RestoredAt = readBack, true, &restoredAt

	res.CartCleared, res.CartError = h.clearCart(ctx, run.Seed)
	if res.CartError != "" {
		log.Warn("synthetic cart not cleared", "error", res.CartError)
	}
	// The writer next: the run is restored only once both are back.
	if err := h.database(ctx, run, res); err != nil {
		return time.Time{}, err
	}

	run.Status, run.RestoredAt = drill.TicketRestored, &restoredAt
	// Unconditional: from restoring on, only restore writes this ticket.
	if err := h.Ledger.PutRunTicket(ctx, *run); err != nil {
		return time.Time{}, fmt.Errorf("restore %s: mark ticket restored: %w", run.Bucket, err)
	}
	// Every read of verify began after restoredAt: that is the moment the look stands for.
	return h.settleOrRelease(ctx, log, *run, res, restoredAt)
}

// DatabaseBudget bounds how long one restore waits for the global database's switches
// (they take minutes on AWS); past it, the run stays restoring with its lock, and the
// next restore (a retry, the safety net, the sweeper) goes on.
const DatabaseBudget = 2 * time.Minute

// database puts back the writer run recorded, if the run recorded one (the database
// stage), within DatabaseBudget and the invocation's own deadline. A switch back is
// recorded in the run ticket and the lock (BackSentAt) before it is sent.
func (h *Handler) database(ctx context.Context, run *drill.Ticket, res *drill.RestoreResult) error {
	d := run.Database
	if d == nil {
		return nil
	}
	if h.Database == nil {
		return fmt.Errorf("restore %s: the run switched global cluster %s, and this restore has no RDS client", run.Execution, d.GlobalCluster)
	}
	budget := DatabaseBudget
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)-20*time.Second)
	}
	// A switch the run sent may still start until SwitchSentAt + settle, unless the
	// stage saw it land (its send answered) after its last record.
	var notBefore time.Time
	if d.SwitchSentAt != nil && (d.SwitchDoneAt == nil || d.SwitchDoneAt.Before(*d.SwitchSentAt)) {
		notBefore = d.SwitchSentAt.Add(h.settle())
	}
	out, err := h.Database.Restore(ctx, *d, notBefore, budget, func(at time.Time) error {
		d.BackSentAt = &at
		if err := h.Ledger.PutRunTicket(ctx, *run); err != nil {
			return fmt.Errorf("restore %s: record the switch back: %w", run.Execution, err)
		}
		return h.copyDatabaseToLock(ctx, *run)
	})
	res.Database = &drill.DatabaseRestore{GlobalCluster: d.GlobalCluster, Writer: out.Writer, Back: out.Back, SentBack: out.SentBack, WaitedSeconds: drill.Seconds(out.Waited)}
	if err != nil {
		return fmt.Errorf("restore %s: %w", run.Execution, err)
	}
	if d.RestoredAt == nil {
		now := h.now().UTC()
		d.RestoredAt = &now
	}
	return nil
}

// databaseBesideChangedBucket puts the writer back for a run whose bucket someone
// changed during the drill: that bucket is left to a person, but the global
// database's writer is still the run's to restore. The bucket's error is what the
// restore answers (it pages, and the lock stays); the writer's outcome is in res, and
// a failure is logged and tried again by the next restore (the sweeper's, every sweep).
func (h *Handler) databaseBesideChangedBucket(ctx context.Context, log *slog.Logger, run *drill.Ticket, res *drill.RestoreResult) {
	if run.Database == nil {
		return
	}
	if err := h.database(ctx, run, res); err != nil {
		log.Error("the global database's writer is not back yet (the bucket was changed during the drill as well)", "error", err)
		return
	}
	if err := h.Ledger.PutRunTicket(ctx, *run); err != nil {
		log.Warn("writer back, not recorded in the run ticket", "error", err)
	}
}

// copyDatabaseToLock puts run's database record into the run's lock (another's, or
// none, is left alone).
func (h *Handler) copyDatabaseToLock(ctx context.Context, run drill.Ticket) error {
	for range changedAttempts {
		lock, etag, err := h.Ledger.LockVersion(ctx, run.Bucket)
		if err != nil {
			return fmt.Errorf("restore %s: record the switch back in the lock: %w", run.Bucket, err)
		}
		if lock == nil || !lock.ID().Same(run.ID()) {
			return nil
		}
		lock.Database = run.Database
		if _, err := h.Ledger.ReplaceLock(ctx, *lock, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return fmt.Errorf("restore %s: record the switch back in the lock: %w", run.Bucket, err)
		}
		return nil
	}
	return &drill.Transient{Msg: fmt.Sprintf("restore %s: lock kept changing while recording the switch back", run.Bucket)}
}

// settleOrRelease ends a look that found the prior (or put it back): the lock is
// released only when the look was made after the last moment a block of the run can
// land (lateUntil). Before it, the lock is kept, marked restored and settling until
// lateUntil, so no other drill (a dry run included) can take the bucket while a late
// block may still land, and whoever restores next finishes the look; settleOrRelease
// then returns lateUntil. A lock that is no longer the run's is left alone, but the
// second look is still owed (lateUntil is returned).
func (h *Handler) settleOrRelease(ctx context.Context, log *slog.Logger, run drill.Ticket, res *drill.RestoreResult, lookedAt time.Time) (time.Time, error) {
	lateUntil := h.lateUntil(run)
	if !lookedAt.Before(lateUntil) {
		return time.Time{}, h.release(ctx, run, res)
	}
	kept, err := h.markLockSettling(ctx, run, lateUntil)
	if err != nil {
		return time.Time{}, err
	}
	if kept {
		log.Info("restored and verified; the lock is kept until no block of the run can land any more", "settlingUntil", lateUntil)
	}
	return lateUntil, nil
}

// markLockSettling marks the run's lock restored and settling until until (If-Match),
// with what a restorer that finds only the lock needs (RestoredAt, BlockSentAt). It
// reports whether the lock is the run's (kept); another drill's lock, or none, is not
// touched.
func (h *Handler) markLockSettling(ctx context.Context, run drill.Ticket, until time.Time) (bool, error) {
	for range changedAttempts {
		lock, etag, err := h.Ledger.LockVersion(ctx, run.Bucket)
		if err != nil {
			return false, fmt.Errorf("restore %s: mark lock settling: %w", run.Bucket, err)
		}
		if lock == nil || !lock.ID().Same(run.ID()) {
			return false, nil
		}
		if lock.Status == drill.TicketRestored && lock.SettlingUntil != nil && lock.SettlingUntil.Equal(until) {
			return true, nil
		}
		lock.Status, lock.RestoredAt, lock.BlockSentAt, lock.SettlingUntil = drill.TicketRestored, run.RestoredAt, run.BlockSentAt, &until
		if _, err := h.Ledger.ReplaceLock(ctx, *lock, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return false, fmt.Errorf("restore %s: mark lock settling: %w", run.Bucket, err)
		}
		return true, nil
	}
	return false, &drill.Transient{Msg: fmt.Sprintf("restore %s: lock kept changing while marking it settling", run.Bucket)}
}

// release releases the run's lock (if it still holds it) and says when in res.
func (h *Handler) release(ctx context.Context, run drill.Ticket, res *drill.RestoreResult) error {
	released, err := h.releaseIfOurs(ctx, run)
	if released {
		at := h.now().UTC()
		res.LockReleasedAt = &at
	}
	return err
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
	h.databaseBesideChangedBucket(ctx, log, &run, res)
	log.Error("bucket was changed during the drill: left as it is, lock kept until a person releases it (drill unlock)", "prior", pab.String(run.Prior), "found", pab.String(current))
	return &drill.BucketChangedDuringDrill{Bucket: run.Bucket, Prior: pab.String(run.Prior), Found: pab.String(current)}
}

// recheck handles a run already restored: the configuration should still be the
// prior. asOf is the moment this look stands for (zero: now, just before it reads the
// bucket). A full block is the run's own late block, and undone, while the run still
// holds its lock (kept until a look after the last moment a block can land), or, when
// the lock is gone, until that moment (lateUntil). Anything else, and a full block
// found after that with the lock released, was put there by someone else: it is
// reported, not overwritten (a restored run is final). The lock is then released or
// kept settling as after a restore (settleOrRelease).
func (h *Handler) recheck(ctx context.Context, log *slog.Logger, run drill.Ticket, res *drill.RestoreResult, asOf time.Time) (time.Time, error) {
	api := h.S3(run.Region)
	lookedAt := asOf
	if lookedAt.IsZero() {
		lookedAt = h.now().UTC()
	}
	current, err := pab.Read(ctx, api, run.Bucket)
	if err != nil {
		return time.Time{}, fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	res.AlreadyRestored, res.ReadBack, res.RestoredAt = true, current, run.RestoredAt
	lock, err := h.Ledger.Lock(ctx, run.Bucket)
	if err != nil {
		return time.Time{}, fmt.Errorf("restore %s: %w", run.Bucket, err)
	}
	ours := lock != nil && lock.ID().Same(run.ID())
	lateUntil := h.lateUntil(run)
	switch {
	case pab.Equal(current, run.Prior):
		res.MatchesPrior = true
	case lock != nil && !ours && lock.Restorer():
		res.Skipped = fmt.Sprintf("bucket %s was restored by this execution and is now locked by drill %s", run.Bucket, lock.ID().String())
		res.MatchesPrior = true // ours was restored and verified; the bucket is another drill's now
		log.Info("already restored; bucket now belongs to another drill", "holder", lock.ID().String())
		return time.Time{}, nil
	case pab.Equal(current, &drill.BlockAll) && (ours || !lookedAt.After(lateUntil)):
		log.Warn("a block of this run landed after the restore; undoing it", "prior", pab.String(run.Prior), "lateUntil", lateUntil, "lockHeld", ours)
		if err := pab.Set(ctx, api, run.Bucket, run.Prior); err != nil {
			return time.Time{}, fmt.Errorf("restore %s: undo late block: %w", run.Bucket, err)
		}
		readBack, err := h.verify(ctx, api, run.Bucket, run.Prior)
		if err != nil {
			return time.Time{}, fmt.Errorf("restore %s: verify: %w", run.Bucket, err)
		}
		if !pab.Equal(readBack, run.Prior) {
			return time.Time{}, &drill.RestoreMismatch{Bucket: run.Bucket, Want: pab.String(run.Prior), Got: pab.String(readBack)}
		}
		res.ReadBack, res.MatchesPrior = readBack, true
	default:
		// The drill only ever puts the block or the prior: anything else, and a block
		// found when the lock is gone and none of the run's can land any more, is
		// someone else's setting.
		res.ChangedAfterRestore = fmt.Sprintf("this run restored and verified the bucket (restoredAt); it now holds %s, which someone else set since (no block of this run can land after %s): left as it is",
			pab.String(current), lateUntil.UTC().Format(time.RFC3339))
		log.Warn("bucket changed after the run was restored: left as it is (a restored run is final)", "prior", pab.String(run.Prior), "found", pab.String(current))
	}
	return h.settleOrRelease(ctx, log, run, res, lookedAt)
}

// releaseIfOurs deletes the bucket's lock when this execution holds it; another
// drill's lock (a reused name's included) is never touched.
func (h *Handler) releaseIfOurs(ctx context.Context, run drill.Ticket) (bool, error) {
	if run.Bucket == "" {
		return false, nil
	}
	released, err := h.Ledger.ReleaseIfHeldBy(ctx, run.Bucket, run.ID())
	if err != nil {
		return false, fmt.Errorf("restore %s: release lock: %w", run.Bucket, err)
	}
	if released {
		h.log().Info("lock released", "execution", run.Execution, "bucket", run.Bucket)
	}
	return released, nil
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
