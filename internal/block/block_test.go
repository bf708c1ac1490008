package block_test

import (
	"context"
	"encoding/json"
	"errors"
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

func TestBlockStoresTicketThenBlocks(t *testing.T) {
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
			wantCalls := []string{
				"GetObject runs/run-a/ticket.json",
				"GetPublicAccessBlock ui-bucket",
				"PutObject locks/ui-bucket.json",
				"PutObject runs/run-a/ticket.json",
				"PutPublicAccessBlock ui-bucket",
			}
			if got := f.Calls(); !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", got, wantCalls)
			}
			if !reflect.DeepEqual(f.regions, []string{"us-east-1"}) {
				t.Errorf("S3 clients for regions %v, want the primary region only", f.regions)
			}
			lock := f.ledger.Ticket(drill.LockKey(bucket))
			run := f.ledger.Ticket(drill.RunTicketKey("run-a"))
			if lock == nil || run == nil || !reflect.DeepEqual(lock, run) {
				t.Fatalf("lock %+v and run ticket %+v must be the same ticket", lock, run)
			}
			if !pab.Equal(run.Prior, tc.prior) {
				t.Errorf("ticket prior %s, want %s", pab.String(run.Prior), pab.String(tc.prior))
			}
			wantSeed := &drill.SeededCart{APIHost: seed.APIHost, UserUUID: "user-1", Unicorns: []string{"u1", "u2"}}
			if run.Status != drill.TicketHeld || run.Region != "us-east-1" || run.Execution != "run-a" || !reflect.DeepEqual(run.Seed, wantSeed) {
				t.Errorf("ticket = %+v", run)
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
		{name: "after a crash between lock and run ticket", setup: func(t *testing.T, f *fixture) {
			f.ledger.PutTicket(drill.LockKey(bucket), drill.Ticket{
				Bucket: bucket, Region: "us-east-1", Execution: "run-a", Prior: partial, Status: drill.TicketHeld,
			})
		}},
		{name: "after the block was put but the result was lost", setup: func(t *testing.T, f *fixture) {
			if _, err := f.h.Handle(context.Background(), input("run-a")); err != nil {
				t.Fatal(err)
			}
			f.ledger.Objects = map[string]ledgertest.Object{drill.LockKey(bucket): f.ledger.Objects[drill.LockKey(bucket)]}
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
			for _, key := range []string{drill.LockKey(bucket), drill.RunTicketKey("run-a")} {
				if got := f.ledger.Ticket(key); got == nil || !pab.Equal(got.Prior, partial) {
					t.Errorf("%s = %+v, want prior %s", key, got, pab.String(partial))
				}
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
				t.Errorf("bucket config %s, want all blocked", pab.String(got))
			}
		})
	}
}

