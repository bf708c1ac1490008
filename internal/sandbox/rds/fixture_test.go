package rds_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/sandbox/iam"
	"github.com/unishop/failover-drill/internal/sandbox/rds"
)

const (
	east, west = "us-east-1", "us-west-1"
	account    = "123456789012"
	global     = "unishop-global"
)

// fixture is a global database behind a loopback endpoint, and an SDK client for it.
type fixture struct {
	db       *rds.Service
	url      string
	client   *awsrds.Client
	policies *iam.Policies
}

func newFixture(t *testing.T, opt rds.Options) *fixture {
	t.Helper()
	f := &fixture{policies: &iam.Policies{}}
	opt.Account, opt.GlobalClusterID, opt.Regions = account, global, [2]string{east, west}
	opt.Authorize = f.policies.Allowed
	f.db = rds.New(opt)
	srv := httptest.NewServer(f.db)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.client = f.clientAs("tester")
	return f
}

// clientAs is the real SDK client, signed as principal, one attempt per call.
func (f *fixture) clientAs(principal string) *awsrds.Client {
	return awsrds.NewFromConfig(awsconf.SandboxConfigAs(west, principal), func(o *awsrds.Options) {
		o.BaseEndpoint = aws.String(f.url)
		o.RetryMaxAttempts = 1
	})
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// describe is the one global cluster as the SDK decodes it.
func (f *fixture) describe(t *testing.T) types.GlobalCluster {
	t.Helper()
	out, err := f.client.DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(global)})
	if err != nil {
		t.Fatalf("DescribeGlobalClusters: %v", err)
	}
	if len(out.GlobalClusters) != 1 {
		t.Fatalf("DescribeGlobalClusters: %d clusters", len(out.GlobalClusters))
	}
	return out.GlobalClusters[0]
}

// writer is the DBClusterArn of the member with IsWriter, and the FailoverState's
// status ("" when none).
func (f *fixture) writer(t *testing.T) (string, string) {
	t.Helper()
	g := f.describe(t)
	var writers []string
	for _, m := range g.GlobalClusterMembers {
		if aws.ToBool(m.IsWriter) {
			writers = append(writers, aws.ToString(m.DBClusterArn))
		}
	}
	if len(writers) != 1 {
		t.Fatalf("writers %v, want exactly one", writers)
	}
	status := ""
	if g.FailoverState != nil {
		status = string(g.FailoverState.Status)
	}
	return writers[0], status
}

func (f *fixture) switchover(t *testing.T, region string) error {
	t.Helper()
	_, err := f.client.SwitchoverGlobalCluster(ctx(t), &awsrds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(global), TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(region)),
	})
	return err
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func mysqlNumber(err error) int {
	var me *rds.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func row(v string) map[string][]byte { return map[string][]byte{v: []byte(v)} }
