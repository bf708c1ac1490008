package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// lastEdge is the latest edge record.
func lastEdge(t *testing.T, s *Sandbox) EdgeRecord {
	t.Helper()
	log := s.EdgeLog()
	if len(log) == 0 {
		t.Fatal("empty edge log")
	}
	return log[len(log)-1]
}

func TestEdgeFailoverOnStatus(t *testing.T) {
	blocked := Config{PrimaryPAB: &drill.BlockAll}
	for _, tc := range []struct {
		name         string
		cfg          Config
		method, path string
		status       int
		origin       string
		tried        []string
		xCache       string
	}{
		{"healthy primary serves", Config{}, "GET", "/config.json?cb=1", 200, "primary", []string{"primary:200"}, "Miss from cloudfront"},
		{"GET fails over on 403", blocked, "GET", "/config.json?cb=2", 200, "secondary", []string{"primary:403", "secondary:200"}, "Miss from cloudfront"},
		{"HEAD fails over on 403", blocked, "HEAD", "/index.html", 200, "secondary", []string{"primary:403", "secondary:200"}, "Miss from cloudfront"},
		{"OPTIONS fails over on 403", blocked, "OPTIONS", "/config.json", 200, "secondary", []string{"primary:403", "secondary:200"}, "Miss from cloudfront"},
		{"POST never fails over", blocked, "POST", "/config.json", 403, "primary", []string{"primary:403"}, "Error from cloudfront"},
		{"PUT never fails over", blocked, "PUT", "/config.json", 403, "primary", []string{"primary:403"}, "Error from cloudfront"},
		{"403 not in FailoverCodes", Config{PrimaryPAB: &drill.BlockAll, FailoverCodes: []int{500, 502, 503, 504}}, "GET", "/config.json", 403, "primary", []string{"primary:403"}, "Error from cloudfront"},
		{"secondary's error is served", Config{}, "GET", "/missing.css", 404, "secondary", []string{"primary:404", "secondary:404"}, "Error from cloudfront"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.cfg)
			body := ""
			if tc.method == "POST" || tc.method == "PUT" {
				body = `{"x":1}`
			}
			res := do(t, tc.method, s.DistributionURL()+tc.path, body)
			if res.status != tc.status {
				t.Errorf("status %d, want %d (%q)", res.status, tc.status, res.body)
			}
			if got := res.header.Get("X-Cache"); got != tc.xCache {
				t.Errorf("X-Cache %q, want %q", got, tc.xCache)
			}
			rec := lastEdge(t, s)
			if rec.Origin != tc.origin || rec.Status != tc.status || !slices.Equal(rec.Tried, tc.tried) ||
				rec.Method != tc.method || rec.Path != strings.Split(tc.path, "?")[0] {
				t.Errorf("record %+v, want origin %q status %d tried %v", rec, tc.origin, tc.status, tc.tried)
			}
			if tc.method == "GET" && tc.status == 200 {
				if _, region := servedRegion(t, s.DistributionURL()); (region == s.Primary().Name) != (tc.origin == "primary") {
					t.Errorf("config.json region %q, served by %s", region, tc.origin)
				}
			}
		})
	}
}

func TestEdgeFailoverBackAndForth(t *testing.T) {
	s := start(t, Config{PropagationDelay: 50 * time.Millisecond})
	s.SetOriginDown(s.Primary().Name, true)
	if _, region := servedRegion(t, s.DistributionURL()); region != s.Secondary().Name {
		t.Fatalf("primary down: served %q", region)
	}
	s.SetOriginDown(s.Primary().Name, false)
	// No stickiness: the next request tries the primary again.
	if _, region := servedRegion(t, s.DistributionURL()); region != s.Primary().Name {
		t.Fatalf("primary back: served %q", region)
	}
}

func TestEdgeOriginDown(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		attempts                int
		method                  string
		primaryDown, secDown    bool
		status                  int
		origin                  string
		tried                   []string
		wantPrimaryDialsAtLeast int
	}{
		{"GET after 3 connection attempts", 3, "GET", true, false, 200, "secondary", []string{"primary:unreachable", "secondary:200"}, 3},
		{"GET after 1 connection attempt", 1, "GET", true, false, 200, "secondary", []string{"primary:unreachable", "secondary:200"}, 1},
		{"POST does not fail over", 2, "POST", true, false, 502, "", []string{"primary:unreachable"}, 2},
		{"both down", 3, "GET", true, true, 502, "", []string{"primary:unreachable", "secondary:unreachable"}, 3},
		{"secondary down only", 3, "GET", false, true, 200, "primary", []string{"primary:200"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Config{OriginConnectAttempts: tc.attempts, OriginConnectTimeout: 300 * time.Millisecond})
			s.SetOriginDown(s.Primary().Name, tc.primaryDown)
			s.SetOriginDown(s.Secondary().Name, tc.secDown)
			body := ""
			if tc.method == "POST" {
				body = "{}"
			}
			res := do(t, tc.method, s.DistributionURL()+"/config.json", body)
			if res.status != tc.status {
				t.Errorf("status %d, want %d", res.status, tc.status)
			}
			rec := lastEdge(t, s)
			if rec.Origin != tc.origin || !slices.Equal(rec.Tried, tc.tried) {
				t.Errorf("record %+v, want origin %q tried %v", rec, tc.origin, tc.tried)
			}
			dials := s.edge.Dials(strings.TrimPrefix(s.Primary().WebsiteURL, "http://"))
			if tc.primaryDown && dials != tc.attempts || !tc.primaryDown && dials < 1 {
				t.Errorf("%d connection attempts to the primary, want %d", dials, tc.attempts)
			}
		})
	}
}

func TestEdgeResponseTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := start(t, Config{OriginResponseTimeout: timeout})
	s.SetOriginHang(s.Primary().Name, true)
	began := time.Now()
	status, region := servedRegion(t, s.DistributionURL())
	if status != 200 || region != s.Secondary().Name {
		t.Errorf("primary hanging: %d %q, want the secondary", status, region)
	}
	// Three attempts (the default), each with its own response timeout.
	if took := time.Since(began); took < 3*timeout {
		t.Errorf("failed over after %s, before three response timeouts %s", took, 3*timeout)
	}
	if rec := lastEdge(t, s); !slices.Equal(rec.Tried, []string{"primary:timeout", "primary:timeout", "primary:timeout", "secondary:200"}) {
		t.Errorf("tried %v", rec.Tried)
	}

	s.SetOriginHang(s.Secondary().Name, true)
	res := do(t, "GET", s.DistributionURL()+"/config.json", "")
	if res.status != http.StatusGatewayTimeout || res.header.Get("X-Cache") != "Error from cloudfront" {
		t.Errorf("both hanging: %d %q", res.status, res.header.Get("X-Cache"))
	}
	if rec := lastEdge(t, s); rec.Origin != "" || rec.Status != 504 {
		t.Errorf("record %+v", rec)
	}
	s.SetOriginHang(s.Primary().Name, false)
	s.SetOriginHang(s.Secondary().Name, false)
	if _, region := servedRegion(t, s.DistributionURL()); region != s.Primary().Name {
		t.Errorf("after hang cleared: %q", region)
	}
}

func TestEdgeRecordTime(t *testing.T) {
	s := start(t, Config{})
	before := time.Now()
	do(t, "GET", s.DistributionURL()+"/", "")
	after := time.Now()
	if rec := lastEdge(t, s); rec.At.Before(before) || rec.At.After(after) {
		t.Errorf("At %v outside [%v, %v]", rec.At, before, after)
	}
}