func TestBlockRefuses(t *testing.T) {
	tests := []struct {
		name      string
		in        drill.BlockInput
		setup     func(f *fixture)
		wantType  string   // drill.ErrorName(drill.Classify(err)); "" for a plain error
		wantText  []string // substrings of the error
		zeroCalls bool
		lockOf    string // expected lock holder afterwards, "" for none
	}{
		{
			name: "lock held by another execution", in: input("run-b"),
			setup: func(f *fixture) {
				f.ledger.PutTicket(drill.LockKey(bucket), drill.Ticket{Bucket: bucket, Execution: "run-a", Status: drill.TicketHeld})
			},
			wantType: "LockHeld", wantText: []string{"run-a"}, lockOf: "run-a",
		},
		{
			name: "missing execution", in: drill.BlockInput{Config: config},
			wantType: "InvalidInput", wantText: []string{"execution: missing"}, zeroCalls: true,
		},
		{
			name:     "invalid config names every field",
			in:       drill.BlockInput{Config: json.RawMessage(`{"distribution":"d111.cloudfront.net","items":99}`), Execution: "run-a"},
			wantType: "InvalidInput", wantText: []string{"primaryBucket: missing", "items: 99"}, zeroCalls: true,
		},
		{
			name: "config not JSON, no execution", in: drill.BlockInput{Config: json.RawMessage(`[1]`)},
			wantType: "InvalidInput", wantText: []string{"input:", "execution: missing"}, zeroCalls: true,
		},
		{
			name: "execution already restored", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutTicket(drill.RunTicketKey("run-a"), drill.Ticket{Bucket: bucket, Execution: "run-a", Status: drill.TicketRestored})
			},
			wantText: []string{"already restored"},
		},
		{
			name: "reading the bucket throttled", in: input("run-a"),
			setup: func(f *fixture) {
				f.s3.GetErr = func(string) error { return pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown") }
			},
			wantType: "Transient", wantText: []string{"block ui-bucket", "SlowDown"},
		},
		{
			name: "ledger unreachable", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.ConnRefused("PutObject") }
			},
			wantType: "Transient", wantText: []string{"locks/ui-bucket.json"},
		},
		{
			name: "run ticket write denied", in: input("run-a"),
			setup: func(f *fixture) {
				f.ledger.PutErr = func(key string, _ *s3.PutObjectInput) error {
					if strings.HasPrefix(key, "runs/") {
						return pabtest.APIError("PutObject", 403, "AccessDenied")
					}
					return nil
				}
			},
			wantText: []string{"AccessDenied"}, lockOf: "run-a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, partial)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, err := f.h.Handle(context.Background(), tc.in)
			if err == nil {
				t.Fatal("Handle succeeded")
			}
			classified := drill.Classify(err)
			name := drill.ErrorName(classified)
			if tc.wantType != "" && name != tc.wantType {
				t.Errorf("error %v classified %s, want %s", err, name, tc.wantType)
			}
			if tc.wantType == "" {
				for _, n := range drill.ErrorNames {
					if n == name {
						t.Errorf("error %v classified %s, want a plain error", err, name)
					}
				}
			}
			if tc.wantType == "Transient" {
				var tr *drill.Transient
				if !errors.As(err, &tr) {
					t.Errorf("errors.As(%v, *drill.Transient) = false", err)
				}
			}
			for _, s := range tc.wantText {
				if !strings.Contains(classified.Error(), s) {
					t.Errorf("error %q does not mention %q", classified, s)
				}
			}
			if tc.zeroCalls && len(f.Calls()) != 0 {
				t.Errorf("invalid input made calls %q", f.Calls())
			}
			for _, c := range f.Calls() {
				if strings.HasPrefix(c, "PutPublicAccessBlock") || strings.HasPrefix(c, "DeletePublicAccessBlock") {
					t.Errorf("the bucket was changed: %s", c)
				}
			}
			if got := f.s3.Config(bucket); !pab.Equal(got, partial) {
				t.Errorf("bucket config %s, want untouched %s", pab.String(got), pab.String(partial))
			}
			lock := f.ledger.Ticket(drill.LockKey(bucket))
			if holder := execOf(lock); holder != tc.lockOf {
				t.Errorf("lock holder %q, want %q", holder, tc.lockOf)
			}
		})
	}
}

// A transient failure of the block itself leaves the ticket in place, and the ASL's
// retry finishes the job with the original prior.
func TestBlockPutTransientThenRetry(t *testing.T) {
	f := newFixture(t, partial)
	f.s3.PutErr = func(string, drill.PublicAccessBlock) error {
		return pabtest.APIError("PutPublicAccessBlock", 500, "InternalError")
	}
	_, err := f.h.Handle(context.Background(), input("run-a"))
	var tr *drill.Transient
	if !errors.As(err, &tr) || drill.ErrorName(drill.Classify(err)) != "Transient" {
		t.Fatalf("err = %v, want Transient", err)
	}
	if got := f.ledger.Ticket(drill.RunTicketKey("run-a")); got == nil || !pab.Equal(got.Prior, partial) {
		t.Fatalf("run ticket %+v, want one with the prior", got)
	}
	f.s3.PutErr = nil
	res, err := f.h.Handle(context.Background(), input("run-a"))
	if err != nil || !res.Reinvoked || !pab.Equal(res.Prior, partial) {
		t.Fatalf("retry = %+v, %v", res, err)
	}
}

func execOf(t *drill.Ticket) string {
	if t == nil {
		return ""
	}
	return t.Execution
}
