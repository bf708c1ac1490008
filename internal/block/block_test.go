package block_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

const bucket = "ui-bucket"

var config = json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket","primaryRegion":"us-east-1","secondaryRegion":"us-west-1"}`)

var partial = &drill.PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}

var seed = &drill.SeedResult{
	User: drill.User{UUID: "user-1", Email: "u@failover-drill.example"}, Cart: []string{"u1", "u2"},
	APIHost: "https://api.example/Production",
}

// fixture is a handler over in-memory fakes that share one call log.
type fixture struct {
	h       *block.Handler
	s3      *pabtest.Memory
	ledger  *ledgertest.Store
	regions []string
	clock   time.Time

	mu    sync.Mutex
	calls []string
}

func newFixture(t *testing.T, prior *drill.PublicAccessBlock) *fixture {
	t.Helper()
	f := &fixture{
		s3:     pabtest.NewMemory(map[string]*drill.PublicAccessBlock{bucket: prior}),
		ledger: ledgertest.New(),
		clock:  time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
	if prior == nil {
		f.s3 = pabtest.NewMemory(nil)
	}
	f.s3.Record = f.record
	f.ledger.Record = f.record
	f.h = &block.Handler{
		S3: func(region string) block.PublicAccessAPI {
			f.regions = append(f.regions, region)
			return f.s3
		},
		Ledger: f.ledger.Ledger(),
		Now: func() time.Time {
			f.clock = f.clock.Add(time.Second)
			return f.clock
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

func input(execution string) drill.BlockInput {
	return inputFor(ledgertest.ID(execution))
}

func inputFor(id drill.RunID) drill.BlockInput {
	return drill.BlockInput{Config: config, Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, Seed: seed}
}

func runKey(execution string) string { return drill.RunTicketKey(ledgertest.ID(execution)) }

// setStatus rewrites the run ticket's status, as a concurrent restore would.
func (f *fixture) setStatus(execution, status string) {
	tk := f.ledger.Ticket(runKey(execution))
	if tk == nil {
		t := ledgertest.WithID(drill.Ticket{}, ledgertest.ID(execution))
		tk = &t
	}
	tk.Status = status
	f.ledger.PutTicket(runKey(execution), *tk)
}

// lockOf is a lock as block-bucket writes it for id.
func lockOf(id drill.RunID, status string, prior *drill.PublicAccessBlock) drill.Ticket {
	return ledgertest.WithID(drill.Ticket{Bucket: bucket, Region: "us-east-1", Status: status, Prior: prior}, id)
}

func TestBlockClaimsLocksRecordsThenBlocks(t *testing.T) {
	tests := []struct {
		name  string
		prior *drill.PublicAccessBlock
	}{
		{name: "partial prior config is stored exactly", prior: partial},
		{name: "all false is a config, not none", prior: &drill.PublicAccessBlock{}},
		{name: "no config is prior nil", prior: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.prior)
			var putAt time.Time
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error { putAt = f.clock; return nil }

			res, err := f.h.Handle(context.Background(), input("run-a"))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			// The bucket is read only under the lock, and changed only after the ticket
			// that undoes the change is stored; the ticket is read again after the put.
			ticketKey := runKey("run-a")
			wantCalls := []string{
				"PutObject " + ticketKey,         // claim (If-None-Match: *)
				"PutObject locks/ui-bucket.json", // lock (If-None-Match: *)
				"GetPublicAccessBlock ui-bucket", // prior, under the lock
				"PutObject locks/ui-bucket.json", // held + prior in the lock (If-Match), which never expires
				"PutObject " + ticketKey,         // held + prior in the run ticket (If-Match: the claim)
				"PutPublicAccessBlock ui-bucket", // the fault
				"GetObject " + ticketKey,         // still held? (else undo)
			}
			if got := f.Calls(); !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", got, wantCalls)
			}
			if !reflect.DeepEqual(f.regions, []string{"us-east-1"}) {
				t.Errorf("S3 clients for regions %v, want the primary region only", f.regions)
			}
			if ticketKey != "runs/run-a/ticket-20250601T120000.123Z.json" {
				t.Errorf("run ticket key %s, want it to name the execution and its start", ticketKey)
			}
			run := f.ledger.Ticket(ticketKey)
			if run == nil || !pab.Equal(run.Prior, tc.prior) {
				t.Fatalf("run ticket %+v, want prior %s", run, pab.String(tc.prior))
			}
			wantSeed := &drill.SeededCart{APIHost: seed.APIHost, UserUUID: "user-1", Unicorns: []string{"u1", "u2"}}
			if run.Status != drill.TicketHeld || run.Region != "us-east-1" || run.Execution != "run-a" || !reflect.DeepEqual(run.Seed, wantSeed) {
				t.Errorf("ticket = %+v", run)
			}
			// The lock alone says what to put back, and whose it is.
			lock := f.ledger.Ticket(drill.LockKey(bucket))
			if lock == nil || !lock.ID().Same(ledgertest.ID("run-a")) || lock.Status != drill.TicketHeld ||
				!pab.Equal(lock.Prior, tc.prior) || lock.Region != "us-east-1" || !reflect.DeepEqual(lock.Seed, wantSeed) {
				t.Errorf("lock = %+v, want held by run-a with prior %s and the seed", lock, pab.String(tc.prior))
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
				t.Errorf("bucket config %s, want all blocked", pab.String(got))
			}
			if !pab.Equal(res.Prior, tc.prior) || res.Reinvoked || res.Bucket != bucket || res.Region != "us-east-1" {
				t.Errorf("result = %+v", res)
			}
			if !res.BlockedAt.After(putAt) || res.FinishedAt.Before(res.BlockedAt) || !res.StartedAt.Before(res.BlockedAt) {
				t.Errorf("blockedAt %v must follow the put at %v; timing %+v", res.BlockedAt, putAt, res.Timing)
			}
			// The block may take effect as soon as the put is sent: blockSentAt is stamped
			// before it goes out, and the run ticket recorded a moment no later, before it.
			if res.BlockSentAt.After(putAt) || !res.BlockSentAt.Before(res.BlockedAt) || res.BlockSentAt.Before(res.StartedAt) {
				t.Errorf("blockSentAt %v must precede the put at %v and blockedAt %v", res.BlockSentAt, putAt, res.BlockedAt)
			}
			if run.BlockSentAt == nil || run.BlockSentAt.After(res.BlockSentAt) {
				t.Errorf("run ticket blockSentAt %v, want recorded no later than the put was sent (%v)", run.BlockSentAt, res.BlockSentAt)
			}
		})
	}
}

// Every put is preceded by a conditional write of the run ticket, held, with the
// moment it is about to be sent: a re-invocation records it again, never earlier.
func TestEveryPutIsPrecededByItsRecord(t *testing.T) {
	f := newFixture(t, partial)
	if _, err := f.h.Handle(context.Background(), input("run-a")); err != nil {
		t.Fatal(err)
	}
	first := *f.ledger.Ticket(runKey("run-a")).BlockSentAt
	f.calls = nil
	var recordedAtPut *time.Time
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		recordedAtPut = f.ledger.Ticket(runKey("run-a")).BlockSentAt
		return nil
	}
	res, err := f.h.Handle(context.Background(), input("run-a"))
	if err != nil || !res.Reinvoked {
		t.Fatalf("re-invocation: %+v, %v", res, err)
	}
	calls := f.Calls()
	put := slices.Index(calls, "PutPublicAccessBlock ui-bucket")
	if put < 1 || calls[put-1] != "PutObject "+runKey("run-a") {
		t.Errorf("calls %q: the put must follow the run ticket's write", calls)
	}
	if recordedAtPut == nil || !recordedAtPut.After(first) || recordedAtPut.After(res.BlockSentAt) {
		t.Errorf("at the re-invocation's put the ticket says %v (first %v, sent %v)", recordedAtPut, first, res.BlockSentAt)
	}
	// A clock behind the recorded moment never moves it earlier.
	f.clock = first.Add(-time.Hour)
	if _, err := f.h.Handle(context.Background(), input("run-a")); err != nil {
		t.Fatal(err)
	}
	if got := *f.ledger.Ticket(runKey("run-a")).BlockSentAt; !got.Equal(*recordedAtPut) {
		t.Errorf("blockSentAt %v after a re-invocation on a slow clock, want it kept at %v", got, *recordedAtPut)
	}
}

