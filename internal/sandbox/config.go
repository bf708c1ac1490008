package sandbox

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/cloudfront"
	"github.com/unishop/failover-drill/internal/sandbox/s3website"
)

// Config configures a sandbox. Zero values take the defaults documented per field.
type Config struct {
	// PrimaryRegion and SecondaryRegion default to "us-east-1" and "us-west-1".
	PrimaryRegion, SecondaryRegion string
	// PrimaryBucket and SecondaryBucket are the UI (website) buckets, by default
	// "active-primary-uibucket-local" and "passive-secondary-uibucket-local".
	PrimaryBucket, SecondaryBucket string
	// LedgerBucket lives in PrimaryRegion's S3 endpoint; default "failover-drill-ledger-local".
	LedgerBucket string
	// PrimaryPAB is the primary bucket's starting Block Public Access configuration;
	// nil means none. With RestrictPublicBuckets the primary website starts blocked.
	PrimaryPAB *drill.PublicAccessBlock
	// PropagationDelay is the time from a PAB change being accepted to the website
	// reflecting it; default 1s. Zero takes the default; use 1ns for "at once".
	PropagationDelay time.Duration
	// PropagationFlap makes propagation flap after PropagationDelay: for this long each
	// request sees the change only with a probability rising linearly from FlapFrom
	// (0..1) to 1. Zero: every request sees it at PropagationDelay.
	PropagationFlap time.Duration
	FlapFrom        float64
	// PrimaryOutage is how the primary website answers while blocked: "forbidden"
	// (403 AccessDenied, what Block Public Access does; the default), "hang" (accepts,
	// never answers: the edge waits its response timeout) or "blackhole" (connections
	// never complete: the edge spends its connection attempts).
	PrimaryOutage string
	// PrimaryLatency and SecondaryLatency delay every answer of that website.
	PrimaryLatency, SecondaryLatency time.Duration
	// SecondaryFailPercent of the secondary website's answers are 503 SlowDown (0..100).
	SecondaryFailPercent int
	// EdgeServers is how many CloudFront edge servers, sharing no state, answer the
	// distribution's requests (1..16, default 1).
	EdgeServers int
	// ReplicationLag is how long a shop write takes to reach the other region's
	// store; default 200ms. Zero takes the default.
	ReplicationLag time.Duration
	// OriginConnectAttempts is how many times the CloudFront stand-in tries to connect
	// to an origin before failing over (1..3, default 3).
	OriginConnectAttempts int
	// OriginConnectTimeout bounds each connection attempt; default 500ms.
	OriginConnectTimeout time.Duration
	// OriginResponseTimeout bounds the wait for the origin's response headers, and
	// separately for its body; default 5s. A GET or HEAD that times out is tried again,
	// up to OriginConnectAttempts attempts in all, as CloudFront does.
	OriginResponseTimeout time.Duration
	// OriginResponseCompletionTimeout, when positive, caps the wait for a complete
	// response across those attempts (CloudFront's ResponseCompletionTimeout); zero:
	// not set, no cap. At least OriginResponseTimeout.
	OriginResponseCompletionTimeout time.Duration
	// FailoverCodes are the origin statuses that make the stand-in try the secondary;
	// a subset of 400,403,404,416,500,502,503,504, default all of them (as the lab ticks).
	FailoverCodes []int
	// DBSwitchoverPending is how long a switch of the users' Aurora global database
	// stays pending (writes still accepted), default 100ms; DBSwitchoverTime how long
	// it then switches (writes fail in both regions), default 2s. Zero takes the
	// default; use 1ns for "at once".
	DBSwitchoverPending, DBSwitchoverTime time.Duration
	// DBWriterEndpoint is where each region's shop backend sends its writes: "cluster"
	// (the region's own cluster endpoint, as the lab's shop; the default) or "global"
	// (the global writer endpoint, which follows the writer, cached by the client for
	// DBDNSCacheTTL, default 5s, Aurora's DNS TTL).
	DBWriterEndpoint string
	DBDNSCacheTTL    time.Duration
	// Unicorns is the catalogue size (1..1000), default 12.
	Unicorns int
	// CacheConfigJSON gives /config.json a cache behaviour with the managed
	// CachingOptimized policy (query string not in the cache key, one day TTL): the
	// edge then serves a cached config.json while the primary is blocked.
	CacheConfigJSON bool
	// AccountPAB is the account-level Block Public Access (S3 Control) at start; nil: none.
	AccountPAB *drill.PublicAccessBlock
	// StopAlarms are CloudWatch alarms created in state OK; default one,
	// DefaultStopAlarm. Schedule a change with Sandbox.SetAlarmStateAt.
	StopAlarms []string
	// CompositeStopAlarms makes the stop alarms composite alarms, which CloudWatch
	// returns only to a caller whose DescribeAlarms permission is scoped to *.
	CompositeStopAlarms bool
	// Logger receives debug logs of every request; default discards.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultPrimaryRegion         = "us-east-1"
	DefaultSecondaryRegion       = "us-west-1"
	DefaultPrimaryBucket         = "active-primary-uibucket-local"
	DefaultSecondaryBucket       = "passive-secondary-uibucket-local"
	DefaultLedgerBucket          = "failover-drill-ledger-local"
	DefaultPropagationDelay      = time.Second
	DefaultReplicationLag        = 200 * time.Millisecond
	DefaultOriginConnectAttempts = 3
	DefaultOriginConnectTimeout  = 500 * time.Millisecond
	DefaultOriginResponseTimeout = 5 * time.Second
	DefaultUnicorns              = 12
	DefaultDBSwitchoverPending   = 100 * time.Millisecond
	DefaultDBSwitchoverTime      = 2 * time.Second
	DefaultDBDNSCacheTTL         = 5 * time.Second
	// GlobalClusterID names the users' Aurora global database; its members are
	// GlobalClusterID-<region>.
	GlobalClusterID = "unishop-global"
	// The sandbox's account, distribution and stop alarm.
	AccountID        = "123456789012"
	DistributionID   = "E1SANDBOXLOCAL"
	DefaultStopAlarm = "failover-drill-local-stop"
)

