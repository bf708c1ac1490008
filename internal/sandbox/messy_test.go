package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// block puts "Block all public access" on the primary through the real SDK client and
// returns when S3 accepted it.
func block(t *testing.T, s *Sandbox) time.Time {
	t.Helper()
	before := len(s.PABChanges())
	all := types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
		BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
	in := &s3.PutPublicAccessBlockInput{Bucket: aws.String(s.Primary().Bucket), PublicAccessBlockConfiguration: &all}
	if _, err := s3Client(s, s.Primary().Name).PutPublicAccessBlock(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	return s.PABChanges()[before].At
}

// Propagation flaps: before the delay no request sees the block, during the flap a
// rising share does, after it every one.
func TestFlappingPropagation(t *testing.T) {
	const delay, flap = 100 * time.Millisecond, 800 * time.Millisecond
	s := start(t, Config{PropagationDelay: delay, PropagationFlap: flap, FlapFrom: 0.2})
	blockedAt := block(t, s)
	type bin struct{ n, blocked int }
	bins := map[string]*bin{"before": {}, "early": {}, "late": {}, "after": {}}
	for time.Since(blockedAt) < delay+flap+200*time.Millisecond {
		sent := time.Since(blockedAt)
		status, _ := servedRegion(t, s.Primary().WebsiteURL)
		var b *bin
		switch {
		case sent < delay-5*time.Millisecond:
			b = bins["before"]
		case sent > delay+5*time.Millisecond && sent < delay+flap/3:
			b = bins["early"]
		case sent > delay+2*flap/3 && sent < delay+flap-5*time.Millisecond:
			b = bins["late"]
		case sent > delay+flap+20*time.Millisecond:
			b = bins["after"]
		default:
			continue
		}
		b.n++
		if status == http.StatusForbidden {
			b.blocked++
		}
	}
	share := func(name string) float64 { return float64(bins[name].blocked) / float64(max(bins[name].n, 1)) }
	// The ramp: 20% at the flap's start, rising to 100%: a third in averages 33%, the
	// last third 87%.
	if share("before") != 0 || share("after") != 1 {
		t.Errorf("blocked before the delay %.2f, after the flap %.2f: want 0 and 1", share("before"), share("after"))
	}
	if e, l := share("early"), share("late"); e < 0.1 || e > 0.6 || l < 0.6 || l >= 1 || bins["early"].n < 10 {
		t.Errorf("blocked in the flap's first third %.2f (%d requests), last third %.2f: want about 0.33 and 0.87", e, bins["early"].n, l)
	}
}

// A primary that hangs or is black-holed while blocked: the edge fails over after its
// attempts (three by default), each a response timeout, or after its connection
// attempts, and the visitor waits that long.
func TestPrimaryOutages(t *testing.T) {
	for _, tc := range []struct {
		outage string
		tried  []string
		wait   time.Duration
	}{
		{"hang", []string{"primary:timeout", "primary:timeout", "primary:timeout", "secondary:200"}, 3 * 300 * time.Millisecond},
		{"blackhole", []string{"primary:unreachable", "secondary:200"}, 3 * 100 * time.Millisecond},
		{"forbidden", []string{"primary:403", "secondary:200"}, 0},
	} {
		t.Run(tc.outage, func(t *testing.T) {
			s := start(t, Config{PrimaryOutage: tc.outage, PropagationDelay: time.Nanosecond,
				OriginConnectTimeout: 100 * time.Millisecond, OriginResponseTimeout: 300 * time.Millisecond})
			if _, region := servedRegion(t, s.DistributionURL()); region != s.Primary().Name {
				t.Fatalf("before the block: %q", region)
			}
			block(t, s)
			began := time.Now()
			status, region := servedRegion(t, s.DistributionURL())
			took := time.Since(began)
			if status != 200 || region != s.Secondary().Name || took < tc.wait || took > tc.wait+time.Second {
				t.Errorf("blocked: %d %q after %v, want the secondary after %v", status, region, took, tc.wait)
			}
			if rec := lastEdge(t, s); !slices.Equal(rec.Tried, tc.tried) {
				t.Errorf("tried %v, want %v", rec.Tried, tc.tried)
			}
			if dials := s.edge.Dials(strings.TrimPrefix(s.Primary().WebsiteURL, "http://")); tc.outage == "blackhole" && dials != 4 {
				t.Errorf("%d connection attempts to the primary, want 1 before the block + 3", dials)
			}
		})
	}
}

func TestSlowAndFailingOrigins(t *testing.T) {
	s := start(t, Config{PrimaryLatency: 150 * time.Millisecond, SecondaryFailPercent: 50, PropagationDelay: time.Nanosecond})
	began := time.Now()
	if _, region := servedRegion(t, s.DistributionURL()); region != s.Primary().Name || time.Since(began) < 150*time.Millisecond {
		t.Errorf("slow primary: %q after %v", region, time.Since(began))
	}
	block(t, s)
	failed := 0
	const n = 200
	for range n {
		status, _ := servedRegion(t, s.Secondary().WebsiteURL)
		if status == http.StatusServiceUnavailable {
			failed++
		}
	}
	if failed < n*3/10 || failed > n*7/10 {
		t.Errorf("%d of %d answers failed, want about half", failed, n)
	}
	res := do(t, "GET", s.DistributionURL()+"/config.json", "")
	for res.status == 200 {
		res = do(t, "GET", s.DistributionURL()+"/config.json", "")
	}
	if res.status != 503 || !strings.Contains(res.body, "<Code>SlowDown</Code>") {
		t.Errorf("a failing secondary's answer through the edge: %d %q", res.status, res.body)
	}
}

// Several edge servers share no state: requests reach them at random, each keeps its
// own log and names itself in X-Amz-Cf-Pop.
func TestEdgeServers(t *testing.T) {
	s := start(t, Config{EdgeServers: 3})
	pops := map[string]int{}
	for range 60 {
		res := do(t, "GET", s.DistributionURL()+"/config.json", "")
		pops[res.header.Get("X-Amz-Cf-Pop")]++
	}
	if len(pops) != 3 {
		t.Errorf("answered by %v, want 3 edge servers", pops)
	}
	for i, e := range s.edge.Edges() {
		log := e.Log()
		if len(log) == 0 || log[0].Pop != []string{"LOCAL1-SANDBOX", "LOCAL2-SANDBOX", "LOCAL3-SANDBOX"}[i] || len(log) != pops[log[0].Pop] {
			t.Errorf("edge %d: %d records, pops %v", i, len(log), pops)
		}
	}
	if n := len(s.EdgeLog()); n != 60 {
		t.Errorf("merged log has %d records, want 60", n)
	}
}

func TestMessyConfigValidation(t *testing.T) {
	_, err := Start(Config{FlapFrom: 1, PrimaryOutage: "melt", SecondaryFailPercent: 101, EdgeServers: 17, PropagationFlap: -time.Second})
	if err == nil {
		t.Fatal("a bad config started")
	}
	for _, field := range []string{"EdgeServers:", "FlapFrom:", "PrimaryOutage:", "PropagationFlap:", "SecondaryFailPercent:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%v does not name %s", err, field)
		}
	}
}
