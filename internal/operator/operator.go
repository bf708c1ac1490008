// Package operator is a person's way out when a drill left a bucket locked: see every
// lock with its execution's state and the bucket against the prior (Status), restore a
// bucket from its lock with the same checks the restore function makes, waiting as the
// safety net does until no block of the run can land any more (Restore), and release a
// lock by hand, which is refused while that could leave the bucket blocked with nothing
// watching it (Unlock). It runs with the operator's credentials; cmd/drill holds the
// flags, the confirmation and the printing.
package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// Clients are the operator's: the ledger, S3 per region (the target bucket's calls go
// to its own region), Step Functions per region (an execution's, from its ARN).
type Clients struct {
	Ledger *ledger.Ledger
	S3     func(region string) pab.API
	SFN    func(region string) sweeper.ExecutionAPI
	Cart   restore.CartAPI // to take the synthetic cart back out; nil skips it
	// Database switches the global database back for a run of the database stage.
	Database *database.PutBack
	Log      *slog.Logger
	// Settle is how long after its blockSentAt a block of a run can still land:
	// block-bucket's longest life (0: restore.DefaultSettle, the deployed stack's).
	Settle time.Duration
	Now    func() time.Time // nil: time.Now
	Sleep  func(ctx context.Context, d time.Duration) error
}

func (c Clients) settle() time.Duration {
	if c.Settle > 0 {
		return c.Settle
	}
	return restore.DefaultSettle
}

func (c Clients) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Bucket states against the lock's prior.
const (
	BucketBlocked   = "blocked"   // holds the drill's block: drill restore puts the prior back
	BucketPrior     = "prior"     // holds the prior already: only the lock is left
	BucketSettling  = "settling"  // restored and verified; the lock is kept until no block of the run can land (SettlingUntil), then the next restore releases it
	BucketChanged   = "changed"   // holds neither, or restore found it so: someone changed it during the drill; a person decides, then drill unlock
	BucketUntouched = "untouched" // no prior recorded: the drill had not blocked it yet
	BucketUnknown   = "unknown"   // it could not be read
)

// LockStatus is one lock, its execution and its bucket.
type LockStatus struct {
	Key       string // the lock's ledger key
	ETag      string // the version read
	Lock      drill.Ticket
	LockErr   string // the lock could not be read or decoded (Lock is empty)
	Execution sweeper.ExecutionState
	ExecErr   string // why the execution's state is unknown
	Current   *drill.PublicAccessBlock
	Bucket    string // one of the Bucket* states
	BucketErr string
	// LateUntil is the last moment a block the lock's run sent can land, when that
	// can still be ahead (zero: it has passed, or the run recorded no prior). Until
	// then only a restore, which waits for it and looks again, may end the lock.
	LateUntil time.Time
	// Writer is the global database's writer region and the switch in progress, for a
	// run of the database stage that sent a switch (WriterErr: it could not be read).
	Writer, WriterSwitch, WriterErr string
}

// NeedsAction reports whether a person (or drill restore) must act: the execution is
// no longer running, or its state is unknown, or the bucket was changed, or the lock
// is unreadable.
func (s LockStatus) NeedsAction() bool {
	return !s.Execution.Running || s.ExecErr != "" || s.Bucket == BucketChanged || s.Bucket == BucketUnknown || s.LockErr != ""
}

// Status lists every lock with its execution's state and its bucket's configuration;
// a lock that cannot be read is listed with its key and error.
func Status(ctx context.Context, c Clients) ([]LockStatus, error) {
	entries, err := c.Ledger.Locks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LockStatus, 0, len(entries))
	for _, e := range entries {
		out = append(out, inspect(ctx, c, e))
	}
	return out, nil
}

// Inspect reads bucket's lock, its execution's state and the bucket (nil: no lock).
func Inspect(ctx context.Context, c Clients, bucket string) (*LockStatus, error) {
	lock, etag, err := c.Ledger.LockVersion(ctx, bucket)
	if err != nil || lock == nil {
		return nil, err
	}
	s := inspect(ctx, c, ledger.LockEntry{Key: drill.LockKey(bucket), ETag: etag, Lock: *lock})
	return &s, nil
}

