package shopapi

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// users is a hand-written stand-in for the global database: one set of rows, seen at
// once in both regions, and a write refused with readOnly in a region not writable.
type users struct {
	mu       sync.Mutex
	rows     map[string][]byte
	writable map[string]bool
	unseen   map[string]bool // keys reads do not see yet (not replicated to the region read)
}

var errReadOnly = errors.New("ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute this statement")

func (u *users) Insert(region string, rows map[string][]byte) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.writable[region] {
		return errReadOnly
	}
	for k := range rows {
		if _, dup := u.rows[k]; dup {
			return errors.New("ERROR 1062 (23000): Duplicate entry '" + k + "' for key 'PRIMARY'")
		}
	}
	maps.Copy(u.rows, rows)
	return nil
}

func (u *users) Get(region, key string) ([]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.rows[key]
	return v, ok && !u.unseen[key]
}

func newShop(t *testing.T, lag time.Duration) (*Shop, *users) {
	t.Helper()
	db := &users{rows: map[string][]byte{}, writable: map[string]bool{"us-east-1": true}}
	s := New(Options{Regions: [2]string{"us-east-1", "us-west-1"}, ReplicationLag: lag, Unicorns: 3, Users: db})
	t.Cleanup(s.Close)
	return s, db
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

// TestUsersThroughTheDatabase: a sign-up the database refuses is answered 500 with the
// database's error (and the backend's CORS header), and writes nothing; the duplicate
// check and log-in read the region's cluster; a cart needs a user the region knows.
func TestUsersThroughTheDatabase(t *testing.T) {
	s, db := newShop(t, 20*time.Millisecond)
	east, west := s.Handler("us-east-1"), s.Handler("us-west-1")

	res := call(t, west, "POST", "/user", `{"email":"west@example.com"}`)
	if res.Code != http.StatusInternalServerError || !strings.Contains(res.Body.String(), errReadOnly.Error()) {
		t.Errorf("sign-up the database refuses: %d %q, want 500 with the database's error", res.Code, res.Body)
	}
	if res.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("the backend's 500 carries no CORS header: a browser could not read it")
	}
	if res := call(t, east, "POST", "/user/login", `{"email":"west@example.com"}`); res.Code != http.StatusBadRequest {
		t.Errorf("the refused user exists: login %d", res.Code)
	}

	res = call(t, east, "POST", "/user", `{"email":"East@example.com","firstName":"E"}`)
	if res.Code != http.StatusCreated {
		t.Fatalf("sign-up: %d %q", res.Code, res.Body)
	}
	var u User
	_ = json.Unmarshal(res.Body.Bytes(), &u)
	if len(db.rows) != 2 || u.UUID == "" || u.FirstName != "E" {
		t.Errorf("rows %v for user %+v, want one by email and one by uuid", db.rows, u)
	}
	if res := call(t, west, "POST", "/user/login", `{"email":"east@EXAMPLE.com"}`); res.Code != http.StatusOK || !strings.Contains(res.Body.String(), u.UUID) {
		t.Errorf("log-in: %d %q", res.Code, res.Body)
	}
	// The duplicate check is a read: a region that cannot write answers it too.
	if res := call(t, west, "POST", "/user", `{"email":"EAST@example.com"}`); res.Code != http.StatusBadRequest {
		t.Errorf("duplicate sign-up: %d, want 400", res.Code)
	}
	unicorn := s.Unicorns()[0].UUID
	if res := call(t, west, "POST", "/unicorns/basket", `{"uuid":"`+u.UUID+`","unicorns":[{"uuid":"`+unicorn+`"}]}`); res.Code != http.StatusOK {
		t.Errorf("add to cart through us-west-1: %d %q", res.Code, res.Body)
	}
	if res := call(t, west, "POST", "/unicorns/basket", `{"uuid":"nobody","unicorns":[{"uuid":"`+unicorn+`"}]}`); res.Code != http.StatusBadRequest {
		t.Errorf("add to the cart of an unknown user: %d", res.Code)
	}
	waitFor(t, "cart replicated to the primary", func() bool { return slices.Equal(s.Cart("us-east-1", u.UUID), []string{unicorn}) })
}

// TestDuplicateOnlyTheWriterKnows: a sign-up whose email the region's cluster has not
// seen yet but the writer has is refused by the insert (1062): 400, as a duplicate the
// read found, and nothing is written.
func TestDuplicateOnlyTheWriterKnows(t *testing.T) {
	s, db := newShop(t, time.Millisecond)
	db.rows[emailKey("late@example.com")] = []byte(`{}`)
	db.unseen = map[string]bool{emailKey("late@example.com"): true}
	res := call(t, s.Handler("us-east-1"), "POST", "/user", `{"email":"late@example.com"}`)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), "already registered") || len(db.rows) != 1 {
		t.Errorf("sign-up: %d %q, rows %v; want 400 and nothing written", res.Code, res.Body, db.rows)
	}
}

// TestCORS: the preflight of each resource as API Gateway's "Enable CORS" answers it,
// the backend's origin header on answers, and none on API Gateway's own errors.
func TestCORS(t *testing.T) {
	s, _ := newShop(t, time.Millisecond)
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
