package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// Hand-written fakes over the SDK calls (function fields).
type fakeCF struct {
	get func(id string) (*cloudfront.GetDistributionConfigOutput, error)
}

func (f fakeCF) GetDistributionConfig(_ context.Context, in *cloudfront.GetDistributionConfigInput, _ ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error) {
	return f.get(aws.ToString(in.Id))
}

type fakeS3C struct {
	get func(account string) (*s3control.GetPublicAccessBlockOutput, error)
}

func (f fakeS3C) GetPublicAccessBlock(_ context.Context, in *s3control.GetPublicAccessBlockInput, _ ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error) {
	return f.get(aws.ToString(in.AccountId))
}

type fakeCW struct {
	describe func(names []string) (*cloudwatch.DescribeAlarmsOutput, error)
}

func (f fakeCW) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return f.describe(in.AlarmNames)
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// lab is a healthy lab: a secondary website (httptest) and its API, a distribution
// whose origin group fails over on 403 to it, no account-level block, alarms OK.
type lab struct {
	site, api   *httptest.Server
	dist        *cftypes.DistributionConfig
	siteRegion  string
	apiHealthy  bool
	xcache      string // X-Cache the distribution answers (custom cache policies)
	distBase    *httptest.Server
	mu          sync.Mutex
	cart        []string
	removed     []string
	alarmStates map[string]cwtypes.StateValue
	account     *s3ctypes.PublicAccessBlockConfiguration
	cfErr       error
}

func newLab(t *testing.T) *lab {
	l := &lab{siteRegion: "us-west-1", apiHealthy: true, xcache: "Miss from cloudfront", alarmStates: map[string]cwtypes.StateValue{"HighErrorRate": cwtypes.StateValueOk}}
	l.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/health/ping") && l.apiHealthy:
			w.Write([]byte(`{"status":"healthy"}`))
		case strings.Contains(r.URL.Path, "/unicorns/basket/"):
			var items []map[string]string
			for _, u := range l.cart {
				items = append(items, map[string]string{"uuid": u})
			}
			json.NewEncoder(w).Encode(map[string]any{"uuid": "user-1", "unicorns": items})
		case r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/unicorns/basket"):
			var b struct{ Unicorns []struct{ UUID string } }
			json.NewDecoder(r.Body).Decode(&b)
			l.removed = append(l.removed, b.Unicorns[0].UUID)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(l.api.Close)
	l.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"host": l.api.URL, "region": l.siteRegion})
	}))
	t.Cleanup(l.site.Close)
	l.distBase = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cache", l.xcache)
	}))
	t.Cleanup(l.distBase.Close)
	siteHost := strings.TrimPrefix(l.site.URL, "http://")
	_, port, _ := strings.Cut(siteHost, ":")
	var p int32
	for _, c := range port {
		p = p*10 + c - '0'
	}
	origin := func(id, domain string, port int32) cftypes.Origin {
		return cftypes.Origin{Id: aws.String(id), DomainName: aws.String(domain), ConnectionAttempts: aws.Int32(2), ConnectionTimeout: aws.Int32(4), ResponseCompletionTimeout: aws.Int32(30),
			CustomOriginConfig: &cftypes.CustomOriginConfig{HTTPPort: aws.Int32(port), OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpOnly, OriginReadTimeout: aws.Int32(20)}}
	}
	l.dist = &cftypes.DistributionConfig{
		Origins: &cftypes.Origins{Items: []cftypes.Origin{
			origin("p", "ui-primary.s3-website-us-east-1.amazonaws.com", 80),
			// The secondary is reached at the httptest server: its "domain" is 127.0.0.1.
			origin("s", "ui-secondary.s3-website-us-west-1.amazonaws.com", p),
		}},
		OriginGroups: &cftypes.OriginGroups{Items: []cftypes.OriginGroup{{
			Id:               aws.String("group"),
			FailoverCriteria: &cftypes.OriginGroupFailoverCriteria{StatusCodes: &cftypes.StatusCodes{Items: []int32{403, 500, 502, 503, 504}}},
			Members:          &cftypes.OriginGroupMembers{Items: []cftypes.OriginGroupMember{{OriginId: aws.String("p")}, {OriginId: aws.String("s")}}},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("group"), CachePolicyId: aws.String("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")},
	}
	return l
}

// handler wires the lab: the secondary's website domain resolves to the httptest site.
func (l *lab) handler() *Handler {
	site := strings.TrimPrefix(l.site.URL, "http://")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (netConn, error) {
			if strings.HasPrefix(addr, "ui-secondary.s3-website-us-west-1.amazonaws.com:") {
				addr = site
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	return &Handler{
		CloudFront: fakeCF{get: func(id string) (*cloudfront.GetDistributionConfigOutput, error) {
			if l.cfErr != nil {
				return nil, l.cfErr
			}
			if id != "E2QWRUHAPOMQZL" {
				return nil, apiErr("NoSuchDistribution")
			}
			return &cloudfront.GetDistributionConfigOutput{DistributionConfig: l.dist, ETag: aws.String("E1")}, nil
		}},
		S3Control: fakeS3C{get: func(string) (*s3control.GetPublicAccessBlockOutput, error) {
			if l.account == nil {
				return nil, apiErr("NoSuchPublicAccessBlockConfiguration")
			}
			return &s3control.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: l.account}, nil
		}},
		Alarms: fakeCW{describe: func(names []string) (*cloudwatch.DescribeAlarmsOutput, error) {
			out := &cloudwatch.DescribeAlarmsOutput{}
			for _, n := range names {
				if st, ok := l.alarmStates[n]; ok {
					out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: st, StateReason: aws.String("reason")})
				}
			}
			return out, nil
		}},
		HTTP:               client,
		Shop:               shop.New(client),
		AccountID:          func(context.Context) string { return "123456789012" },
		DeployedStopAlarms: []string{"HighErrorRate"},
		ReplicationPoll:    10 * time.Millisecond,
	}
}

