package shop_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/shop/shoptest"
)

// serve starts fake under the API Gateway stage prefix /Production and returns a
// client with a short backoff and the host to call.
func serve(t *testing.T, fake http.Handler) (*shop.Client, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/Production/", http.StripPrefix("/Production", fake))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := shop.New(&http.Client{Timeout: 2 * time.Second})
	c.Backoff = 5 * time.Millisecond
	return c, srv.URL + "/Production/" // trailing slash on purpose: the client trims it
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRoutes(t *testing.T) {
	fake := shoptest.New(shoptest.Unicorns(4)...)
	c, host := serve(t, fake)

	u, err := c.SignUp(ctx(t), host, shop.User{Email: "a@failover-drill.example", FirstName: "F", LastName: "D"})
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	if u.UUID == "" || u.Email != "a@failover-drill.example" || u.FirstName != "F" || u.LastName != "D" {
		t.Fatalf("SignUp returned %+v", u)
	}
	got, err := c.Login(ctx(t), host, u.Email)
	if err != nil || got != u {
		t.Fatalf("Login = %+v, %v; want %+v", got, err, u)
	}
	us, err := c.Unicorns(ctx(t), host)
	if err != nil || len(us) != 4 || us[0].UUID != "u01" || us[0].Price != 10 || us[0].Name != "Unicorn 1" {
		t.Fatalf("Unicorns = %+v, %v", us, err)
	}
	for _, id := range []string{"u03", "u01", "u02"} {
		if err := c.AddToCart(ctx(t), host, u.UUID, id); err != nil {
			t.Fatalf("AddToCart %s: %v", id, err)
		}
	}
	if err := c.RemoveFromCart(ctx(t), host, u.UUID, "u02"); err != nil {
		t.Fatalf("RemoveFromCart: %v", err)
	}
	cart, err := c.Cart(ctx(t), host, u.UUID)
	if err != nil || !slices.Equal(cart, []string{"u01", "u03"}) {
		t.Fatalf("Cart = %v, %v; want sorted [u01 u03]", cart, err)
	}
	if err := c.AddToCart(ctx(t), host, u.UUID, "u03"); err != nil {
		t.Fatalf("AddToCart again: %v", err)
	}
	if cart, err := c.Cart(ctx(t), host, u.UUID); err != nil || !slices.Equal(cart, []string{"u01", "u03", "u03"}) {
		t.Fatalf("Cart = %v, %v; want duplicates kept: [u01 u03 u03]", cart, err)
	}
	empty, err := c.Cart(ctx(t), host, "nobody")
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("empty Cart = %#v, %v; want empty non-nil", empty, err)
	}
	if err := c.Health(ctx(t), host); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

func TestSiteConfig(t *testing.T) {
	var gotQuery, gotCacheControl atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/config.json" {
			http.NotFound(w, r)
			return
		}
		gotQuery.Store(r.URL.RawQuery)
		gotCacheControl.Store(r.Header.Get("Cache-Control"))
		fmt.Fprint(w, `{"host":"https://abc.execute-api.us-east-1.amazonaws.com/Production/","region":"us-east-1"}`)
	}))
	t.Cleanup(srv.Close)
	c := shop.New(nil)
	sc, status, err := c.SiteConfig(ctx(t), srv.URL+"/")
	if err != nil || status != 200 {
		t.Fatalf("SiteConfig: %d, %v", status, err)
	}
	want := shop.SiteConfig{Host: "https://abc.execute-api.us-east-1.amazonaws.com/Production", Region: "us-east-1"}
	if sc != want {
		t.Errorf("SiteConfig = %+v, want %+v", sc, want)
	}
	if q := gotQuery.Load().(string); !strings.HasPrefix(q, "drill=") || len(q) < len("drill=")+8 {
		t.Errorf("query %q is not a cache-busting nonce", q)
	}
	if cc := gotCacheControl.Load().(string); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestSiteConfigErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		transient  bool
	}{
		{name: "blocked bucket", status: 403, body: "<Error>AccessDenied</Error>", wantStatus: 403},
		{name: "origin down", status: 502, body: "bad gateway", wantStatus: 502, transient: true},
		{name: "no host", status: 200, body: `{"region":"us-east-1"}`, wantStatus: 200},
		{name: "host not a URL", status: 200, body: `{"host":"abc","region":"us-east-1"}`, wantStatus: 200},
		{name: "not JSON", status: 200, body: `<html>`, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c := shop.New(nil)
			c.Backoff = time.Millisecond
			_, status, err := c.SiteConfig(ctx(t), srv.URL)
			if err == nil {
				t.Fatal("no error")
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			var tr *drill.Transient
			if errors.As(err, &tr) != tt.transient {
				t.Errorf("transient = %v, want %v (%v)", !tt.transient, tt.transient, err)
			}
			if strings.Contains(err.Error(), "drill=") {
				t.Errorf("error shows the nonce: %v", err)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		call       func(c *shop.Client, host string) error
		transient  bool
		wantStatus int // for plain errors
		wantCalls  int // requests the route received (GET retries, POST does not)
		route      string
	}{
		{name: "GET 503 is transient and retried", status: 503, route: shoptest.RouteUnicorns, transient: true, wantCalls: shop.GetAttempts,
			call: func(c *shop.Client, h string) error { _, err := c.Unicorns(context.Background(), h); return err }},
		{name: "GET 429 is transient", status: 429, route: shoptest.RouteCart, transient: true, wantCalls: shop.GetAttempts,
			call: func(c *shop.Client, h string) error { _, err := c.Cart(context.Background(), h, "x"); return err }},
		{name: "GET 400 is plain, not retried", status: 400, route: shoptest.RouteUnicorns, wantStatus: 400, wantCalls: 1,
			call: func(c *shop.Client, h string) error { _, err := c.Unicorns(context.Background(), h); return err }},
		{name: "GET 404 health is plain", status: 404, route: shoptest.RouteHealthPing, wantStatus: 404, wantCalls: 1,
			call: func(c *shop.Client, h string) error { return c.Health(context.Background(), h) }},
		{name: "POST 503 add is transient, not retried", status: 503, route: shoptest.RouteAdd, transient: true, wantCalls: 1,
			call: func(c *shop.Client, h string) error { return c.AddToCart(context.Background(), h, "user", "u01") }},
		{name: "DELETE 400 is plain", status: 400, route: shoptest.RouteRemove, wantStatus: 400, wantCalls: 1,
			call: func(c *shop.Client, h string) error { return c.RemoveFromCart(context.Background(), h, "user", "u01") }},
		{name: "login 400 unknown user is plain", status: 0, route: shoptest.RouteLogin, wantStatus: 400, wantCalls: 1,
			call: func(c *shop.Client, h string) error { _, err := c.Login(context.Background(), h, "who@x"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := shoptest.New(shoptest.Unicorns(2)...)
			fake.Before = func(route string, _ int) int {
				if route == tt.route {
					return tt.status
				}
				return 0
			}
			c, host := serve(t, fake)
			err := tt.call(c, host)
			if err == nil {
				t.Fatal("no error")
			}
			var tr *drill.Transient
			if got := errors.As(err, &tr); got != tt.transient {
				t.Fatalf("transient = %v, want %v: %v", got, tt.transient, err)
			}
			if tt.transient {
				if name := drill.ErrorName(drill.Classify(err)); name != "Transient" {
					t.Errorf("Classify name = %q, want Transient", name)
				}
			} else {
				if got := shop.StatusOf(err); got != tt.wantStatus {
					t.Errorf("StatusOf = %d, want %d (%v)", got, tt.wantStatus, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(tt.wantStatus)) {
					t.Errorf("error %q does not name the status", err)
				}
				if got := drill.Classify(err); got != err {
					t.Errorf("Classify changed a plain error to %T", got)
				}
			}
			if got := fake.Calls(tt.route); got != tt.wantCalls {
				t.Errorf("%s received %d calls, want %d", tt.route, got, tt.wantCalls)
			}
		})
	}
}

func TestGetRetryRecovers(t *testing.T) {
	fake := shoptest.New(shoptest.Unicorns(2)...)
	fake.Before = func(route string, n int) int {
		if route == shoptest.RouteUnicorns && n == 1 {
			return 502
		}
		return 0
	}
	c, host := serve(t, fake)
	us, err := c.Unicorns(ctx(t), host)
	if err != nil || len(us) != 2 {
		t.Fatalf("Unicorns = %v, %v", us, err)
	}
	if n := fake.Calls(shoptest.RouteUnicorns); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("connection refused is transient", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		host := srv.URL
		srv.Close()
		c := shop.New(nil)
		c.Backoff = time.Millisecond
		_, err := c.Unicorns(ctx(t), host)
		var tr *drill.Transient
		if !errors.As(err, &tr) {
			t.Fatalf("err = %v, want Transient", err)
		}
	})
	t.Run("client timeout is transient", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c := shop.New(&http.Client{Timeout: 50 * time.Millisecond})
		_, err := c.Login(ctx(t), srv.URL, "a@b")
		var tr *drill.Transient
		if !errors.As(err, &tr) {
			t.Fatalf("err = %v, want Transient", err)
		}
	})
	t.Run("cancelled context is not transient", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(srv.Close)
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := shop.New(nil).Unicorns(c, srv.URL)
		var tr *drill.Transient
		if err == nil || errors.As(err, &tr) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a plain deadline error", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("took %v to give up", time.Since(start))
		}
	})
}

