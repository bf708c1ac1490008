package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/sweeper"
)

var partialPAB = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}

// opsEnvOf points the operator's clients at the sandbox, as an administrator.
func opsEnvOf(env *local.Env) opsFactory {
	return func(context.Context) (opsEnv, error) {
		return opsEnv{
			S3: awsconf.SandboxFactory(env.Sandbox.S3Endpoints()),
			SFN: func(region string) sweeper.ExecutionAPI {
				return awsconf.SandboxSFN(env.Sandbox.SFNEndpoint(), region, awsconf.SandboxAdmin)
			},
		}, nil
	}
}

type cli struct {
	t   *testing.T
	env *local.Env
}

func (c cli) run(name string, stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	sc := c.env.Sandbox.Config()
	// The replica's block-bucket lives at most local.SafetyNetSettle, as the deployed
	// one lives at most the default --settle.
	args = append([]string{"--ledger", sc.LedgerBucket, "--region", sc.PrimaryRegion, "--settle", local.SafetyNetSettle.String()}, args...)
	ops := opsEnvOf(c.env)
	var code int
	switch name {
	case "status":
		code = runStatus(context.Background(), args, &stdout, &stderr, ops)
	case "restore":
		code = runRestore(context.Background(), args, &stdout, &stderr, ops)
	case "unlock":
		code = runUnlock(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, ops)
	}
	return code, stdout.String(), stderr.String()
}

func startOpsEnv(t *testing.T) (*local.Env, cli) {
	t.Helper()
	env, err := local.Start(sandbox.Config{PrimaryPAB: partialPAB, PropagationDelay: 200 * time.Millisecond, ReplicationLag: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env, cli{t, env}
}

// blockAsRun starts an execution named name in the Step Functions stand-in and runs
// block-bucket for it: the bucket blocked, its lock held with the prior.
func blockAsRun(t *testing.T, env *local.Env, name string) drill.RunID {
	t.Helper()
	sc := env.Sandbox.Config()
	id := drill.RunID{Execution: name, ExecutionArn: asl.ExecutionARN(env.StateMachineArn, name), StartTime: drill.At(time.Now())}
	env.Sandbox.ExecutionStarted(id.ExecutionArn, env.StateMachineArn, id.Execution, id.StartTime.Time())
	cfg, _ := json.Marshal(map[string]string{"distribution": env.Sandbox.DistributionURL(), "primaryBucket": sc.PrimaryBucket})
	if _, err := env.Block.Handle(context.Background(), drill.BlockInput{Config: cfg, Execution: id.Execution, ExecutionArn: id.ExecutionArn, StartTime: id.StartTime}); err != nil {
		t.Fatal(err)
	}
	return id
}

func bucketConfig(t *testing.T, env *local.Env) *drill.PublicAccessBlock {
	t.Helper()
	got, _ := env.Sandbox.PublicAccessBlock(env.Sandbox.Config().PrimaryBucket)
	return got
}

func lockHeld(env *local.Env) bool {
	sc := env.Sandbox.Config()
	_, held := env.Sandbox.Object(sc.LedgerBucket, drill.LockKey(sc.PrimaryBucket))
	return held
}

// The runbook's first case: a drill was stopped and its safety-net event lost; the
// operator finds the lock with drill status and puts the bucket back with drill restore.
func TestOperatorStatusThenRestore(t *testing.T) {
	env, c := startOpsEnv(t)
	sc := env.Sandbox.Config()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	out, err := env.Run(ctx, local.RunOptions{Name: "stuck-1", Input: json.RawMessage(`{"probeIntervalMs":50,"failoverTimeoutSeconds":20}`), NoSafetyNet: true,
		OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered && ev.State == "AwaitFailover" {
				once.Do(func() { time.AfterFunc(50*time.Millisecond, cancel) })
			}
		}})
	if err != nil || out.Result.Status != asl.StatusAborted {
		t.Fatalf("run: %v %v", out.Result.Status, err)
	}

	code, stdout, stderr := c.run("status", "")
	for _, want := range []string{"1 lock(s)", "bucket      " + sc.PrimaryBucket, "stuck-1 (started " + out.ID.StartTime.String() + ")",
		out.ID.ExecutionArn, "state       ABORTED", "prior       " + pab.String(partialPAB), "the drill's block",
		"action      drill restore --ledger " + sc.LedgerBucket + " --bucket " + sc.PrimaryBucket} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s%s", want, stdout, stderr)
		}
	}
	if code != exitFail {
		t.Errorf("status exit %d, want %d (a lock needs action)", code, exitFail)
	}

	if code, _, stderr := c.run("restore", ""); code != exitUsage || !strings.Contains(stderr, "--bucket") {
		t.Errorf("restore without --bucket: %d %s", code, stderr)
	}
	code, stdout, stderr = c.run("restore", "", "--bucket", sc.PrimaryBucket)
	if code != exitPass || !strings.Contains(stdout, "restored to "+pab.String(partialPAB)) || !strings.Contains(stdout, "lock released") {
		t.Fatalf("restore: %d\n%s%s", code, stdout, stderr)
	}
	if got := bucketConfig(t, env); !pab.Equal(got, partialPAB) || lockHeld(env) {
		t.Errorf("after drill restore: bucket %s, lock held %v", pab.String(got), lockHeld(env))
	}
	if code, stdout, _ := c.run("status", ""); code != exitPass || !strings.Contains(stdout, "0 lock(s)") {
		t.Errorf("status after: %d %s", code, stdout)
	}
	if code, _, stderr := c.run("restore", "", "--bucket", sc.PrimaryBucket); code != exitNoVerdict || !strings.Contains(stderr, "no lock on") {
		t.Errorf("restore of an unlocked bucket: %d %s", code, stderr)
	}
}

