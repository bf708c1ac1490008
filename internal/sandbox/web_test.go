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
	"github.com/unishop/failover-drill/internal/drill"
)

func TestWebsiteContent(t *testing.T) {
	s := start(t, Config{})
	for _, reg := range []Region{s.Primary(), s.Secondary()} {
		for _, tc := range []struct {
			name, method, path string
			status             int
			contains           string
		}{
			{"config.json", "GET", "/config.json", 200, `{"host":"` + reg.APIURL + `","region":"` + reg.Name + `"}`},
			{"cache-busted config.json", "GET", "/config.json?cb=42", 200, `"region":"` + reg.Name + `"`},
			{"HEAD config.json", "HEAD", "/config.json", 200, ""},
			{"root", "GET", "/", 200, "The Unicorn Shop - " + reg.Name},
			{"index.html", "GET", "/index.html", 200, "The Unicorn Shop - " + reg.Name},
			{"missing", "GET", "/nope.js", 404, "<Code>NoSuchKey</Code>"},
			{"POST", "POST", "/config.json", 405, "<Code>MethodNotAllowed</Code>"},
			{"DELETE", "DELETE", "/config.json", 405, "MethodNotAllowed"},
		} {
			t.Run(reg.Name+"/"+tc.name, func(t *testing.T) {
				res := do(t, tc.method, reg.WebsiteURL+tc.path, "")
				if res.status != tc.status || !strings.Contains(res.body, tc.contains) {
					t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, res.status, res.body, tc.status, tc.contains)
				}
			})
		}
	}
	if conf, _ := s.Object(s.Primary().Bucket, "config.json"); !strings.Contains(string(conf), s.Primary().APIURL) {
		t.Errorf("config.json object = %q", conf)
	}
}

// TestWebsitePropagation checks the website follows the stored configuration only
// after the propagation delay. Assertions hold whatever the scheduling: a 200 counts
// only if the request started before the change could have propagated, a 403 must
// arrive after it could.
func TestWebsitePropagation(t *testing.T) {
	const delay = 200 * time.Millisecond
	s := start(t, Config{PropagationDelay: delay})
	c := s3Client(s, s.Primary().Name)
	bucket := aws.String(s.Primary().Bucket)
	web := s.Primary().WebsiteURL

	if status, region := servedRegion(t, web); status != 200 || region != s.Primary().Name {
		t.Fatalf("before: %d %q", status, region)
	}
	// awaitStatus polls the website until it answers want, which it did not answer
	// before the latest change: that answer must not arrive before the change could
	// have propagated.
	awaitStatus := func(t *testing.T, want int) {
		t.Helper()
		changes := s.PABChanges()
		at := changes[len(changes)-1].At
		for {
			started := time.Now()
			status, _ := servedRegion(t, web)
			if status == want {
				if time.Now().Before(at.Add(delay)) {
					t.Fatalf("answered %d before the change could have propagated", status)
				}
				return
			}
			if started.After(at.Add(delay + 2*time.Second)) {
				t.Fatalf("still %d long after the propagation delay", status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("flags other than RestrictPublicBuckets leave the website serving", func(t *testing.T) {
		cfg := types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)}
		if _, err := c.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &cfg}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay + 50*time.Millisecond)
		if status, _ := servedRegion(t, web); status != 200 {
			t.Errorf("status %d, want 200", status)
		}
	})
	t.Run("block all answers 403 after the delay", func(t *testing.T) {
		all := types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
		if _, err := c.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &all}); err != nil {
			t.Fatal(err)
		}
		at := s.PABChanges()[1].At
		started := time.Now()
		status, _ := servedRegion(t, web)
		if started.Before(at.Add(delay)) && status != 200 {
			t.Errorf("right after the put: %d, want 200 (not yet propagated)", status)
		}
		awaitStatus(t, 403)
		res := do(t, "GET", web+"/index.html", "")
		if res.status != 403 || !strings.Contains(res.body, "<Code>AccessDenied</Code>") {
			t.Errorf("blocked GET = %d %q", res.status, res.body)
		}
		if eff := s.EffectivePublicAccessBlock(s.Primary().Bucket); eff == nil || *eff != drill.BlockAll {
			t.Errorf("effective = %+v", eff)
		}
		// The secondary bucket is not affected.
		if status, region := servedRegion(t, s.Secondary().WebsiteURL); status != 200 || region != s.Secondary().Name {
			t.Errorf("secondary: %d %q", status, region)
		}
	})
	t.Run("delete serves again after the delay", func(t *testing.T) {
		if _, err := c.DeletePublicAccessBlock(ctx(t), &s3.DeletePublicAccessBlockInput{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
		awaitStatus(t, 200)
		if got := s.PABChanges(); !slices.EqualFunc(got, []string{"put", "put", "delete"}, func(c PABChange, op string) bool { return c.Op == op }) {
			t.Errorf("changes %+v", got)
		}
	})
}

func TestWebsiteStartsBlocked(t *testing.T) {
	s := start(t, Config{PrimaryPAB: &drill.BlockAll})
	if status, _ := servedRegion(t, s.Primary().WebsiteURL); status != http.StatusForbidden {
		t.Errorf("status %d, want 403", status)
	}
}

// TestShopPageObjects: through the distribution, the shop's page, its script, its
// styles and every unicorn's picture answer 200 with the right Content-Type, in both
// regions' buckets.
func TestShopPageObjects(t *testing.T) {
	s := start(t, Config{Unicorns: 20})
	want := map[string]string{
		"/":            "text/html; charset=utf-8",
		"/app.js":      "text/javascript; charset=utf-8",
		"/styles.css":  "text/css; charset=utf-8",
		"/favicon.svg": "image/svg+xml",
	}
	for _, u := range s.Unicorns() {
		want["/"+u.Image] = "image/svg+xml"
	}
	for _, base := range []string{s.DistributionURL(), s.Primary().WebsiteURL, s.Secondary().WebsiteURL} {
		for path, ct := range want {
			res := do(t, "GET", base+path, "")
			if res.status != 200 || res.header.Get("Content-Type") != ct || len(res.body) < 100 {
				t.Errorf("GET %s%s = %d %q (%d bytes), want 200 %q", base, path, res.status, res.header.Get("Content-Type"), len(res.body), ct)
			}
		}
	}
	img := do(t, "GET", s.DistributionURL()+"/"+s.Unicorns()[19].Image, "")
	if !strings.Contains(img.body, "<svg") || !strings.Contains(img.body, s.Unicorns()[19].Name) {
		t.Errorf("picture of %s: %q", s.Unicorns()[19].Name, img.body)
	}
}
