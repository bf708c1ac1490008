package sandbox

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsCLI runs the real AWS CLI with throwaway credentials and no user configuration.
// Without `aws` on PATH the test fails under CI=true and is skipped, saying why,
// elsewhere.
func awsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS CLI (aws) is not on PATH: %v", err)
		}
		t.Skipf("the AWS CLI (aws) is not on PATH (%v); CI=true makes this a failure", err)
	}
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("aws %v: %s", args, stderr.String())
	}
	return string(out), err
}

// TestPromoteAuroraWithTheAWSCLI: the lab's "Promote Aurora" by hand, as `drill
// sandbox` prints it: a switchover with the AWS CLI against the sandbox's RDS endpoint,
// after which sign-up works in the secondary region; and the switch back.
func TestPromoteAuroraWithTheAWSCLI(t *testing.T) {
	s := start(t, Config{DBSwitchoverTime: 100 * time.Millisecond})
	p, q := s.Primary(), s.Secondary()
	if res := signUp(t, q.APIURL, "before@example.com"); res.status != 500 || !strings.Contains(res.body, readOnlyError) {
		t.Fatalf("sign-up in %s before: %d %q, want 1290", q.Name, res.status, res.body)
	}
	for _, tc := range []struct{ to, email string }{{q.Name, "after@example.com"}, {p.Name, "back@example.com"}} {
		out, err := awsCLI(t, "rds", "--endpoint-url", s.RDSEndpoint(), "--region", q.Name, "switchover-global-cluster",
			"--global-cluster-identifier", GlobalClusterID, "--target-db-cluster-identifier", s.DBClusterARN(tc.to))
		if err != nil || !strings.Contains(out, `"Status": "pending"`) {
			t.Fatalf("switchover to %s: %v %s", tc.to, err, out)
		}
		if !s.AwaitDatabaseWriter(tc.to, 5*time.Second) {
			t.Fatalf("the switch to %s never ended", tc.to)
		}
		if res := signUp(t, s.site(tc.to).apiURL, tc.email); res.status != http.StatusCreated {
			t.Errorf("sign-up in %s after the switch: %d %q", tc.to, res.status, res.body)
		}
	}
}