// AllFailoverCodes are the statuses CloudFront offers as origin-group failover criteria.
var AllFailoverCodes = cloudfront.AllFailoverCodes

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// withDefaults fills absent fields.
func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.PrimaryRegion, DefaultPrimaryRegion)
	def(&c.SecondaryRegion, DefaultSecondaryRegion)
	def(&c.PrimaryBucket, DefaultPrimaryBucket)
	def(&c.SecondaryBucket, DefaultSecondaryBucket)
	def(&c.LedgerBucket, DefaultLedgerBucket)
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defDur(&c.PropagationDelay, DefaultPropagationDelay)
	defDur(&c.ReplicationLag, DefaultReplicationLag)
	defDur(&c.OriginConnectTimeout, DefaultOriginConnectTimeout)
	defDur(&c.OriginResponseTimeout, DefaultOriginResponseTimeout)
	defDur(&c.DBSwitchoverPending, DefaultDBSwitchoverPending)
	defDur(&c.DBSwitchoverTime, DefaultDBSwitchoverTime)
	defDur(&c.DBDNSCacheTTL, DefaultDBDNSCacheTTL)
	def(&c.DBWriterEndpoint, DBEndpointCluster)
	if c.PrimaryOutage == "" {
		c.PrimaryOutage = s3website.OutageForbidden
	}
	if c.EdgeServers == 0 {
		c.EdgeServers = 1
	}
	if c.OriginConnectAttempts == 0 {
		c.OriginConnectAttempts = DefaultOriginConnectAttempts
	}
	if len(c.FailoverCodes) == 0 {
		c.FailoverCodes = slices.Clone(AllFailoverCodes)
	} else {
		c.FailoverCodes = slices.Clone(c.FailoverCodes)
	}
	if c.Unicorns == 0 {
		c.Unicorns = DefaultUnicorns
	}
	if c.StopAlarms == nil {
		c.StopAlarms = []string{DefaultStopAlarm}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.PrimaryPAB != nil {
		p := *c.PrimaryPAB
		c.PrimaryPAB = &p
	}
	if c.AccountPAB != nil {
		p := *c.AccountPAB
		c.AccountPAB = &p
	}
	return c
}