func (l *lab) config(extra string) json.RawMessage {
	cfg := `{"distribution":"` + l.distBase.URL + `","distributionId":"E2QWRUHAPOMQZL","primaryBucket":"ui-primary","primaryRegion":"us-east-1","secondaryRegion":"us-west-1"`
	if extra != "" {
		cfg += "," + extra
	}
	return json.RawMessage(cfg + "}")
}

func runChecks(t *testing.T, l *lab, extra string) drill.ReadinessResult {
	t.Helper()
	res, err := l.handler().Handle(context.Background(), drill.ReadinessInput{Mode: drill.ModeChecks, Config: l.config(extra), Execution: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestHealthyLabIsReady(t *testing.T) {
	l := newLab(t)
	res := runChecks(t, l, "")
	if !res.Ready {
		t.Fatalf("not ready: %s", res.Summary)
	}
	for _, c := range res.Checks {
		if c.Status != drill.CheckPass || len(c.Evidence) == 0 {
			t.Errorf("check %+v, want pass with evidence", c)
		}
	}
	if res.SecondaryAPI != l.api.URL {
		t.Errorf("secondary API %q, want %q", res.SecondaryAPI, l.api.URL)
	}
	want := drill.OriginSettings{ConnectionAttempts: 2, ConnectionTimeoutSeconds: 4, ResponseTimeoutSeconds: 20, ResponseCompletionTimeoutSeconds: 30, Source: "distribution"}
	if res.Origin != want {
		t.Errorf("origin timeouts %+v, want %+v (read from the distribution, for the probe)", res.Origin, want)
	}
	// 2 × (4 + 20) = 48 s of attempts, the completion timeout caps the responses: 8 + 30.
	if c := res.CheckByName(drill.CheckDistribution); c == nil || !strings.Contains(strings.Join(c.Evidence, "; "), "response completion timeout 30 s: a visitor may wait up to 38 s") {
		t.Errorf("distribution evidence does not say how long a visitor may wait on the primary: %+v", c)
	}
	if strings.Join(res.StopAlarms, ",") != "HighErrorRate" {
		t.Errorf("stop alarms %v", res.StopAlarms)
	}
}

// Each check fails (or is skipped) for its own cause; the other checks still run.
func TestChecksFailOrSkip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(l *lab)
		extra  string
		check  string
		status string
		says   string
	}{
		{"403 not a failover code", func(l *lab) {
			l.dist.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items = []int32{500, 502, 503, 504}
		}, "", drill.CheckDistribution, drill.CheckFail, "not on 403"},
		{"behaviour targets a single origin", func(l *lab) { l.dist.DefaultCacheBehavior.TargetOriginId = aws.String("p") }, "",
			drill.CheckDistribution, drill.CheckFail, "not an origin group"},
		{"config.json behaviour with CachingOptimized", func(l *lab) {
			l.dist.CacheBehaviors = &cftypes.CacheBehaviors{Items: []cftypes.CacheBehavior{{PathPattern: aws.String("*.json"), TargetOriginId: aws.String("group"), CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6")}}}
		}, "", drill.CheckDistribution, drill.CheckFail, "Managed-CachingOptimized"},
		{"custom cache policy that ignores the query string", func(l *lab) {
			l.dist.DefaultCacheBehavior.CachePolicyId = aws.String("custom-1")
			l.xcache = "Hit from cloudfront"
		}, "", drill.CheckDistribution, drill.CheckFail, "ignores the query string"},
		{"legacy cache settings without query string", func(l *lab) {
			l.dist.DefaultCacheBehavior.CachePolicyId = nil
			//lint:ignore SA1019 a distribution may still use the legacy cache settings
			l.dist.DefaultCacheBehavior.ForwardedValues, l.dist.DefaultCacheBehavior.DefaultTTL = &cftypes.ForwardedValues{QueryString: aws.Bool(false)}, aws.Int64(300)
		}, "", drill.CheckDistribution, drill.CheckFail, "legacy cache settings"},
		{"primary member is another bucket", func(l *lab) {
			l.dist.Origins.Items[0].DomainName = aws.String("other.s3-website-us-east-1.amazonaws.com")
		}, "",
			drill.CheckDistribution, drill.CheckFail, "not the primary bucket's website endpoint"},
		{"secondary member in the wrong region", func(l *lab) {}, `"secondaryRegion":"eu-west-1"`,
			drill.CheckDistribution, drill.CheckFail, "not an S3 website endpoint in eu-west-1"},
		{"no distribution ID", func(l *lab) {}, `"distributionId":""`, drill.CheckDistribution, drill.CheckSkipped, "no distributionId"},
		{"no permission on the distribution", func(l *lab) { l.cfErr = apiErr("AccessDenied") }, "", drill.CheckDistribution, drill.CheckSkipped, "no permission"},
		{"wrong distribution ID", func(l *lab) {}, `"distributionId":"EWRONGID99"`, drill.CheckDistribution, drill.CheckFail, "does not exist"},
		{"secondary names the wrong region", func(l *lab) { l.siteRegion = "us-east-1" }, "", drill.CheckSecondaryOrigin, drill.CheckFail, `want "us-west-1"`},
		{"secondary site down", func(l *lab) { l.site.Close() }, "", drill.CheckSecondaryOrigin, drill.CheckFail, "does not serve config.json"},
		{"secondary API unhealthy", func(l *lab) { l.apiHealthy = false }, "", drill.CheckSecondaryOrigin, drill.CheckFail, "health check"},
		{"secondary origin unknown without the distribution", func(l *lab) {}, `"distributionId":""`, drill.CheckSecondaryOrigin, drill.CheckSkipped, "was not read"},
		{"account restricts public buckets", func(l *lab) {
			l.account = &s3ctypes.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true)}
		}, "", drill.CheckAccountPAB, drill.CheckFail, "RestrictPublicBuckets on"},
		{"stop alarm in ALARM", func(l *lab) { l.alarmStates["HighErrorRate"] = cwtypes.StateValueAlarm }, "", drill.CheckStopAlarms, drill.CheckFail, "HighErrorRate is in ALARM"},
		{"input alarm missing", func(l *lab) {}, `"stopAlarms":["Gone"]`, drill.CheckStopAlarms, drill.CheckFail, "Gone does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			tc.break_(l)
			res := runChecks(t, l, tc.extra)
			c := res.CheckByName(tc.check)
			if c == nil || c.Status != tc.status || !strings.Contains(c.Reason, tc.says) || c.Action == "" {
				t.Fatalf("check %s: %+v, want %s saying %q with an action", tc.check, c, tc.status, tc.says)
			}
			// A skipped check is never a pass: not ready, and a drill does not go on.
			if res.Ready || res.Proceed {
				t.Errorf("ready %v proceed %v, want neither (%s)", res.Ready, res.Proceed, res.Summary)
			}
			if tc.status == drill.CheckSkipped && (!slices.Contains(res.Skipped, tc.check) || !strings.Contains(res.Summary, "allowSkippedChecks")) {
				t.Errorf("skipped %v, summary %s: want the check named and the way to go on without it", res.Skipped, res.Summary)
			}
			if tc.status == drill.CheckFail && !strings.Contains(res.Summary, tc.check+": ") {
				t.Errorf("summary does not name the failed check: %s", res.Summary)
			}
			if len(res.Checks) != 4 {
				t.Errorf("%d checks, want all 4 of the checks mode", len(res.Checks))
			}
		})
	}
}

// A skipped check fails closed: a drill does not go on to the block unless the input
// says allowSkippedChecks, and a dry run goes on but is never ready (unverified).
func TestSkippedChecksFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name               string
		extra              string
		proceed            bool
		summary            string
		allowSkippedChecks bool
	}{
		{"drill", `"distributionId":""`, false, "not ready, nothing was changed: 2 checks were skipped, so they would not guard the block", false},
		{"drill with allowSkippedChecks", `"distributionId":"","allowSkippedChecks":true`, true, "going on with allowSkippedChecks although 2 checks were skipped", true},
		{"dry run", `"distributionId":"","dryRun":true`, true, "unverified: nothing failed, but 2 checks were skipped", false},
		{"dry run with allowSkippedChecks", `"distributionId":"","dryRun":true,"allowSkippedChecks":true`, true, "unverified: nothing failed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runChecks(t, newLab(t), tc.extra)
			if res.Ready || res.Proceed != tc.proceed || res.AllowSkippedChecks != tc.allowSkippedChecks {
				t.Errorf("ready %v proceed %v allowSkippedChecks %v, want false %v %v", res.Ready, res.Proceed, res.AllowSkippedChecks, tc.proceed, tc.allowSkippedChecks)
			}
			if want := []string{drill.CheckDistribution, drill.CheckSecondaryOrigin}; !slices.Equal(res.Skipped, want) {
				t.Errorf("skipped %v, want %v", res.Skipped, want)
			}
			if !strings.HasPrefix(res.Summary, tc.summary) || !strings.Contains(res.Summary, "distributionId") {
				t.Errorf("summary %q, want it to start %q and say what to do", res.Summary, tc.summary)
			}
		})
	}
	// A failed check stops a drill whatever allowSkippedChecks says.
	l := newLab(t)
	l.alarmStates["HighErrorRate"] = cwtypes.StateValueAlarm
	if res := runChecks(t, l, `"distributionId":"","allowSkippedChecks":true`); res.Proceed || !strings.Contains(res.Summary, "skipped as well") {
		t.Errorf("proceed %v: %s", res.Proceed, res.Summary)
	}
	if _, err := l.handler().Handle(context.Background(), drill.ReadinessInput{Mode: drill.ModeChecks, Config: l.config(`"allowSkippedChecks":"yes"`)}); err == nil ||
		!strings.Contains(err.Error(), "allowSkippedChecks: must be a boolean") {
		t.Errorf("err %v, want allowSkippedChecks named as not a boolean", err)
	}
}

