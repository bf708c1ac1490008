// Package sandbox is an offline replica of the lab "Module 4: Hot Standby", started
// in-process on loopback: per region an S3 control endpoint, an S3 website endpoint and
// the shop API; and a CloudFront stand-in with one origin group (primary website first,
// secondary second). `drill local` and the integration tests drive it with the real
// aws-sdk-go-v2 S3 client (awsconf.SandboxFactory) and plain HTTP, and compare what the
// drill measured against its ground truth (PABChanges, EdgeLog).
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
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
	// ReplicationLag is how long a shop write takes to reach the other region's
	// store; default 200ms. Zero takes the default.
	ReplicationLag time.Duration
	// OriginConnectAttempts is how many times the CloudFront stand-in tries to connect
	// to an origin before failing over (1..3, default 3).
	OriginConnectAttempts int
	// OriginConnectTimeout bounds each connection attempt; default 500ms.
	OriginConnectTimeout time.Duration
	// OriginResponseTimeout bounds the wait for the origin's response headers, and
	// separately for its body; default 5s.
	OriginResponseTimeout time.Duration
	// FailoverCodes are the origin statuses that make the stand-in try the secondary;
	// a subset of 400,403,404,416,500,502,503,504, default all of them (as the lab ticks).
	FailoverCodes []int
	// Unicorns is the catalogue size (1..1000), default 12.
	Unicorns int
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
)

