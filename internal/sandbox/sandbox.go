// Package sandbox is an offline replica of the lab "Module 4: Hot Standby", started
// in-process on loopback. It is a set of stand-ins, one per AWS service, each in its own
// package with its own state, lock and options:
//
//	s3          Amazon S3's REST API, one endpoint per region (Block Public Access, objects)
//	s3website   each UI bucket's S3 website endpoint (the CloudFront origins)
//	cloudfront  the distribution's edge servers with their origin group
//	shopapi     the shop's API Gateway stages and their replicated data
//	sfn         Step Functions' API for the executions the local runner ran
//	s3control   the account-level Block Public Access (S3 Control)
//	cloudwatch  the stop alarms (DescribeAlarms)
//	rds         the users' Aurora global database and its RDS API (switchover, failover)
//
// shared pieces: inject (fault and delay injection), loopback (listeners that can be
// taken down and brought back), s3wire (S3's wire format) and iam (who signed a
// request, and what their policy allows: SetPolicies); and content: shopui, the shop's
// web page, which Start writes into each UI bucket next to config.json. No stand-in
// imports another; Sandbox only starts them, wires each to what it needs (the website
// reads its bucket through S3's accessors, the edge is given the websites' URLs, the
// shop is given the rds stand-in as its users' database), and closes them. Each
// stand-in's package comment lists what it models and what it does not model yet.
//
// `drill local` and the integration tests drive the replica with the real aws-sdk-go-v2
// S3 client (awsconf.SandboxFactory) and plain HTTP. The sandbox records when its S3
// accepted each change (PABChanges) and what its edge did (EdgeLog, evidence); what
// visitors saw is the truth an independent visitor of internal/local measures. Config
// can make the replica messy: flapping propagation, a primary that hangs or is
// black-holed while blocked, slow origins, a secondary failing a share of requests,
// several edge servers.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/cloudfront"
	"github.com/unishop/failover-drill/internal/sandbox/iam"
	"github.com/unishop/failover-drill/internal/sandbox/inject"
	"github.com/unishop/failover-drill/internal/sandbox/loopback"
	"github.com/unishop/failover-drill/internal/sandbox/rds"
	"github.com/unishop/failover-drill/internal/sandbox/s3"
	"github.com/unishop/failover-drill/internal/sandbox/s3website"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
	"github.com/unishop/failover-drill/internal/sandbox/sfn"
	"github.com/unishop/failover-drill/internal/sandbox/shopapi"
	"github.com/unishop/failover-drill/internal/sandbox/shopui"
)

// The stand-ins' types, under the names the sandbox's callers know.
type (
	// PABChange is one accepted Put/DeletePublicAccessBlock.
	PABChange = s3.PABChange
	// EdgeRecord is one request the CloudFront stand-in answered.
	EdgeRecord = cloudfront.Record
	Unicorn    = shopapi.Unicorn
	User       = shopapi.User
	CartItem   = shopapi.CartItem
	CartBody   = shopapi.CartBody
)

// apiStage is the API Gateway stage path of every APIURL.
const apiStage = shopapi.Stage

// Region is one region's endpoints, each "http://127.0.0.1:port" without a trailing
// slash, except APIURL which carries the API Gateway stage path ("/Production") as the
// real config.json host does.
type Region struct{ Name, Bucket, S3URL, WebsiteURL, APIURL string }

// Sandbox is a running replica. All methods are safe for concurrent use.
type Sandbox struct {
	cfg Config
	log *slog.Logger

	faults *inject.Countdown[int]           // op -> status to answer (S3 and shop ops)
	delays *inject.Countdown[time.Duration] // S3 op -> how long to hold the call

	policies           *iam.Policies
	s3                 *s3.Service
	sfn                *sfn.Service
	sfnServer          *loopback.Server
	shop               *shopapi.Shop
	rds                *rds.Service
	rdsServer          *loopback.Server
	edge               *cloudfront.Fleet
	edgeServer         *loopback.Server
	primary, secondary *site
	control            controlPlane
}