// inspect is one lock's status.
func inspect(ctx context.Context, c Clients, e ledger.LockEntry) LockStatus {
	s := LockStatus{Key: e.Key, ETag: e.ETag, Lock: e.Lock}
	if e.Err != nil {
		s.LockErr, s.Bucket = e.Err.Error(), BucketUnknown
		return s
	}
	s.Execution, s.ExecErr = describe(ctx, c, e.Lock)
	current, err := pab.Read(ctx, c.S3(e.Lock.Region), e.Lock.Bucket)
	s.Current = current
	recorded := e.Lock.Status == drill.TicketHeld || e.Lock.Status == drill.TicketRestored
	if err != nil {
		s.Bucket, s.BucketErr = BucketUnknown, err.Error()
	} else if e.Lock.Status == drill.TicketChanged {
		// Whatever it holds now (the owner may have chosen the prior, or a full
		// block), no restore writes it: only drill unlock ends it.
		s.Bucket = BucketChanged
	} else if !recorded {
		s.Bucket = BucketUntouched
	} else if pab.Equal(current, e.Lock.Prior) && e.Lock.Status == drill.TicketRestored {
		s.Bucket = BucketSettling
	} else if pab.Equal(current, e.Lock.Prior) {
		s.Bucket = BucketPrior
	} else if pab.Equal(current, &drill.BlockAll) {
		s.Bucket = BucketBlocked
	} else {
		s.Bucket = BucketChanged
	}
	if recorded {
		s.LateUntil = lateUntil(s, c.settle(), c.now())
	}
	if d := e.Lock.Database; d.Switched() {
		s.readWriter(ctx, c, *d)
	}
	return s
}

// readWriter reads where the global database's writer is now.
func (s *LockStatus) readWriter(ctx context.Context, c Clients, d drill.DatabaseTicket) {
	if c.Database == nil {
		s.WriterErr = "no RDS client"
		return
	}
	look, err := database.Describe(ctx, c.Database.RDS(d.TargetRegion), d.GlobalCluster)
	if err != nil {
		s.WriterErr = err.Error()
		return
	}
	s.Writer, s.WriterSwitch = database.RegionOf(look.Writer()), look.Status
}

// describe asks Step Functions about the lock's execution; the second value says why
// its state is unknown.
func describe(ctx context.Context, c Clients, lock drill.Ticket) (sweeper.ExecutionState, string) {
	if p := lock.ID().Problems(); len(p) > 0 {
		return sweeper.ExecutionState{}, fmt.Sprintf("the lock does not identify its execution: %v", p)
	}
	region, err := arnRegion(lock.ExecutionArn)
	if err != nil {
		return sweeper.ExecutionState{}, err.Error()
	}
	st, err := sweeper.Describe(ctx, c.SFN(region), lock.ID())
	if err != nil {
		return sweeper.ExecutionState{}, err.Error()
	}
	return st, ""
}

// lateUntil is the last moment a block of the lock's run can land, zero when it has
// passed: the lock's SettlingUntil once restore verified the prior; before that,
// the execution's end plus settle (a block-bucket it started lives at most that long);
// while it runs, or when that is unknown, it cannot be bounded: now + settle at least.
func lateUntil(s LockStatus, settle time.Duration, now time.Time) time.Time {
	var until time.Time
	if s.Lock.SettlingUntil != nil {
		until = *s.Lock.SettlingUntil
	} else if s.ExecErr != "" || s.Execution.Running {
		until = now.Add(settle)
	} else if !s.Execution.Ended.IsZero() {
		until = s.Execution.Ended.Add(settle)
	}
	if !until.After(now) {
		return time.Time{}
	}
	return until
}

// ErrRunning: the lock's execution still runs; its own flow restores the bucket.
var ErrRunning = errors.New("the lock's execution is still running")

// Restore puts bucket back from its lock with restore's own code (the same checks: a
// bucket changed during the drill is kept, and never written for that run again,
// *drill.BucketChangedDuringDrill) and releases the lock. Like the safety net, it waits
// until no block the run sent can land any more (the result's WaitedSeconds) and looks
// again before it releases: a block that lands meanwhile is undone. It refuses while
// the lock's execution still runs, unless force.
func Restore(ctx context.Context, c Clients, bucket string, force bool) (drill.RestoreResult, error) {
	lock, err := c.Ledger.Lock(ctx, bucket)
	if err != nil {
		return drill.RestoreResult{}, err
	}
	if lock == nil {
		return drill.RestoreResult{}, fmt.Errorf("no lock on %s in the ledger %s: nothing to restore", bucket, c.Ledger.Bucket)
	}
	if p := lock.ID().Problems(); len(p) > 0 {
		return drill.RestoreResult{}, fmt.Errorf("the lock on %s does not identify its execution (%v): put the bucket back by hand (its prior: %s), then drill unlock", bucket, p, pab.String(lock.Prior))
	}
	h := &restore.Handler{S3: c.S3, Ledger: c.Ledger, Cart: c.Cart, Database: c.Database, Log: c.Log, Now: c.now, Sleep: c.Sleep, Settle: c.settle()}
	in := drill.RestoreInput{
		Execution: lock.Execution, ExecutionArn: lock.ExecutionArn, StartTime: lock.StartTime,
		Bucket: bucket, Reason: drill.ReasonOperator,
	}
	if !force {
		region, err := arnRegion(lock.ExecutionArn)
		if err != nil {
			return drill.RestoreResult{}, err
		}
		st, err := sweeper.Describe(ctx, c.SFN(region), lock.ID())
		if err != nil {
			return drill.RestoreResult{}, fmt.Errorf("%w (pass --force to restore without knowing)", err)
		}
		if st.Running {
			return drill.RestoreResult{}, fmt.Errorf("%w: %s is %s; stop it (aws stepfunctions stop-execution --execution-arn %s) or pass --force", ErrRunning, lock.ID(), st.Status, lock.ExecutionArn)
		}
		// Knowing how it ended, the record also names the state it was in, when the
		// client can read the history (the real SDK client can).
		in.Status = st.Status
		h.History, _ = c.SFN(region).(restore.HistoryAPI)
	}
	return h.Handle(ctx, in)
}