// A lock whose execution still runs: status says so and restore refuses without
// --force. A bucket someone changed: restore refuses even with --force, and the way out
// is unlock, after a confirmation naming the bucket.
func TestOperatorRunningChangedAndUnlock(t *testing.T) {
	env, c := startOpsEnv(t)
	sc := env.Sandbox.Config()
	id := blockAsRun(t, env, "running-1")

	code, stdout, _ := c.run("status", "")
	if code != exitPass || !strings.Contains(stdout, "state       RUNNING") || !strings.Contains(stdout, "action      none") {
		t.Errorf("status of a running drill: %d\n%s", code, stdout)
	}
	code, _, stderr := c.run("restore", "", "--bucket", sc.PrimaryBucket)
	if code != exitFail || !strings.Contains(stderr, "still running") || !strings.Contains(stderr, "stop-execution --execution-arn "+id.ExecutionArn) {
		t.Errorf("restore of a running drill's bucket: %d %s", code, stderr)
	}
	if got := bucketConfig(t, env); !pab.Equal(got, &drill.BlockAll) || !lockHeld(env) {
		t.Fatalf("a refused restore changed things: %s, lock %v", pab.String(got), lockHeld(env))
	}

	human := &drill.PublicAccessBlock{BlockPublicPolicy: true}
	if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, human); err != nil {
		t.Fatal(err)
	}
	env.Sandbox.ExecutionEnded(id.ExecutionArn, "FAILED", time.Now(), drill.RestoreFailed, "")
	code, stdout, _ = c.run("status", "")
	if code != exitFail || !strings.Contains(stdout, "CHANGED during the drill") || !strings.Contains(stdout, "drill unlock --ledger") {
		t.Errorf("status of a changed bucket: %d\n%s", code, stdout)
	}
	code, _, stderr = c.run("restore", "", "--bucket", sc.PrimaryBucket, "--force")
	if code != exitFail || !strings.Contains(stderr, "changed during the drill") {
		t.Errorf("restore of a changed bucket: %d %s", code, stderr)
	}
	if got := bucketConfig(t, env); !pab.Equal(got, human) || !lockHeld(env) {
		t.Fatalf("the person's change was overwritten or the lock released: %s, lock %v", pab.String(got), lockHeld(env))
	}
	// Runbook step 4: the owner decides the bucket must block all public access. The
	// drill still leaves it (and the lock) alone: only unlock ends it.
	if err := pab.Set(context.Background(), env.S3(sc.PrimaryRegion), sc.PrimaryBucket, &drill.BlockAll); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = c.run("status", "")
	if code != exitFail || !strings.Contains(stdout, "CHANGED during the drill (restore found") || !strings.Contains(stdout, "prior       "+pab.String(partialPAB)) {
		t.Errorf("status of a changed bucket its owner blocked: %d\n%s", code, stdout)
	}
	code, _, stderr = c.run("restore", "", "--bucket", sc.PrimaryBucket, "--force")
	if code != exitFail || !strings.Contains(stderr, "changed during the drill") {
		t.Errorf("restore of a changed bucket its owner blocked: %d %s", code, stderr)
	}
	if got := bucketConfig(t, env); !pab.Equal(got, &drill.BlockAll) || !lockHeld(env) {
		t.Fatalf("the owner's block was undone or the lock released: %s, lock %v", pab.String(got), lockHeld(env))
	}
	human = &drill.BlockAll

	for _, tc := range []struct {
		name, stdin string
		args        []string
	}{
		{name: "wrong name typed", stdin: "yes\n"},
		{name: "nothing typed", stdin: ""},
		{name: "wrong --confirm", args: []string{"--confirm", sc.SecondaryBucket}},
	} {
		code, _, stderr := c.run("unlock", tc.stdin, append([]string{"--bucket", sc.PrimaryBucket}, tc.args...)...)
		if code != exitFail || !strings.Contains(stderr, "not confirmed") || !lockHeld(env) {
			t.Errorf("%s: %d %s, lock %v", tc.name, code, stderr, lockHeld(env))
		}
	}
	code, stdout, stderr = c.run("unlock", sc.PrimaryBucket+"\n", "--bucket", sc.PrimaryBucket)
	if code != exitPass || !strings.Contains(stderr, "Type the bucket name to confirm") || !strings.Contains(stdout, "its prior (what the bucket held before the drill): "+pab.String(partialPAB)) {
		t.Errorf("unlock: %d\n%s%s", code, stdout, stderr)
	}
	if lockHeld(env) || !pab.Equal(bucketConfig(t, env), human) {
		t.Errorf("after unlock: lock %v, bucket %s (unlock must not touch it)", lockHeld(env), pab.String(bucketConfig(t, env)))
	}
	if code, _, stderr := c.run("unlock", "", "--bucket", sc.PrimaryBucket, "--confirm", sc.PrimaryBucket); code != exitNoVerdict || !strings.Contains(stderr, "no lock on") {
		t.Errorf("unlock of an unlocked bucket: %d %s", code, stderr)
	}
}

