package restore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/shop"
)

var _ restore.CartAPI = (*shop.Client)(nil)

const bucket = "ui-bucket"

var partial = &drill.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true}

// fakeCart is a CartAPI whose behaviour is a function field.
type fakeCart struct {
	RemoveFn func(ctx context.Context, host, userUUID, unicornUUID string) error
	record   func(string)
}

func (c *fakeCart) RemoveFromCart(ctx context.Context, host, userUUID, unicornUUID string) error {
	c.record("RemoveFromCart " + unicornUUID)
	if c.RemoveFn != nil {
		return c.RemoveFn(ctx, host, userUUID, unicornUUID)
	}
	return nil
}

type fixture struct {
	h      *restore.Handler
	s3     *pabtest.Memory
	ledger *ledgertest.Store
	cart   *fakeCart
	sleeps []time.Duration
	clock  time.Time // Now advances it a second per call

	mu    sync.Mutex
	calls []string
}

func ticket(execution string, prior *drill.PublicAccessBlock) drill.Ticket {
	return ticketOf(ledgertest.ID(execution), prior)
}

func ticketOf(id drill.RunID, prior *drill.PublicAccessBlock) drill.Ticket {
	return ledgertest.WithID(drill.Ticket{
		Bucket: bucket, Region: "us-east-1",
		CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Prior:     prior,
		Seed:      &drill.SeededCart{APIHost: "https://api.example/Production", UserUUID: "user-1", Unicorns: []string{"u1", "u2"}},
		Status:    drill.TicketHeld,
	}, id)
}

// rin is restore's payload for execution, as the state machine sends it.
func rin(execution, reason string) drill.RestoreInput {
	return rinFor(ledgertest.ID(execution), reason)
}

func rinFor(id drill.RunID, reason string) drill.RestoreInput {
	return drill.RestoreInput{Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, Reason: reason}
}

func runKey(execution string) string { return drill.RunTicketKey(ledgertest.ID(execution)) }

// blockSentAt is when the fixture's block-bucket recorded its put: 30 s before the
// restore begins (12:05:00), so a block of the run can land until 12:05:40
// (restore.DefaultSettle after it).
var blockSentAt = time.Date(2025, 6, 1, 12, 4, 30, 0, time.UTC)

// newFixture is the state after block-bucket ran for run-a: lock and run ticket
// written, bucket fully blocked.
func newFixture(t *testing.T, prior *drill.PublicAccessBlock) *fixture {
	t.Helper()
	f := &fixture{
		s3:     pabtest.NewMemory(map[string]*drill.PublicAccessBlock{bucket: &drill.BlockAll}),
		ledger: ledgertest.New(),
		clock:  time.Date(2025, 6, 1, 12, 5, 0, 0, time.UTC),
	}
	f.cart = &fakeCart{record: f.record}
	f.s3.Record, f.ledger.Record = f.record, f.record
	f.ledger.PutTicket(drill.LockKey(bucket), ticket("run-a", prior))
	run := ticket("run-a", prior)
	sent := blockSentAt
	run.BlockSentAt = &sent
	f.ledger.PutTicket(runKey("run-a"), run)
	f.h = &restore.Handler{
		S3: func(region string) restore.PublicAccessAPI {
			if region != "us-east-1" {
				t.Errorf("S3 client for %s, want the ticket's region", region)
			}
			return f.s3
		},
		Ledger: f.ledger.Ledger(),
		Cart:   f.cart,
		Now:    func() time.Time { f.clock = f.clock.Add(time.Second); return f.clock },
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.sleeps = append(f.sleeps, d)
			return nil
		},
	}
	return f
}

func (f *fixture) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fixture) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fixture) mutations() []string {
	var out []string
	for _, c := range f.Calls() {
		if !strings.HasPrefix(c, "Get") {
			out = append(out, c)
		}
	}
	return out
}

// assertRestored checks the end state every successful restore must leave.
func (f *fixture) assertRestored(t *testing.T, execution string, prior *drill.PublicAccessBlock) {
	t.Helper()
	if got := f.s3.Config(bucket); !pab.Equal(got, prior) {
		t.Errorf("bucket config %s, want exactly the prior %s", pab.String(got), pab.String(prior))
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
		t.Errorf("lock still held by %s", lock.Execution)
	}
	run := f.ledger.Ticket(runKey(execution))
	if run == nil || run.Status != drill.TicketRestored || run.RestoredAt == nil || !pab.Equal(run.Prior, prior) {
		t.Errorf("run ticket = %+v, want restored with the prior", run)
	}
}