// validate reports every problem, each naming its field.
func (c Config) validate() error {
	var p []string
	for _, f := range []struct{ name, v string }{
		{"PrimaryRegion", c.PrimaryRegion}, {"SecondaryRegion", c.SecondaryRegion},
	} {
		if !regionPattern.MatchString(f.v) {
			p = append(p, fmt.Sprintf("%s: %q is not a region name like us-east-1", f.name, f.v))
		}
	}
	if c.PrimaryRegion == c.SecondaryRegion {
		p = append(p, "SecondaryRegion: must differ from PrimaryRegion")
	}
	seen := map[string]string{}
	for _, f := range []struct{ name, v string }{
		{"PrimaryBucket", c.PrimaryBucket}, {"SecondaryBucket", c.SecondaryBucket}, {"LedgerBucket", c.LedgerBucket},
	} {
		if !bucketPattern.MatchString(f.v) || net.ParseIP(f.v) != nil {
			p = append(p, fmt.Sprintf("%s: %q is not a valid S3 bucket name", f.name, f.v))
		}
		if other, dup := seen[f.v]; dup {
			p = append(p, fmt.Sprintf("%s: %q is also %s", f.name, f.v, other))
		}
		seen[f.v] = f.name
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"PropagationDelay", c.PropagationDelay}, {"ReplicationLag", c.ReplicationLag},
		{"OriginConnectTimeout", c.OriginConnectTimeout}, {"OriginResponseTimeout", c.OriginResponseTimeout},
		{"PropagationFlap", c.PropagationFlap}, {"PrimaryLatency", c.PrimaryLatency}, {"SecondaryLatency", c.SecondaryLatency},
		{"OriginResponseCompletionTimeout", c.OriginResponseCompletionTimeout},
		{"DBSwitchoverPending", c.DBSwitchoverPending}, {"DBSwitchoverTime", c.DBSwitchoverTime}, {"DBDNSCacheTTL", c.DBDNSCacheTTL},
	} {
		if f.v < 0 {
			p = append(p, fmt.Sprintf("%s: %s is negative", f.name, f.v))
		}
	}
	if c.OriginResponseCompletionTimeout > 0 && c.OriginResponseCompletionTimeout < c.OriginResponseTimeout {
		p = append(p, fmt.Sprintf("OriginResponseCompletionTimeout: %s is shorter than OriginResponseTimeout %s (CloudFront requires at least the response timeout)",
			c.OriginResponseCompletionTimeout, c.OriginResponseTimeout))
	}
	if c.OriginConnectAttempts < 1 || c.OriginConnectAttempts > 3 {
		p = append(p, fmt.Sprintf("OriginConnectAttempts: %d is outside 1..3", c.OriginConnectAttempts))
	}
	for _, code := range c.FailoverCodes {
		if !slices.Contains(AllFailoverCodes, code) {
			p = append(p, fmt.Sprintf("FailoverCodes: %d is not one of %v", code, AllFailoverCodes))
		}
	}
	if c.FlapFrom < 0 || c.FlapFrom >= 1 {
		p = append(p, fmt.Sprintf("FlapFrom: %v is outside 0 (no request sees the change at first) to below 1", c.FlapFrom))
	}
	if !slices.Contains(s3website.Outages, c.PrimaryOutage) {
		p = append(p, fmt.Sprintf("PrimaryOutage: %q is not one of %v", c.PrimaryOutage, s3website.Outages))
	}
	if c.SecondaryFailPercent < 0 || c.SecondaryFailPercent > 100 {
		p = append(p, fmt.Sprintf("SecondaryFailPercent: %d is outside 0..100", c.SecondaryFailPercent))
	}
	if c.EdgeServers < 1 || c.EdgeServers > 16 {
		p = append(p, fmt.Sprintf("EdgeServers: %d is outside 1..16", c.EdgeServers))
	}
	if c.DBWriterEndpoint != DBEndpointCluster && c.DBWriterEndpoint != DBEndpointGlobal {
		p = append(p, fmt.Sprintf("DBWriterEndpoint: %q is not %q or %q", c.DBWriterEndpoint, DBEndpointCluster, DBEndpointGlobal))
	}
	if c.Unicorns < 1 || c.Unicorns > 1000 {
		p = append(p, fmt.Sprintf("Unicorns: %d is outside 1..1000", c.Unicorns))
	}
	if len(p) > 0 {
		sort.Strings(p)
		return &ConfigError{Problems: p}
	}
	return nil
}

// ConfigError is a Config that Start refuses; each problem starts with the field name.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	msg := "sandbox: invalid config: " + e.Problems[0]
	for _, p := range e.Problems[1:] {
		msg += "; " + p
	}
	return msg
}
