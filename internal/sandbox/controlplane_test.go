package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscf "github.com/aws/aws-sdk-go-v2/service/cloudfront"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	awss3c "github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/readiness"
	"github.com/unishop/failover-drill/internal/sandbox/cloudfront"
	"github.com/unishop/failover-drill/internal/sandbox/cloudwatch"
)

func clients(s *Sandbox) readiness.Clients {
	return readiness.SandboxClients(s.Config().PrimaryRegion, s.CloudFrontURL(), s.S3ControlURL(), s.CloudWatchURL(), awsconf.SandboxAdmin)
}

func blockPrimary(t *testing.T, s *Sandbox) {
	t.Helper()
	all := types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
	if _, err := s3Client(s, s.Primary().Name).PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: aws.String(s.Primary().Bucket), PublicAccessBlockConfiguration: &all}); err != nil {
		t.Fatal(err)
	}
}

// The control API describes the edge as it is configured, in CloudFront's REST-XML,
// which the real SDK client parses: origin group, failover codes, origin timeouts,
// cache behaviours, and the origins' website endpoint domains.
func TestControlAPIDescribesTheEdge(t *testing.T) {
	s := start(t, Config{FailoverCodes: []int{500, 502, 503, 504}, CacheConfigJSON: true, OriginConnectAttempts: 2, OriginConnectTimeout: 2 * time.Second})
	out, err := clients(s).CloudFront.GetDistributionConfig(ctx(t), &awscf.GetDistributionConfigInput{Id: aws.String(DistributionID)})
	if err != nil {
		t.Fatal(err)
	}
	dc := out.DistributionConfig
	if aws.ToString(out.ETag) == "" {
		t.Error("no ETag")
	}
	g := dc.OriginGroups.Items[0]
	if codes := g.FailoverCriteria.StatusCodes.Items; !slices.Equal(codes, []int32{500, 502, 503, 504}) {
		t.Errorf("failover codes %v", codes)
	}
	o := dc.Origins.Items[0]
	if aws.ToString(o.DomainName) != WebsiteDomain(s.Primary().Bucket, s.Primary().Name) || aws.ToInt32(o.ConnectionAttempts) != 2 ||
		aws.ToInt32(o.ConnectionTimeout) != 2 || aws.ToInt32(o.CustomOriginConfig.OriginReadTimeout) != 5 {
		t.Errorf("primary origin %s attempts %d timeout %d read %d", aws.ToString(o.DomainName), aws.ToInt32(o.ConnectionAttempts),
			aws.ToInt32(o.ConnectionTimeout), aws.ToInt32(o.CustomOriginConfig.OriginReadTimeout))
	}
	if aws.ToString(dc.DefaultCacheBehavior.TargetOriginId) != aws.ToString(g.Id) || aws.ToString(dc.DefaultCacheBehavior.CachePolicyId) != cloudfront.CachingDisabled.ID {
		t.Errorf("default behaviour %+v", dc.DefaultCacheBehavior)
	}
	if cb := dc.CacheBehaviors.Items; len(cb) != 1 || aws.ToString(cb[0].PathPattern) != "/config.json" || aws.ToString(cb[0].CachePolicyId) != cloudfront.CachingOptimized.ID {
		t.Errorf("cache behaviours %+v", cb)
	}
	_, err = clients(s).CloudFront.GetDistributionConfig(ctx(t), &awscf.GetDistributionConfigInput{Id: aws.String("EOTHERDIST")})
	if apiCode(err) != "NoSuchDistribution" {
		t.Errorf("another distribution: %v, want NoSuchDistribution", err)
	}
}

