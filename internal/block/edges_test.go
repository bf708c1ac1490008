package block_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// The run ticket vanishes while the block is in flight (deleted by hand): the block is
// undone and the error says the ticket is gone.
func TestRunTicketGoneAfterThePut(t *testing.T) {
	f := newFixture(t, partial)
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		f.ledger.Delete(runKey("run-a"))
		return nil
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	var closed *drill.RunClosed
	if !errors.As(err, &closed) || closed.Status != "gone" {
		t.Fatalf("err = %v, want RunClosed gone", err)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, partial) {
		t.Errorf("bucket %s, want the block undone", pab.String(got))
	}
}

// Reading the ticket after the put fails: the block stands (restore will undo it),
// and the error says what restore will put back.
func TestConfirmCannotReadTheTicket(t *testing.T) {
	f := newFixture(t, partial)
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		f.ledger.GetErr = func(string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
		return nil
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	if err == nil || !strings.Contains(err.Error(), "restore will still put back "+pab.String(partial)) {
		t.Fatalf("err = %v", err)
	}
	if f.ledger.Ticket("locks/ui-bucket.json") == nil {
		t.Error("the lock was released: restore would not find it")
	}
}

// A failed undo of a late block is an error naming the ticket's state.
func TestUndoFails(t *testing.T) {
	f := newFixture(t, partial)
	n := 0
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		if n++; n == 1 {
			f.setStatus("run-a", drill.TicketRestoring)
			return nil
		}
		return pabtest.APIError("PutPublicAccessBlock", 403, "AccessDenied")
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	if err == nil || !strings.Contains(err.Error(), "undo the block (run ticket restoring)") {
		t.Fatalf("err = %v", err)
	}
}

// A failed release when giving up is logged (and only then); the typed error stands.
func TestGiveUpLogsAFailedRelease(t *testing.T) {
	for _, fails := range []bool{false, true} {
		f := newFixture(t, partial)
		var logs bytes.Buffer
		f.h.Log = slog.New(slog.NewTextHandler(&logs, nil))
		if fails {
			f.ledger.DeleteErr = func(string, *s3.DeleteObjectInput) error {
				return pabtest.APIError("DeleteObject", 403, "AccessDenied")
			}
		}
		f.s3.GetErr = func(string) error { f.setStatus("run-a", drill.TicketAbandoned); return nil }
		if _, err := f.h.Handle(context.Background(), input("run-a")); drill.ErrorName(drill.Classify(err)) != "RunClosed" {
			t.Fatalf("err = %v", err)
		}
		if logged := strings.Contains(logs.String(), "could not release the lock"); logged != fails {
			t.Errorf("release fails %v, logged %v:\n%s", fails, logged, logs.String())
		}
	}
}

// Without a clock the handler uses the real one; with one, every timestamp is its.
func TestClock(t *testing.T) {
	f := newFixture(t, partial)
	res, err := f.h.Handle(context.Background(), input("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []time.Time{res.StartedAt, res.BlockedAt, res.FinishedAt} {
		if ts.Year() != 2025 {
			t.Errorf("timestamp %v is not the handler's clock", ts)
		}
	}
	f = newFixture(t, partial)
	f.h.Now, f.h.Log = nil, nil
	before := time.Now()
	res, err = f.h.Handle(context.Background(), input("run-b"))
	if err != nil || res.BlockedAt.Before(before) {
		t.Errorf("real clock: %+v, %v", res, err)
	}
}

// Bad config and a missing identity are reported together, each problem named once.
func TestInvalidInputNamesEveryProblem(t *testing.T) {
	f := newFixture(t, partial)
	in := input("run-a")
	in.Config = []byte(`{"items":0,"colour":"red"}`)
	in.StartTime = drill.Instant{}
	_, err := f.h.Handle(context.Background(), in)
	var invalid *drill.InvalidInput
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v", err)
	}
	got := strings.Join(invalid.Problems, "|")
	for _, want := range []string{"colour: unknown field", "items:", "startTime: missing"} {
		if strings.Count(got, want) != 1 {
			t.Errorf("problems %q, want %q once", got, want)
		}
	}
	if len(f.Calls()) != 0 {
		t.Errorf("calls %v", f.Calls())
	}
	_ = block.Margin
}

// A drill that waited for a dry run's lock says so once it has the lock (and only
// when it has it: a failed take is the error's to tell).
func TestWaitForADryRunsLockIsLogged(t *testing.T) {
	for _, fails := range []bool{false, true} {
		f := newFixture(t, partial)
		var logs bytes.Buffer
		f.h.Log = slog.New(slog.NewTextHandler(&logs, nil))
		held := lockOf(ledgertest.ID("dry-1"), drill.TicketClaimed, nil)
		held.DryRun = true
		f.ledger.PutTicket(drill.LockKey(bucket), held)
		f.h.Sleep = func(ctx context.Context, _ time.Duration) error {
			f.ledger.Delete(drill.LockKey(bucket)) // the dry run releases it
			if fails {
				f.ledger.PutErr = func(string, *s3.PutObjectInput) error {
					return pabtest.APIError("PutObject", 403, "AccessDenied")
				}
			}
			return ctx.Err()
		}
		res, err := f.h.Handle(context.Background(), input("run-a"))
		if fails != (err != nil) || !fails && res.BlockedAt.IsZero() {
			t.Fatalf("take fails %v: %+v, %v", fails, res, err)
		}
		if logged := strings.Contains(logs.String(), "waited for a dry run's lock"); logged == fails {
			t.Errorf("take fails %v, logged the wait %v:\n%s", fails, logged, logs.String())
		}
		if !fails && !strings.Contains(logs.String(), "taken=true") {
			t.Errorf("the wait's log does not say the lock was taken:\n%s", logs.String())
		}
	}
}