// UnlockRefused: releasing the lock now could leave the bucket blocked with nothing
// watching it (no lock, so neither the sweeper nor drill status would see it). Status
// is what was read; Reason says why, and what to run instead.
type UnlockRefused struct {
	Status LockStatus
	Reason string
}

func (e *UnlockRefused) Error() string {
	return fmt.Sprintf("not unlocking %s: %s", e.Status.Lock.Bucket, e.Reason)
}

// UnlockRisk says why releasing the lock s describes could leave its bucket blocked
// with nothing watching it, "" when it cannot: a lock restore marked changed is a
// person's to release (that is what unlock is for); any other lock is refused while
// its bucket or its execution cannot be read, while its execution runs (its own flow
// restores and releases), while the bucket holds the drill's block and the prior was
// something else, and while a block its run sent can still land (LateUntil).
func UnlockRisk(s LockStatus) string {
	l := s.Lock
	restoreCmd := "run drill restore --bucket " + l.Bucket + " instead (it puts back the prior, waits until no block of the run can land, looks again, then releases)"
	if s.LockErr != "" {
		return "the lock cannot be read (" + s.LockErr + "): look at " + s.Key + " in the ledger"
	}
	if l.Status == drill.TicketChanged {
		return ""
	}
	if s.Bucket == BucketUnknown {
		return fmt.Sprintf("the bucket cannot be read (%s), so it is unknown whether it holds the drill's block", s.BucketErr)
	}
	if s.ExecErr != "" {
		return fmt.Sprintf("whether execution %s still runs is unknown (%s)", l.ID(), s.ExecErr)
	}
	if s.Execution.Running {
		return fmt.Sprintf("execution %s is %s: its own flow restores the bucket and releases the lock; stop it first, then %s", l.ID(), s.Execution.Status, restoreCmd)
	}
	if s.Bucket == BucketBlocked {
		return fmt.Sprintf("the bucket holds the drill's block (%s) and its prior was %s: %s", pab.String(s.Current), pab.String(l.Prior), restoreCmd)
	}
	if !s.LateUntil.IsZero() {
		return fmt.Sprintf("the bucket holds %s (prior %s), but a block the run sent can still land until %s: %s",
			pab.String(s.Current), pab.String(l.Prior), s.LateUntil.UTC().Format(time.RFC3339), restoreCmd)
	}
	if d := l.Database; d.Switched() {
		switch {
		case s.WriterErr != "":
			return fmt.Sprintf("the run switched global database %s, and its writer cannot be read (%s): %s", d.GlobalCluster, s.WriterErr, restoreCmd)
		case s.WriterSwitch != "" || s.Writer != d.PriorRegion:
			return fmt.Sprintf("the run switched global database %s and its writer is in %s (switch: %s), not back in %s: %s",
				d.GlobalCluster, s.Writer, orNone(s.WriterSwitch), d.PriorRegion, restoreCmd)
		}
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Unlock deletes bucket's lock, only the version it read (If-Match), and returns what
// it read: the lock (its prior says what the bucket should hold), its execution and the
// bucket now. It changes nothing on the bucket. It refuses (*UnlockRefused) when
// UnlockRisk names a risk, unless force: a person who has been shown the difference
// may still release it.
func Unlock(ctx context.Context, c Clients, bucket string, force bool) (LockStatus, error) {
	s, err := Inspect(ctx, c, bucket)
	if err != nil {
		return LockStatus{}, err
	}
	if s == nil {
		return LockStatus{}, fmt.Errorf("no lock on %s in the ledger %s", bucket, c.Ledger.Bucket)
	}
	if risk := UnlockRisk(*s); risk != "" && !force {
		return *s, &UnlockRefused{Status: *s, Reason: risk}
	}
	if err := c.Ledger.ReleaseLock(ctx, bucket, s.ETag); err != nil {
		return *s, err
	}
	// ReleaseLock treats a lock replaced meanwhile as "not ours": say so.
	if now, err := c.Ledger.Lock(ctx, bucket); err == nil && now != nil {
		return *s, fmt.Errorf("the lock on %s changed while releasing it (now %s): not released; look again", bucket, now.ID())
	}
	return *s, nil
}

// arnRegion is the region of an execution ARN
// (arn:<partition>:states:<region>:<account>:execution:<machine>:<name>).
func arnRegion(arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 8 || parts[0] != "arn" || parts[2] != "states" || parts[3] == "" || parts[5] != "execution" {
		return "", fmt.Errorf("%q is not a Step Functions execution ARN", arn)
	}
	return parts[3], nil
}
