package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/policy"
)

const readOnlyError = "ERROR 1290 (HY000): The MySQL server is running with the --read-only option"

func signUp(t *testing.T, api, email string) response {
	t.Helper()
	return do(t, "POST", api+"/user", `{"email":"`+email+`"}`)
}

func logIn(t *testing.T, api, email string) int {
	t.Helper()
	return do(t, "POST", api+"/user/login", `{"email":"`+email+`"}`).status
}

// rdsClient is the real SDK client for the sandbox's RDS endpoint, signed as principal.
func rdsClient(s *Sandbox, principal string) *awsrds.Client {
	return awsrds.NewFromConfig(awsconf.SandboxConfigAs(s.Config().SecondaryRegion, principal), func(o *awsrds.Options) {
		o.BaseEndpoint = aws.String(s.RDSEndpoint())
		o.RetryMaxAttempts = 1
	})
}

// TestSignUpGoesThroughTheGlobalDatabase: the secondary region's sign-up fails with
// error 1290 until the lab's "Promote Aurora", done as a switchover through the RDS
// API; during the switch sign-ups fail in both regions; afterwards the secondary takes
// them, the primary answers 1290, every user signed up before is there, and a switch
// back restores the lab's topology.
func TestSignUpGoesThroughTheGlobalDatabase(t *testing.T) {
	const lag, switching = 100 * time.Millisecond, 400 * time.Millisecond
	s := start(t, Config{ReplicationLag: lag, DBSwitchoverPending: time.Nanosecond, DBSwitchoverTime: switching})
	p, q := s.Primary(), s.Secondary()

	if res := signUp(t, q.APIURL, "west@example.com"); res.status != 500 || !strings.Contains(res.body, readOnlyError) {
		t.Fatalf("sign-up in %s before the switch: %d %q, want 500 with error 1290", q.Name, res.status, res.body)
	}
	if res := signUp(t, p.APIURL, "first@example.com"); res.status != http.StatusCreated {
		t.Fatalf("sign-up in %s: %d %q", p.Name, res.status, res.body)
	}
	eventually(t, lag+2*time.Second, "the user replicated to the secondary", func() bool { return logIn(t, q.APIURL, "first@example.com") == 200 })

	began := time.Now() // no later than the switch's start
	_, err := rdsClient(s, "operator").SwitchoverGlobalCluster(ctx(t), &awsrds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(GlobalClusterID), TargetDbClusterIdentifier: aws.String(s.DBClusterARN(q.Name))})
	if err != nil {
		t.Fatalf("SwitchoverGlobalCluster: %v", err)
	}
	for _, api := range []string{p.APIURL, q.APIURL} {
		res := signUp(t, api, "during@example.com")
		if time.Since(began) < switching && (res.status != 500 || !strings.Contains(res.body, "ERROR 2003")) {
			t.Errorf("sign-up through %s during the switch: %d %q, want 500 with error 2003", api, res.status, res.body)
		}
	}
	if !s.AwaitDatabaseWriter(q.Name, 5*time.Second) {
		t.Fatal("the switchover never ended")
	}
	if res := signUp(t, q.APIURL, "west@example.com"); res.status != http.StatusCreated {
		t.Errorf("sign-up in %s after the switch: %d %q", q.Name, res.status, res.body)
	}
	if res := signUp(t, p.APIURL, "east@example.com"); res.status != 500 || !strings.Contains(res.body, readOnlyError) {
		t.Errorf("sign-up in the demoted %s: %d %q, want 1290", p.Name, res.status, res.body)
	}
	if code := logIn(t, q.APIURL, "first@example.com"); code != 200 {
		t.Errorf("the user signed up before the switch, in %s: log-in %d", q.Name, code)
	}
	eventually(t, lag+2*time.Second, "the new writer's user replicated to the old one", func() bool { return logIn(t, p.APIURL, "west@example.com") == 200 })

	if err := s.PromoteSecondary(); err == nil || !strings.Contains(err.Error(), "already the primary") {
		t.Errorf("promoting the writer again: %v", err)
	}
	if err := s.SwitchoverDatabase(p.Name); err != nil {
		t.Fatalf("switch back: %v", err)
	}
	if !s.AwaitDatabaseWriter(p.Name, 5*time.Second) {
		t.Fatal("the switch back never ended")
	}
	if res := signUp(t, q.APIURL, "again@example.com"); res.status != 500 || !strings.Contains(res.body, readOnlyError) {
		t.Errorf("sign-up in %s after the switch back: %d %q, want 1290", q.Name, res.status, res.body)
	}
}

