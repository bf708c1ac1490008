// Package database is the database stage's logic: switch the users' Aurora global
// database over to the secondary region's cluster and back with
// SwitchoverGlobalCluster (no data loss, nothing detached), measure what the shop's
// users' writes lived meanwhile, and, for restore, put the writer the run recorded
// back. Every switch follows the bucket's rule: the run ticket records it (with a
// conditional write while the run is held) before it is sent.
package database

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
)

// API is the part of the RDS client the stage and restore use.
type API interface {
	DescribeGlobalClusters(ctx context.Context, in *awsrds.DescribeGlobalClustersInput, opts ...func(*awsrds.Options)) (*awsrds.DescribeGlobalClustersOutput, error)
	SwitchoverGlobalCluster(ctx context.Context, in *awsrds.SwitchoverGlobalClusterInput, opts ...func(*awsrds.Options)) (*awsrds.SwitchoverGlobalClusterOutput, error)
}

// Look is the global cluster as one DescribeGlobalClusters call saw it.
type Look struct {
	// Writers are the members with IsWriter (exactly one when healthy).
	Writers []string
	// Members are every member cluster's ARN.
	Members []string
	// Status is FailoverState's status, "" when no switch is in progress; From and To
	// its members.
	Status, From, To string
	// Engine and EngineVersion are the global cluster's.
	Engine, EngineVersion string
	// Lagging are members whose SynchronizationStatus is not "connected" (the writer
	// has none).
	Lagging []string
}

// Writer is the one writer's ARN, "" unless there is exactly one.
func (l Look) Writer() string {
	if len(l.Writers) != 1 {
		return ""
	}
	return l.Writers[0]
}

// Member is the member cluster in region (its ARN names the region), "" if none.
func (l Look) Member(region string) string {
	for _, m := range l.Members {
		if RegionOf(m) == region {
			return m
		}
	}
	return ""
}

// RegionOf is the region a cluster ARN names (arn:aws:rds:REGION:account:cluster:id).
func RegionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// Describe reads the global cluster id.
func Describe(ctx context.Context, api API, id string) (Look, error) {
	out, err := api.DescribeGlobalClusters(ctx, &awsrds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(id)})
	if err != nil {
		return Look{}, fmt.Errorf("describe global cluster %s: %w", id, classify(err))
	}
	if len(out.GlobalClusters) != 1 {
		return Look{}, fmt.Errorf("describe global cluster %s: %d clusters answered, want 1", id, len(out.GlobalClusters))
	}
	g := out.GlobalClusters[0]
	l := Look{Engine: aws.ToString(g.Engine), EngineVersion: aws.ToString(g.EngineVersion)}
	for _, m := range g.GlobalClusterMembers {
		arn := aws.ToString(m.DBClusterArn)
		l.Members = append(l.Members, arn)
		if aws.ToBool(m.IsWriter) {
			l.Writers = append(l.Writers, arn)
		} else if s := string(m.SynchronizationStatus); s != "" && s != "connected" {
			l.Lagging = append(l.Lagging, arn)
		}
	}
	if fs := g.FailoverState; fs != nil {
		l.Status, l.From, l.To = string(fs.Status), aws.ToString(fs.FromDbClusterArn), aws.ToString(fs.ToDbClusterArn)
	}
	return l, nil
}

// errInProgress: RDS refused a switch because one is already in progress.
var errInProgress = errors.New("a switch of the global cluster is already in progress")

// Switchover asks RDS to make target (a member's ARN) the writer of global cluster
// id, within drill.DatabaseSendTimeout. A refusal because a switch is already in
// progress wraps errInProgress; one because target already is the writer returns nil.
func Switchover(ctx context.Context, api API, id, target string) error {
	ctx, cancel := context.WithTimeout(ctx, drill.DatabaseSendTimeout)
	defer cancel()
	_, err := api.SwitchoverGlobalCluster(ctx, &awsrds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(id), TargetDbClusterIdentifier: aws.String(target),
	})
	var ae smithy.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && ae.ErrorCode() == "InvalidGlobalClusterStateFault":
		return fmt.Errorf("switch global cluster %s to %s: %w: %s", id, target, errInProgress, ae.ErrorMessage())
	case errors.As(err, &ae) && ae.ErrorCode() == "InvalidDBClusterStateFault" && strings.Contains(ae.ErrorMessage(), "already the primary"):
		return nil
	}
	return fmt.Errorf("switch global cluster %s to %s: %w", id, target, classify(err))
}

// classify makes throttling and 5xx answers Transient (retried by the flow), and
// leaves the rest (access denied, not found) as they are.
func classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "InternalFailure", "ServiceUnavailable":
			return &drill.Transient{Msg: err.Error()}
		}
		return err
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return &drill.Transient{Msg: err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &drill.Transient{Msg: err.Error()}
	}
	return err
}

// PerRegion adapts a constructor of RDS clients to the Handler's RDS field, one client
// per region, made once.
func PerRegion(newClient func(region string) *awsrds.Client) func(region string) API {
	var mu sync.Mutex
	clients := map[string]API{}
	return func(region string) API {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[region]; ok {
			return c
		}
		c := newClient(region)
		clients[region] = c
		return c
	}
}

// AWSClients are RDS clients for each region from one AWS configuration (a Lambda's,
// or a person's), made once per region.
func AWSClients(cfg aws.Config) func(region string) API {
	return PerRegion(func(region string) *awsrds.Client {
		return awsrds.NewFromConfig(cfg, func(o *awsrds.Options) { o.Region = region })
	})
}
