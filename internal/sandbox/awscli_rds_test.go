package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// awsCLIOut is awsCLI for a command whose output is the answer: an error when the
// CLI failed (its stderr logged). One attempt: the replica answers at once.
func awsCLIOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, stderr, ok := awsCLI(t, []string{"AWS_MAX_ATTEMPTS=1"}, args...)
	if !ok {
		t.Logf("aws %v: %s", args, stderr)
		return out, fmt.Errorf("aws %s %s failed", args[0], args[1])
	}
	return out, nil
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
		out, err := awsCLIOut(t, "rds", "--endpoint-url", s.RDSEndpoint(), "--region", q.Name, "switchover-global-cluster",
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
