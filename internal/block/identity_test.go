package block_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// Step Functions gives a reused name the same ARN. The new run must record the prior
// it finds now, never the old run's ticket (which says what the bucket held a year ago).
func TestReusedNameRecordsItsOwnPrior(t *testing.T) {
	f := newFixture(t, partial)
	old := ledgertest.IDAt("run-a", ledgertest.Start.AddDate(-1, 0, 0))
	oldTicket := lockOf(old, drill.TicketRestored, &drill.PublicAccessBlock{BlockPublicPolicy: true})
	f.ledger.PutTicket(drill.RunTicketKey(old), oldTicket)

	res, err := f.h.Handle(context.Background(), input("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Reinvoked || !pab.Equal(res.Prior, partial) {
		t.Errorf("result %+v, want a new run with the prior read now %s", res, pab.String(partial))
	}
	if got := f.ledger.Ticket(drill.RunTicketKey(old)); got == nil || got.Status != drill.TicketRestored || !pab.Equal(got.Prior, oldTicket.Prior) {
		t.Errorf("the old run's ticket was touched: %+v", got)
	}
	if got := f.ledger.Ticket(runKey("run-a")); got == nil || got.Status != drill.TicketHeld || !pab.Equal(got.Prior, partial) {
		t.Errorf("new run ticket %+v", got)
	}
}

// S3 answers 409 ConditionalRequestConflict when conditional writes race: "try again".
// Every conditional write is retried, with backoff, and the drill goes on.
func TestConflictOnEveryConditionalWriteIsRetried(t *testing.T) {
	f := newFixture(t, partial)
	seen := map[string]bool{}
	f.ledger.PutErr = func(key string, in *s3.PutObjectInput) error {
		if in.IfMatch == nil && in.IfNoneMatch == nil {
			return nil
		}
		call := key + "|" + strings.TrimSpace(ptrOr(in.IfMatch)+ptrOr(in.IfNoneMatch))
		if !seen[call] {
			seen[call] = true
			return pabtest.APIError("PutObject", 409, "ConditionalRequestConflict")
		}
		return nil
	}
	if _, err := f.h.Handle(context.Background(), input("run-a")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(seen) != 4 {
		t.Errorf("%d conditional writes saw a 409, want 4 (claim, lock, prior in lock, prior in ticket)", len(seen))
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s, want blocked", pab.String(got))
	}
	if len(f.ledger.Sleeps) != 4 || f.ledger.Sleeps[0] != ledger.ConflictBackoff {
		t.Errorf("retry waits %v, want one %v per conflict", f.ledger.Sleeps, ledger.ConflictBackoff)
	}
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Giving up after restore took over releases the lock even if the first delete meets
// a 409; a release that keeps failing is logged and the typed error still returned.
func TestGiveUpReleasesTheLock(t *testing.T) {
	for _, tc := range []struct {
		name     string
		delete   func(n int) error
		wantLock bool
	}{
		{name: "409 then released", delete: func(n int) error {
			if n == 1 {
				return pabtest.APIError("DeleteObject", 409, "ConditionalRequestConflict")
			}
			return nil
		}},
		{name: "denied: the lock stays, the error is still RunClosed", wantLock: true, delete: func(int) error {
			return pabtest.APIError("DeleteObject", 403, "AccessDenied")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			n := 0
			f.ledger.DeleteErr = func(string, *s3.DeleteObjectInput) error { n++; return tc.delete(n) }
			f.s3.GetErr = func(string) error { f.setStatus("run-a", drill.TicketAbandoned); return nil }
			_, err := f.h.Handle(context.Background(), input("run-a"))
			var closed *drill.RunClosed
			if !errors.As(err, &closed) || closed.Status != drill.TicketAbandoned {
				t.Fatalf("err = %v, want RunClosed abandoned", err)
			}
			if lock := f.ledger.Ticket(drill.LockKey(bucket)); (lock != nil) != tc.wantLock {
				t.Errorf("lock %+v, want left: %v", lock, tc.wantLock)
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, partial) {
				t.Errorf("bucket %s, want untouched", pab.String(got))
			}
		})
	}
}

// A late block of a run restored long ago leaves alone a bucket now locked by a new
// run that reuses its name.
func TestLateBlockLeavesAReusedNamesBlockAlone(t *testing.T) {
	f := newFixture(t, partial)
	newer := ledgertest.IDAt("run-a", ledgertest.Start.AddDate(0, 3, 0))
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		f.setStatus("run-a", drill.TicketRestored)
		f.ledger.PutTicket(drill.LockKey(bucket), lockOf(newer, drill.TicketHeld, partial))
		return nil
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	if drill.ErrorName(drill.Classify(err)) != "RunClosed" {
		t.Fatalf("err = %v, want RunClosed", err)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s: the newer run's block was undone", pab.String(got))
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || !lock.ID().Same(newer) {
		t.Errorf("the newer run's lock = %+v", lock)
	}
}
