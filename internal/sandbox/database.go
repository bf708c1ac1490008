package sandbox

import (
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/rds"
)

// Where the shop's backends send their users' writes (Config.DBWriterEndpoint).
const (
	DBEndpointCluster = rds.EndpointCluster
	DBEndpointGlobal  = rds.EndpointGlobal
)

// newDatabase is the users' Aurora global database: the primary region's cluster the
// writer, the secondary's a read-only secondary, replicating after cfg.ReplicationLag.
func newDatabase(cfg Config, authorize func(principal, action, resource string) bool) *rds.Service {
	return rds.New(rds.Options{
		Account: AccountID, GlobalClusterID: GlobalClusterID,
		Regions:        [2]string{cfg.PrimaryRegion, cfg.SecondaryRegion},
		ReplicationLag: cfg.ReplicationLag,
		PendingTime:    cfg.DBSwitchoverPending, SwitchoverTime: cfg.DBSwitchoverTime,
		Endpoint: cfg.DBWriterEndpoint, DNSCacheTTL: cfg.DBDNSCacheTTL,
		Authorize: authorize, Logger: cfg.Logger,
	})
}

// RDSEndpoint is the RDS API stand-in, "http://127.0.0.1:port": DescribeGlobalClusters,
// SwitchoverGlobalCluster and FailoverGlobalCluster of GlobalClusterID, for any region.
func (s *Sandbox) RDSEndpoint() string { return s.rdsServer.URL() }

// DBClusterARN is region's member cluster of the global database.
func (s *Sandbox) DBClusterARN(region string) string { return s.rds.ClusterARN(region) }

// GlobalClusterARN is the users' global database's ARN, as IAM names it.
func (s *Sandbox) GlobalClusterARN() string { return s.rds.GlobalClusterARN() }

// PromoteSecondary is the lab's step after the failover, "Promote Aurora", done the
// reversible way: a switchover of the global database to the secondary region's
// cluster (SwitchoverGlobalCluster), after which sign-ups work through the secondary
// API and fail through the primary's with error 1290 (the old writer is a read-only
// secondary). It returns at once; DatabaseWriter tells when the switch is over. Switch
// back with SwitchoverDatabase(primary region). An error is RDS's refusal (a switch
// already in progress, or the secondary already the writer).
func (s *Sandbox) PromoteSecondary() error { return s.rds.Switchover(s.cfg.SecondaryRegion) }

// SwitchoverDatabase starts a switchover of the global database to region's cluster.
func (s *Sandbox) SwitchoverDatabase(region string) error { return s.rds.Switchover(region) }

// DatabaseWriter is the region of the global database's writer cluster and the status
// of a switch in progress ("pending", "switching-over", "failing-over"; "" for none).
func (s *Sandbox) DatabaseWriter() (region, status string) { return s.rds.Writer() }

// AwaitDatabaseWriter waits up to timeout for region's cluster to be the writer with no
// switch in progress, and reports whether it is.
func (s *Sandbox) AwaitDatabaseWriter(region string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if w, status := s.rds.Writer(); w == region && status == "" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