// site is one region's stand-ins and their listeners.
type site struct {
	name, bucket string
	website      *s3website.Website
	s3, web, api *loopback.Server
	apiURL       string
}

// Start fills cfg's defaults, validates it and starts every listener on 127.0.0.1:0.
func Start(cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg:      cfg,
		log:      cfg.Logger,
		faults:   &inject.Countdown[int]{},
		delays:   &inject.Countdown[time.Duration]{},
		policies: &iam.Policies{},
	}
	s.s3 = s3.New(s3.Options{Faults: s.faults, Delays: s.delays, Logger: cfg.Logger, Endpoint: s.s3Endpoint, Authorize: s.policies.Allowed})
	s.sfn = sfn.New(sfn.Options{Authorize: s.policies.Allowed, Logger: cfg.Logger})
	s.s3.CreateBucket(cfg.PrimaryBucket, cfg.PrimaryRegion, cfg.PrimaryPAB)
	s.s3.CreateBucket(cfg.SecondaryBucket, cfg.SecondaryRegion, nil)
	s.s3.CreateBucket(cfg.LedgerBucket, cfg.PrimaryRegion, nil)
	s.rds = newDatabase(cfg, s.policies.Allowed)
	s.shop = shopapi.New(shopapi.Options{
		Regions:        [2]string{cfg.PrimaryRegion, cfg.SecondaryRegion},
		ReplicationLag: cfg.ReplicationLag, Unicorns: cfg.Unicorns, Faults: s.faults, Logger: cfg.Logger, Users: s.rds,
	})

	var err error
	s.primary, err = s.startSite(cfg.PrimaryRegion, cfg.PrimaryBucket)
	if err == nil {
		s.secondary, err = s.startSite(cfg.SecondaryRegion, cfg.SecondaryBucket)
	}
	if err == nil {
		s.edge = cloudfront.NewFleet(cloudfront.Options{
			PrimaryURL: s.primary.web.URL(), SecondaryURL: s.secondary.web.URL(),
			ConnectAttempts: cfg.OriginConnectAttempts, ConnectTimeout: cfg.OriginConnectTimeout,
			ResponseTimeout: cfg.OriginResponseTimeout, ResponseCompletionTimeout: cfg.OriginResponseCompletionTimeout,
			FailoverCodes: cfg.FailoverCodes, Logger: cfg.Logger,
			Behaviors: behaviors(cfg),
			Dial:      s.dialOrigin,
		}, cfg.EdgeServers)
		s.edgeServer, err = loopback.Start(s.edge)
	}
	if err == nil {
		s.sfnServer, err = loopback.Start(s.sfn)
	}
	if err == nil {
		s.rdsServer, err = loopback.Start(s.rds)
	}
	if err == nil {
		err = s.startControlPlane()
	}
	if err == nil {
		err = s.seedWebsite(s.primary)
	}
	if err == nil {
		err = s.seedWebsite(s.secondary)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	s.log.Info("sandbox started", "distribution", s.DistributionURL(),
		"primaryS3", s.primary.s3.URL(), "secondaryS3", s.secondary.s3.URL())
	return s, nil
}

func (s *Sandbox) startSite(region, bucket string) (*site, error) {
	st := &site{name: region, bucket: bucket}
	opt := s3website.Options{
		Region: region, Bucket: bucket,
		Object:                     func(key string) (s3wire.Object, bool) { return s.s3.Object(bucket, key) },
		PublicAccessBlockAt:        func(t time.Time) *drill.PublicAccessBlock { return s.s3.PublicAccessBlockAt(bucket, t) },
		AccountPublicAccessBlockAt: s.accountPABAt,
		PropagationDelay:           s.cfg.PropagationDelay,
		PropagationFlap:            s.cfg.PropagationFlap,
		FlapFrom:                   s.cfg.FlapFrom,
		Logger:                     s.cfg.Logger,
	}
	if region == s.cfg.PrimaryRegion {
		opt.Outage, opt.Latency = s.cfg.PrimaryOutage, s.cfg.PrimaryLatency
	} else {
		opt.Latency, opt.FailPercent = s.cfg.SecondaryLatency, s.cfg.SecondaryFailPercent
	}
	st.website = s3website.New(opt)
	var err error
	if st.s3, err = loopback.Start(s.s3.Handler(region)); err != nil {
		return st, err
	}
	if st.web, err = loopback.Start(st.website); err != nil {
		return st, err
	}
	if st.api, err = loopback.Start(s.shop.Handler(region)); err != nil {
		return st, err
	}
	st.apiURL = st.api.URL() + apiStage
	return st, nil
}

