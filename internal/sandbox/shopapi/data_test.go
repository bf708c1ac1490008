package shopapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func newShop(t *testing.T, lag time.Duration) *Shop {
	t.Helper()
	s := New(Options{Regions: [2]string{"us-east-1", "us-west-1"}, ReplicationLag: lag, Unicorns: 3})
	t.Cleanup(s.Close)
	return s
}

// waitFor polls cond every 5 ms for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
	}
}

// TestUsersWritableInThePrimaryOnly: the Aurora secondary is read-only until promoted.
func TestUsersWritableInThePrimaryOnly(t *testing.T) {
	s := newShop(t, 20*time.Millisecond)
	east, west := s.Handler("us-east-1"), s.Handler("us-west-1")

	res := call(t, west, "POST", "/user", `{"email":"west@example.com"}`)
	if res.Code != http.StatusInternalServerError || !strings.Contains(res.Body.String(), "--read-only") {
		t.Errorf("sign-up through the secondary: %d %q, want 500 with MySQL's read-only error", res.Code, res.Body)
	}
	if res.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("the backend's 500 carries no CORS header: a browser could not read it")
	}
	if res := call(t, west, "POST", "/user/login", `{"email":"west@example.com"}`); res.Code != http.StatusBadRequest {
		t.Errorf("the refused user exists in the secondary: login %d", res.Code)
	}

	if res := call(t, east, "POST", "/user", `{"email":"east@example.com"}`); res.Code != http.StatusCreated {
		t.Fatalf("sign-up through the primary: %d %q", res.Code, res.Body)
	}
	waitFor(t, "user replicated to the secondary", func() bool {
		return call(t, west, "POST", "/user/login", `{"email":"east@example.com"}`).Code == http.StatusOK
	})
	// The duplicate check is a read: the secondary answers it as the primary does.
	if res := call(t, west, "POST", "/user", `{"email":"EAST@example.com"}`); res.Code != http.StatusBadRequest {
		t.Errorf("duplicate sign-up through the secondary: %d, want 400", res.Code)
	}
	// Carts are a global table: writable through the secondary.
	var u User
	_ = json.Unmarshal(call(t, west, "POST", "/user/login", `{"email":"east@example.com"}`).Body.Bytes(), &u)
	unicorn := s.Unicorns()[0].UUID
	if res := call(t, west, "POST", "/unicorns/basket", `{"uuid":"`+u.UUID+`","unicorns":[{"uuid":"`+unicorn+`"}]}`); res.Code != http.StatusOK {
		t.Errorf("add to cart through the secondary: %d %q", res.Code, res.Body)
	}
	waitFor(t, "cart replicated to the primary", func() bool { return slices.Equal(s.Cart("us-east-1", u.UUID), []string{unicorn}) })
}

// TestPromoteSecondary: after "Remove and Promote" both regions take sign-ups and
// users no longer replicate; carts still do.
func TestPromoteSecondary(t *testing.T) {
	const lag = 20 * time.Millisecond
	s := newShop(t, lag)
	east, west := s.Handler("us-east-1"), s.Handler("us-west-1")
	s.PromoteSecondary()
	if res := call(t, west, "POST", "/user", `{"email":"west@example.com"}`); res.Code != http.StatusCreated {
		t.Fatalf("sign-up through the promoted secondary: %d %q", res.Code, res.Body)
	}
	if res := call(t, east, "POST", "/user", `{"email":"east@example.com"}`); res.Code != http.StatusCreated {
		t.Fatalf("sign-up through the primary: %d %q", res.Code, res.Body)
	}
	time.Sleep(lag + 100*time.Millisecond)
	for _, tc := range []struct {
		name    string
		h       http.Handler
		email   string
		want    int
		comment string
	}{
		{"west user in the west", west, "west@example.com", 200, ""},
		{"west user in the east", east, "west@example.com", 400, "replicated after promotion"},
		{"east user in the west", west, "east@example.com", 400, "replicated after promotion"},
	} {
		if res := call(t, tc.h, "POST", "/user/login", `{"email":"`+tc.email+`"}`); res.Code != tc.want {
			t.Errorf("%s: login %d, want %d %s", tc.name, res.Code, tc.want, tc.comment)
		}
	}
}

// TestCORS: the preflight of each resource as API Gateway's "Enable CORS" answers it,
// the backend's origin header on answers, and none on API Gateway's own errors.
func TestCORS(t *testing.T) {
	s := newShop(t, time.Millisecond)
	h := s.Handler("us-east-1")
	preflight := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("OPTIONS", Stage+path, nil)
		req.Header.Set("Origin", "http://127.0.0.1:1")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		path, methods string
	}{
		{"/unicorns/", "GET,OPTIONS"},
		{"/unicorns/basket", "DELETE,POST,OPTIONS"},
		{"/unicorns/basket/some-user", "GET,OPTIONS"},
		{"/user", "POST,OPTIONS"},
		{"/user/login", "POST,OPTIONS"},
	} {
		res := preflight(tc.path)
		hd := res.Header()
		if res.Code != 200 || hd.Get("Access-Control-Allow-Origin") != "*" || hd.Get("Access-Control-Allow-Methods") != tc.methods ||
			hd.Get("Access-Control-Allow-Headers") != CORSAllowHeaders {
			t.Errorf("OPTIONS %s = %d %v", tc.path, res.Code, hd)
		}
	}
	if res := preflight("/nothing-here"); res.Code != http.StatusForbidden || res.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of an unknown resource = %d %v, want 403 without CORS", res.Code, res.Header())
	}
	if res := call(t, h, "GET", "/unicorns/", ""); res.Code != 200 || res.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /unicorns/ = %d %v", res.Code, res.Header())
	}
	if res := call(t, h, "PUT", "/user", "{}"); res.Code != http.StatusForbidden || res.Header().Get("Access-Control-Allow-Origin") != "" ||
		!strings.Contains(res.Body.String(), "Missing Authentication Token") {
		t.Errorf("PUT /user = %d %v %q, want API Gateway's 403 without CORS", res.Code, res.Header(), res.Body)
	}
}

// TestCatalogueImages: every unicorn has a name, a description, a price and its own
// image path under images/.
func TestCatalogueImages(t *testing.T) {
	us := catalogue(20)
	seen := map[string]bool{}
	for _, u := range us {
		if u.Name == "" || u.Description == "" || u.Price <= 0 || !strings.HasPrefix(u.Image, "images/") || !strings.HasSuffix(u.Image, ".svg") || seen[u.Image] {
			t.Errorf("unicorn %+v", u)
		}
		seen[u.Image] = true
	}
	if us[16].Name != "Sparkles 2" {
		t.Errorf("17th unicorn %q", us[16].Name)
	}
}
