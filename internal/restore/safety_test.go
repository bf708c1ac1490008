package restore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// The run ticket lives under runs/, which the ledger's lifecycle rule expires (after
// as little as a day); the lock never expires and carries the same restore data. A
// restore after the ticket is gone restores from the lock, and never reports a
// restored bucket while the lock still holds it blocked.
func TestRunTicketExpiredRestoresFromTheLock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hinted bool // the caller names the bucket (sweeper, operator); else found by listing
		prior  *drill.PublicAccessBlock
	}{
		{name: "sweeper names the bucket", hinted: true, prior: partial},
		{name: "safety net finds the lock by listing", prior: partial},
		{name: "prior none", hinted: true, prior: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.prior)
			f.ledger.Delete(runKey("run-a")) // expired
			f.ledger.PutTicket("locks/another-bucket.json", ticket("run-z", partial))
			in := rin("run-a", drill.ReasonSweeper)
			if tc.hinted {
				in.Bucket = bucket
			}
			res, err := f.h.Handle(context.Background(), in)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if !res.TicketMissing || !res.MatchesPrior || res.NothingToRestore || !pab.Equal(res.Prior, tc.prior) || res.Bucket != bucket || !res.CartCleared {
				t.Errorf("result %+v", res)
			}
			f.assertRestored(t, "run-a", tc.prior)
			if slices.Contains(f.Calls(), "ListObjectsV2 locks/") == tc.hinted {
				t.Errorf("calls %q: listed the locks %v, want %v", f.Calls(), !tc.hinted, !tc.hinted)
			}
			if f.ledger.Ticket("locks/another-bucket.json") == nil {
				t.Error("another bucket's lock was touched")
			}
		})
	}
}

func TestRunTicketExpiredAndTheRestoreFails(t *testing.T) {
	f := newFixture(t, partial)
	f.ledger.Delete(runKey("run-a"))
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		return pabtest.APIError("PutPublicAccessBlock", 403, "AccessDenied")
	}
	res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSweeper))
	if err == nil || res.MatchesPrior {
		t.Fatalf("result %+v, %v: want an error, never matchesPrior while the bucket is blocked", res, err)
	}
	if f.ledger.Ticket(drill.LockKey(bucket)) == nil {
		t.Error("the lock was released though the bucket is still blocked")
	}
	if run := f.ledger.Ticket(runKey("run-a")); run == nil || run.Status != drill.TicketRestoring || !pab.Equal(run.Prior, partial) {
		t.Errorf("run ticket %+v, want rewritten from the lock, restoring", run)
	}
	f.s3.PutErr = nil
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSweeper)); err != nil {
		t.Fatal(err)
	}
	f.assertRestored(t, "run-a", partial)
}

func TestRunTicketExpiredOtherCases(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lock       *drill.Ticket
		wantLock   bool
		wantStatus string
	}{
		{name: "no lock either: abandoned, nothing to restore", wantStatus: drill.TicketAbandoned},
		{name: "the lock was only claimed (no prior recorded, nothing blocked): released",
			lock: func() *drill.Ticket { t := ticket("run-a", nil); t.Status = drill.TicketClaimed; return &t }(), wantStatus: drill.TicketAbandoned},
		{name: "the lock is an older run's of the same name: untouched",
			lock: func() *drill.Ticket {
				t := ticketOf(ledgertest.IDAt("run-a", ledgertest.Start.AddDate(-1, 0, 0)), nil)
				return &t
			}(),
			wantLock: true, wantStatus: drill.TicketAbandoned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			f.ledger.Delete(runKey("run-a"))
			f.ledger.Delete(drill.LockKey(bucket))
			if tc.lock != nil {
				f.ledger.PutTicket(drill.LockKey(bucket), *tc.lock)
			}
			res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
			if err != nil {
				t.Fatal(err)
			}
			if !res.NothingToRestore || res.TicketMissing != (tc.lock != nil && !tc.wantLock) {
				t.Errorf("result %+v", res)
			}
			if got := f.ledger.Ticket(drill.LockKey(bucket)) != nil; got != tc.wantLock {
				t.Errorf("lock left %v, want %v", got, tc.wantLock)
			}
			if run := f.ledger.Ticket(runKey("run-a")); run == nil || run.Status != tc.wantStatus {
				t.Errorf("run ticket %+v, want %s", run, tc.wantStatus)
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
				t.Errorf("bucket %s: changed, though this run never blocked it", pab.String(got))
			}
		})
	}
}

