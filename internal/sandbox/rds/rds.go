// Package rds is the sandbox's stand-in for an Aurora MySQL global database and the
// part of the Amazon RDS API that manages it, as the aws-sdk-go-v2 RDS client and the
// AWS CLI speak it (the awsQuery protocol: a form-encoded POST, XML answers).
//
// It models:
//   - one global cluster of two member clusters, one per region: a writer in the
//     primary region and a read-only secondary; DescribeGlobalClusters answers the
//     members (DBClusterArn, IsWriter, the writer's Readers, the secondary's
//     SynchronizationStatus), the global writer endpoint and, while a switch runs,
//     FailoverState (Status, FromDbClusterArn, ToDbClusterArn, IsDataLossAllowed);
//   - SwitchoverGlobalCluster (and FailoverGlobalCluster without AllowDataLoss, or with
//     Switchover): only to the other member (by identifier or ARN), refused with
//     InvalidGlobalClusterStateFault while a switch is in progress; FailoverState goes
//     pending (Options.PendingTime; writes still accepted) → switching-over
//     (Options.SwitchoverTime; the secondary is synchronised first, RPO 0, and writes
//     fail on both clusters with MySQL error 2003) → none, the target now the writer and
//     the old writer a read-only secondary replicating from it (reversible);
//   - FailoverGlobalCluster with AllowDataLoss, the unplanned form: pending →
//     failing-over → none without synchronising: the writes that had not reached the
//     target when failing-over began are lost, and the old writer, rebuilt from the new
//     one, loses them too;
//   - the data: rows written through a region's database client (Insert) in one
//     transaction, a duplicate key answered with MySQL error 1062; a write reaching a
//     read-only cluster answered with error 1290 (--read-only); replication from the
//     writer to the secondary after Options.ReplicationLag; reads (Get) from the
//     region's own cluster;
//   - which node a region's client writes to: its own region's cluster endpoint (the
//     lab's application, EndpointCluster), or the global writer endpoint
//     (EndpointGlobal), which follows the writer, resolved through a client-side DNS
//     cache of Options.DNSCacheTTL: for that long after a switch a client keeps
//     writing to the demoted node and gets 1290;
//   - IAM: rds:DescribeGlobalClusters on the global cluster's ARN, and
//     rds:SwitchoverGlobalCluster or rds:FailoverGlobalCluster on the global cluster
//     and both member clusters, for the signing principal (Options.Authorize); a denied
//     call answers 403 AccessDenied.
//
// It does not model yet: more than two members, other RDS operations (detaching with
// RemoveFromGlobalCluster, creating or deleting clusters, DescribeDBClusters),
// DescribeGlobalClusters' Filters (refused), pagination, the global cluster's Status
// during a switch (always "available"), cancelling a switch, a region outage (the old
// writer is always reachable), reads failing during a switch, engine versions that do
// not allow a switchover, CloudWatch's AuroraGlobalDBReplicationLag and
// AuroraGlobalDBRPOLag metrics, a lag that varies or stalls, one API endpoint per
// region (one endpoint answers for both), signature verification, and SQL: the data
// are rows of opaque bytes under a unique key. Close stops its clock (nothing
// replicates or switches afterwards).
package rds

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"
)

// Where a region's database client sends its writes.
const (
	// EndpointCluster is the region's own cluster endpoint, as the lab's shop
	// connects: the secondary region's writes reach a read-only cluster.
	EndpointCluster = "cluster"
	// EndpointGlobal is the global writer endpoint, which follows the writer; the
	// client caches its DNS answer for DNSCacheTTL.
	EndpointGlobal = "global"
)

// FailoverState statuses.
const (
	StatusPending       = "pending"
	StatusSwitchingOver = "switching-over"
	StatusFailingOver   = "failing-over"
)

// Options configure a Service.
type Options struct {
	// Account is the AWS account id in the ARNs.
	Account string
	// GlobalClusterID names the global cluster; each member cluster is named
	// GlobalClusterID-<region>.
	GlobalClusterID string
	// Regions are the two members' regions, the writer's first.
	Regions [2]string
	// ReplicationLag is how long a write takes to reach the secondary.
	ReplicationLag time.Duration
	// PendingTime is how long a switch stays pending (writes still accepted);
	// SwitchoverTime how long it then switches (writes fail on both clusters).
	PendingTime, SwitchoverTime time.Duration
	// Endpoint is EndpointCluster (the default) or EndpointGlobal.
	Endpoint string
	// DNSCacheTTL is how long a client keeps the global writer endpoint's address.
	DNSCacheTTL time.Duration
	// Authorize reports whether a principal may do an IAM action on a resource; nil
	// allows everything.
	Authorize func(principal, action, resource string) bool
	// Logger receives a line per request and per switch; nil discards.
	Logger *slog.Logger
}

