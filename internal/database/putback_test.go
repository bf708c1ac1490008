package database_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/rds"
)

const (
	east, west = "us-east-1", "us-west-1"
	global     = "unishop-global"
)

// replica is the sandbox's global database behind loopback, and a PutBack whose RDS
// client is the real SDK's pointed at it.
func replica(t *testing.T, switchTime time.Duration) (*rds.Service, *database.PutBack) {
	t.Helper()
	db := rds.New(rds.Options{Account: "123456789012", GlobalClusterID: global, Regions: [2]string{east, west},
		PendingTime: 20 * time.Millisecond, SwitchoverTime: switchTime})
	srv := httptest.NewServer(db)
	t.Cleanup(srv.Close)
	p := &database.PutBack{RDS: func(region string) database.API {
		return awsrds.NewFromConfig(awsconf.SandboxConfig(region), func(o *awsrds.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	}, PollEvery: 20 * time.Millisecond}
	return db, p
}

func record(db *rds.Service, switched bool) drill.DatabaseTicket {
	d := drill.DatabaseTicket{GlobalCluster: global, PriorWriter: db.ClusterARN(east), PriorRegion: east, Target: db.ClusterARN(west), TargetRegion: west}
	if switched {
		at := time.Now().Add(-time.Hour)
		d.SwitchSentAt = &at
	}
	return d
}

func await(t *testing.T, db *rds.Service, region string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if w, st := db.Writer(); w == region && st == "" {
			return
		}
	}
	t.Fatalf("the replica's writer never reached %s", region)
}

func TestPutBack(t *testing.T) {
	ctx := context.Background()
	t.Run("the run's switch is undone, recorded first", func(t *testing.T) {
		db, p := replica(t, 100*time.Millisecond)
		if err := db.Switchover(west); err != nil {
			t.Fatal(err)
		}
		await(t, db, west)
		var recorded []time.Time
		out, err := p.Restore(ctx, record(db, true), time.Time{}, 5*time.Second, func(at time.Time) error { recorded = append(recorded, at); return nil })
		if err != nil || !out.Back || !out.SentBack || out.Writer != east {
			t.Fatalf("%+v, %v", out, err)
		}
		if len(recorded) != 1 {
			t.Errorf("switch back recorded %d times, want once before it was sent", len(recorded))
		}
		if w, st := db.Writer(); w != east || st != "" {
			t.Errorf("writer %s (%s)", w, st)
		}
	})
	t.Run("a switch in progress is waited for, then undone", func(t *testing.T) {
		db, p := replica(t, 300*time.Millisecond)
		if err := db.Switchover(west); err != nil {
			t.Fatal(err)
		}
		out, err := p.Restore(ctx, record(db, true), time.Time{}, 5*time.Second, func(time.Time) error { return nil })
		if err != nil || !out.Back || !out.SentBack || out.Waited < 300*time.Millisecond {
			t.Fatalf("%+v, %v", out, err)
		}
	})
	t.Run("someone else's switch is never undone", func(t *testing.T) {
		db, p := replica(t, 50*time.Millisecond)
		if err := db.Switchover(west); err != nil {
			t.Fatal(err)
		}
		await(t, db, west)
		out, err := p.Restore(ctx, record(db, false), time.Time{}, 2*time.Second, func(time.Time) error {
			t.Error("recorded a switch back of someone else's switch")
			return nil
		})
		var changed *drill.DatabaseChangedDuringDrill
		if !errors.As(err, &changed) || out.SentBack {
			t.Fatalf("%+v, %v: want DatabaseChangedDuringDrill and nothing sent", out, err)
		}
		if w, _ := db.Writer(); w != west {
			t.Errorf("writer %s: someone else's switch was undone", w)
		}
	})
	t.Run("the recorded writer counts only once no switch of the run can start", func(t *testing.T) {
		db, p := replica(t, 50*time.Millisecond)
		notBefore := time.Now().Add(300 * time.Millisecond)
		out, err := p.Restore(ctx, record(db, true), notBefore, 5*time.Second, func(time.Time) error { return nil })
		if err != nil || !out.Back || time.Now().Before(notBefore) {
			t.Fatalf("%+v, %v: returned before %v", out, err, notBefore)
		}
	})
	t.Run("a late switch of the run, landing while it waits, is undone", func(t *testing.T) {
		db, p := replica(t, 50*time.Millisecond)
		notBefore := time.Now().Add(400 * time.Millisecond)
		time.AfterFunc(100*time.Millisecond, func() { _ = db.Switchover(west) })
		out, err := p.Restore(ctx, record(db, true), notBefore, 5*time.Second, func(time.Time) error { return nil })
		if err != nil || !out.Back || !out.SentBack {
			t.Fatalf("%+v, %v", out, err)
		}
		await(t, db, east)
	})
	t.Run("a switch longer than the budget leaves the writer to the next restore", func(t *testing.T) {
		db, p := replica(t, 2*time.Second)
		if err := db.Switchover(west); err != nil {
			t.Fatal(err)
		}
		_, err := p.Restore(ctx, record(db, true), time.Time{}, 200*time.Millisecond, func(time.Time) error { return nil })
		var switching *drill.DatabaseSwitching
		if !errors.As(err, &switching) || switching.Want != east {
			t.Fatalf("%v, want DatabaseSwitching", err)
		}
	})
	t.Run("nothing of the run sent, writer in place: nothing done", func(t *testing.T) {
		db, p := replica(t, 50*time.Millisecond)
		out, err := p.Restore(ctx, record(db, false), time.Time{}, time.Second, func(time.Time) error {
			t.Error("recorded a switch back with nothing to undo")
			return nil
		})
		if err != nil || !out.Back || out.SentBack {
			t.Fatalf("%+v, %v", out, err)
		}
	})
}
