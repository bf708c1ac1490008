package operator_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
	"github.com/unishop/failover-drill/internal/restore"
	"github.com/unishop/failover-drill/internal/sweeper"
)

const bucket = "ui-bucket"

// settle is the Settle the tests give the operator: block-bucket's longest life.
const settle = 70 * time.Second

// now is the operator's clock at the start of every test: an hour after the runs start.
var now = ledgertest.Start.Add(time.Hour)

var partial = &drill.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true}

// fakeSFN answers DescribeExecution from a function field and records what it was asked.
type fakeSFN struct {
	describe func(arn string) (*sfn.DescribeExecutionOutput, error)
	asked    []string
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.ExecutionArn))
	if f.describe == nil {
		panic("fakeSFN: DescribeExecution not expected")
	}
	return f.describe(aws.ToString(in.ExecutionArn))
}

func described(status types.ExecutionStatus, start, stop time.Time) func(string) (*sfn.DescribeExecutionOutput, error) {
	return func(string) (*sfn.DescribeExecutionOutput, error) {
		out := &sfn.DescribeExecutionOutput{Status: status, StartDate: aws.Time(start)}
		if !stop.IsZero() {
			out.StopDate = aws.Time(stop)
		}
		return out, nil
	}
}

// Execution answers of the run the locks name (started at ledgertest.Start).
var (
	running   = described(types.ExecutionStatusRunning, ledgertest.Start, time.Time{})
	abortedAt = func(stop time.Time) func(string) (*sfn.DescribeExecutionOutput, error) {
		return described(types.ExecutionStatusAborted, ledgertest.Start, stop)
	}
	longAgo = abortedAt(now.Add(-10 * time.Minute)) // ended long before now: no block can land
	gone    = func(arn string) (*sfn.DescribeExecutionOutput, error) {
		return nil, &types.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + arn + "'")}
	}
	denied = func(string) (*sfn.DescribeExecutionOutput, error) {
		return nil, &types.InvalidArn{Message: aws.String("denied (test)")}
	}
)

// env is an operator's world: the ledger, the target bucket's S3, Step Functions, and a
// clock that Sleep advances (after running onSleep, to let something happen meanwhile).
type env struct {
	store      *ledgertest.Store
	s3         *pabtest.Memory
	sfn        *fakeSFN
	clock      time.Time
	sleeps     []time.Duration
	onSleep    func()
	s3Regions  []string
	sfnRegions []string
	c          operator.Clients
}

func newEnv(t *testing.T, config *drill.PublicAccessBlock, describe func(string) (*sfn.DescribeExecutionOutput, error)) *env {
	t.Helper()
	e := &env{
		store: ledgertest.New(),
		s3:    pabtest.NewMemory(map[string]*drill.PublicAccessBlock{bucket: config}),
		sfn:   &fakeSFN{describe: describe},
		clock: now,
	}
	if config == nil {
		delete(e.s3.Configs, bucket)
	}
	e.c = operator.Clients{
		Ledger: e.store.Ledger(),
		S3: func(region string) pab.API {
			e.s3Regions = append(e.s3Regions, region)
			return e.s3
		},
		SFN: func(region string) sweeper.ExecutionAPI {
			e.sfnRegions = append(e.sfnRegions, region)
			return e.sfn
		},
		Settle: settle,
		Now:    func() time.Time { return e.clock },
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.sleeps = append(e.sleeps, d)
			if e.onSleep != nil {
				e.onSleep()
			}
			e.clock = e.clock.Add(d)
			return ctx.Err()
		},
	}
	return e
}

// lockOf is run-a's lock on bucket in status, with prior.
func lockOf(status string, prior *drill.PublicAccessBlock) drill.Ticket {
	return ledgertest.WithID(drill.Ticket{Bucket: bucket, Region: "us-east-1", CreatedAt: ledgertest.Start, Prior: prior, Status: status}, ledgertest.ID("run-a"))
}

func settlingLock(prior *drill.PublicAccessBlock, until time.Time) drill.Ticket {
	l := lockOf(drill.TicketRestored, prior)
	restored, sent := until.Add(-settle/2), until.Add(-settle)
	l.RestoredAt, l.BlockSentAt, l.SettlingUntil = &restored, &sent, &until
	return l
}

func (e *env) putLock(l drill.Ticket) { e.store.PutTicket(drill.LockKey(l.Bucket), l) }

func (e *env) lock() *drill.Ticket { return e.store.Ticket(drill.LockKey(bucket)) }