// TestStaleDNSSignUp: with the global writer endpoint both regions' sign-ups reach the
// writer; after a switchover the primary region's client, whose DNS cache still names
// the old writer, is answered 1290 until its TTL has passed, then writes again.
func TestStaleDNSSignUp(t *testing.T) {
	const ttl = 600 * time.Millisecond
	s := start(t, Config{DBWriterEndpoint: DBEndpointGlobal, DBDNSCacheTTL: ttl, DBSwitchoverPending: time.Nanosecond, DBSwitchoverTime: 50 * time.Millisecond})
	p, q := s.Primary(), s.Secondary()
	cached := time.Now()
	if res := signUp(t, p.APIURL, "a@example.com"); res.status != http.StatusCreated {
		t.Fatalf("sign-up in %s: %d %q", p.Name, res.status, res.body)
	}
	if err := s.PromoteSecondary(); err != nil {
		t.Fatal(err)
	}
	if !s.AwaitDatabaseWriter(q.Name, 5*time.Second) {
		t.Fatal("the switchover never ended")
	}
	if res := signUp(t, q.APIURL, "b@example.com"); res.status != http.StatusCreated {
		t.Errorf("sign-up in %s (resolving after the switch): %d %q", q.Name, res.status, res.body)
	}
	res := signUp(t, p.APIURL, "c@example.com")
	if time.Since(cached) < ttl && (res.status != 500 || !strings.Contains(res.body, readOnlyError)) {
		t.Errorf("sign-up in %s with a stale cache: %d %q, want 1290 from the demoted node", p.Name, res.status, res.body)
	}
	time.Sleep(time.Until(cached.Add(ttl + 20*time.Millisecond)))
	if res := signUp(t, p.APIURL, "d@example.com"); res.status != http.StatusCreated {
		t.Errorf("sign-up in %s after the TTL: %d %q", p.Name, res.status, res.body)
	}
}

// TestRDSEnforcesDeclaredPolicies: a function is held to what internal/policy declares
// for it (no function has an RDS grant yet), an administrator may do everything.
func TestRDSEnforcesDeclaredPolicies(t *testing.T) {
	s := start(t, Config{})
	s.SetPolicies(map[string][]policy.Statement{drill.FuncReadiness: policy.For(drill.FuncReadiness, policy.Values{DistributionArn: DistributionARN()})})
	_, err := rdsClient(s, drill.FuncReadiness).DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{})
	if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "rds:DescribeGlobalClusters") {
		t.Errorf("readiness describing the global cluster: %v, want AccessDenied", err)
	}
	out, err := rdsClient(s, "operator").DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{})
	if err != nil || len(out.GlobalClusters) != 1 || aws.ToString(out.GlobalClusters[0].GlobalClusterArn) != s.GlobalClusterARN() {
		t.Errorf("the operator describing: %v %+v", err, out)
	}
}

func TestDatabaseConfigRefused(t *testing.T) {
	_, err := Start(Config{DBWriterEndpoint: "reader", DBSwitchoverTime: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "DBWriterEndpoint") || !strings.Contains(err.Error(), "DBSwitchoverTime") {
		t.Errorf("Start: %v, want both fields named", err)
	}
}
