package sandbox

import (
	"net"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/cloudfront"
	"github.com/unishop/failover-drill/internal/sandbox/cloudwatch"
	"github.com/unishop/failover-drill/internal/sandbox/loopback"
	"github.com/unishop/failover-drill/internal/sandbox/s3control"
)

// controlPlane is the read side the readiness checks need: the CloudFront control API
// (describing the edge), the account's S3 Control and CloudWatch's alarms.
type controlPlane struct {
	s3control                     *s3control.Service
	cloudwatch                    *cloudwatch.Service
	cfServer, s3cServer, cwServer *loopback.Server
}

// behaviors are the edge's cache behaviours for cfg.
func behaviors(cfg Config) []cloudfront.Behavior {
	if !cfg.CacheConfigJSON {
		return nil
	}
	return []cloudfront.Behavior{{PathPattern: "/config.json", Policy: cloudfront.CachingOptimized}}
}

// WebsiteDomain is the S3 website endpoint's host name of bucket in region, as a real
// distribution names its origin.
func WebsiteDomain(bucket, region string) string {
	return bucket + ".s3-website-" + region + ".amazonaws.com"
}

func (s *Sandbox) startControlPlane() error {
	cp := &s.control
	cp.s3control = s3control.New(AccountID, s.cfg.AccountPAB)
	cp.s3control.Authorize = s.policies.Allowed
	cp.cloudwatch = cloudwatch.New(s.cfg.PrimaryRegion, AccountID)
	cp.cloudwatch.Authorize = s.policies.Allowed
	for _, n := range s.cfg.StopAlarms {
		if s.cfg.CompositeStopAlarms {
			cp.cloudwatch.PutComposite(n, "ALARM(shop-5xx) OR ALARM(shop-latency)", cloudwatch.OK, "composite rule not breaching (sandbox)")
			continue
		}
		cp.cloudwatch.Put(n, cloudwatch.OK, "Threshold Crossed: no datapoints were breaching (sandbox)")
	}
	control := s.edge.Control(cloudfront.Description{
		ID: DistributionID, DomainName: "d1sandbox.cloudfront.net", AccountID: AccountID,
		PrimaryDomain:   WebsiteDomain(s.cfg.PrimaryBucket, s.cfg.PrimaryRegion),
		SecondaryDomain: WebsiteDomain(s.cfg.SecondaryBucket, s.cfg.SecondaryRegion),
		PrimaryOriginID: "primary-website", SecondaryID: "secondary-website", GroupID: "website-failover",
		Authorize: s.policies.Allowed,
	})
	var err error
	if cp.cfServer, err = loopback.Start(control); err != nil {
		return err
	}
	if cp.s3cServer, err = loopback.Start(cp.s3control); err != nil {
		return err
	}
	cp.cwServer, err = loopback.Start(cp.cloudwatch)
	return err
}

func (cp *controlPlane) close() []error {
	var errs []error
	for _, srv := range []*loopback.Server{cp.cfServer, cp.s3cServer, cp.cwServer} {
		if srv != nil {
			errs = append(errs, srv.Close())
		}
	}
	return errs
}

func (s *Sandbox) accountPABAt(t time.Time) *drill.PublicAccessBlock {
	if s.control.s3control == nil {
		return s.cfg.AccountPAB
	}
	return s.control.s3control.ConfigAt(t)
}

// Endpoints of the control plane, "http://127.0.0.1:port".
func (s *Sandbox) CloudFrontURL() string { return s.control.cfServer.URL() }
func (s *Sandbox) S3ControlURL() string  { return s.control.s3cServer.URL() }
func (s *Sandbox) CloudWatchURL() string { return s.control.cwServer.URL() }

// SetAccountPAB changes the account-level Block Public Access now (nil: delete); the
// websites enforce it after the propagation delay.
func (s *Sandbox) SetAccountPAB(p *drill.PublicAccessBlock) { s.control.s3control.Set(p) }

// DistributionARN is the sandbox distribution's ARN, as IAM names it.
func DistributionARN() string {
	return "arn:aws:cloudfront::" + AccountID + ":distribution/" + DistributionID
}

// AlarmARN is a sandbox stop alarm's ARN.
func (s *Sandbox) AlarmARN(name string) string { return s.control.cloudwatch.ARN(name) }

// SetAlarmStateAt makes a stop alarm take state (cloudwatch.Alarm: "ALARM") at moment at.
func (s *Sandbox) SetAlarmStateAt(name, state, reason string, at time.Time) {
	s.control.cloudwatch.SetStateAt(name, state, reason, at)
}

// Hosts maps each website endpoint's real host name (WebsiteDomain) to its loopback
// address: the sandbox's DNS, so a client can fetch an origin by the domain the
// distribution's configuration names.
func (s *Sandbox) Hosts() map[string]string {
	return map[string]string{
		WebsiteDomain(s.primary.bucket, s.primary.name):     s.primary.web.Addr(),
		WebsiteDomain(s.secondary.bucket, s.secondary.name): s.secondary.web.Addr(),
	}
}

// Dial connects to addr, resolving the website host names of Hosts (any port) to the
// sandbox's listeners; other addresses are dialled as they are.
func (s *Sandbox) Dial(network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err == nil {
		if a, ok := s.Hosts()[strings.ToLower(host)]; ok {
			addr = a
		}
	}
	return net.DialTimeout(network, addr, 5*time.Second)
}