// Restore found the bucket changed during the drill (someone else's configuration):
// a block-bucket still running never unblocks it, never releases the lock and never
// records a prior again; the lock stays for a person.
func TestChangedRunIsLeftToAPerson(t *testing.T) {
	t.Run("restore marks the run changed while the block is in flight", func(t *testing.T) {
		f := newFixture(t, partial)
		f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
			f.setStatus("run-a", drill.TicketChanged)
			lock := f.ledger.Ticket(drill.LockKey(bucket))
			lock.Status = drill.TicketChanged
			f.ledger.PutTicket(drill.LockKey(bucket), *lock)
			return nil
		}
		_, err := f.h.Handle(context.Background(), input("run-a"))
		var closed *drill.RunClosed
		if !errors.As(err, &closed) || closed.Status != drill.TicketChanged {
			t.Fatalf("err = %v, want RunClosed changed", err)
		}
		if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
			t.Errorf("bucket %s: a changed run's bucket was written after its put", pab.String(got))
		}
		if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Status != drill.TicketChanged {
			t.Errorf("lock %+v, want kept, changed", lock)
		}
	})
	t.Run("a re-invocation finds the run changed", func(t *testing.T) {
		f := newFixture(t, partial)
		f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketChanged, partial))
		f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-a"), drill.TicketChanged, partial))
		human := &drill.PublicAccessBlock{IgnorePublicAcls: true}
		f.s3.Configs[bucket] = human
		_, err := f.h.Handle(context.Background(), input("run-a"))
		var closed *drill.RunClosed
		if !errors.As(err, &closed) || closed.Status != drill.TicketChanged {
			t.Fatalf("err = %v, want RunClosed changed", err)
		}
		if got := f.s3.Config(bucket); !pab.Equal(got, human) {
			t.Errorf("bucket %s", pab.String(got))
		}
		if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Status != drill.TicketChanged {
			t.Errorf("lock %+v, want kept", lock)
		}
	})
	t.Run("the run ticket expired; the lock still says changed", func(t *testing.T) {
		f := newFixture(t, partial)
		f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-a"), drill.TicketChanged, partial))
		_, err := f.h.Handle(context.Background(), input("run-a"))
		var closed *drill.RunClosed
		if !errors.As(err, &closed) || closed.Status != drill.TicketChanged {
			t.Fatalf("err = %v, want RunClosed changed", err)
		}
		if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Status != drill.TicketChanged || !pab.Equal(lock.Prior, partial) {
			t.Errorf("lock %+v, want kept as it was", lock)
		}
		if got := f.s3.Config(bucket); !pab.Equal(got, partial) {
			t.Errorf("bucket %s", pab.String(got))
		}
	})
}

