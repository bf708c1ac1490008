// Package operator is a person's way out when a drill left a bucket locked: see every
// lock with its execution's state and the bucket against the prior (Status), restore a
// bucket from its lock with the same checks the restore function makes (Restore), and
// release a lock by hand (Unlock). It runs with the operator's credentials; cmd/drill
// holds the flags, the confirmation and the printing.
package operator

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
	Log    *slog.Logger
}

// Bucket states against the lock's prior.
const (
	BucketBlocked   = "blocked"   // holds the drill's block: drill restore puts the prior back
	BucketPrior     = "prior"     // holds the prior already: only the lock is left
	BucketChanged   = "changed"   // holds neither, or restore found it so: someone changed it during the drill; a person decides, then drill unlock
	BucketUntouched = "untouched" // no prior recorded: the drill had not blocked it yet
	BucketUnknown   = "unknown"   // it could not be read
)

// LockStatus is one lock, its execution and its bucket.
type LockStatus struct {
	Lock      drill.Ticket
	Execution sweeper.ExecutionState
	ExecErr   string // why the execution's state is unknown
	Current   *drill.PublicAccessBlock
	Bucket    string // one of the Bucket* states
	BucketErr string
}

// NeedsAction reports whether a person (or drill restore) must act: the execution is
// no longer running, or its state is unknown, or the bucket was changed.
func (s LockStatus) NeedsAction() bool {
	return !s.Execution.Running || s.ExecErr != "" || s.Bucket == BucketChanged || s.Bucket == BucketUnknown
}

// Status lists every lock with its execution's state and its bucket's configuration.
func Status(ctx context.Context, c Clients) ([]LockStatus, error) {
	entries, err := c.Ledger.Locks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LockStatus, 0, len(entries))
	for _, e := range entries {
		s := LockStatus{Lock: e.Lock}
		if p := e.Lock.ID().Problems(); len(p) > 0 {
			s.ExecErr = fmt.Sprintf("the lock does not identify its execution: %v", p)
		} else if region, err := arnRegion(e.Lock.ExecutionArn); err != nil {
			s.ExecErr = err.Error()
		} else if st, err := sweeper.Describe(ctx, c.SFN(region), e.Lock.ID()); err != nil {
			s.ExecErr = err.Error()
		} else {
			s.Execution = st
		}
		s.Current, err = pab.Read(ctx, c.S3(e.Lock.Region), e.Lock.Bucket)
		switch {
		case err != nil:
			s.Bucket, s.BucketErr = BucketUnknown, err.Error()
		case e.Lock.Status == drill.TicketChanged:
			// Whatever it holds now (the owner may have chosen the prior, or a full
			// block), no restore writes it: only drill unlock ends it.
			s.Bucket = BucketChanged
		case e.Lock.Status != drill.TicketHeld:
			s.Bucket = BucketUntouched
		case pab.Equal(s.Current, e.Lock.Prior):
			s.Bucket = BucketPrior
		case pab.Equal(s.Current, &drill.BlockAll):
			s.Bucket = BucketBlocked
		default:
			s.Bucket = BucketChanged
		}
		out = append(out, s)
	}
	return out, nil
}

// ErrRunning: the lock's execution still runs; its own flow restores the bucket.
var ErrRunning = errors.New("the lock's execution is still running")

// Restore puts bucket back from its lock with restore's own code (the same checks: a
// bucket changed during the drill is kept, and never written for that run again,
// *drill.BucketChangedDuringDrill) and releases the lock. It refuses while the lock's
// execution still runs, unless force.
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
	h := &restore.Handler{S3: c.S3, Ledger: c.Ledger, Cart: c.Cart, Log: c.Log, Now: time.Now}
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

// Unlock deletes bucket's lock, only the version it read (If-Match), and returns it:
// its prior says what the bucket should hold. It changes nothing on the bucket.
func Unlock(ctx context.Context, c Clients, bucket string) (drill.Ticket, error) {
	lock, etag, err := c.Ledger.LockVersion(ctx, bucket)
	if err != nil {
		return drill.Ticket{}, err
	}
	if lock == nil {
		return drill.Ticket{}, fmt.Errorf("no lock on %s in the ledger %s", bucket, c.Ledger.Bucket)
	}
	if err := c.Ledger.ReleaseLock(ctx, bucket, etag); err != nil {
		return *lock, err
	}
	// ReleaseLock treats a lock replaced meanwhile as "not ours": say so.
	if now, err := c.Ledger.Lock(ctx, bucket); err == nil && now != nil {
		return *lock, fmt.Errorf("the lock on %s changed while releasing it (now %s): not released; look again", bucket, now.ID())
	}
	return *lock, nil
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