// assertSettling checks what the flow's restore leaves when a block of the run can
// still land (until blockSentAt + Settle): the bucket back at the prior, the run
// restored, and the lock kept, marked restored and settling until that moment, so no
// other drill can take the bucket before the last look.
func (f *fixture) assertSettling(t *testing.T, execution string, res drill.RestoreResult) {
	t.Helper()
	until := blockSentAt.Add(restore.DefaultSettle)
	if run := f.ledger.Ticket(runKey(execution)); run != nil && run.BlockSentAt == nil && run.RestoredAt != nil {
		until = run.RestoredAt.Add(restore.DefaultSettle) // a ticket without blockSentAt counts from the restore
	}
	if res.SettlingUntil == nil || !res.SettlingUntil.Equal(until) || res.LockReleasedAt != nil {
		t.Errorf("result settlingUntil %v, lockReleasedAt %v: want the lock kept until %v", res.SettlingUntil, res.LockReleasedAt, until)
	}
	lock := f.ledger.Ticket(drill.LockKey(bucket))
	if lock == nil || lock.Execution != execution || lock.Status != drill.TicketRestored || lock.SettlingUntil == nil ||
		!lock.SettlingUntil.Equal(until) || lock.RestoredAt == nil {
		t.Errorf("lock %+v: want %s's, restored, settling until %v", lock, execution, until)
	}
}

// release runs the flow's last look (the ReleaseLock state): it waits until no block
// of the run can land, looks, and releases the lock.
func (f *fixture) release(t *testing.T, execution string) drill.RestoreResult {
	t.Helper()
	res, err := f.h.Handle(context.Background(), rin(execution, drill.ReasonRelease))
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if res.LockReleasedAt == nil || res.SettlingUntil != nil || !res.MatchesPrior {
		t.Errorf("release result %+v: want the lock released after a look that found the prior", res)
	}
	return res
}

