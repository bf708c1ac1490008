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

func call(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, Stage+path, strings.NewReader(body)))
	return rec
}

// TestReplicationStandalone: a cart written in one region reaches the other after the
// lag, and Close stops what is still pending.
func TestReplicationStandalone(t *testing.T) {
	const lag = 50 * time.Millisecond
	s, _ := newShop(t, lag)
	east, west := s.Handler("us-east-1"), s.Handler("us-west-1")
	res := call(t, east, "POST", "/user", `{"email":"r@example.com"}`)
	if res.Code != http.StatusCreated {
		t.Fatalf("sign up: %d %q", res.Code, res.Body)
	}
	var u User
	_ = json.Unmarshal(res.Body.Bytes(), &u)
	time.Sleep(lag + 100*time.Millisecond)
	unicorn := s.Unicorns()[2].UUID
	if res := call(t, west, "POST", "/unicorns/basket", `{"uuid":"`+u.UUID+`","unicorns":[{"uuid":"`+unicorn+`"}]}`); res.Code != 200 {
		t.Fatalf("add in us-west-1: %d %q", res.Code, res.Body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !slices.Equal(s.Cart("us-east-1", u.UUID), []string{unicorn}) {
		if time.Now().After(deadline) {
			t.Fatal("cart never replicated to us-east-1")
		}
		time.Sleep(10 * time.Millisecond)
	}
	late := s.Unicorns()[1].UUID
	if res := call(t, east, "POST", "/unicorns/basket", `{"uuid":"`+u.UUID+`","unicorns":[{"uuid":"`+late+`"}]}`); res.Code != 200 {
		t.Fatalf("add in us-east-1: %d %q", res.Code, res.Body)
	}
	s.Close()
	time.Sleep(lag + 100*time.Millisecond)
	if got := s.Cart("us-west-1", u.UUID); !slices.Equal(got, []string{unicorn}) {
		t.Errorf("us-west-1 cart %v after Close, want only %s: replicated after Close", got, unicorn)
	}
}