// dialOrigin is the network between the edge and the origins: a connection attempt to
// a black-holed website never completes (the edge's connection timeout ends it).
func (s *Sandbox) dialOrigin(ctx context.Context, network, addr string) (net.Conn, error) {
	for _, st := range []*site{s.primary, s.secondary} {
		if st != nil && st.web != nil && st.web.Addr() == addr && st.website.Refuses(time.Now()) {
			<-ctx.Done()
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// s3Endpoint is region's S3 endpoint host, for S3's PermanentRedirect.
func (s *Sandbox) s3Endpoint(region string) string {
	for _, st := range []*site{s.primary, s.secondary} {
		if st != nil && st.name == region && st.s3 != nil {
			return st.s3.Addr()
		}
	}
	return ""
}

// seedWebsite writes the UI bucket's objects: config.json naming the region's API, the
// shop's page (shopui) and a picture for every unicorn of the catalogue. The website
// endpoint serves whatever the bucket holds, so a test may also replace them through S3.
func (s *Sandbox) seedWebsite(st *site) error {
	conf, _ := json.Marshal(map[string]string{"host": st.apiURL, "region": st.name})
	s.s3.PutObject(st.bucket, "config.json", conf, "application/json")
	files, err := shopui.Files(st.name)
	if err != nil {
		return err
	}
	for i, u := range s.shop.Unicorns() {
		files = append(files, shopui.UnicornImage(u.Image, i, u.Name))
	}
	for _, f := range files {
		s.s3.PutObject(st.bucket, f.Key, f.Body, f.ContentType)
	}
	return nil
}

// Close stops every server and pending replication. It is safe to call twice.
func (s *Sandbox) Close() error {
	s.shop.Close()
	s.rds.Close()
	var errs []error
	for _, st := range []*site{s.primary, s.secondary} {
		if st == nil {
			continue
		}
		st.website.Close()
		for _, srv := range []*loopback.Server{st.s3, st.web, st.api} {
			if srv != nil {
				errs = append(errs, srv.Close())
			}
		}
	}
	for _, srv := range []*loopback.Server{s.edgeServer, s.sfnServer, s.rdsServer} {
		if srv != nil {
			errs = append(errs, srv.Close())
		}
	}
	errs = append(errs, s.control.close()...)
	if s.edge != nil {
		s.edge.Close()
	}
	return errors.Join(errs...)
}

// Primary is the primary region's endpoints.
func (s *Sandbox) Primary() Region { return s.primary.region() }

// Secondary is the secondary region's endpoints.
func (s *Sandbox) Secondary() Region { return s.secondary.region() }

func (st *site) region() Region {
	return Region{Name: st.name, Bucket: st.bucket, S3URL: st.s3.URL(), WebsiteURL: st.web.URL(), APIURL: st.apiURL}
}

// DistributionURL is the CloudFront stand-in, "http://127.0.0.1:port".
func (s *Sandbox) DistributionURL() string { return s.edgeServer.URL() }

// S3Endpoints maps each region to its S3 endpoint, for awsconf.SandboxFactory.
func (s *Sandbox) S3Endpoints() map[string]string {
	return map[string]string{s.primary.name: s.primary.s3.URL(), s.secondary.name: s.secondary.s3.URL()}
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
func (s *Sandbox) Unicorns() []Unicorn { return s.shop.Unicorns() }

// PABChanges lists every accepted PAB change, oldest first.
func (s *Sandbox) PABChanges() []PABChange { return s.s3.Changes() }

// EdgeLog lists every request the CloudFront stand-in answered, oldest first.
func (s *Sandbox) EdgeLog() []EdgeRecord { return s.edge.Log() }

// PublicAccessBlock is the bucket's stored configuration (what GetPublicAccessBlock
// answers, not what the website currently enforces); false if none or no such bucket.
func (s *Sandbox) PublicAccessBlock(bucket string) (*drill.PublicAccessBlock, bool) {
	return s.s3.PublicAccessBlock(bucket)
}

// EffectivePublicAccessBlock is the configuration the bucket's website enforces now,
// after the propagation delay; nil if none.
func (s *Sandbox) EffectivePublicAccessBlock(bucket string) *drill.PublicAccessBlock {
	now := time.Now()
	for _, st := range []*site{s.primary, s.secondary} {
		if st.bucket == bucket {
			return st.website.Effective(now)
		}
	}
	// A bucket without a website (the ledger): what one would enforce.
	return s.s3.PublicAccessBlockAt(bucket, now.Add(-s.cfg.PropagationDelay))
}

// Object is a copy of the stored object's bytes.
func (s *Sandbox) Object(bucket, key string) ([]byte, bool) {
	o, ok := s.s3.Object(bucket, key)
	if !ok {
		return nil, false
	}
	return slices.Clone(o.Data), true
}

// Cart is the unicorn uuids in the user's cart in that region's store, sorted.
func (s *Sandbox) Cart(region, userUUID string) []string { return s.shop.Cart(region, userUUID) }

// Ops FailNext accepts.
var (
	S3Ops   = s3.Ops
	ShopOps = shopapi.Ops
)

// FailNext makes the next n calls of op answer status, in either region. S3 ops answer
// S3's XML error for the status (503 SlowDown, 500 InternalError, 409
// ConditionalRequestConflict, ...); shop ops a JSON {"message"}. The op "Conditional"
// is every conditional PutObject or DeleteObject (If-Match, If-None-Match). n <= 0
// clears. It panics on an op it does not know, a test bug.
// Beware: the SDK's standard retryer retries 500/503 (3 attempts in all).
func (s *Sandbox) FailNext(op string, n int, status int) {
	if !slices.Contains(S3Ops, op) && !slices.Contains(ShopOps, op) && op != "Conditional" {
		panic(fmt.Sprintf("sandbox: FailNext: unknown op %q (S3: %v; shop: %v)", op, S3Ops, ShopOps))
	}
	s.faults.Arm(op, n, status)
}

// DelayNext holds the next n S3 calls of op for d before carrying them out, even if
// the caller has given up meanwhile: a request in flight that lands late, as S3 may
// still apply a put whose client timed out. n <= 0 clears. Unknown ops panic.
func (s *Sandbox) DelayNext(op string, n int, d time.Duration) {
	if !slices.Contains(S3Ops, op) {
		panic(fmt.Sprintf("sandbox: DelayNext: unknown S3 op %q (%v)", op, S3Ops))
	}
	s.delays.Arm(op, n, d)
}

// SetOriginDown stops (down) or restarts the website endpoint of region: while down its
// port refuses connections, so the CloudFront stand-in spends its connection attempts
// and fails over. The URL stays the same. It panics on an unknown region.
func (s *Sandbox) SetOriginDown(region string, down bool) {
	st := s.site(region)
	if !down {
		if err := st.web.Up(); err != nil {
			s.log.Error("sandbox: restart website", "region", region, "err", err)
		}
		return
	}
	st.web.Down()
}

// SetOriginHang makes region's website accept connections but never answer (until
// hang is cleared), to exercise the stand-in's response timeout.
func (s *Sandbox) SetOriginHang(region string, hang bool) { s.site(region).website.SetHang(hang) }

func (s *Sandbox) site(region string) *site {
	switch region {
	case s.primary.name:
		return s.primary
	case s.secondary.name:
		return s.secondary
	}
	panic(fmt.Sprintf("sandbox: unknown region %q", region))
}