func TestBlockReinvokedKeepsOriginalPrior(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
	}{
		{name: "after a complete first run", setup: func(t *testing.T, f *fixture) {
			if _, err := f.h.Handle(context.Background(), input("run-a")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "after a crash between claim and lock", setup: func(t *testing.T, f *fixture) {
			f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketClaimed, nil))
		}},
		{name: "after a crash between the prior in the lock and in the run ticket: the lock's prior, not a new read", setup: func(t *testing.T, f *fixture) {
			f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketClaimed, nil))
			f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-a"), drill.TicketHeld, partial))
			f.s3.Configs[bucket] = &drill.PublicAccessBlock{IgnorePublicAcls: true}
		}},
		{name: "after the block was put but the result was lost", setup: func(t *testing.T, f *fixture) {
			f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketHeld, partial))
			f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-a"), drill.TicketHeld, partial))
			f.s3.Configs[bucket] = &drill.BlockAll
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			tc.setup(t, f)
			res, err := f.h.Handle(context.Background(), input("run-a"))
			if err != nil {
				t.Fatalf("re-invocation: %v", err)
			}
			if !res.Reinvoked || !pab.Equal(res.Prior, partial) {
				t.Errorf("result prior %s reinvoked %v, want the original %s", pab.String(res.Prior), res.Reinvoked, pab.String(partial))
			}
			if got := f.ledger.Ticket(runKey("run-a")); got == nil || got.Status != drill.TicketHeld || !pab.Equal(got.Prior, partial) {
				t.Errorf("run ticket = %+v, want held with prior %s", got, pab.String(partial))
			}
			if got := f.ledger.Ticket(drill.LockKey(bucket)); got == nil || got.Status != drill.TicketHeld || !pab.Equal(got.Prior, partial) {
				t.Errorf("lock = %+v, want held with prior %s", got, pab.String(partial))
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
				t.Errorf("bucket config %s, want all blocked", pab.String(got))
			}
		})
	}
}

