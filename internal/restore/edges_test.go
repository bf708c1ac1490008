package restore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/restore"
)

func TestVerifyDelays(t *testing.T) {
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
	if len(restore.VerifyDelays) != len(want) {
		t.Fatalf("VerifyDelays %v", restore.VerifyDelays)
	}
	for i := range want {
		if restore.VerifyDelays[i] != want[i] {
			t.Errorf("VerifyDelays %v, want %v", restore.VerifyDelays, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"ab", 3, "ab"},
		{"aé", 2, "a…"}, // never half a rune
	} {
		if got := restore.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// A safety net that comes after the run's last block could land looks once and does
// not wait: nothing of the run can change the bucket any more.
func TestSafetyNetAfterTheLastBlockCouldLandLooksOnce(t *testing.T) {
	f := newFixture(t, partial)
	f.clock = blockSentAt.Add(restore.DefaultSettle + time.Minute)
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet)); err != nil {
		t.Fatal(err)
	}
	if len(f.sleeps) != 0 {
		t.Errorf("slept %v", f.sleeps)
	}
	f.assertRestored(t, "run-a", partial)
}

// settleSleep makes f's first sleep (the safety net's wait for the run's last
// block) call during, and records every sleep.
func (f *fixture) settleSleep(during func(d time.Duration) error) {
	first := true
	f.h.Sleep = func(_ context.Context, d time.Duration) error {
		f.sleeps = append(f.sleeps, d)
		if first {
			first = false
			f.clock = f.clock.Add(d)
			return during(d)
		}
		return nil
	}
}

// The safety net's second look fails: the error is returned, not hidden behind the
// first look's success.
func TestSafetyNetSecondLookFails(t *testing.T) {
	f := newFixture(t, partial)
	f.settleSleep(func(time.Duration) error {
		f.ledger.GetErr = func(string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
		return nil
	})
	_, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want the second look's", err)
	}
	// Its settle can be cut short too.
	f = newFixture(t, partial)
	f.h.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled settle: %v", err)
	}
}

// The safety net's result is the two looks merged: restored by the first (its time),
// not "already restored"; a cart cleared by either is cleared. It waits exactly until
// the run's last block could have landed: blockSentAt + Settle.
func TestSafetyNetMergesItsTwoLooks(t *testing.T) {
	f := newFixture(t, partial)
	f.h.Settle = time.Minute
	var first time.Time
	f.settleSleep(func(d time.Duration) error {
		first = *f.ledger.Ticket(runKey("run-a")).RestoredAt
		if want := blockSentAt.Add(time.Minute); !f.clock.Equal(want) {
			t.Errorf("slept %v, until %v; want until %v", d, f.clock, want)
		}
		return nil
	})
	res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyRestored || res.RestoredAt == nil || !res.RestoredAt.Equal(first) || !res.CartCleared || !res.MatchesPrior {
		t.Errorf("result %+v, want restored at %v by the first look", res, first)
	}
	// Restored before the safety net came, and the run's last block could land: already
	// restored, by then; no more waiting.
	f.sleeps = nil
	res, err = f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
	if err != nil || !res.AlreadyRestored || !res.RestoredAt.Equal(first) || len(f.sleeps) != 0 {
		t.Errorf("again: %+v, %v, slept %v", res, err, f.sleeps)
	}
}

// A cart that cannot be cleared is logged (only then) and reported, never fatal; a
// very long error is cut.
func TestCartErrorIsLoggedAndCut(t *testing.T) {
	for _, fails := range []bool{false, true} {
		f := newFixture(t, partial)
		var logs bytes.Buffer
		f.h.Log = slog.New(slog.NewTextHandler(&logs, nil))
		if fails {
			f.cart.RemoveFn = func(context.Context, string, string, string) error { return errors.New(strings.Repeat("x", 800)) }
		}
		res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
		if err != nil {
			t.Fatal(err)
		}
		if logged := strings.Contains(logs.String(), "synthetic cart not cleared"); logged != fails {
			t.Errorf("cart fails %v, logged %v", fails, logged)
		}
		if fails && (len(res.CartError) > 1010 || !strings.HasSuffix(res.CartError, "…") || strings.Contains(res.CartError, "\n")) {
			t.Errorf("cart error not cut to one line of 1000: %d bytes", len(res.CartError))
		}
	}
}

// The cart clean-up needs the seed's API and user, and a client.
func TestCartCannotBeCleared(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{"no client", func(f *fixture) { f.h.Cart = nil }, "no shop client"},
		{"no API host", func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Seed.APIHost = ""
			f.ledger.PutTicket(runKey("run-a"), tk)
		}, "no API host or user"},
		{"no user", func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Seed.UserUUID = ""
			f.ledger.PutTicket(runKey("run-a"), tk)
		}, "no API host or user"},
		{"nothing seeded", func(f *fixture) {
			tk := ticket("run-a", partial)
			tk.Seed = nil
			f.ledger.PutTicket(runKey("run-a"), tk)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			tc.setup(f)
			res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.CartError, tc.want) || res.CartCleared != (tc.want == "") || (tc.want == "") != (res.CartError == "") {
				t.Errorf("result %+v, want cart error %q", res, tc.want)
			}
			f.assertSettling(t, "run-a", res)
			f.release(t, "run-a")
			f.assertRestored(t, "run-a", partial)
		})
	}
}