// Someone changes the bucket during the drill: restore keeps their settings, keeps
// the lock, and fails with a distinct error. The run and its lock are marked changed:
// whatever the bucket holds later (the prior again, or a full block its owner chose),
// no later restore, safety net or sweeper writes it or releases the lock, even once the
// run ticket has expired; they keep failing (so the sweeper keeps alarming) until a
// person releases the lock (drill unlock), after which they do nothing.
func TestBucketChangedDuringTheDrill(t *testing.T) {
	human := &drill.PublicAccessBlock{BlockPublicPolicy: true, RestrictPublicBuckets: true}
	f := newFixture(t, partial)
	f.s3.Configs[bucket] = human
	res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
	var changed *drill.BucketChangedDuringDrill
	if !errors.As(err, &changed) || drill.ErrorName(drill.Classify(err)) != "BucketChangedDuringDrill" {
		t.Fatalf("err = %v, want BucketChangedDuringDrill", err)
	}
	if changed.Bucket != bucket || changed.Prior != pab.String(partial) || changed.Found != pab.String(human) ||
		!strings.Contains(err.Error(), "drill unlock") {
		t.Errorf("error %+v: %v", changed, err)
	}
	if res.MatchesPrior {
		t.Errorf("result %+v", res)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, human) {
		t.Errorf("bucket %s, want the person's %s kept", pab.String(got), pab.String(human))
	}
	noBucketWrites := func(t *testing.T, from int) {
		t.Helper()
		for _, c := range f.mutations()[from:] {
			if strings.Contains(c, "PublicAccessBlock") || strings.HasPrefix(c, "DeleteObject") || strings.HasPrefix(c, "RemoveFromCart") {
				t.Errorf("changed something: %s", c)
			}
		}
	}
	noBucketWrites(t, 0)
	lock := f.ledger.Ticket(drill.LockKey(bucket))
	if lock == nil || lock.Status != drill.TicketChanged || !pab.Equal(lock.Prior, partial) {
		t.Fatalf("lock %+v, want kept, marked changed, with its prior", lock)
	}
	if run := f.ledger.Ticket(runKey("run-a")); run == nil || run.Status != drill.TicketChanged {
		t.Errorf("run ticket %+v, want changed", run)
	}

	// Runbook step 4: the owner decides. Whatever they set, the drill does not touch it.
	for _, owner := range []*drill.PublicAccessBlock{&drill.BlockAll, partial} {
		f.s3.Configs[bucket] = owner
		for _, reason := range []string{drill.ReasonSafetyNet, drill.ReasonSweeper, drill.ReasonOperator} {
			before := len(f.mutations())
			in := rin("run-a", reason)
			in.Bucket = bucket
			_, err := f.h.Handle(context.Background(), in)
			if !errors.As(err, &changed) || changed.Found != pab.String(owner) {
				t.Errorf("owner set %s, %s restore: err = %v, want BucketChangedDuringDrill naming what it holds", pab.String(owner), reason, err)
			}
			noBucketWrites(t, before)
			if got := f.s3.Config(bucket); !pab.Equal(got, owner) {
				t.Errorf("owner set %s, %s restore left %s", pab.String(owner), reason, pab.String(got))
			}
			if f.ledger.Ticket(drill.LockKey(bucket)) == nil {
				t.Fatalf("owner set %s: %s restore released the lock", pab.String(owner), reason)
			}
		}
	}
	// The run ticket expires: the lock still says changed.
	f.ledger.Delete(runKey("run-a"))
	f.s3.Configs[bucket] = &drill.BlockAll
	before := len(f.mutations())
	if _, err := f.h.Handle(context.Background(), drill.RestoreInput{Execution: "run-a", ExecutionArn: ledgertest.ID("run-a").ExecutionArn,
		StartTime: ledgertest.ID("run-a").StartTime, Bucket: bucket, Reason: drill.ReasonSweeper}); !errors.As(err, &changed) {
		t.Errorf("after the ticket expired: %v, want BucketChangedDuringDrill", err)
	}
	noBucketWrites(t, before)
	if run := f.ledger.Ticket(runKey("run-a")); run == nil || run.Status != drill.TicketChanged {
		t.Errorf("run ticket written again from the lock: %+v, want changed", run)
	}
	// A person releases the lock (drill unlock): later restores do nothing, quietly.
	f.ledger.Delete(drill.LockKey(bucket))
	before = len(f.mutations())
	res, err = f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
	if err != nil || res.Skipped == "" || res.MatchesPrior {
		t.Errorf("after drill unlock: %+v, %v; want skipped", res, err)
	}
	noBucketWrites(t, before)
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s after unlock", pab.String(got))
	}
}

