package cloudfront

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A behaviour whose policy leaves the query string out of the cache key serves one
// cached copy to every query; the default behaviour (CachingDisabled) never caches.
func TestCacheByBehaviour(t *testing.T) {
	var hits atomic.Int32
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, r.URL.Path)
	}))
	defer o.Close()
	e := NewEdge(Options{PrimaryURL: o.URL, SecondaryURL: o.URL, ConnectAttempts: 1, ConnectTimeout: time.Second, ResponseTimeout: time.Second,
		FailoverCodes: AllFailoverCodes, Behaviors: []Behavior{{PathPattern: "*.json", Policy: CachingOptimized}}})
	srv := httptest.NewServer(e)
	defer srv.Close()
	get := func(path string) string {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("X-Cache")
	}
	if a, b := get("/config.json?x=1"), get("/config.json?x=2"); a != "Miss from cloudfront" || b != "Hit from cloudfront" || hits.Load() != 1 {
		t.Errorf("config.json: %q then %q, %d origin requests", a, b, hits.Load())
	}
	get("/?x=1")
	if xc := get("/?x=1"); xc != "Miss from cloudfront" || hits.Load() != 3 {
		t.Errorf("/: %q, %d origin requests (the default behaviour must not cache)", xc, hits.Load())
	}
	if !PathMatches("config.json", "/config.json") || PathMatches("/img/*", "/config.json") {
		t.Error("path patterns")
	}
}
