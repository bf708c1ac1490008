package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	s := start(t, Config{})
	c := s.Config()
	if c.PrimaryRegion != "us-east-1" || c.SecondaryRegion != "us-west-1" ||
		c.PrimaryBucket != "active-primary-uibucket-local" || c.SecondaryBucket != "passive-secondary-uibucket-local" ||
		c.LedgerBucket != "failover-drill-ledger-local" || c.PropagationDelay != time.Second ||
		c.ReplicationLag != 200*time.Millisecond || c.OriginConnectAttempts != 3 ||
		c.OriginConnectTimeout != 500*time.Millisecond || c.OriginResponseTimeout != 5*time.Second ||
		!slices.Equal(c.FailoverCodes, []int{400, 403, 404, 416, 500, 502, 503, 504}) || c.Unicorns != 12 || c.Logger == nil {
		t.Errorf("defaults %+v", c)
	}
	for _, u := range []string{s.DistributionURL(), s.Primary().S3URL, s.Secondary().WebsiteURL, s.Primary().APIURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, "/") {
			t.Errorf("URL %q", u)
		}
	}
	if eps := s.S3Endpoints(); len(eps) != 2 || eps["us-east-1"] != s.Primary().S3URL || eps["us-west-1"] != s.Secondary().S3URL {
		t.Errorf("S3Endpoints %v", eps)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		cfg         Config
	}{
		{"bad primary region", "PrimaryRegion", Config{PrimaryRegion: "east"}},
		{"same regions", "SecondaryRegion", Config{SecondaryRegion: "us-east-1"}},
		{"bad bucket", "PrimaryBucket", Config{PrimaryBucket: "Not_A_Bucket"}},
		{"ledger equals a UI bucket", "LedgerBucket", Config{LedgerBucket: "active-primary-uibucket-local"}},
		{"negative delay", "PropagationDelay", Config{PropagationDelay: -time.Second}},
		{"negative lag", "ReplicationLag", Config{ReplicationLag: -1}},
		{"too many attempts", "OriginConnectAttempts", Config{OriginConnectAttempts: 4}},
		{"negative attempts", "OriginConnectAttempts", Config{OriginConnectAttempts: -1}},
		{"negative connect timeout", "OriginConnectTimeout", Config{OriginConnectTimeout: -1}},
		{"completion timeout shorter than the response timeout", "OriginResponseCompletionTimeout", Config{OriginResponseCompletionTimeout: time.Second}},
		{"negative completion timeout", "OriginResponseCompletionTimeout", Config{OriginResponseCompletionTimeout: -1}},
		{"code CloudFront does not offer", "FailoverCodes", Config{FailoverCodes: []int{403, 418}}},
		{"too many unicorns", "Unicorns", Config{Unicorns: 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start accepted the config")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestClose(t *testing.T) {
	s, err := Start(Config{ReplicationLag: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A replication pending at Close must not fire afterwards.
	do(t, "POST", s.Primary().APIURL+"/user", `{"email":"c@example.com"}`)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	// The secondary's API, called directly now its listener is gone, must not know the user.
	rec := httptest.NewRecorder()
	login := httptest.NewRequest("POST", apiStage+"/user/login", strings.NewReader(`{"email":"c@example.com"}`))
	s.shop.Handler(s.Secondary().Name).ServeHTTP(rec, login)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("replication applied after Close: secondary login answered %d %q", rec.Code, rec.Body)
	}
	for _, u := range []string{s.DistributionURL(), s.Primary().S3URL, s.Primary().WebsiteURL, s.Secondary().APIURL} {
		if res, err := http.Get(u + "/"); err == nil {
			res.Body.Close()
			t.Errorf("%s still answers after Close", u)
		}
	}
}