func TestRestorePutsBackExactly(t *testing.T) {
	tests := []struct {
		name      string
		prior     *drill.PublicAccessBlock
		setup     func(f *fixture)
		wantMuts  []string
		wantSleep int
	}{
		{
			name: "partial prior is put exactly", prior: partial,
			wantMuts: []string{"PutObject " + runKey("run-a"), "PutPublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
		},
		{
			name: "all-false prior is put, not deleted", prior: &drill.PublicAccessBlock{},
			wantMuts: []string{"PutObject " + runKey("run-a"), "PutPublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
		},
		{
			name: "no prior config is deleted", prior: nil,
			wantMuts: []string{"PutObject " + runKey("run-a"), "DeletePublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
		},
		{
			name: "delete of an already absent config is fine", prior: nil,
			setup: func(f *fixture) {
				f.s3.DeleteErr = func(string) error {
					return pabtest.APIError("DeletePublicAccessBlock", 404, pab.CodeNoConfiguration)
				}
				f.s3.Configs = map[string]*drill.PublicAccessBlock{}
				reads := 0
				f.s3.Read = func(_ string, stored *drill.PublicAccessBlock) *drill.PublicAccessBlock {
					if reads++; reads == 1 { // the check before the write still saw the block
						return &drill.BlockAll
					}
					return stored
				}
			},
			wantMuts: []string{"PutObject " + runKey("run-a"), "DeletePublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
		},
		{
			name: "read-back lags (eventual consistency), then matches", prior: partial,
			setup: func(f *fixture) {
				reads := 0
				f.s3.Read = func(_ string, stored *drill.PublicAccessBlock) *drill.PublicAccessBlock {
					reads++
					if reads <= 3 { // the check before the write, then two stale read-backs
						return &drill.BlockAll
					}
					return stored
				}
			},
			wantMuts: []string{"PutObject " + runKey("run-a"), "PutPublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
			wantSleep: 2,
		},
		{
			name: "throttled read-back is retried", prior: partial,
			setup: func(f *fixture) {
				reads := 0
				f.s3.GetErr = func(string) error {
					if reads++; reads == 2 { // the first read-back after the write
						return pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown")
					}
					return nil
				}
			},
			wantMuts: []string{"PutObject " + runKey("run-a"), "PutPublicAccessBlock ui-bucket", "RemoveFromCart u1", "RemoveFromCart u2",
				"PutObject " + runKey("run-a"), "PutObject locks/ui-bucket.json"},
			wantSleep: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.prior)
			if tc.setup != nil {
				tc.setup(f)
			}
			res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if got := f.mutations(); !reflect.DeepEqual(got, tc.wantMuts) {
				t.Errorf("mutations in order:\n got %q\nwant %q", got, tc.wantMuts)
			}
			if len(f.sleeps) != tc.wantSleep {
				t.Errorf("slept %v, want %d sleeps", f.sleeps, tc.wantSleep)
			}
			f.assertSettling(t, "run-a", res)
			f.release(t, "run-a")
			f.assertRestored(t, "run-a", tc.prior)
			if !res.MatchesPrior || !pab.Equal(res.Prior, tc.prior) || !pab.Equal(res.ReadBack, tc.prior) ||
				res.RestoredAt == nil || res.NothingToRestore || res.AlreadyRestored || res.Skipped != "" ||
				!res.CartCleared || res.CartError != "" || res.Bucket != bucket || res.Execution != "run-a" {
				t.Errorf("result = %+v", res)
			}
			if run := f.ledger.Ticket(runKey("run-a")); !run.RestoredAt.Equal(*res.RestoredAt) {
				t.Errorf("ticket restoredAt %v, result %v", run.RestoredAt, res.RestoredAt)
			}
			if res.StartedAt.IsZero() || res.FinishedAt.Before(*res.RestoredAt) {
				t.Errorf("timing %+v", res.Timing)
			}
		})
	}
}

func TestRestoreMismatch(t *testing.T) {
	f := newFixture(t, partial)
	f.s3.Read = func(string, *drill.PublicAccessBlock) *drill.PublicAccessBlock { return &drill.BlockAll }
	_, err := f.h.Handle(context.Background(), rin("run-a", ""))
	var mm *drill.RestoreMismatch
	if !errors.As(err, &mm) || drill.ErrorName(drill.Classify(err)) != "RestoreMismatch" {
		t.Fatalf("err = %v, want RestoreMismatch", err)
	}
	if mm.Bucket != bucket || mm.Want != pab.String(partial) || mm.Got != pab.String(&drill.BlockAll) {
		t.Errorf("mismatch = %+v", mm)
	}
	if len(f.sleeps) != len(restore.VerifyDelays)-1 {
		t.Errorf("slept %v, want one sleep per retry", f.sleeps)
	}
	// Nothing is marked done: the ASL retries, the lock stays for the safety net.
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil {
		t.Error("lock released after a mismatch")
	}
	if run := f.ledger.Ticket(runKey("run-a")); run.Status != drill.TicketRestoring {
		t.Errorf("run ticket %s after a mismatch, want restoring (a retry puts back again)", run.Status)
	}
	// S3 catches up: the retry succeeds.
	f.s3.Read = nil
	if _, err := f.h.Handle(context.Background(), rin("run-a", "")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	f.assertRestored(t, "run-a", partial)
}

func TestRestoreCartFailureDoesNotFail(t *testing.T) {
	f := newFixture(t, partial)
	f.cart.RemoveFn = func(_ context.Context, host, user, unicorn string) error {
		if host != "https://api.example/Production" || user != "user-1" {
			t.Errorf("RemoveFromCart(%s, %s)", host, user)
		}
		if unicorn == "u2" {
			return &shop.StatusError{Status: 502}
		}
		return nil
	}
	res, err := f.h.Handle(context.Background(), rin("run-a", ""))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if res.CartCleared || !strings.Contains(res.CartError, "u2") || !res.MatchesPrior {
		t.Errorf("result = %+v, want cart error naming u2", res)
	}
	f.assertRestored(t, "run-a", partial)
	if last := f.Calls()[len(f.Calls())-1]; last != "DeleteObject locks/ui-bucket.json" {
		t.Errorf("last call %q, want the lock release", last)
	}
}

func TestRestoreIsIdempotent(t *testing.T) {
	f := newFixture(t, partial)
	in := rin("run-a", "")
	if _, err := f.h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	before := len(f.mutations())
	for i := range 3 {
		res, err := f.h.Handle(context.Background(), in)
		if err != nil {
			t.Fatalf("run %d: %v", i+2, err)
		}
		if !res.AlreadyRestored || !res.MatchesPrior || !pab.Equal(res.ReadBack, partial) || res.RestoredAt == nil {
			t.Errorf("run %d = %+v, want AlreadyRestored and matching", i+2, res)
		}
	}
	if muts := f.mutations(); len(muts) != before {
		t.Errorf("re-runs changed things: %q", muts[before:])
	}
	f.assertRestored(t, "run-a", partial)

	// A block that landed after the restore while one of the run's could still land
	// (until blockSentAt + DefaultSettle) is that late block, and is undone.
	f.s3.Configs[bucket] = &drill.BlockAll
	res, err := f.h.Handle(context.Background(), in)
	if err != nil || !res.AlreadyRestored || !res.MatchesPrior || res.ChangedAfterRestore != "" {
		t.Errorf("after a late block = %+v, %v; want AlreadyRestored and matching again", res, err)
	}
	f.assertRestored(t, "run-a", partial)

	// Any other change since is someone else's: reported, never overwritten, and not an
	// error (the drill's restore was done and verified).
	other := &drill.PublicAccessBlock{IgnorePublicAcls: true}
	f.s3.Configs[bucket] = other
	res, err = f.h.Handle(context.Background(), in)
	if err != nil || res.MatchesPrior || !pab.Equal(res.ReadBack, other) || !strings.Contains(res.ChangedAfterRestore, "someone else") {
		t.Errorf("after an outside change: %+v, %v; want it reported as changed after the restore", res, err)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, other) {
		t.Errorf("an outside change was overwritten: %s", pab.String(got))
	}
}

// C1: after a drill, a person or a security tool (an AWS Config remediation) blocks
// all public access on purpose. A later restore of the run (the safety net's second
// pass, a duplicate EventBridge event hours later, the sweeper, an operator) must not
// undo it: once no block of the run can land any more, a restored run is final.
func TestDeliberateBlockAfterTheRestoreIsKept(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		later  time.Duration // from the flow's restore to the later one
	}{
		{name: "the safety net, after the run's last block could land", reason: drill.ReasonSafetyNet, later: 2 * time.Minute},
		{name: "a duplicate event hours later", reason: drill.ReasonSafetyNet, later: 5 * time.Hour},
		{name: "an operator's restore", reason: drill.ReasonOperator, later: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil) // prior: no configuration at all
			f.h.Settle = restore.DefaultSettle
			if _, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonFlow)); err != nil {
				t.Fatal(err)
			}
			f.release(t, "run-a")
			f.assertRestored(t, "run-a", nil)
			f.sleeps = nil
			f.clock = f.clock.Add(tc.later)
			f.s3.Configs[bucket] = &drill.BlockAll // the tool sets all four flags
			before := len(f.mutations())
			res, err := f.h.Handle(context.Background(), rin("run-a", tc.reason))
			if err != nil {
				t.Fatalf("later restore: %v", err)
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
				t.Errorf("bucket %s: the deliberate block was undone", pab.String(got))
			}
			// The restore's own record next to the report is the one write it may make.
			muts := slices.DeleteFunc(f.mutations()[before:], func(m string) bool { return strings.Contains(m, "/restore-") })
			if len(muts) != 0 {
				t.Errorf("the later restore wrote %q", muts)
			}
			if res.MatchesPrior || !res.AlreadyRestored || !pab.Equal(res.ReadBack, &drill.BlockAll) || res.ChangedAfterRestore == "" {
				t.Errorf("result %+v: want what the bucket holds now, reported as changed after the restore", res)
			}
			if len(f.sleeps) != 0 {
				t.Errorf("slept %v: nothing of the run can land any more, no second look is needed", f.sleeps)
			}
		})
	}
}

