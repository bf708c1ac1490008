package block_test

import (
	"context"
	"encoding/json"
	"reflect"
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
	return drill.BlockInput{Config: config, Execution: execution, Seed: seed}
}

// setStatus rewrites the run ticket's status, as a concurrent restore would.
func (f *fixture) setStatus(execution, status string) {
	tk := f.ledger.Ticket(drill.RunTicketKey(execution))
	if tk == nil {
		tk = &drill.Ticket{Execution: execution}
	}
	tk.Status = status
	f.ledger.PutTicket(drill.RunTicketKey(execution), *tk)
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
			wantCalls := []string{
				"PutObject runs/run-a/ticket.json", // claim (If-None-Match: *)
				"PutObject locks/ui-bucket.json",   // lock (If-None-Match: *)
				"GetPublicAccessBlock ui-bucket",   // prior, under the lock
				"PutObject runs/run-a/ticket.json", // held + prior (If-Match: the claim)
				"PutPublicAccessBlock ui-bucket",   // the fault
				"GetObject runs/run-a/ticket.json", // still held? (else undo)
			}
			if got := f.Calls(); !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", got, wantCalls)
			}
			if !reflect.DeepEqual(f.regions, []string{"us-east-1"}) {
				t.Errorf("S3 clients for regions %v, want the primary region only", f.regions)
			}
			run := f.ledger.Ticket(drill.RunTicketKey("run-a"))
			if run == nil || !pab.Equal(run.Prior, tc.prior) {
				t.Fatalf("run ticket %+v, want prior %s", run, pab.String(tc.prior))
			}
			wantSeed := &drill.SeededCart{APIHost: seed.APIHost, UserUUID: "user-1", Unicorns: []string{"u1", "u2"}}
			if run.Status != drill.TicketHeld || run.Region != "us-east-1" || run.Execution != "run-a" || !reflect.DeepEqual(run.Seed, wantSeed) {
				t.Errorf("ticket = %+v", run)
			}
			if lock := f.ledger.Ticket(drill.LockKey(bucket)); lock == nil || lock.Execution != "run-a" {
				t.Errorf("lock = %+v, want held by run-a", lock)
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
		})
	}
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
			f.ledger.PutTicket(drill.RunTicketKey("run-a"), drill.Ticket{
				Bucket: bucket, Region: "us-east-1", Execution: "run-a", Status: drill.TicketClaimed,
			})
		}},
		{name: "after the block was put but the result was lost", setup: func(t *testing.T, f *fixture) {
			f.ledger.PutTicket(drill.RunTicketKey("run-a"), drill.Ticket{
				Bucket: bucket, Region: "us-east-1", Execution: "run-a", Status: drill.TicketHeld, Prior: partial,
			})
			f.ledger.PutTicket(drill.LockKey(bucket), drill.Ticket{Bucket: bucket, Execution: "run-a", Status: drill.TicketClaimed})
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
			if got := f.ledger.Ticket(drill.RunTicketKey("run-a")); got == nil || got.Status != drill.TicketHeld || !pab.Equal(got.Prior, partial) {
				t.Errorf("run ticket = %+v, want held with prior %s", got, pab.String(partial))
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
				f.ledger.PutTicket(drill.LockKey(bucket), drill.Ticket{Bucket: bucket, Execution: "run-a", Status: drill.TicketHeld})
			},
			wantType: "LockHeld", wantText: []string{"run-a"}, lockOf: "run-a",
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
			name: "bucket already blocks everything: not recorded as the prior", in: input("run-a"),
			setup:    func(f *fixture) { f.s3.Configs[bucket] = &drill.BlockAll },
			wantType: "SteadyStateFailed", wantText: []string{"already blocks all public access"}, lockOf: "run-a",
		},
		{
			name: "invalid input", in: drill.BlockInput{Config: json.RawMessage(`{"items":0}`)},
			wantType: "InvalidInput", wantText: []string{"execution: missing", "items:", "distribution: missing"}, noCalls: true,
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
			wantType: "Transient", wantText: []string{"runs/run-a/ticket.json"},
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
		f.ledger.PutTicket(drill.LockKey(bucket), drill.Ticket{Bucket: bucket, Execution: "run-b", Status: drill.TicketHeld})
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