// With a cache behaviour whose policy ignores the query string (CachingOptimized), the
// edge keeps serving the primary's config.json while the primary is blocked, as
// CloudFront does: a cache-busting query does not help. The default behaviour
// (CachingDisabled) fails over.
func TestCachedConfigServedWhileBlocked(t *testing.T) {
	s := start(t, Config{CacheConfigJSON: true, PropagationDelay: time.Nanosecond})
	get := func(path string) (string, string) {
		t.Helper()
		r := do(t, http.MethodGet, s.DistributionURL()+path+"?drill-probe="+time.Now().Format("150405.000000000"), "")
		return r.header.Get("X-Cache"), r.body
	}
	if xc, body := get("/config.json"); xc != "Miss from cloudfront" || !strings.Contains(body, s.Primary().Name) {
		t.Fatalf("first config.json: %s %s", xc, body)
	}
	blockPrimary(t, s)
	time.Sleep(20 * time.Millisecond)
	if xc, body := get("/config.json"); xc != "Hit from cloudfront" || !strings.Contains(body, s.Primary().Name) {
		t.Errorf("config.json while blocked: X-Cache %q body %s, want the cached primary copy", xc, body)
	}
	if _, page := get("/"); !strings.Contains(page, s.Secondary().Name) {
		t.Errorf("/ while blocked is not the secondary's (the default behaviour does not cache): %s", page)
	}
	log := s.EdgeLog()
	if hit := log[len(log)-2]; hit.Path != "/config.json" || hit.Origin != "primary" || !slices.Equal(hit.Tried, []string{"cache:hit"}) {
		t.Errorf("edge log %+v, want a cache hit of the primary's copy", hit)
	}
}

// Account-level Block Public Access through the real s3control client, and the
// websites enforcing the bucket's OR the account's RestrictPublicBuckets.
func TestAccountPublicAccessBlock(t *testing.T) {
	s := start(t, Config{PropagationDelay: time.Nanosecond})
	c := clients(s).S3Control
	_, err := c.GetPublicAccessBlock(ctx(t), &awss3c.GetPublicAccessBlockInput{AccountId: aws.String(AccountID)})
	if apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("fresh account: %v, want NoSuchPublicAccessBlockConfiguration", err)
	}
	if status, region := servedRegion(t, s.DistributionURL()); status != 200 || region != s.Primary().Name {
		t.Fatalf("before: %d %s", status, region)
	}
	_, err = c.PutPublicAccessBlock(ctx(t), &awss3c.PutPublicAccessBlockInput{AccountId: aws.String(AccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetPublicAccessBlock(ctx(t), &awss3c.GetPublicAccessBlockInput{AccountId: aws.String(AccountID)})
	if err != nil || !aws.ToBool(out.PublicAccessBlockConfiguration.RestrictPublicBuckets) || aws.ToBool(out.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Fatalf("read back %+v %v", out, err)
	}
	time.Sleep(10 * time.Millisecond)
	// The bucket itself has no configuration; the account's blocks both websites.
	for _, r := range []Region{s.Primary(), s.Secondary()} {
		if res := do(t, http.MethodGet, r.WebsiteURL+"/config.json", ""); res.status != http.StatusForbidden {
			t.Errorf("%s website with account RestrictPublicBuckets: %d, want 403", r.Name, res.status)
		}
	}
	if _, ok := s.PublicAccessBlock(s.Primary().Bucket); ok {
		t.Error("the bucket's own configuration changed")
	}
	if _, err := c.GetPublicAccessBlock(ctx(t), &awss3c.GetPublicAccessBlockInput{AccountId: aws.String("999999999999")}); apiCode(err) != "AccessDenied" {
		t.Errorf("another account: %v, want AccessDenied", err)
	}
	if _, err := c.DeletePublicAccessBlock(ctx(t), &awss3c.DeletePublicAccessBlockInput{AccountId: aws.String(AccountID)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if status, region := servedRegion(t, s.DistributionURL()); status != 200 || region != s.Primary().Name {
		t.Errorf("after the delete: %d %s", status, region)
	}
}

// Stop alarms through the real cloudwatch client (RPC v2 CBOR): an alarm's state, a
// change scheduled for a moment, a missing alarm left out of the answer.
func TestStopAlarms(t *testing.T) {
	s := start(t, Config{StopAlarms: []string{"a", "b"}})
	c := clients(s).CloudWatch
	at := time.Now().Add(150 * time.Millisecond)
	s.SetAlarmStateAt("b", cloudwatch.Alarm, "Threshold Crossed", at)
	read := func() map[string]string {
		out, err := c.DescribeAlarms(ctx(t), &awscw.DescribeAlarmsInput{AlarmNames: []string{"a", "b", "missing"}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, a := range out.MetricAlarms {
			m[aws.ToString(a.AlarmName)] = string(a.StateValue)
		}
		return m
	}
	if got := read(); len(got) != 2 || got["a"] != "OK" || got["b"] != "OK" {
		t.Errorf("before: %v", got)
	}
	time.Sleep(time.Until(at) + 20*time.Millisecond)
	if got := read(); got["b"] != "ALARM" || got["a"] != "OK" {
		t.Errorf("after the moment: %v", got)
	}
}