// Service is the global database and its API. Safe for concurrent use.
type Service struct {
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	clusters [2]*cluster
	writer   int        // index of the writer cluster
	sw       *switching // nil unless a switch is in progress
	dns      [2]dnsEntry
	closedAt time.Time // the clock stops here: no replication or switch progresses
}

// Close stops the database's clock: a write pending replication is never replayed and a
// switch in progress stays where it is.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closedAt.IsZero() {
		s.closedAt = time.Now()
	}
}

// nowLocked is the time, stopped at Close.
func (s *Service) nowLocked() time.Time {
	if !s.closedAt.IsZero() {
		return s.closedAt
	}
	return time.Now()
}

// cluster is one member: its rows, and the writer's writes not yet replayed here.
type cluster struct {
	region, id string
	rows       map[string][]byte
	pending    []write
}

type write struct {
	at   time.Time
	rows map[string][]byte
}

// switching is a switch in progress.
type switching struct {
	from, to      int
	dataLoss      bool
	pendingUntil  time.Time // then it switches: writes fail on both
	until         time.Time // then the target is the writer
	switchStarted bool
}

// dnsEntry is a region's client's cached answer for the global writer endpoint.
type dnsEntry struct {
	node    int
	expires time.Time
}

// New is a global database with no rows, the first region's cluster the writer.
func New(opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Endpoint == "" {
		opt.Endpoint = EndpointCluster
	}
	s := &Service{opt: opt, log: opt.Logger}
	for i, region := range opt.Regions {
		s.clusters[i] = &cluster{region: region, id: opt.GlobalClusterID + "-" + region, rows: map[string][]byte{}}
	}
	return s
}

// MySQLError is what the database answers a statement it refuses, as a MySQL client
// prints it.
type MySQLError struct {
	Number  int
	State   string
	Message string
}

func (e *MySQLError) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Number, e.State, e.Message)
}

// MySQL error numbers the stand-in answers.
const (
	ErrReadOnly     = 1290 // a write on a read-only (secondary or demoted) cluster
	ErrDuplicateKey = 1062
	ErrCannotReach  = 2003 // the node is switching roles
)

// ReadOnlyMessage is error 1290's message.
const ReadOnlyMessage = "The MySQL server is running with the --read-only option so it cannot execute this statement"

// Insert writes rows in one transaction through region's database client: to the
// node its endpoint resolves to. Each key must be new (error 1062).
func (s *Service) Insert(region string, rows map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.advanceLocked(now)
	node, err := s.resolveLocked(region, now)
	if err != nil {
		return err
	}
	c := s.clusters[node]
	if sw := s.sw; sw != nil && sw.switchStarted && (node == sw.from || node == sw.to) {
		return &MySQLError{ErrCannotReach, "HY000", fmt.Sprintf("Can't connect to MySQL server on '%s:3306' (111)", s.clusterEndpoint(node))}
	}
	if node != s.writer {
		return &MySQLError{ErrReadOnly, "HY000", ReadOnlyMessage}
	}
	for k := range rows {
		if _, dup := c.rows[k]; dup {
			return &MySQLError{ErrDuplicateKey, "23000", fmt.Sprintf("Duplicate entry '%s' for key 'PRIMARY'", k)}
		}
	}
	w := write{at: now, rows: maps.Clone(rows)}
	maps.Copy(c.rows, w.rows)
	other := s.clusters[1-node]
	other.pending = append(other.pending, w)
	return nil
}

// Get reads key from region's own cluster, which has what replicated to it so far.
func (s *Service) Get(region, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.advanceLocked(now)
	i, ok := s.indexLocked(region)
	if !ok {
		return nil, false
	}
	c := s.clusters[i]
	c.replay(now.Add(-s.opt.ReplicationLag))
	v, ok := c.rows[key]
	return v, ok
}

// replay applies the pending writes made at or before until, oldest first.
func (c *cluster) replay(until time.Time) {
	n := 0
	for n < len(c.pending) && !c.pending[n].at.After(until) {
		maps.Copy(c.rows, c.pending[n].rows)
		n++
	}
	c.pending = c.pending[n:]
}

func (s *Service) indexLocked(region string) (int, bool) {
	for i, c := range s.clusters {
		if c.region == region {
			return i, true
		}
	}
	return 0, false
}

// resolveLocked is the node region's client connects to for a write.
func (s *Service) resolveLocked(region string, now time.Time) (int, error) {
	i, ok := s.indexLocked(region)
	if !ok {
		return 0, &MySQLError{ErrCannotReach, "HY000", "Can't connect to MySQL server: no client in region " + region}
	}
	if s.opt.Endpoint != EndpointGlobal {
		return i, nil
	}
	d := &s.dns[i]
	if now.Before(d.expires) {
		return d.node, nil
	}
	*d = dnsEntry{node: s.writer, expires: now.Add(s.opt.DNSCacheTTL)}
	return d.node, nil
}