func TestBlockRefuses(t *testing.T) {
	tests := []struct {
		name     string
		in       drill.BlockInput
		setup    func(f *fixture)
		wantType string   // drill.ErrorName(drill.Classify(err))
		wantText []string // substrings of the error
		noCalls  bool     // not even the ledger was touched
		lockOf   string   // expected lock holder afterwards, "" for none
	}{
		{
			name: "lock held by another execution", in: input("run-b"),
			setup: func(f *fixture) {
				f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-a"), drill.TicketHeld, partial))
			},
			wantType: "LockHeld", wantText: []string{"run-a"}, lockOf: "run-a",
		},
		{
			name: "lock held by an older run of the same name (a reused name after a stuck run)", in: input("run-a"),
			setup: func(f *fixture) {
				old := ledgertest.IDAt("run-a", ledgertest.Start.AddDate(-1, 0, 0))
				f.ledger.PutTicket(drill.LockKey(bucket), lockOf(old, drill.TicketHeld, &drill.PublicAccessBlock{}))
				f.ledger.PutTicket(drill.RunTicketKey(old), lockOf(old, drill.TicketHeld, &drill.PublicAccessBlock{}))
			},
			wantType: "LockHeld", wantText: []string{"run-a (started 2024-06-01T12:00:00.123Z)"}, lockOf: "run-a",
		},
		{
			name: "restore already began (restoring)", in: input("run-a"),
			setup:    func(f *fixture) { f.setStatus("run-a", drill.TicketRestoring) },
			wantType: "RunClosed", wantText: []string{"restoring"},
		},
		{
			name: "execution already restored", in: input("run-a"),
			setup:    func(f *fixture) { f.setStatus("run-a", drill.TicketRestored) },
			wantType: "RunClosed", wantText: []string{"restored"},
		},
		{
			name: "restore came first (abandoned)", in: input("run-a"),
			setup:    func(f *fixture) { f.setStatus("run-a", drill.TicketAbandoned) },
			wantType: "RunClosed", wantText: []string{"abandoned"},
		},
		{
			name: "bucket already blocks everything: not recorded as the prior, the lock given back", in: input("run-a"),
			setup:    func(f *fixture) { f.s3.Configs[bucket] = &drill.BlockAll },
			wantType: "SteadyStateFailed", wantText: []string{"already blocks all public access"},
		},
		{
			name: "invalid input", in: drill.BlockInput{Config: json.RawMessage(`{"items":0}`)},
			wantType: "InvalidInput", wantText: []string{"execution: missing", "executionArn: missing", "startTime: missing", "items:", "distribution: missing"}, noCalls: true,
		},
		{
			name: "an ARN that is not the execution's", in: func() drill.BlockInput {
				in := input("run-a")
				in.ExecutionArn = ledgertest.ID("run-b").ExecutionArn
				return in
			}(),
			wantType: "InvalidInput", wantText: []string{"executionArn:", "not the ARN of execution \"run-a\""}, noCalls: true,
		},
		{
			name: "an ARN that is not an execution's", in: func() drill.BlockInput {
				in := input("run-a")
				in.ExecutionArn = "arn:aws:states:us-east-1:123456789012:stateMachine:run-a"
				return in
			}(),
			wantType: "InvalidInput", wantText: []string{"executionArn:"}, noCalls: true,
		},
		{
			name: "reading the bucket throttled", in: input("run-a"),
			setup: func(f *fixture) {
				f.s3.GetErr = func(string) error { return pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown") }
			},
			wantType: "Transient", wantText: []string{"SlowDown"}, lockOf: "run-a",
		},
		{
			name: "ledger unreachable", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.ConnRefused("PutObject") }
			},
			wantType: "Transient", wantText: []string{"runs/run-a/ticket-"},
		},
		{
			name: "the claim exists for another bucket", in: input("run-a"),
			setup: func(f *fixture) {
				tk := lockOf(ledgertest.ID("run-a"), drill.TicketClaimed, nil)
				tk.Bucket = "other-bucket"
				f.ledger.PutTicket(runKey("run-a"), tk)
			},
			wantType: "InvalidInput", wantText: []string{"primaryBucket: execution run-a already claimed bucket other-bucket"},
		},
		{
			name: "the lock is released under us before the prior is recorded, the run still claimed (a person's unlock)", in: input("run-a"),
			setup: func(f *fixture) {
				f.s3.GetErr = func(string) error { f.ledger.Delete(drill.LockKey(bucket)); return nil }
			},
			wantType: "Transient", wantText: []string{"changed by a concurrent invocation"},
		},
		{
			name: "recording the prior in the lock fails", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(key string, in *s3.PutObjectInput) error {
					if key == drill.LockKey(bucket) && in.IfMatch != nil {
						return pabtest.APIError("PutObject", 403, "AccessDenied")
					}
					return nil
				}
			},
			wantType: "wrapError", wantText: []string{"AccessDenied"}, lockOf: "run-a",
		},
		{
			name: "recording the prior in the run ticket fails", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(key string, in *s3.PutObjectInput) error {
					if key == runKey("run-a") && in.IfMatch != nil {
						return pabtest.APIError("PutObject", 403, "AccessDenied")
					}
					return nil
				}
			},
			wantType: "wrapError", wantText: []string{"AccessDenied"}, lockOf: "run-a",
		},
		{
			name: "the ledger fails when taking the lock", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(key string, in *s3.PutObjectInput) error {
					if key == drill.LockKey(bucket) {
						return pabtest.APIError("PutObject", 403, "AccessDenied")
					}
					return nil
				}
			},
			wantType: "wrapError", wantText: []string{"locks/ui-bucket.json", "AccessDenied"},
		},
		{
			name: "the run ticket vanishes while claiming it", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketClaimed, nil))
				f.ledger.GetErr = func(key string) error { f.ledger.Delete(key); return nil }
			},
			wantType: "Transient", wantText: []string{"vanished"},
		},
		{
			name: "reading the claim fails", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutTicket(runKey("run-a"), lockOf(ledgertest.ID("run-a"), drill.TicketClaimed, nil))
				f.ledger.GetErr = func(key string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
			},
			wantType: "wrapError", wantText: []string{"AccessDenied"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			if tc.setup != nil {
				tc.setup(f)
			}
			before := f.s3.Config(bucket)
			_, err := f.h.Handle(context.Background(), tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			if got := drill.ErrorName(drill.Classify(err)); got != tc.wantType {
				t.Errorf("error %v classified %s, want %s", err, got, tc.wantType)
			}
			for _, want := range tc.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			for _, c := range f.Calls() {
				if strings.HasPrefix(c, "Put") && strings.Contains(c, "PublicAccessBlock") {
					t.Errorf("the bucket was changed: %s", c)
				}
			}
			if tc.noCalls && len(f.Calls()) != 0 {
				t.Errorf("calls %v, want none", f.Calls())
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, before) {
				t.Errorf("bucket %s, want unchanged %s", pab.String(got), pab.String(before))
			}
			holder := ""
			if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
				holder = lock.Execution
			}
			if holder != tc.lockOf {
				t.Errorf("lock holder %q, want %q", holder, tc.lockOf)
			}
		})
	}
}