// drill unlock reads before it releases: while the bucket holds the drill's block and
// the lock records a prior, it refuses, shows the prior against the bucket and points
// at drill restore; --force still releases it, after showing the same.
func TestOperatorUnlockRefusesWhileTheBucketHoldsTheBlock(t *testing.T) {
	env, c := startOpsEnv(t)
	sc := env.Sandbox.Config()
	id := blockAsRun(t, env, "stopped-1")
	env.Sandbox.ExecutionEnded(id.ExecutionArn, "ABORTED", time.Now().Add(-time.Hour), "", "")
	code, _, stderr := c.run("unlock", "", "--bucket", sc.PrimaryBucket, "--confirm", sc.PrimaryBucket)
	if code != exitFail || !strings.Contains(stderr, "not unlocking") || !strings.Contains(stderr, "holds the drill's block") ||
		!strings.Contains(stderr, "prior       "+pab.String(partialPAB)) || !strings.Contains(stderr, "drill restore --bucket "+sc.PrimaryBucket) || !lockHeld(env) {
		t.Errorf("unlock while the bucket holds the block: %d\n%s", code, stderr)
	}
	code, stdout, stderr := c.run("unlock", "", "--bucket", sc.PrimaryBucket, "--confirm", sc.PrimaryBucket, "--force")
	if code != exitPass || !strings.Contains(stderr, "WARNING") || !strings.Contains(stdout, "released the lock") || lockHeld(env) {
		t.Errorf("unlock --force: %d\n%s%s", code, stdout, stderr)
	}
	if got := bucketConfig(t, env); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("unlock touched the bucket: %s", pab.String(got))
	}
}

func TestOperatorUsage(t *testing.T) {
	env, c := startOpsEnv(t)
	_ = env
	for _, tc := range []struct {
		cmd  string
		args []string
		says string
	}{
		{"status", []string{"--ledger", "Bad_Bucket"}, "--ledger"},
		{"restore", []string{"--bucket", "x"}, "--bucket"},
		{"unlock", []string{"--bucket", "UPPER"}, "--bucket"},
		{"status", []string{"-nope"}, "-nope"},
	} {
		var stdout, stderr bytes.Buffer
		var code int
		switch tc.cmd {
		case "status":
			code = runStatus(context.Background(), tc.args, &stdout, &stderr, opsEnvOf(env))
		case "restore":
			code = runRestore(context.Background(), append([]string{"--ledger", "l-ok"}, tc.args...), &stdout, &stderr, opsEnvOf(env))
		case "unlock":
			code = runUnlock(context.Background(), append([]string{"--ledger", "l-ok"}, tc.args...), strings.NewReader(""), &stdout, &stderr, opsEnvOf(env))
		}
		if code != exitUsage || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%s %v: %d %s", tc.cmd, tc.args, code, stderr.String())
		}
	}
	_ = c
}