// advanceLocked moves a switch in progress on to where it is at now: when switching
// starts, the target is synchronised (or, losing data, keeps only what had replicated
// by then); when it ends, the target is the writer.
func (s *Service) advanceLocked(now time.Time) {
	sw := s.sw
	if sw == nil {
		return
	}
	to, from := s.clusters[sw.to], s.clusters[sw.from]
	if !sw.switchStarted && !now.Before(sw.pendingUntil) {
		sw.switchStarted = true
		if sw.dataLoss {
			to.replay(sw.pendingUntil.Add(-s.opt.ReplicationLag))
			if len(to.pending) > 0 {
				s.log.Info("rds: failover lost writes", "writes", len(to.pending), "target", to.id)
			}
			to.pending = nil
		} else {
			to.replay(sw.pendingUntil)
		}
	}
	if sw.switchStarted && !now.Before(sw.until) {
		if sw.dataLoss {
			// The old writer is rebuilt from the new one: its unreplicated writes are gone.
			from.rows, from.pending = maps.Clone(to.rows), nil
		}
		s.writer, s.sw = sw.to, nil
		s.log.Info("rds: switch done", "writer", to.id)
	}
}

// Errors the switch operations answer, by RDS error code.
var (
	errInProgress = errors.New("InvalidGlobalClusterStateFault")
	errNoMember   = errors.New("DBClusterNotFoundFault")
	errIsWriter   = errors.New("InvalidDBClusterStateFault")
)

// startSwitch begins a switch to target (a member's identifier or ARN), losing
// unreplicated writes when dataLoss. The error wraps one of the errors above.
func (s *Service) startSwitch(target string, dataLoss bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.advanceLocked(now)
	to := -1
	for i, c := range s.clusters {
		if strings.EqualFold(target, c.id) || target == s.ClusterARN(c.region) {
			to = i
		}
	}
	switch {
	case to < 0:
		return fmt.Errorf("%w: DBCluster %s is not a member of global cluster %s", errNoMember, target, s.opt.GlobalClusterID)
	case s.sw != nil:
		return fmt.Errorf("%w: Global cluster %s is already %s from %s to %s", errInProgress, s.opt.GlobalClusterID,
			s.failoverStatusLocked(), s.clusters[s.sw.from].id, s.clusters[s.sw.to].id)
	case to == s.writer:
		return fmt.Errorf("%w: DBCluster %s is already the primary cluster of global cluster %s", errIsWriter, target, s.opt.GlobalClusterID)
	}
	pendingUntil := now.Add(s.opt.PendingTime)
	s.sw = &switching{from: s.writer, to: to, dataLoss: dataLoss, pendingUntil: pendingUntil, until: pendingUntil.Add(s.opt.SwitchoverTime)}
	s.log.Info("rds: switch started", "from", s.clusters[s.writer].id, "to", s.clusters[to].id, "allowDataLoss", dataLoss)
	s.advanceLocked(now)
	return nil
}

// Switchover starts a switchover to region's cluster, as SwitchoverGlobalCluster does.
func (s *Service) Switchover(region string) error {
	return s.startSwitch(s.opt.GlobalClusterID+"-"+region, false)
}

// failoverStatusLocked is FailoverState's Status, "" when no switch is in progress.
func (s *Service) failoverStatusLocked() string {
	switch {
	case s.sw == nil:
		return ""
	case !s.sw.switchStarted:
		return StatusPending
	case s.sw.dataLoss:
		return StatusFailingOver
	}
	return StatusSwitchingOver
}

// Writer is the region of the writer cluster and FailoverState's status ("" when no
// switch is in progress), now.
func (s *Service) Writer() (region, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceLocked(s.nowLocked())
	return s.clusters[s.writer].region, s.failoverStatusLocked()
}

// GlobalClusterARN is the global cluster's ARN (global: no region).
func (s *Service) GlobalClusterARN() string {
	return "arn:aws:rds::" + s.opt.Account + ":global-cluster:" + s.opt.GlobalClusterID
}

// ClusterARN is region's member cluster's ARN.
func (s *Service) ClusterARN(region string) string {
	return "arn:aws:rds:" + region + ":" + s.opt.Account + ":cluster:" + s.opt.GlobalClusterID + "-" + region
}

// ClusterID is region's member cluster's identifier.
func (s *Service) ClusterID(region string) string { return s.opt.GlobalClusterID + "-" + region }

// GlobalClusterID is the global cluster's identifier.
func (s *Service) GlobalClusterID() string { return s.opt.GlobalClusterID }

func (s *Service) clusterEndpoint(i int) string {
	c := s.clusters[i]
	return c.id + ".cluster-c0sandbox." + c.region + ".rds.amazonaws.com"
}

func (s *Service) globalEndpoint() string {
	return s.opt.GlobalClusterID + ".global-c0sandbox.global.rds.amazonaws.com"
}