// Restore may start while block-bucket is still running (a stopped execution, a
// Lambda past its state's timeout). Whichever lands last, the bucket ends as it was.
func TestBlockLosesEveryRaceWithRestore(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
	}{
		{name: "restore marks the claim abandoned before the prior is recorded", setup: func(f *fixture) {
			f.s3.GetErr = func(string) error { f.setStatus("run-a", drill.TicketAbandoned); return nil }
		}},
		{name: "restore abandons the run and releases the lock before the prior is recorded in it", setup: func(f *fixture) {
			f.s3.GetErr = func(string) error {
				f.setStatus("run-a", drill.TicketAbandoned)
				f.ledger.Delete(drill.LockKey(bucket))
				return nil
			}
		}},
		{name: "restore begins while the block is in flight", setup: func(f *fixture) {
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error { f.setStatus("run-a", drill.TicketRestoring); return nil }
		}},
		{name: "restore finishes while the block is in flight", setup: func(f *fixture) {
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error { f.setStatus("run-a", drill.TicketRestored); return nil }
		}},
		{name: "the block times out but lands, after restore began", setup: func(f *fixture) {
			f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
				f.s3.PutErr = nil // only the block times out
				f.setStatus("run-a", drill.TicketRestoring)
				f.s3.Configs[bucket] = &drill.BlockAll // landed...
				return context.DeadlineExceeded        // ...but the caller timed out
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			tc.setup(f)
			_, err := f.h.Handle(context.Background(), input("run-a"))
			if err == nil {
				t.Fatal("block-bucket succeeded though restore had begun")
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, partial) {
				t.Errorf("bucket %s, want the prior %s (error %v, calls %v)", pab.String(got), pab.String(partial), err, f.Calls())
			}
			// Restore may have released the lock already: a lock block-bucket took
			// would otherwise stop every later drill.
			if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock != nil {
				t.Errorf("lock left behind: %+v", lock)
			}
		})
	}
}