// AllFailoverCodes are the statuses CloudFront offers as origin-group failover criteria.
var AllFailoverCodes = []int{400, 403, 404, 416, 500, 502, 503, 504}

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
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.PrimaryPAB != nil {
		p := *c.PrimaryPAB
		c.PrimaryPAB = &p
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
	} {
		if f.v < 0 {
			p = append(p, fmt.Sprintf("%s: %s is negative", f.name, f.v))
		}
	}
	if c.OriginConnectAttempts < 1 || c.OriginConnectAttempts > 3 {
		p = append(p, fmt.Sprintf("OriginConnectAttempts: %d is outside 1..3", c.OriginConnectAttempts))
	}
	for _, code := range c.FailoverCodes {
		if !slices.Contains(AllFailoverCodes, code) {
			p = append(p, fmt.Sprintf("FailoverCodes: %d is not one of %v", code, AllFailoverCodes))
		}
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

// Region is one region's endpoints, each "http://127.0.0.1:port" without a trailing
// slash, except APIURL which carries the API Gateway stage path ("/Production") as the
// real config.json host does.
type Region struct{ Name, Bucket, S3URL, WebsiteURL, APIURL string }

// PABChange is one accepted Put/DeletePublicAccessBlock, At being the moment it was
// written (the propagation delay counts from there).
type PABChange struct {
	At     time.Time
	Bucket string
	Op     string // "put" | "delete"
	Config *drill.PublicAccessBlock
}

// EdgeRecord is one request the CloudFront stand-in answered.
type EdgeRecord struct {
	At     time.Time // when the response was about to be written
	Method string
	Path   string // without the query string
	Origin string // "primary" | "secondary" | "" when the edge generated the answer
	Status int
	// Tried lists each origin attempt as "<origin>:<status>" or "<origin>:unreachable"
	// (no connection after all attempts), "<origin>:timeout" (response timeout) or
	// "<origin>:error" (connection broken mid-response).
	Tried []string
}

// Sandbox is a running replica. All methods are safe for concurrent use.
type Sandbox struct {
	cfg  Config
	log  *slog.Logger
	done chan struct{}

	mu         sync.Mutex
	closed     bool
	buckets    map[string]*bucket // fixed after Start; contents guarded by mu
	pabChanges []PABChange
	edgeLog    []EdgeRecord
	faults     map[string]injection[int]           // op -> status to answer
	delays     map[string]injection[time.Duration] // op -> how long to hold the call
	hang       map[string]bool                     // region -> website hangs
	shop       map[string]*shopStore
	shopSeq    int64
	timers     map[*time.Timer]struct{}
	dials      map[string]int // origin address -> connection attempts (for tests)

	primary, secondary *site
	edge               *server
	transport          *http.Transport
	unicorns           []Unicorn
}

// site is one region's servers.
type site struct {
	name, bucket       string
	s3, website, api   *server
	s3URL, websiteURL  string
	apiURL, originHost string
}

// injection is a test's instruction for the next n calls of an op.
type injection[T any] struct {
	n int
	v T
}

// take consumes one use of op's injection (s.mu held), returning its value or zero.
func take[T any](m map[string]injection[T], op string) T {
	in, ok := m[op]
	if !ok {
		var zero T
		return zero
	}
	if in.n--; in.n <= 0 {
		delete(m, op)
	} else {
		m[op] = in
	}
	return in.v
}

// Start fills cfg's defaults, validates it and starts every listener on 127.0.0.1:0.
func Start(cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg:     cfg,
		log:     cfg.Logger,
		done:    make(chan struct{}),
		buckets: map[string]*bucket{},
		faults:  map[string]injection[int]{},
		delays:  map[string]injection[time.Duration]{},
		hang:    map[string]bool{},
		shop:    map[string]*shopStore{cfg.PrimaryRegion: newShopStore(), cfg.SecondaryRegion: newShopStore()},
		timers:  map[*time.Timer]struct{}{},
		dials:   map[string]int{},
	}
	s.unicorns = catalogue(cfg.Unicorns)
	s.buckets[cfg.PrimaryBucket] = newBucket(cfg.PrimaryBucket, cfg.PrimaryRegion, cfg.PrimaryPAB)
	s.buckets[cfg.SecondaryBucket] = newBucket(cfg.SecondaryBucket, cfg.SecondaryRegion, nil)
	s.buckets[cfg.LedgerBucket] = newBucket(cfg.LedgerBucket, cfg.PrimaryRegion, nil)

	var err error
	s.primary, err = s.startSite(cfg.PrimaryRegion, cfg.PrimaryBucket)
	if err == nil {
		s.secondary, err = s.startSite(cfg.SecondaryRegion, cfg.SecondaryBucket)
	}
	if err == nil {
		s.transport = s.newOriginTransport()
		s.edge, err = startServer(http.HandlerFunc(s.serveEdge))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	s.seedWebsite(s.primary)
	s.seedWebsite(s.secondary)
	s.log.Info("sandbox started", "distribution", s.DistributionURL(),
		"primaryS3", s.primary.s3URL, "secondaryS3", s.secondary.s3URL)
	return s, nil
}

func (s *Sandbox) startSite(region, bucket string) (*site, error) {
	st := &site{name: region, bucket: bucket}
	var err error
	if st.s3, err = startServer(s.s3Handler(region)); err != nil {
		return st, err
	}
	if st.website, err = startServer(s.websiteHandler(region, bucket)); err != nil {
		return st, err
	}
	if st.api, err = startServer(s.apiHandler(region)); err != nil {
		return st, err
	}
	st.s3URL = "http://" + st.s3.addr
	st.websiteURL = "http://" + st.website.addr
	st.apiURL = "http://" + st.api.addr + apiStage
	return st, nil
}

// Close stops every server and pending replication. It is safe to call twice.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	s.mu.Unlock()

	var errs []error
	for _, st := range []*site{s.primary, s.secondary} {
		if st == nil {
			continue
		}
		for _, srv := range []*server{st.s3, st.website, st.api} {
			if srv != nil {
				errs = append(errs, srv.close())
			}
		}
	}
	if s.edge != nil {
		errs = append(errs, s.edge.close())
	}
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// Primary is the primary region's endpoints.
func (s *Sandbox) Primary() Region { return s.primary.region() }

// Secondary is the secondary region's endpoints.
func (s *Sandbox) Secondary() Region { return s.secondary.region() }

func (st *site) region() Region {
	return Region{Name: st.name, Bucket: st.bucket, S3URL: st.s3URL, WebsiteURL: st.websiteURL, APIURL: st.apiURL}
}

// DistributionURL is the CloudFront stand-in, "http://127.0.0.1:port".
func (s *Sandbox) DistributionURL() string { return "http://" + s.edge.addr }

// S3Endpoints maps each region to its S3 endpoint, for awsconf.SandboxFactory.
func (s *Sandbox) S3Endpoints() map[string]string {
	return map[string]string{s.primary.name: s.primary.s3URL, s.secondary.name: s.secondary.s3URL}
}

// Config is the configuration in force, defaults filled.
func (s *Sandbox) Config() Config {
	c := s.cfg
	c.FailoverCodes = slices.Clone(c.FailoverCodes)
	if c.PrimaryPAB != nil {
		p := *c.PrimaryPAB
		c.PrimaryPAB = &p
	}
	return c
}

// Unicorns is the catalogue, identical in both regions.
func (s *Sandbox) Unicorns() []Unicorn { return slices.Clone(s.unicorns) }

// PABChanges lists every accepted PAB change, oldest first.
func (s *Sandbox) PABChanges() []PABChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PABChange, len(s.pabChanges))
	for i, c := range s.pabChanges {
		c.Config = clonePAB(c.Config)
		out[i] = c
	}
	return out
}

// EdgeLog lists every request the CloudFront stand-in answered, oldest first.
func (s *Sandbox) EdgeLog() []EdgeRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EdgeRecord, len(s.edgeLog))
	for i, r := range s.edgeLog {
		r.Tried = slices.Clone(r.Tried)
		out[i] = r
	}
	return out
}

// PublicAccessBlock is the bucket's stored configuration (what GetPublicAccessBlock
// answers, not what the website currently enforces); false if none or no such bucket.
func (s *Sandbox) PublicAccessBlock(bucket string) (*drill.PublicAccessBlock, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok || b.pab == nil {
		return nil, false
	}
	return clonePAB(b.pab), true
}