// No stop alarm configured is a configuration, not a check that could not run: the
// check passes and says that nothing is watched.
func TestNoStopAlarmsIsAPassThatSaysSo(t *testing.T) {
	l := newLab(t)
	h := l.handler()
	h.DeployedStopAlarms = nil
	res, err := h.Handle(context.Background(), drill.ReadinessInput{Mode: drill.ModeChecks, Config: l.config(""), Execution: "x"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.CheckByName(drill.CheckStopAlarms)
	if !res.Ready || c.Status != drill.CheckPass || !strings.Contains(strings.Join(c.Evidence, " "), "no stop alarms configured") {
		t.Errorf("ready %v, check %+v", res.Ready, c)
	}
}

// Throttling is not a verdict: the state machine retries the step.
func TestThrottlingIsTransient(t *testing.T) {
	l := newLab(t)
	l.cfErr = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	_, err := l.handler().Handle(context.Background(), drill.ReadinessInput{Mode: drill.ModeChecks, Config: l.config(""), Execution: "x"})
	var tr *drill.Transient
	if !errors.As(drill.Classify(err), &tr) {
		t.Fatalf("err %v, want Transient", err)
	}
}

func TestBadInputNamesEveryField(t *testing.T) {
	l := newLab(t)
	_, err := l.handler().Handle(context.Background(), drill.ReadinessInput{Mode: "later", Config: l.config(`"maxReplicationLagSeconds":0,"stopAlarms":"x"`)})
	var inv *drill.InvalidInput
	if !errors.As(err, &inv) {
		t.Fatalf("err %v, want InvalidInput", err)
	}
	for _, f := range []string{"mode:", "stopAlarms:"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%v does not name %s", err, f)
		}
	}
}

func TestReplication(t *testing.T) {
	seed := &drill.SeedResult{User: drill.User{UUID: "user-1"}, Cart: []string{"b", "a"}, APIHost: "", Timing: drill.Timing{FinishedAt: time.Now()}}
	// replicate, when set, starts the replication the moment the seed finished.
	run := func(l *lab, extra string, replicate ...func()) drill.ReadinessResult {
		t.Helper()
		prev := runChecks(t, l, "")
		s := *seed
		s.APIHost = l.api.URL
		s.FinishedAt = time.Now()
		for _, r := range replicate {
			r()
		}
		res, err := l.handler().Handle(context.Background(), drill.ReadinessInput{Mode: drill.ModeReplication, Config: l.config(extra), Seed: &s, Previous: &prev})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("pass: the cart arrives within the limit", func(t *testing.T) {
		l := newLab(t)
		res := run(l, "", func() {
			go func() { time.Sleep(100 * time.Millisecond); l.mu.Lock(); l.cart = []string{"a", "b"}; l.mu.Unlock() }()
		})
		c := res.CheckByName(drill.CheckReplication)
		if !res.Ready || c == nil || c.Status != drill.CheckPass || res.ReplicationSeconds == nil || *res.ReplicationSeconds < 0.1 {
			t.Fatalf("%+v %v", c, res.ReplicationSeconds)
		}
		if len(res.Checks) != 5 || len(l.removed) != 0 {
			t.Errorf("checks %d (want 5), removed %v (a real drill keeps the cart)", len(res.Checks), l.removed)
		}
	})
	t.Run("fail: replication behind, the cart is cleared", func(t *testing.T) {
		l := newLab(t)
		res := run(l, `"maxReplicationLagSeconds":1`)
		c := res.CheckByName(drill.CheckReplication)
		if res.Ready || c == nil || c.Status != drill.CheckFail || !strings.Contains(c.Reason, "maxReplicationLagSeconds (1 s)") {
			t.Fatalf("%+v", c)
		}
		if len(l.removed) != 2 {
			t.Errorf("removed %v, want the two seeded unicorns", l.removed)
		}
	})
	t.Run("dry run: pass, and the cart is cleared", func(t *testing.T) {
		l := newLab(t)
		l.cart = []string{"a", "b"}
		res := run(l, `"dryRun":true`)
		if !res.Ready || !res.DryRun || len(l.removed) != 2 {
			t.Fatalf("ready %v dryRun %v removed %v", res.Ready, res.DryRun, l.removed)
		}
	})
}

func TestPathPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/config.json", "/config.json", true}, {"config.json", "/config.json", true}, {"*.json", "/config.json", true},
		{"/images/*", "/config.json", false}, {"/conf?g.json", "/config.json", true}, {"*", "/", true}, {"/CONFIG.json", "/config.json", false},
	} {
		if got := pathMatches(tc.pattern, tc.path); got != tc.want {
			t.Errorf("pathMatches(%q, %q) = %v", tc.pattern, tc.path, got)
		}
	}
}

type netConn = net.Conn

var dialer = &net.Dialer{Timeout: time.Second}