func TestSignUp(t *testing.T) {
	tests := []struct {
		name      string
		before    func(route string, n int) int
		after     func(route string, n int) int
		wantErr   bool
		transient bool
		wantUsers int
	}{
		{name: "created", wantUsers: 1},
		{name: "answer lost after the user was created: recovered by login", wantUsers: 1,
			after: func(route string, n int) int {
				if route == shoptest.RouteSignUp {
					return 504
				}
				return 0
			}},
		{name: "transient before anything happened: transient error", wantErr: true, transient: true,
			before: func(route string, n int) int {
				if route == shoptest.RouteSignUp {
					return 503
				}
				return 0
			}},
		{name: "400 is plain and not followed by login", wantErr: true,
			before: func(route string, n int) int {
				if route == shoptest.RouteSignUp {
					return 400
				}
				return 0
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := shoptest.New()
			fake.Before, fake.After = tt.before, tt.after
			c, host := serve(t, fake)
			u, err := c.SignUp(ctx(t), host, shop.User{Email: "s@failover-drill.example", FirstName: "F", LastName: "D"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if fake.Calls(shoptest.RouteSignUp) != 1 {
				t.Errorf("sign-up called %d times, want exactly 1", fake.Calls(shoptest.RouteSignUp))
			}
			if err != nil {
				var tr *drill.Transient
				if errors.As(err, &tr) != tt.transient {
					t.Errorf("transient = %v, want %v: %v", !tt.transient, tt.transient, err)
				}
				if !tt.transient && fake.Calls(shoptest.RouteLogin) != 0 {
					t.Errorf("login called after a 400")
				}
				return
			}
			stored, _ := fake.User("s@failover-drill.example")
			if u.UUID == "" || u != stored {
				t.Errorf("user = %+v, stored %+v", u, stored)
			}
			if fake.Users() != tt.wantUsers {
				t.Errorf("users = %d, want %d", fake.Users(), tt.wantUsers)
			}
		})
	}
}

func TestErrorBodyTruncated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, strings.Repeat("x", 5000))
	}))
	t.Cleanup(srv.Close)
	_, err := shop.New(nil).Login(ctx(t), srv.URL, "a@b")
	if err == nil || len(err.Error()) > 500 {
		t.Fatalf("error not truncated (%d bytes)", len(err.Error()))
	}
}