// A crash between marking the run changed and marking its lock leaves the lock held;
// the next restore marks it, and still writes nothing to the bucket.
func TestChangedRunMarksItsLockOnTheNextRestore(t *testing.T) {
	f := newFixture(t, partial)
	human := &drill.PublicAccessBlock{IgnorePublicAcls: true}
	f.s3.Configs[bucket] = human
	f.ledger.PutErr = func(key string, _ *s3.PutObjectInput) error {
		if key == drill.LockKey(bucket) {
			return pabtest.APIError("PutObject", 500, "InternalError")
		}
		return nil
	}
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow)); err == nil || !strings.Contains(err.Error(), "mark lock changed") {
		t.Fatalf("err = %v, want the lock write's", err)
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock.Status != drill.TicketHeld {
		t.Fatalf("lock %+v", lock)
	}
	f.ledger.PutErr = nil
	var changed *drill.BucketChangedDuringDrill
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSweeper)); !errors.As(err, &changed) {
		t.Fatalf("err = %v", err)
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Status != drill.TicketChanged {
		t.Errorf("lock %+v, want marked changed", lock)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, human) {
		t.Errorf("bucket %s", pab.String(got))
	}
}

// A reused name is another run: its restore never touches the old run's lock or
// ticket, and the old run's restore never touches the new one's.
func TestReusedNameRunsAreKeptApart(t *testing.T) {
	f := newFixture(t, partial) // run-a (2025) holds the lock, bucket blocked
	newer := ledgertest.IDAt("run-a", ledgertest.Start.AddDate(1, 0, 0))
	res, err := f.h.Handle(context.Background(), rinFor(newer, drill.ReasonFailure))
	if err != nil || !res.NothingToRestore {
		t.Fatalf("newer run's restore = %+v, %v; want nothing to restore", res, err)
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || !lock.ID().Same(ledgertest.ID("run-a")) {
		t.Errorf("the older run's lock %+v", lock)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s: changed by a run that never blocked it", pab.String(got))
	}
	// The older run's own restore (the sweeper's) still finds its ticket and lock.
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSweeper)); err != nil {
		t.Fatal(err)
	}
	f.assertRestored(t, "run-a", partial)
}

func TestRestoreLedgerFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{name: "listing the locks fails", want: "AccessDenied", setup: func(f *fixture) {
			f.ledger.Delete(runKey("run-a"))
			f.ledger.ListErr = func(string) error { return pabtest.APIError("ListObjectsV2", 403, "AccessDenied") }
		}},
		{name: "reading the lock fails", want: "AccessDenied", setup: func(f *fixture) {
			f.ledger.Delete(runKey("run-a"))
			f.ledger.GetErr = func(key string) error {
				if key == drill.LockKey(bucket) {
					return pabtest.APIError("GetObject", 403, "AccessDenied")
				}
				return nil
			}
		}},
		{name: "rewriting the expired ticket fails", want: "AccessDenied", setup: func(f *fixture) {
			f.ledger.Delete(runKey("run-a"))
			f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 403, "AccessDenied") }
		}},
		{name: "marking a claimed run abandoned fails", want: "AccessDenied", setup: func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Status = drill.TicketClaimed
			f.ledger.PutTicket(runKey("run-a"), tk)
			f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 403, "AccessDenied") }
		}},
		{name: "marking a held run restoring fails", want: "AccessDenied", setup: func(f *fixture) {
			f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 403, "AccessDenied") }
		}},
		{name: "releasing an abandoned run's lock fails", want: "release lock", setup: func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Status = drill.TicketAbandoned
			f.ledger.PutTicket(runKey("run-a"), tk)
			f.ledger.GetErr = func(key string) error {
				if key == drill.LockKey(bucket) {
					return pabtest.APIError("GetObject", 403, "AccessDenied")
				}
				return nil
			}
		}},
		{name: "releasing a claimed run's lock fails", want: "release lock", setup: func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Status = drill.TicketClaimed
			f.ledger.PutTicket(runKey("run-a"), tk)
			f.ledger.DeleteErr = func(string, *s3.DeleteObjectInput) error {
				return pabtest.APIError("DeleteObject", 403, "AccessDenied")
			}
		}},
		{name: "reading the bucket before writing fails", want: "SlowDown", setup: func(f *fixture) {
			f.s3.GetErr = func(string) error { return pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown") }
		}},
		{name: "marking the run restored fails", want: "mark ticket restored", setup: func(f *fixture) {
			f.ledger.PutErr = func(_ string, in *s3.PutObjectInput) error {
				if in.IfMatch == nil {
					return pabtest.APIError("PutObject", 403, "AccessDenied")
				}
				return nil
			}
		}},
		{name: "an unknown run ticket status", want: `unknown status "lost"`, setup: func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Status = "lost"
			f.ledger.PutTicket(runKey("run-a"), tk)
		}},
		{name: "the run ticket keeps changing", want: "kept changing", setup: func(f *fixture) {
			f.ledger.PutErr = func(string, *s3.PutObjectInput) error {
				return pabtest.APIError("PutObject", 412, "PreconditionFailed")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			tc.setup(f)
			res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFailure))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if res.MatchesPrior {
				t.Errorf("result %+v claims a match", res)
			}
		})
	}
}
