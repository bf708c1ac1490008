package rds_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/rds"
)

// awsCLI runs the real AWS CLI against endpoint with throwaway credentials and no
// user configuration, and returns its stdout. Without `aws` on PATH the test fails
// under CI=true and is skipped, saying why, elsewhere.
func awsCLI(t *testing.T, endpoint string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS CLI (aws) is not on PATH: %v", err)
		}
		t.Skipf("the AWS CLI (aws) is not on PATH (%v); CI=true makes this a failure", err)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"rds", "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &cliError{err, stderr.String()}
	}
	return string(out), nil
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

type cliGlobalCluster struct {
	GlobalClusterIdentifier string
	GlobalClusterMembers    []struct {
		DBClusterArn string
		IsWriter     bool
	}
	FailoverState *struct {
		Status, FromDbClusterArn, ToDbClusterArn string
		IsDataLossAllowed                        bool
	}
}

// TestAWSCLI: a person's "Promote Aurora" by hand, as a reversible switchover with the
// AWS CLI v1: describe-global-clusters shows the writer, switchover-global-cluster
// starts the switch (FailoverState pending), describe shows the new writer once it is
// over, and a switchover to the cluster that is already the writer is refused with
// RDS's error code. (The CLI takes seconds a call on a loaded machine: four calls.)
func TestAWSCLI(t *testing.T) {
	f := newFixture(t, rds.Options{PendingTime: 100 * time.Millisecond, SwitchoverTime: 200 * time.Millisecond})
	describe := func() cliGlobalCluster {
		t.Helper()
		out, err := awsCLI(t, f.url, "describe-global-clusters", "--global-cluster-identifier", global)
		if err != nil {
			t.Fatalf("describe-global-clusters: %v", err)
		}
		var res struct{ GlobalClusters []cliGlobalCluster }
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.GlobalClusters) != 1 {
			t.Fatalf("describe-global-clusters: %v in %s", err, out)
		}
		return res.GlobalClusters[0]
	}
	g := describe()
	if len(g.GlobalClusterMembers) != 2 || !g.GlobalClusterMembers[0].IsWriter || g.GlobalClusterMembers[0].DBClusterArn != f.db.ClusterARN(east) ||
		g.GlobalClusterMembers[1].IsWriter || g.FailoverState != nil {
		t.Fatalf("before: %+v", g)
	}
	switchover := func() (string, error) {
		return awsCLI(t, f.url, "switchover-global-cluster", "--global-cluster-identifier", global,
			"--target-db-cluster-identifier", f.db.ClusterARN(west))
	}
	out, err := switchover()
	if err != nil {
		t.Fatalf("switchover-global-cluster: %v", err)
	}
	var res struct{ GlobalCluster cliGlobalCluster }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("switchover-global-cluster: %v in %s", err, out)
	}
	if fs := res.GlobalCluster.FailoverState; fs == nil || fs.Status != rds.StatusPending || fs.FromDbClusterArn != f.db.ClusterARN(east) ||
		fs.ToDbClusterArn != f.db.ClusterARN(west) || fs.IsDataLossAllowed {
		t.Errorf("switchover-global-cluster answered FailoverState %+v", fs)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if region, status := f.db.Writer(); region == west && status == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the switch never ended")
		}
	}
	if g := describe(); g.FailoverState != nil || !g.GlobalClusterMembers[1].IsWriter || g.GlobalClusterMembers[0].IsWriter {
		t.Errorf("after: %+v", g)
	}
	if _, err := switchover(); err == nil || !strings.Contains(err.Error(), "(InvalidDBClusterStateFault)") {
		t.Errorf("a switchover to the writer: %v, want InvalidDBClusterStateFault", err)
	}
}