func TestStatus(t *testing.T) {
	legacy := drill.Ticket{Bucket: bucket, Region: "us-east-1", Execution: "old", Status: drill.TicketHeld, Prior: partial}
	otherRegion := lockOf(drill.TicketHeld, partial)
	otherRegion.Region = "eu-west-1"
	otherRegion.ExecutionArn = strings.Replace(otherRegion.ExecutionArn, "us-east-1", "eu-central-1", 1)
	noRegion := lockOf(drill.TicketHeld, partial)
	noRegion.ExecutionArn = strings.Replace(noRegion.ExecutionArn, "us-east-1", "", 1)
	notStates := lockOf(drill.TicketHeld, partial)
	notStates.ExecutionArn = strings.Replace(notStates.ExecutionArn, ":states:", ":lambda:", 1)
	notArn := lockOf(drill.TicketHeld, partial)
	notArn.ExecutionArn = "urn" + strings.TrimPrefix(notArn.ExecutionArn, "arn")
	short := lockOf(drill.TicketHeld, partial)
	short.ExecutionArn = "states:us-east-1:execution:run-a"
	notExecution := lockOf(drill.TicketHeld, partial)
	notExecution.ExecutionArn = "arn:aws:states:us-east-1:123456789012:stateMachine:execution:run-a"

	for _, tc := range []struct {
		name     string
		lock     drill.Ticket
		config   *drill.PublicAccessBlock
		describe func(string) (*sfn.DescribeExecutionOutput, error)
		getErr   error
		settle   time.Duration // Clients.Settle; 0 here means the test's settle

		bucket     string
		execStatus string
		running    bool
		execErr    string // a substring; "" none
		bucketErr  string
		lateUntil  time.Time
		needs      bool
		sfnRegion  string // "" when Step Functions must not be asked
		s3Region   string
	}{
		{name: "held, the drill's block, ended long ago: blocked, restore it",
			lock: lockOf(drill.TicketHeld, partial), config: &drill.BlockAll, describe: longAgo,
			bucket: operator.BucketBlocked, execStatus: "ABORTED", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, the drill's block, still running: its own flow restores",
			lock: lockOf(drill.TicketHeld, partial), config: &drill.BlockAll, describe: running,
			bucket: operator.BucketBlocked, execStatus: "RUNNING", running: true, lateUntil: now.Add(settle), sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, running, Settle unset: the deployed stack's",
			lock: lockOf(drill.TicketHeld, partial), config: &drill.BlockAll, describe: running, settle: -1,
			bucket: operator.BucketBlocked, execStatus: "RUNNING", running: true, lateUntil: now.Add(restore.DefaultSettle), sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, the prior, ended 30 s ago: a block can land until its end + settle",
			lock: lockOf(drill.TicketHeld, partial), config: partial, describe: abortedAt(now.Add(-30 * time.Second)),
			bucket: operator.BucketPrior, execStatus: "ABORTED", lateUntil: now.Add(40 * time.Second), needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, the prior, ended exactly settle ago: no block can land",
			lock: lockOf(drill.TicketHeld, partial), config: partial, describe: abortedAt(now.Add(-settle)),
			bucket: operator.BucketPrior, execStatus: "ABORTED", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, no prior and none now: the prior",
			lock: lockOf(drill.TicketHeld, nil), config: nil, describe: longAgo,
			bucket: operator.BucketPrior, execStatus: "ABORTED", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "held, neither the block nor the prior: changed",
			lock: lockOf(drill.TicketHeld, nil), config: partial, describe: longAgo,
			bucket: operator.BucketChanged, execStatus: "ABORTED", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "restored, settling ahead: its SettlingUntil",
			lock: settlingLock(partial, now.Add(25*time.Second)), config: partial, describe: longAgo,
			bucket: operator.BucketSettling, execStatus: "ABORTED", lateUntil: now.Add(25 * time.Second), needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "restored, settling ahead, still running: its SettlingUntil, not now + settle",
			lock: settlingLock(partial, now.Add(25*time.Second)), config: partial, describe: running,
			bucket: operator.BucketSettling, execStatus: "RUNNING", running: true, lateUntil: now.Add(25 * time.Second), sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "restored, settling until now: passed",
			lock: settlingLock(partial, now), config: partial, describe: longAgo,
			bucket: operator.BucketSettling, execStatus: "ABORTED", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "restored, a full block found: blocked (a late block of the run)",
			lock: settlingLock(nil, now.Add(time.Second)), config: &drill.BlockAll, describe: longAgo,
			bucket: operator.BucketBlocked, execStatus: "ABORTED", lateUntil: now.Add(time.Second), needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "changed by someone: changed, whatever it holds",
			lock: lockOf(drill.TicketChanged, partial), config: partial, describe: running,
			bucket: operator.BucketChanged, execStatus: "RUNNING", running: true, needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "claimed, no prior recorded: untouched, nothing can land",
			lock: lockOf(drill.TicketClaimed, nil), config: &drill.BlockAll, describe: running,
			bucket: operator.BucketUntouched, execStatus: "RUNNING", running: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "the bucket cannot be read: unknown",
			lock: lockOf(drill.TicketHeld, partial), config: &drill.BlockAll, describe: running,
			getErr: pabtest.APIError("GetPublicAccessBlock", 403, "AccessDenied"),
			bucket: operator.BucketUnknown, execStatus: "RUNNING", running: true, bucketErr: "AccessDenied", lateUntil: now.Add(settle), needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "Step Functions no longer knows it: gone, nothing bounds a late block but the lock",
			lock: lockOf(drill.TicketHeld, partial), config: partial, describe: gone,
			bucket: operator.BucketPrior, execStatus: "gone", needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "Step Functions denies: unknown execution, now + settle",
			lock: lockOf(drill.TicketHeld, partial), config: partial, describe: denied,
			bucket: operator.BucketPrior, execErr: "denied (test)", lateUntil: now.Add(settle), needs: true, sfnRegion: "us-east-1", s3Region: "us-east-1"},
		{name: "a lock without the execution's identity: not asked",
			lock: legacy, config: &drill.BlockAll,
			bucket: operator.BucketBlocked, execErr: "does not identify its execution", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
		{name: "Step Functions of the ARN's region, S3 of the lock's",
			lock: otherRegion, config: &drill.BlockAll, describe: longAgo,
			bucket: operator.BucketBlocked, execStatus: "ABORTED", needs: true, sfnRegion: "eu-central-1", s3Region: "eu-west-1"},
		{name: "an ARN without a region: not asked",
			lock: noRegion, config: partial,
			bucket: operator.BucketPrior, execErr: "is not a Step Functions execution ARN", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
		{name: "an ARN of another service: not asked",
			lock: notStates, config: partial,
			bucket: operator.BucketPrior, execErr: "is not a Step Functions execution ARN", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
		{name: "not an ARN: not asked",
			lock: notArn, config: partial,
			bucket: operator.BucketPrior, execErr: "is not a Step Functions execution ARN", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
		{name: "too few fields for an ARN: not asked",
			lock: short, config: partial,
			bucket: operator.BucketPrior, execErr: "is not a Step Functions execution ARN", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
		{name: "a state machine's ARN, not an execution's: not asked",
			lock: notExecution, config: partial,
			bucket: operator.BucketPrior, execErr: "is not a Step Functions execution ARN", lateUntil: now.Add(settle), needs: true, s3Region: "us-east-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.config, tc.describe)
			if tc.settle != 0 {
				e.c.Settle = max(tc.settle, 0)
			}
			if tc.getErr != nil {
				e.s3.GetErr = func(string) error { return tc.getErr }
			}
			e.putLock(tc.lock)
			check := func(s operator.LockStatus) {
				t.Helper()
				if s.Key != drill.LockKey(bucket) || s.ETag == "" || s.Lock.Execution != tc.lock.Execution || s.Lock.Status != tc.lock.Status || s.LockErr != "" {
					t.Errorf("lock read: %+v", s)
				}
				if s.Bucket != tc.bucket || s.Execution.Status != tc.execStatus || s.Execution.Running != tc.running {
					t.Errorf("bucket %q, execution %+v; want %q, %q (running %t)", s.Bucket, s.Execution, tc.bucket, tc.execStatus, tc.running)
				}
				if (tc.execErr == "") != (s.ExecErr == "") || !strings.Contains(s.ExecErr, tc.execErr) {
					t.Errorf("execution error %q, want %q", s.ExecErr, tc.execErr)
				}
				if (tc.bucketErr == "") != (s.BucketErr == "") || !strings.Contains(s.BucketErr, tc.bucketErr) {
					t.Errorf("bucket error %q, want %q", s.BucketErr, tc.bucketErr)
				}
				if tc.getErr == nil && !pab.Equal(s.Current, tc.config) {
					t.Errorf("current %s, want %s", pab.String(s.Current), pab.String(tc.config))
				}
				if !s.LateUntil.Equal(tc.lateUntil) {
					t.Errorf("late until %v, want %v", s.LateUntil, tc.lateUntil)
				}
				if s.NeedsAction() != tc.needs {
					t.Errorf("needs action %t, want %t", s.NeedsAction(), tc.needs)
				}
			}

			list, err := operator.Status(context.Background(), e.c)
			if err != nil || len(list) != 1 {
				t.Fatalf("status: %+v, %v", list, err)
			}
			check(list[0])
			one, err := operator.Inspect(context.Background(), e.c, bucket)
			if err != nil || one == nil {
				t.Fatalf("inspect: %+v, %v", one, err)
			}
			check(*one)

			wantSFN := []string{}
			if tc.sfnRegion != "" {
				wantSFN = []string{tc.sfnRegion, tc.sfnRegion}
			}
			if strings.Join(e.sfnRegions, ",") != strings.Join(wantSFN, ",") || len(e.sfn.asked) != len(wantSFN) {
				t.Errorf("Step Functions asked in %v (%v), want %v", e.sfnRegions, e.sfn.asked, wantSFN)
			}
			for _, arn := range e.sfn.asked {
				if arn != tc.lock.ExecutionArn {
					t.Errorf("described %s, want %s", arn, tc.lock.ExecutionArn)
				}
			}
			if strings.Join(e.s3Regions, ",") != tc.s3Region+","+tc.s3Region {
				t.Errorf("S3 clients of %v, want %s", e.s3Regions, tc.s3Region)
			}
			if got := e.s3.Config(bucket); !pab.Equal(got, tc.config) {
				t.Errorf("status changed the bucket: %s", pab.String(got))
			}
			if got := e.lock(); got == nil || got.Status != tc.lock.Status {
				t.Errorf("status changed the lock: %+v", got)
			}
		})
	}
}

func TestStatusListsEveryLockEvenUnreadable(t *testing.T) {
	e := newEnv(t, &drill.BlockAll, longAgo)
	e.store.Objects[drill.LockKey("a-bucket")] = ledgertest.Object{Body: []byte("<html>"), ETag: `"x"`}
	e.putLock(lockOf(drill.TicketHeld, partial))
	list, err := operator.Status(context.Background(), e.c)
	if err != nil || len(list) != 2 {
		t.Fatalf("status: %+v, %v", list, err)
	}
	bad := list[0]
	if bad.Key != drill.LockKey("a-bucket") || bad.LockErr == "" || !strings.Contains(bad.LockErr, "a-bucket") || bad.Bucket != operator.BucketUnknown || !bad.NeedsAction() {
		t.Errorf("unreadable lock: %+v", bad)
	}
	if !bad.LateUntil.IsZero() || bad.Execution.Status != "" {
		t.Errorf("unreadable lock read further: %+v", bad)
	}
	if list[1].Key != drill.LockKey(bucket) || list[1].Bucket != operator.BucketBlocked {
		t.Errorf("readable lock: %+v", list[1])
	}
	// Only the readable lock's execution was asked about.
	if len(e.sfn.asked) != 1 || len(e.s3Regions) != 1 {
		t.Errorf("asked %v, S3 %v", e.sfn.asked, e.s3Regions)
	}

	e.store.ListErr = func(string) error { return pabtest.APIError("ListObjectsV2", 403, "AccessDenied") }
	if list, err := operator.Status(context.Background(), e.c); err == nil || list != nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("listing denied: %+v, %v", list, err)
	}
}

func TestStatusEmptyAndInspectNoLock(t *testing.T) {
	e := newEnv(t, &drill.BlockAll, nil)
	list, err := operator.Status(context.Background(), e.c)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("empty ledger: %#v, %v", list, err)
	}
	one, err := operator.Inspect(context.Background(), e.c, bucket)
	if err != nil || one != nil {
		t.Errorf("no lock: %+v, %v", one, err)
	}
	e.store.GetErr = func(string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
	if one, err := operator.Inspect(context.Background(), e.c, bucket); err == nil || one != nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("lock unreadable: %+v, %v", one, err)
	}
}

func TestStatusClockDefaultsToNow(t *testing.T) {
	e := newEnv(t, &drill.BlockAll, running)
	e.c.Now = nil
	e.putLock(lockOf(drill.TicketHeld, partial))
	before := time.Now()
	s, err := operator.Inspect(context.Background(), e.c, bucket)
	after := time.Now()
	if err != nil || s == nil {
		t.Fatalf("inspect: %+v, %v", s, err)
	}
	if s.LateUntil.Before(before.Add(settle)) || s.LateUntil.After(after.Add(settle)) {
		t.Errorf("late until %v, want now + %v (now in [%v, %v])", s.LateUntil, settle, before, after)
	}
}

func TestNeedsAction(t *testing.T) {
	ended := sweeper.ExecutionState{Status: "ABORTED"}
	run := sweeper.ExecutionState{Status: "RUNNING", Running: true}
	for _, tc := range []struct {
		name string
		s    operator.LockStatus
		want bool
	}{
		{"running, blocked: its flow acts", operator.LockStatus{Execution: run, Bucket: operator.BucketBlocked}, false},
		{"running, settling", operator.LockStatus{Execution: run, Bucket: operator.BucketSettling}, false},
		{"running, untouched", operator.LockStatus{Execution: run, Bucket: operator.BucketUntouched}, false},
		{"ended", operator.LockStatus{Execution: ended, Bucket: operator.BucketPrior}, true},
		{"execution unknown", operator.LockStatus{ExecErr: "denied", Execution: run, Bucket: operator.BucketBlocked}, true},
		{"running, changed", operator.LockStatus{Execution: run, Bucket: operator.BucketChanged}, true},
		{"running, bucket unknown", operator.LockStatus{Execution: run, Bucket: operator.BucketUnknown}, true},
		{"lock unreadable", operator.LockStatus{Execution: run, LockErr: "decode", Bucket: operator.BucketBlocked}, true},
	} {
		if got := tc.s.NeedsAction(); got != tc.want {
			t.Errorf("%s: NeedsAction %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestUnlockRisk(t *testing.T) {
	ended := sweeper.ExecutionState{Status: "ABORTED", Ended: now.Add(-time.Hour)}
	run := sweeper.ExecutionState{Status: "RUNNING", Running: true}
	held := lockOf(drill.TicketHeld, partial)
	changed := lockOf(drill.TicketChanged, partial)
	late := now.Add(30 * time.Second)
	for _, tc := range []struct {
		name string
		s    operator.LockStatus
		want []string // substrings of the risk; nil: no risk
	}{
		{"the lock cannot be read",
			operator.LockStatus{Key: "locks/x.json", LockErr: "ledger decode locks/x.json: bad", Bucket: operator.BucketUnknown},
			[]string{"the lock cannot be read (ledger decode locks/x.json: bad)", "look at locks/x.json"}},
		{"changed: a person's to release, whatever else is unknown",
			operator.LockStatus{Lock: changed, Execution: run, ExecErr: "denied", Bucket: operator.BucketChanged, LateUntil: late}, nil},
		{"changed, the bucket unreadable: still a person's",
			operator.LockStatus{Lock: changed, Execution: ended, Bucket: operator.BucketUnknown, BucketErr: "AccessDenied"}, nil},
		{"the bucket cannot be read",
			operator.LockStatus{Lock: held, Execution: ended, Bucket: operator.BucketUnknown, BucketErr: "AccessDenied (test)"},
			[]string{"the bucket cannot be read (AccessDenied (test))"}},
		{"the execution cannot be asked",
			operator.LockStatus{Lock: held, ExecErr: "denied (test)", Bucket: operator.BucketPrior},
			[]string{"whether execution run-a", "still runs is unknown (denied (test))"}},
		{"the execution runs",
			operator.LockStatus{Lock: held, Execution: run, Bucket: operator.BucketPrior, LateUntil: late},
			[]string{"execution run-a", "is RUNNING", "stop it first", "drill restore --bucket ui-bucket"}},
		{"the drill's block, ended",
			operator.LockStatus{Lock: held, Execution: ended, Bucket: operator.BucketBlocked, Current: &drill.BlockAll},
			[]string{"holds the drill's block (" + pab.String(&drill.BlockAll) + ") and its prior was " + pab.String(partial), "drill restore --bucket ui-bucket"}},
		{"the prior, but a block can still land",
			operator.LockStatus{Lock: held, Execution: ended, Bucket: operator.BucketPrior, Current: partial, LateUntil: late},
			[]string{"holds " + pab.String(partial) + " (prior " + pab.String(partial) + ")", "can still land until " + late.UTC().Format(time.RFC3339), "drill restore --bucket ui-bucket"}},
		{"settling, a block can still land",
			operator.LockStatus{Lock: settlingLock(partial, late), Execution: ended, Bucket: operator.BucketSettling, Current: partial, LateUntil: late},
			[]string{"can still land until"}},
		{"the prior, nothing can land: safe", operator.LockStatus{Lock: held, Execution: ended, Bucket: operator.BucketPrior, Current: partial}, nil},
		{"settled: safe", operator.LockStatus{Lock: settlingLock(partial, now), Execution: ended, Bucket: operator.BucketSettling, Current: partial}, nil},
		{"untouched: safe", operator.LockStatus{Lock: lockOf(drill.TicketClaimed, nil), Execution: ended, Bucket: operator.BucketUntouched, Current: &drill.BlockAll}, nil},
		{"changed by someone, found so by status only: nothing the drill can restore",
			operator.LockStatus{Lock: held, Execution: ended, Bucket: operator.BucketChanged, Current: &drill.PublicAccessBlock{IgnorePublicAcls: true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			risk := operator.UnlockRisk(tc.s)
			if (risk == "") != (tc.want == nil) {
				t.Fatalf("risk %q, want %q", risk, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(risk, w) {
					t.Errorf("risk %q, want it to say %q", risk, w)
				}
			}
		})
	}
}

func TestUnlock(t *testing.T) {
	other := ledgertest.WithID(drill.Ticket{Bucket: bucket, Region: "us-east-1", Prior: partial, Status: drill.TicketHeld}, ledgertest.IDAt("run-b", now))
	for _, tc := range []struct {
		name     string
		lock     *drill.Ticket
		config   *drill.PublicAccessBlock
		describe func(string) (*sfn.DescribeExecutionOutput, error)
		force    bool
		setup    func(e *env)

		refused  string // a substring of the refusal's reason
		err      string // a substring of another error
		released bool
		wantLock string // the execution whose lock is left ("" none)
	}{
		{name: "the drill's block, ended: refused, points at drill restore", lock: ptr(lockOf(drill.TicketHeld, partial)), config: &drill.BlockAll, describe: longAgo,
			refused: "drill restore --bucket ui-bucket", wantLock: "run-a"},
		{name: "running: refused", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial, describe: running,
			refused: "is RUNNING", wantLock: "run-a"},
		{name: "settling: refused until it has settled", lock: ptr(settlingLock(partial, now.Add(time.Minute))), config: partial, describe: longAgo,
			refused: "can still land until", wantLock: "run-a"},
		{name: "the drill's block, ended, forced: released, the bucket as it was", lock: ptr(lockOf(drill.TicketHeld, partial)), config: &drill.BlockAll, describe: longAgo,
			force: true, released: true},
		{name: "the prior, ended long ago: released", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial, describe: longAgo,
			released: true},
		{name: "changed during the drill: a person's to release", lock: ptr(lockOf(drill.TicketChanged, partial)), config: &drill.PublicAccessBlock{IgnorePublicAcls: true}, describe: running,
			released: true},
		{name: "the lock changed meanwhile: not released, said so", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial, describe: longAgo,
			setup: func(e *env) {
				e.store.DeleteErr = func(key string, _ *s3.DeleteObjectInput) error {
					e.store.DeleteErr = nil
					e.store.PutTicket(key, other) // another drill took it between the read and the delete
					return nil
				}
			},
			err: "changed while releasing it (now run-b", wantLock: "run-b"},
		{name: "the delete fails: an error, the lock kept", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial, describe: longAgo,
			setup: func(e *env) {
				e.store.DeleteErr = func(string, *s3.DeleteObjectInput) error {
					return pabtest.APIError("DeleteObject", 403, "AccessDenied")
				}
			},
			err: "AccessDenied", wantLock: "run-a"},
		{name: "the lock cannot be read: an error", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial,
			setup: func(e *env) {
				e.store.GetErr = func(string) error { return pabtest.APIError("GetObject", 500, "InternalError") }
			},
			err: "InternalError", wantLock: "run-a"},
		{name: "the check after the release fails: released all the same", lock: ptr(lockOf(drill.TicketHeld, partial)), config: partial, describe: longAgo,
			setup: func(e *env) {
				e.store.DeleteErr = func(string, *s3.DeleteObjectInput) error {
					e.store.GetErr = func(string) error { return pabtest.APIError("GetObject", 500, "InternalError") }
					return nil
				}
			},
			released: true},
		{name: "no lock", config: partial, err: "no lock on ui-bucket in the ledger ledger-bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.config, tc.describe)
			if tc.lock != nil {
				e.putLock(*tc.lock)
			}
			if tc.setup != nil {
				tc.setup(e)
			}
			s, err := operator.Unlock(context.Background(), e.c, bucket, tc.force)
			var refused *operator.UnlockRefused
			switch {
			case tc.refused != "":
				if !errors.As(err, &refused) || !strings.Contains(refused.Reason, tc.refused) || !strings.Contains(err.Error(), "not unlocking ui-bucket: ") {
					t.Fatalf("err %v, want refused: %q", err, tc.refused)
				}
				if refused.Status.Lock.Execution != "run-a" || refused.Status.Bucket != s.Bucket || s.Lock.Execution != "run-a" {
					t.Errorf("refusal's status %+v, returned %+v", refused.Status, s)
				}
			case tc.err != "":
				if err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
			default:
				if err != nil {
					t.Fatalf("err %v", err)
				}
			}
			if tc.released && (s.Lock.Execution != "run-a" || s.Key != drill.LockKey(bucket) || !pab.Equal(s.Lock.Prior, partial)) {
				t.Errorf("returned %+v: want what was read", s)
			}
			got := e.lock()
			if (got == nil) != (tc.wantLock == "") || got != nil && got.Execution != tc.wantLock {
				t.Errorf("lock left %+v, want %q", got, tc.wantLock)
			}
			if c := e.s3.Config(bucket); !pab.Equal(c, tc.config) {
				t.Errorf("unlock changed the bucket: %s, was %s", pab.String(c), pab.String(tc.config))
			}
			for _, call := range e.s3.Calls {
				if !strings.HasPrefix(call, "Get") {
					t.Errorf("unlock wrote the bucket: %s", call)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// runTicket is run-a's run ticket: held, block-bucket's put recorded at sent.
func runTicket(prior *drill.PublicAccessBlock, sent time.Time) drill.Ticket {
	t := lockOf(drill.TicketHeld, prior)
	t.BlockSentAt = &sent
	return t
}

func TestRestore(t *testing.T) {
	runKey := drill.RunTicketKey(ledgertest.ID("run-a"))
	recordKey := drill.RestoreRecordKey("run-a", ledgertest.ID("run-a").StartTime, drill.ReasonOperator)
	noRegion := lockOf(drill.TicketHeld, partial)
	noRegion.ExecutionArn = strings.Replace(noRegion.ExecutionArn, "us-east-1", "", 1)
	legacy := drill.Ticket{Bucket: bucket, Region: "us-east-1", Execution: "old", Status: drill.TicketHeld, Prior: partial}

	for _, tc := range []struct {
		name     string
		lock     *drill.Ticket
		sent     time.Time // the run ticket's BlockSentAt (zero: no run ticket)
		config   *drill.PublicAccessBlock
		describe func(string) (*sfn.DescribeExecutionOutput, error)
		force    bool
		settle   time.Duration // Clients.Settle (0: the test's settle)
		onSleep  func(e *env)

		err        string // a substring; "" none
		running    bool   // the error is ErrRunning
		changed    bool   // the error is *drill.BucketChangedDuringDrill
		wantConfig *drill.PublicAccessBlock
		wantLock   string   // the lock's status afterwards ("" none)
		sleeps     []string // the waits
		waited     float64
		recorded   string // the restore record's execution status; "-" no record
		asked      int    // DescribeExecution calls
	}{
		{name: "ended long ago: restored and released without waiting", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-5 * time.Minute),
			config: &drill.BlockAll, describe: longAgo,
			wantConfig: partial, recorded: "ABORTED", asked: 1},
		{name: "running: refused, nothing written", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-10 * time.Second),
			config: &drill.BlockAll, describe: running,
			err: "is RUNNING", running: true, wantConfig: &drill.BlockAll, wantLock: drill.TicketHeld, recorded: "-", asked: 1},
		{name: "redrive pending counts as running", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-10 * time.Second),
			config: &drill.BlockAll, describe: described(types.ExecutionStatusPendingRedrive, ledgertest.Start, now.Add(-time.Hour)),
			err: "PENDING_REDRIVE", running: true, wantConfig: &drill.BlockAll, wantLock: drill.TicketHeld, recorded: "-", asked: 1},
		{name: "running, forced: restored, waits until no block can land, then released", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-10 * time.Second),
			config: &drill.BlockAll, describe: running, force: true,
			wantConfig: partial, sleeps: []string{"1m0s"}, waited: 60, recorded: ""},
		{name: "ended just now: waits, a block landing meanwhile is undone, then released", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-10 * time.Second),
			config: &drill.BlockAll, describe: abortedAt(now.Add(-time.Second)),
			onSleep: func(e *env) {
				e.s3.Configs[bucket] = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
			},
			wantConfig: partial, sleeps: []string{"1m0s"}, waited: 60, recorded: "ABORTED", asked: 1},
		{name: "no prior: the late block is deleted", lock: ptr(lockOf(drill.TicketHeld, nil)), sent: now.Add(-40 * time.Second),
			config: &drill.BlockAll, describe: abortedAt(now.Add(-time.Second)),
			onSleep: func(e *env) {
				e.s3.Configs[bucket] = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
			},
			wantConfig: nil, sleeps: []string{"30s"}, waited: 30, recorded: "ABORTED", asked: 1},
		{name: "Settle unset: waits the deployed stack's", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-10 * time.Second), settle: -1,
			config: &drill.BlockAll, describe: abortedAt(now.Add(-time.Second)),
			wantConfig: partial, sleeps: []string{(restore.DefaultSettle - 10*time.Second).String()}, waited: (restore.DefaultSettle - 10*time.Second).Seconds(), recorded: "ABORTED", asked: 1},
		{name: "settling lock left by the flow: waits out its window, looks again, released", lock: ptr(settlingLock(partial, now.Add(20*time.Second))),
			config: partial, describe: abortedAt(now.Add(-time.Second)),
			onSleep: func(e *env) {
				e.s3.Configs[bucket] = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
			},
			wantConfig: partial, sleeps: []string{"20s"}, waited: 20, recorded: "ABORTED", asked: 1},
		{name: "Step Functions cannot be asked: refused, --force named", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-5 * time.Minute),
			config: &drill.BlockAll, describe: denied,
			err: "pass --force to restore without knowing", wantConfig: &drill.BlockAll, wantLock: drill.TicketHeld, recorded: "-", asked: 1},
		{name: "Step Functions cannot be asked, forced: restored", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-5 * time.Minute),
			config: &drill.BlockAll, describe: denied, force: true,
			wantConfig: partial, recorded: ""},
		{name: "the execution is gone: restored", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-5 * time.Minute),
			config: &drill.BlockAll, describe: gone,
			wantConfig: partial, recorded: "gone", asked: 1},
		{name: "an ARN without a region: refused", lock: &noRegion, sent: now.Add(-5 * time.Minute),
			config: &drill.BlockAll,
			err:    "is not a Step Functions execution ARN", wantConfig: &drill.BlockAll, wantLock: drill.TicketHeld, recorded: "-"},
		{name: "changed during the drill: kept, the lock marked changed", lock: ptr(lockOf(drill.TicketHeld, partial)), sent: now.Add(-5 * time.Minute),
			config: &drill.PublicAccessBlock{IgnorePublicAcls: true}, describe: longAgo,
			err: "changed during the drill", changed: true, wantConfig: &drill.PublicAccessBlock{IgnorePublicAcls: true}, wantLock: drill.TicketChanged, recorded: "ABORTED", asked: 1},
		{name: "a lock without the execution's identity: refused, put back by hand", lock: &legacy,
			config: &drill.BlockAll,
			err:    "does not identify its execution", wantConfig: &drill.BlockAll, wantLock: drill.TicketHeld, recorded: "-"},
		{name: "no lock: nothing to restore", config: &drill.BlockAll,
			err: "no lock on ui-bucket in the ledger ledger-bucket: nothing to restore", wantConfig: &drill.BlockAll, recorded: "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.config, tc.describe)
			if tc.settle != 0 {
				e.c.Settle = max(tc.settle, 0)
			}
			if tc.lock != nil {
				e.putLock(*tc.lock)
			}
			if !tc.sent.IsZero() {
				e.store.PutTicket(runKey, runTicket(tc.lock.Prior, tc.sent))
			}
			if tc.onSleep != nil {
				e.onSleep = func() { tc.onSleep(e) }
			}
			res, err := operator.Restore(context.Background(), e.c, bucket, tc.force)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if errors.Is(err, operator.ErrRunning) != tc.running {
				t.Errorf("err %v: ErrRunning %t, want %t", err, !tc.running, tc.running)
			}
			var ch *drill.BucketChangedDuringDrill
			if errors.As(err, &ch) != tc.changed {
				t.Errorf("err %v: changed during the drill %t, want %t", err, !tc.changed, tc.changed)
			}
			if got := e.s3.Config(bucket); !pab.Equal(got, tc.wantConfig) {
				t.Errorf("bucket %s, want %s", pab.String(got), pab.String(tc.wantConfig))
			}
			lock := e.lock()
			if (lock == nil) != (tc.wantLock == "") || lock != nil && lock.Status != tc.wantLock {
				t.Errorf("lock %+v, want status %q", lock, tc.wantLock)
			}
			var sleeps []string
			for _, d := range e.sleeps {
				sleeps = append(sleeps, d.String())
			}
			if strings.Join(sleeps, ",") != strings.Join(tc.sleeps, ",") {
				t.Errorf("waited %v, want %v", sleeps, tc.sleeps)
			}
			if len(e.sfn.asked) != tc.asked {
				t.Errorf("Step Functions asked %v, want %d calls", e.sfn.asked, tc.asked)
			}
			for _, r := range e.sfnRegions {
				if r != "us-east-1" {
					t.Errorf("Step Functions of %s, want the ARN's region", r)
				}
			}
			if err == nil {
				if !res.MatchesPrior || res.LockReleasedAt == nil || res.SettlingUntil != nil || res.Execution != "run-a" || res.Bucket != bucket || res.WaitedSeconds != tc.waited {
					t.Errorf("result %+v", res)
				}
				if run := e.store.Ticket(runKey); run == nil || run.Status != drill.TicketRestored {
					t.Errorf("run ticket %+v, want restored", run)
				}
			}
			if tc.recorded == "-" {
				if keys := e.store.Keys(); len(keys) > 2 {
					t.Errorf("recorded a restore: %v", keys)
				}
				return
			}
			o, ok := e.store.Objects[recordKey]
			if !ok {
				t.Fatalf("no restore record at %s: %v", recordKey, e.store.Keys())
			}
			var rec drill.RestoreRecord
			if err := json.Unmarshal(o.Body, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Reason != drill.ReasonOperator || rec.ExecutionStatus != tc.recorded || rec.Execution != "run-a" {
				t.Errorf("restore record %+v, want reason operator, execution status %q", rec, tc.recorded)
			}
		})
	}
}

func TestRestoreLockUnreadable(t *testing.T) {
	e := newEnv(t, &drill.BlockAll, longAgo)
	e.putLock(lockOf(drill.TicketHeld, partial))
	e.store.GetErr = func(string) error { return pabtest.APIError("GetObject", 500, "InternalError") }
	if _, err := operator.Restore(context.Background(), e.c, bucket, true); err == nil || !strings.Contains(err.Error(), "InternalError") {
		t.Errorf("err %v", err)
	}
	if got := e.s3.Config(bucket); !pab.Equal(got, &drill.BlockAll) || len(e.sfn.asked) != 0 {
		t.Errorf("bucket %s, asked %v", pab.String(got), e.sfn.asked)
	}
}
