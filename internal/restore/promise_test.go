package restore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/block"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/restore"
)

// The promise: whatever call of block-bucket fails (a crash, a timeout, an error),
// the restore that the failure path runs gives the bucket back exactly its prior
// configuration and leaves no lock, so the next drill can run.
func TestPromiseBlockFailsAnywhereRestoreRecovers(t *testing.T) {
	cfg := json.RawMessage(`{"distribution":"d111.cloudfront.net","primaryBucket":"ui-bucket"}`)
	priors := []struct {
		label string
		prior *drill.PublicAccessBlock
	}{{"none", nil}, {"partial", partial}, {"all-false", &drill.PublicAccessBlock{}}}
	for _, p := range priors {
		prior := p.prior
		for k := 1; ; k++ {
			s3fake := pabtest.NewMemory(map[string]*drill.PublicAccessBlock{bucket: prior})
			if prior == nil {
				s3fake = pabtest.NewMemory(nil)
			}
			store := ledgertest.New()
			n := 0
			fail := func() error {
				if n++; n == k {
					return errors.New("crash")
				}
				return nil
			}
			s3fake.GetErr = func(string) error { return fail() }
			s3fake.PutErr = func(string, drill.PublicAccessBlock) error { return fail() }
			store.GetErr = func(string) error { return fail() }
			store.PutErr = func(string, *s3.PutObjectInput) error { return fail() }
			s3For := func(string) pab.API { return s3fake }

			b := &block.Handler{S3: s3For, Ledger: store.Ledger()}
			_, blockErr := b.Handle(context.Background(), blockIn(cfg, "run-a"))
			done := n < k
			s3fake.GetErr, s3fake.PutErr, store.GetErr, store.PutErr = nil, nil, nil, nil

			name := fmt.Sprintf("prior %s, block fails at call %d", p.label, k)
			if done {
				name = fmt.Sprintf("prior %s, block succeeds", p.label)
				if blockErr != nil {
					t.Fatalf("%s: %v", name, blockErr)
				}
				if got := s3fake.Config(bucket); !pab.Equal(got, &drill.BlockAll) {
					t.Fatalf("%s: bucket %s", name, pab.String(got))
				}
			}
			t.Run(name, func(t *testing.T) {
				r := &restore.Handler{S3: s3For, Ledger: store.Ledger(),
					Sleep: func(context.Context, time.Duration) error { return nil }}
				res, err := r.Handle(context.Background(), rin("run-a", drill.ReasonFailure))
				if err != nil {
					t.Fatalf("restore: %v", err)
				}
				if !res.MatchesPrior {
					t.Errorf("restore result %+v", res)
				}
				if res.SettlingUntil != nil {
					// A block of the run could still land: the failure path keeps the
					// lock; the execution then fails and the safety net finishes the look.
					if lock := store.Ticket(drill.LockKey(bucket)); lock == nil || lock.Status != drill.TicketRestored {
						t.Fatalf("lock %+v: want it kept, settling, until the last look", lock)
					}
					if _, err := r.Handle(context.Background(), rin("run-a", drill.ReasonSafetyNet)); err != nil {
						t.Fatalf("safety net: %v", err)
					}
				}
				if got := s3fake.Config(bucket); !pab.Equal(got, prior) {
					t.Errorf("bucket %s, want exactly %s", pab.String(got), pab.String(prior))
				}
				if lock := store.Ticket(drill.LockKey(bucket)); lock != nil {
					t.Errorf("lock left behind: %+v", lock)
				}
				// The next drill can take the bucket.
				b := &block.Handler{S3: s3For, Ledger: store.Ledger()}
				if _, err := b.Handle(context.Background(), blockIn(cfg, "run-b")); err != nil {
					t.Errorf("next drill: %v", err)
				}
			})
			if done {
				break
			}
		}
	}
}

func blockIn(cfg json.RawMessage, execution string) drill.BlockInput {
	id := ledgertest.ID(execution)
	return drill.BlockInput{Config: cfg, Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime}
}