// A late block-bucket of a drill restored long ago must not undo the block of the
// drill that holds the bucket now.
func TestLateBlockLeavesAnotherDrillsBlockAlone(t *testing.T) {
	f := newFixture(t, partial)
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		f.setStatus("run-a", drill.TicketRestored)
		f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-b"), drill.TicketHeld, partial))
		return nil
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	if drill.ErrorName(drill.Classify(err)) != "RunClosed" {
		t.Fatalf("err = %v, want RunClosed", err)
	}
	if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("bucket %s: run-b's block was undone", pab.String(got))
	}
	if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Execution != "run-b" {
		t.Errorf("run-b's lock = %+v", lock)
	}
}

// A deadline leaves block-bucket its margin: the work stops early, the check after
// the put still runs.
func TestBlockKeepsAMarginBeforeTheDeadline(t *testing.T) {
	f := newFixture(t, partial)
	var remaining time.Duration
	f.s3.GetErr = func(string) error { return nil }
	f.h.S3 = func(string) block.PublicAccessAPI { return deadlineSpy{f.s3, &remaining} }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.h.Handle(ctx, input("run-a")); err != nil {
		t.Fatal(err)
	}
	if remaining > time.Minute-block.Margin+time.Second || remaining < time.Minute-block.Margin-10*time.Second {
		t.Errorf("the S3 calls had %v left, want about %v", remaining, time.Minute-block.Margin)
	}
}