// A crash or error at any call, followed by a re-run, ends in the same state.
func TestRestoreCrashAtEveryStepThenRerun(t *testing.T) {
	for _, prior := range []*drill.PublicAccessBlock{partial, nil} {
		for k := 1; ; k++ {
			f := newFixture(t, prior)
			n := 0
			boom := errors.New("crash")
			fail := func() error {
				if n++; n == k {
					return boom
				}
				return nil
			}
			f.s3.GetErr = func(string) error { return fail() }
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error { return fail() }
			f.s3.DeleteErr = func(string) error { return fail() }
			f.ledger.GetErr = func(string) error { return fail() }
			f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return fail() }
			f.ledger.DeleteErr = func(string, *s3.DeleteObjectInput) error { return fail() }
			_, err := f.h.Handle(context.Background(), rin("run-a", ""))
			if n < k { // every call passed: all steps covered
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			if err == nil {
				t.Fatalf("prior %s, failure at call %d: no error", pab.String(prior), k)
			}
			f.s3.GetErr, f.s3.PutErr, f.s3.DeleteErr = nil, nil, nil
			f.ledger.GetErr, f.ledger.PutErr, f.ledger.DeleteErr = nil, nil, nil
			res, err := f.h.Handle(context.Background(), rin("run-a", ""))
			if err != nil {
				t.Fatalf("prior %s, failure at call %d, re-run: %v", pab.String(prior), k, err)
			}
			if !res.MatchesPrior || res.NothingToRestore {
				t.Errorf("prior %s, failure at call %d: re-run result %+v", pab.String(prior), k, res)
			}
			t.Run(fmt.Sprintf("prior %s fails at call %d", pab.String(prior), k), func(t *testing.T) {
				f.assertRestored(t, "run-a", prior)
			})
		}
	}
}