// Without a clock the handler uses the real one.
func TestRealClock(t *testing.T) {
	f := newFixture(t, partial)
	f.h.Now, f.h.Log, f.h.Sleep = nil, nil, nil
	before := time.Now()
	res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
	if err != nil || res.RestoredAt == nil || res.RestoredAt.Before(before) {
		t.Errorf("%+v, %v", res, err)
	}
}

// A verify that keeps failing with a throttled read, or fails plainly, is an error.
func TestVerifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"always throttled", pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown")},
		{"denied", pabtest.APIError("GetPublicAccessBlock", 403, "AccessDenied")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			reads := 0
			f.s3.GetErr = func(string) error {
				if reads++; reads > 1 { // the check before the write reads fine
					return tc.err
				}
				return nil
			}
			_, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
			if err == nil || !strings.Contains(err.Error(), "verify") {
				t.Fatalf("err = %v", err)
			}
			if f.ledger.Ticket("locks/ui-bucket.json") == nil {
				t.Error("lock released after a failed verify")
			}
		})
	}
}

// A restored run whose late block cannot be undone, or reads back wrong after the
// undo, is an error; so is a failed read.
func TestRecheckErrors(t *testing.T) {
	restoredAt := time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		want  string
	}{
		{"the read fails", func(f *fixture) {
			f.s3.GetErr = func(string) error { return pabtest.APIError("GetPublicAccessBlock", 403, "AccessDenied") }
		}, "AccessDenied"},
		{"the undo fails", func(f *fixture) {
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
				return pabtest.APIError("PutPublicAccessBlock", 403, "AccessDenied")
			}
		}, "undo late block"},
		{"the undo reads back wrong", func(f *fixture) {
			n := 0
			f.s3.Read = func(_ string, stored *drill.PublicAccessBlock) *drill.PublicAccessBlock {
				if n++; n == 1 {
					return stored
				}
				return &drill.BlockAll
			}
		}, "reads back"},
		{"the lock cannot be read", func(f *fixture) {
			f.ledger.GetErr = func(key string) error {
				if key == "locks/ui-bucket.json" {
					return pabtest.APIError("GetObject", 403, "AccessDenied")
				}
				return nil
			}
		}, "AccessDenied"},
		{"the undo's verify fails", func(f *fixture) {
			n := 0
			f.s3.GetErr = func(string) error {
				if n++; n > 1 {
					return pabtest.APIError("GetPublicAccessBlock", 403, "AccessDenied")
				}
				return nil
			}
		}, "verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial) // the bucket holds the block: a late one
			tk := ticket("run-a", partial)
			tk.Status, tk.RestoredAt, tk.BlockSentAt = drill.TicketRestored, &restoredAt, &blockSentAt
			f.ledger.PutTicket(runKey("run-a"), tk)
			tc.setup(f)
			_, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Deleting an absent configuration is fine; a failed delete is an error.
func TestDeleteErrors(t *testing.T) {
	f := newFixture(t, nil)
	f.s3.DeleteErr = func(string) error { return pabtest.APIError("DeletePublicAccessBlock", 403, "AccessDenied") }
	if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow)); err == nil {
		t.Fatal("a failed delete succeeded")
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s", pab.String(got))
	}
}

// A restore after the execution's end whose record cannot be written still restores
// (the record is best effort): the failure is logged, and only then.
func TestRestoreRecordNotWrittenIsLogged(t *testing.T) {
	for _, fails := range []bool{false, true} {
		f := newFixture(t, partial)
		var logs bytes.Buffer
		f.h.Log = slog.New(slog.NewTextHandler(&logs, nil))
		key := drill.RestoreRecordKey("run-a", ledgertest.ID("run-a").StartTime, drill.ReasonSafetyNet)
		if fails {
			f.ledger.PutErr = func(k string, _ *s3.PutObjectInput) error {
				if k == key {
					return pabtest.APIError("PutObject", 503, "SlowDown")
				}
				return nil
			}
		}
		res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
		if err != nil || !res.MatchesPrior {
			t.Fatalf("record fails %v: %+v, %v", fails, res, err)
		}
		f.assertRestored(t, "run-a", partial)
		if _, written := f.ledger.Objects[key]; written == fails {
			t.Errorf("record fails %v, written %v", fails, written)
		}
		if logged := strings.Contains(logs.String(), "restore not recorded in the ledger"); logged != fails {
			t.Errorf("record fails %v, logged %v:\n%s", fails, logged, logs.String())
		}
	}
}