type deadlineSpy struct {
	*pabtest.Memory
	remaining *time.Duration
}

func (d deadlineSpy) GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, o ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	if dl, ok := ctx.Deadline(); ok {
		*d.remaining = time.Until(dl)
	}
	return d.Memory.GetPublicAccessBlock(ctx, in, o...)
}

// A dry run holds the bucket's lock for seconds (take it, read the bucket, Restore
// releases it). A drill that meets it waits and then blocks, rather than being refused
// (a scheduled dry run and a drill started together); the dry run's lock says it is
// one. A dry-run lock that is not released within DryRunLockWait refuses the drill,
// as any other lock does.
func TestBlockWaitsForADryRunsLock(t *testing.T) {
	dryConfig := json.RawMessage(strings.Replace(string(config), "{", `{"dryRun":true,`, 1))
	t.Run("released: the drill blocks", func(t *testing.T) {
		f := newFixture(t, partial)
		f.h.Now = time.Now
		dry := input("dry-1")
		dry.Config = dryConfig
		if res, err := f.h.Handle(context.Background(), dry); err != nil || !res.DryRun {
			t.Fatalf("dry run: %+v %v", res, err)
		}
		if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || !lock.DryRun || lock.Execution != "dry-1" {
			t.Fatalf("the dry run's lock %+v does not say it is one", lock)
		}
		go func() {
			time.Sleep(600 * time.Millisecond)
			if _, err := f.ledger.Ledger().ReleaseIfHeldBy(context.Background(), bucket, ledgertest.ID("dry-1")); err != nil {
				t.Errorf("release: %v", err)
			}
		}()
		began := time.Now()
		res, err := f.h.Handle(context.Background(), input("run-a"))
		if err != nil || res.BlockedAt.IsZero() {
			t.Fatalf("the drill: %+v %v, want it blocked once the dry run released the lock", res, err)
		}
		if waited := time.Since(began); waited < 600*time.Millisecond || waited > 5*time.Second {
			t.Errorf("the drill waited %v, want about 0.6 s", waited)
		}
		if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
			t.Errorf("bucket %v, want blocked", got)
		}
	})
	t.Run("never released: LockHeld after the wait", func(t *testing.T) {
		f := newFixture(t, partial) // its clock moves a second a call
		f.h.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		held := lockOf(ledgertest.ID("dry-1"), drill.TicketClaimed, nil)
		held.DryRun = true
		f.ledger.PutTicket(drill.LockKey(bucket), held)
		start := f.clock
		_, err := f.h.Handle(context.Background(), input("run-a"))
		if drill.ErrorName(drill.Classify(err)) != "LockHeld" || !strings.Contains(err.Error(), "dry-1") {
			t.Fatalf("err %v, want LockHeld naming the dry run", err)
		}
		if waited := f.clock.Sub(start); waited < block.DryRunLockWait {
			t.Errorf("gave up after %v of the clock, want the full %v", waited, block.DryRunLockWait)
		}
	})
	t.Run("a drill's lock is not waited for", func(t *testing.T) {
		f := newFixture(t, partial)
		f.ledger.PutTicket(drill.LockKey(bucket), lockOf(ledgertest.ID("run-b"), drill.TicketHeld, partial))
		start := f.clock
		if _, err := f.h.Handle(context.Background(), input("run-a")); drill.ErrorName(drill.Classify(err)) != "LockHeld" {
			t.Fatalf("err %v, want LockHeld", err)
		}
		if waited := f.clock.Sub(start); waited > 5*time.Second {
			t.Errorf("waited %v of the clock for another drill's lock", waited)
		}
	})
}