func TestRestoreByRunTicketStatus(t *testing.T) {
	restoredAt := time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC)
	withStatus := func(status string) drill.Ticket {
		tk := ticket("run-a", partial)
		tk.Status = status
		tk.BlockSentAt = &blockSentAt // a block of the run can land until 12:05:40
		if status == drill.TicketRestored {
			tk.RestoredAt = &restoredAt
		}
		return tk
	}
	runStatus := func(f *fixture) string {
		if tk := f.ledger.Ticket(runKey("run-a")); tk != nil {
			return tk.Status
		}
		return "none"
	}
	tests := []struct {
		name   string
		setup  func(f *fixture)
		in     drill.RestoreInput
		check  func(t *testing.T, f *fixture, res drill.RestoreResult)
		bucket *drill.PublicAccessBlock // expected bucket config afterwards
	}{
		{
			name: "no ticket: marks the run abandoned so a late block-bucket cannot start",
			setup: func(f *fixture) {
				f.ledger.Objects = map[string]ledgertest.Object{}
				f.s3.Configs[bucket] = partial
			},
			in: rin("run-a", drill.ReasonFailure),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.NothingToRestore || !res.MatchesPrior {
					t.Errorf("result = %+v", res)
				}
				if got := runStatus(f); got != drill.TicketAbandoned {
					t.Errorf("run ticket status %s, want abandoned", got)
				}
			},
			bucket: partial,
		},
		{
			name: "claimed, bucket untouched: marked abandoned, our lock released",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketClaimed))
				f.s3.Configs[bucket] = partial
			},
			in: rin("run-a", ""),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.NothingToRestore || !res.MatchesPrior {
					t.Errorf("result = %+v", res)
				}
				if got := runStatus(f); got != drill.TicketAbandoned {
					t.Errorf("run ticket status %s, want abandoned", got)
				}
				if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
					t.Errorf("our lock left behind: %+v", lock)
				}
			},
			bucket: partial,
		},
		{
			name: "abandoned: nothing to restore",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketAbandoned))
				delete(f.ledger.Objects, drill.LockKey(bucket))
				f.s3.Configs[bucket] = partial
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.NothingToRestore || !res.MatchesPrior {
					t.Errorf("result = %+v", res)
				}
			},
			bucket: partial,
		},
		{
			name: "abandoned, but the losing block-bucket took the lock: the lock is released",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketAbandoned))
				f.s3.Configs[bucket] = partial
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.NothingToRestore {
					t.Errorf("result = %+v", res)
				}
				if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
					t.Errorf("lock left behind: %+v", lock)
				}
			},
			bucket: partial,
		},
		{
			name:  "restoring (a restore crashed midway): put back again and finished",
			setup: func(f *fixture) { f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestoring)) },
			in:    rin("run-a", ""),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				f.assertRestored(t, "run-a", partial)
			},
			bucket: partial,
		},
		{
			name: "our ticket held but another execution holds the lock: ours is the block on the bucket, so it is undone; the foreign lock is untouched",
			setup: func(f *fixture) {
				f.ledger.PutTicket(drill.LockKey(bucket), ticket("run-b", nil))
			},
			in: rin("run-a", ""),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.MatchesPrior || res.RestoredAt == nil {
					t.Errorf("result = %+v", res)
				}
				if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Execution != "run-b" {
					t.Errorf("foreign lock touched: %+v", lock)
				}
			},
			bucket: partial,
		},
		{
			name: "restored earlier, now another drill holds the lock: already restored, untouched",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestored))
				f.ledger.PutTicket(drill.LockKey(bucket), ticket("run-b", partial))
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.AlreadyRestored || !res.MatchesPrior || res.RestoredAt == nil || res.Skipped == "" {
					t.Errorf("result = %+v", res)
				}
			},
			bucket: &drill.BlockAll,
		},
		{
			name:  "restored, then a late block landed and the lock is ours: the block is undone",
			setup: func(f *fixture) { f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestored)) },
			in:    rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				f.assertRestored(t, "run-a", partial)
				if !res.AlreadyRestored || !res.MatchesPrior {
					t.Errorf("result = %+v", res)
				}
			},
			bucket: partial,
		},
		{
			name: "restored, then a late block landed and no lock: the block is undone",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestored))
				delete(f.ledger.Objects, drill.LockKey(bucket))
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				f.assertRestored(t, "run-a", partial)
			},
			bucket: partial,
		},
		{
			name: "restored and released, a full block found once no block of the run can land: someone else's, left and reported",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestored))
				delete(f.ledger.Objects, drill.LockKey(bucket))
				f.clock = blockSentAt.Add(restore.DefaultSettle)
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if !res.AlreadyRestored || res.MatchesPrior || !pab.Equal(res.ReadBack, &drill.BlockAll) || res.ChangedAfterRestore == "" {
					t.Errorf("result = %+v", res)
				}
				if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
					t.Errorf("the restored run's lock left behind: %+v", lock)
				}
				for _, c := range f.mutations() {
					if strings.Contains(c, "PublicAccessBlock") {
						t.Errorf("wrote the bucket: %s", c)
					}
				}
			},
			bucket: &drill.BlockAll,
		},
		{
			name: "restored by a version that did not record blockSentAt, an hour ago: a full block found now is final",
			setup: func(f *fixture) {
				tk := withStatus(drill.TicketRestored)
				tk.BlockSentAt = nil
				f.ledger.PutTicket(runKey("run-a"), tk)
				delete(f.ledger.Objects, drill.LockKey(bucket))
				f.clock = restoredAt.Add(time.Hour)
			},
			in: rin("run-a", drill.ReasonSweeper),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if res.MatchesPrior || res.ChangedAfterRestore == "" {
					t.Errorf("result = %+v", res)
				}
			},
			bucket: &drill.BlockAll,
		},
		{
			name: "restored, then someone else's configuration within the window: left and reported",
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), withStatus(drill.TicketRestored))
				f.s3.Configs[bucket] = &drill.PublicAccessBlock{IgnorePublicAcls: true}
			},
			in: rin("run-a", drill.ReasonSafetyNet),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				if res.MatchesPrior || res.ChangedAfterRestore == "" {
					t.Errorf("result = %+v", res)
				}
			},
			bucket: &drill.PublicAccessBlock{IgnorePublicAcls: true},
		},
		{
			name: "run ticket held, lock gone: restores without releasing anyone's lock",
			setup: func(f *fixture) {
				delete(f.ledger.Objects, drill.LockKey(bucket))
			},
			in: rin("run-a", ""),
			check: func(t *testing.T, f *fixture, res drill.RestoreResult) {
				f.assertRestored(t, "run-a", partial)
				if slices.Contains(f.Calls(), "DeleteObject locks/ui-bucket.json") {
					t.Error("released a lock it did not hold")
				}
			},
			bucket: partial,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			tc.setup(f)
			res, err := f.h.Handle(context.Background(), tc.in)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			tc.check(t, f, res)
			if got := f.s3.Config(bucket); !pab.Equal(got, tc.bucket) {
				t.Errorf("bucket config %s, want %s", pab.String(got), pab.String(tc.bucket))
			}
			if res.Execution != "run-a" {
				t.Errorf("result execution %q", res.Execution)
			}
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        drill.RestoreInput
		setup     func(f *fixture)
		wantType  string
		zeroCalls bool
	}{
		{name: "missing execution", in: drill.RestoreInput{}, wantType: "InvalidInput", zeroCalls: true},
		{name: "missing start time: the run cannot be told from another of the same name", in: drill.RestoreInput{Execution: "run-a", ExecutionArn: ledgertest.ID("run-a").ExecutionArn},
			wantType: "InvalidInput", zeroCalls: true},
		{
			name: "throttled put", in: rin("run-a", ""),
			setup: func(f *fixture) {
				f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
					return pabtest.APIError("PutPublicAccessBlock", 503, "SlowDown")
				}
			},
			wantType: "Transient",
		},
		{
			name: "ledger unreachable", in: rin("run-a", ""),
			setup: func(f *fixture) {
				f.ledger.GetErr = func(string) error { return pabtest.ConnRefused("GetObject") }
			},
			wantType: "Transient",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := f.h.Handle(context.Background(), tc.in)
			if got := drill.ErrorName(drill.Classify(err)); err == nil || got != tc.wantType {
				t.Fatalf("err = %v (%s), want %s", err, got, tc.wantType)
			}
			if tc.zeroCalls && len(f.Calls()) != 0 {
				t.Errorf("calls %q", f.Calls())
			}
			if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil {
				t.Error("lock released after an error")
			}
		})
	}
}