// EffectivePublicAccessBlock is the configuration the bucket's website enforces now,
// after the propagation delay; nil if none.
func (s *Sandbox) EffectivePublicAccessBlock(bucket string) *drill.PublicAccessBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clonePAB(s.effectivePABLocked(bucket, time.Now()))
}

// Object is a copy of the stored object's bytes.
func (s *Sandbox) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, false
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, false
	}
	return slices.Clone(o.data), true
}

// Cart is the unicorn uuids in the user's cart in that region's store, sorted.
func (s *Sandbox) Cart(region, userUUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.shop[region]
	if !ok {
		return nil
	}
	out := slices.Clone(st.carts[userUUID].unicorns)
	sort.Strings(out)
	return out
}

// Ops FailNext accepts.
var (
	S3Ops   = []string{"GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock", "GetObject", "HeadObject", "PutObject", "DeleteObject", "ListObjectsV2", "HeadBucket"}
	ShopOps = []string{"SignUp", "Login", "ListUnicorns", "AddToCart", "RemoveFromCart", "GetCart", "Health"}
)

// FailNext makes the next n calls of op answer status, in either region. S3 ops answer
// S3's XML error for the status (503 SlowDown, 500 InternalError, ...); shop ops a JSON
// {"message"}. n <= 0 clears. It panics on an op it does not know, a test bug.
// Beware: the SDK's standard retryer retries 500/503 (3 attempts in all).
func (s *Sandbox) FailNext(op string, n int, status int) {
	if !slices.Contains(S3Ops, op) && !slices.Contains(ShopOps, op) {
		panic(fmt.Sprintf("sandbox: FailNext: unknown op %q (S3: %v; shop: %v)", op, S3Ops, ShopOps))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.faults, op)
		return
	}
	s.faults[op] = injection[int]{n: n, v: status}
}

// DelayNext holds the next n S3 calls of op for d before carrying them out, even if
// the caller has given up meanwhile: a request in flight that lands late, as S3 may
// still apply a put whose client timed out. n <= 0 clears. Unknown ops panic.
func (s *Sandbox) DelayNext(op string, n int, d time.Duration) {
	if !slices.Contains(S3Ops, op) {
		panic(fmt.Sprintf("sandbox: DelayNext: unknown S3 op %q (%v)", op, S3Ops))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.delays, op)
		return
	}
	s.delays[op] = injection[time.Duration]{n: n, v: d}
}

// takeDelay consumes one injected delay of op, returning it or 0.
func (s *Sandbox) takeDelay(op string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return take(s.delays, op)
}

// takeFault consumes one injected failure of op, returning its status or 0.
func (s *Sandbox) takeFault(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return take(s.faults, op)
}

// SetOriginDown stops (down) or restarts the website endpoint of region: while down its
// port refuses connections, so the CloudFront stand-in spends its connection attempts
// and fails over. The URL stays the same. It panics on an unknown region.
func (s *Sandbox) SetOriginDown(region string, down bool) {
	st := s.site(region)
	var err error
	if down {
		st.website.down()
	} else {
		err = st.website.up()
	}
	if err != nil {
		s.log.Error("sandbox: restart website", "region", region, "err", err)
	}
}

// SetOriginHang makes region's website accept connections but never answer (until
// hang is cleared), to exercise the stand-in's response timeout.
func (s *Sandbox) SetOriginHang(region string, hang bool) {
	s.site(region)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[region] = hang
}

func (s *Sandbox) site(region string) *site {
	switch region {
	case s.primary.name:
		return s.primary
	case s.secondary.name:
		return s.secondary
	}
	panic(fmt.Sprintf("sandbox: unknown region %q", region))
}

// ---- servers ----

// server is one loopback HTTP listener that can be taken down and brought back on the
// same address.
type server struct {
	handler http.Handler
	addr    string

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener // closed directly: Server.Close misses a listener Serve has not registered yet
	closed bool
}

func startServer(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sv := &server{handler: h, addr: ln.Addr().String()}
	sv.serve(ln)
	return sv, nil
}

func (sv *server) serve(ln net.Listener) {
	srv := &http.Server{Handler: sv.handler, ReadHeaderTimeout: 10 * time.Second}
	sv.srv, sv.ln = srv, ln
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener and every open connection.
func (sv *server) down() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.srv != nil {
		_ = sv.srv.Close()
		_ = sv.ln.Close() // already closed, unless Serve had not registered it yet
		sv.srv, sv.ln = nil, nil
	}
}

// up listens again on the same address.
func (sv *server) up() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.srv != nil || sv.closed {
		return nil
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after close
		if ln, err = net.Listen("tcp", sv.addr); err == nil {
			sv.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (sv *server) close() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.closed = true
	if sv.srv == nil {
		return nil
	}
	err := sv.srv.Close()
	_ = sv.ln.Close() // already closed, unless Serve had not registered it yet
	sv.srv, sv.ln = nil, nil
	return err
}