// The safety net fires when an execution is stopped, which does not stop a
// block-bucket already running: it restores, waits until the run's last block could
// have landed (blockSentAt + Settle), and makes sure again.
func TestSafetyNetUndoesABlockThatLandsWhileItSettles(t *testing.T) {
	f := newFixture(t, partial)
	f.settleSleep(func(time.Duration) error {
		// The late block-bucket's put lands while the safety net waits (its own check
		// after the put would undo it too; this proves the net alone does).
		f.s3.Configs[bucket] = &drill.BlockAll
		return nil
	})
	res, err := f.h.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.sleeps) == 0 || !f.clock.After(blockSentAt.Add(restore.DefaultSettle)) {
		t.Errorf("sleeps %v, clock %v: the safety net did not wait for the run's last block", f.sleeps, f.clock)
	}
	f.assertRestored(t, "run-a", partial)
	if !res.MatchesPrior || res.RestoredAt == nil || res.ChangedAfterRestore != "" {
		t.Errorf("result %+v", res)
	}
}

// The flow's restore run again while its lock settles (a retried Task, a duplicate
// invocation) looks, finds the prior and the lock already marked settling until the
// same moment, and writes nothing: the lock stays as it was, settling.
func TestFlowRestoreRerunWhileSettlingWritesNothing(t *testing.T) {
	f := newFixture(t, partial)
	in := rin("run-a", drill.ReasonFlow)
	res, err := f.h.Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	f.assertSettling(t, "run-a", res)
	lockBefore := f.ledger.Objects[drill.LockKey(bucket)]
	before := len(f.mutations())
	res, err = f.h.Handle(context.Background(), in)
	if err != nil || !res.AlreadyRestored || !res.MatchesPrior {
		t.Fatalf("re-run: %+v, %v", res, err)
	}
	f.assertSettling(t, "run-a", res)
	if muts := f.mutations(); len(muts) != before {
		t.Errorf("the re-run wrote %q", muts[before:])
	}
	if lock := f.ledger.Objects[drill.LockKey(bucket)]; lock.ETag != lockBefore.ETag {
		t.Errorf("the lock was rewritten: %s, was %s", lock.ETag, lockBefore.ETag)
	}
}
