package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func decode[T any](t *testing.T, res response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		t.Fatalf("decode %q: %v", res.body, err)
	}
	return v
}

func cartBody(user, unicorn string) string {
	return fmt.Sprintf(`{"uuid":%q,"unicorns":[{"uuid":%q}]}`, user, unicorn)
}

func TestShopFlow(t *testing.T) {
	s := start(t, Config{Unicorns: 5})
	api := s.Primary().APIURL

	list := decode[[]Unicorn](t, do(t, "GET", api+"/unicorns/", ""))
	other := decode[[]Unicorn](t, do(t, "GET", s.Secondary().APIURL+"/unicorns/", ""))
	if len(list) != 5 || !slices.Equal(list, other) || list[0].UUID == list[1].UUID || list[0].Name == "" || list[0].Price <= 0 {
		t.Fatalf("catalogue %+v vs %+v", list, other)
	}
	again := start(t, Config{Unicorns: 5})
	if !slices.Equal(again.Unicorns(), list) {
		t.Error("catalogue not deterministic across sandboxes")
	}

	res := do(t, "POST", api+"/user", `{"email":"drill@example.com","firstName":"Dee","lastName":"Rill"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("sign up: %d %q", res.status, res.body)
	}
	user := decode[User](t, res)
	if user.UUID == "" || user.Email != "drill@example.com" || user.FirstName != "Dee" {
		t.Fatalf("user %+v", user)
	}
	u1, u2 := list[1].UUID, list[3].UUID

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"duplicate email", "POST", "/user", `{"email":"DRILL@example.com"}`, 400, "message"},
		{"sign up bad JSON", "POST", "/user", `{"email":`, 400, "message"},
		{"sign up without email", "POST", "/user", `{"firstName":"x"}`, 400, "message"},
		{"log in", "POST", "/user/login", `{"email":"drill@example.com"}`, 200, user.UUID},
		{"log in unknown", "POST", "/user/login", `{"email":"nobody@example.com"}`, 400, "message"},
		{"add first", "POST", "/unicorns/basket", cartBody(user.UUID, u1), 200, ""},
		{"add second, only the first listed counts", "POST", "/unicorns/basket", fmt.Sprintf(`{"uuid":%q,"unicorns":[{"uuid":%q},{"uuid":%q}]}`, user.UUID, u2, u1), 200, ""},
		{"add the same again", "POST", "/unicorns/basket", cartBody(user.UUID, u1), 200, ""},
		{"add for unknown user", "POST", "/unicorns/basket", cartBody("no-such-user", u1), 400, "unknown user"},
		{"add unknown unicorn", "POST", "/unicorns/basket", cartBody(user.UUID, "no-such-unicorn"), 400, "unknown unicorn"},
		{"add without unicorns", "POST", "/unicorns/basket", fmt.Sprintf(`{"uuid":%q,"unicorns":[]}`, user.UUID), 400, "message"},
		{"remove one occurrence", "DELETE", "/unicorns/basket", cartBody(user.UUID, u1), 200, ""},
		{"view", "GET", "/unicorns/basket/" + user.UUID, "", 200, `"unicorns":[{"uuid":"` + u2 + `"},{"uuid":"` + u1 + `"}]`},
		{"view unknown user's empty cart", "GET", "/unicorns/basket/nobody", "", 200, `{"uuid":"nobody","unicorns":[]}`},
		{"ping", "GET", "/health/ping", "", 200, "healthy"},
		{"ishealthy", "GET", "/health/ishealthy", "", 200, "healthy"},
		{"dbping", "GET", "/health/dbping", "", 200, "healthy"},
		{"CORS preflight", "OPTIONS", "/unicorns/basket", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, tc.method, api+tc.path, tc.body)
			if res.status != tc.status || !strings.Contains(res.body, tc.contains) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, res.status, res.body, tc.status, tc.contains)
			}
		})
	}
	want := []string{u1, u2}
	sort.Strings(want)
	if got := s.Cart(s.Primary().Name, user.UUID); !slices.Equal(got, want) {
		t.Errorf("Cart = %v, want %v", got, want)
	}
	t.Run("outside the stage path", func(t *testing.T) {
		root := strings.TrimSuffix(api, apiStage)
		if res := do(t, "GET", root+"/unicorns/", ""); res.status != http.StatusForbidden {
			t.Errorf("status %d, want 403", res.status)
		}
	})
}

// TestReplicationLag: a write shows in the other region only after the lag, both ways.
// "Not yet" is asserted only while the lag cannot have passed since the request began.
func TestReplicationLag(t *testing.T) {
	const lag = 300 * time.Millisecond
	s := start(t, Config{ReplicationLag: lag})
	p, q := s.Primary(), s.Secondary()
	unicorn := s.Unicorns()[0].UUID

	began := time.Now()
	user := decode[User](t, do(t, "POST", p.APIURL+"/user", `{"email":"lag@example.com"}`))
	res := do(t, "POST", q.APIURL+"/user/login", `{"email":"lag@example.com"}`)
	if time.Since(began) < lag && res.status != 400 {
		t.Errorf("secondary knew the user before the lag: %d", res.status)
	}
	eventually(t, lag+3*time.Second, "user replicated to the secondary", func() bool {
		return do(t, "POST", q.APIURL+"/user/login", `{"email":"lag@example.com"}`).status == 200
	})
	if time.Since(began) < lag {
		t.Errorf("replicated in %s, before the lag %s", time.Since(began), lag)
	}

	// A cart written in the secondary reaches the primary.
	began = time.Now()
	if res := do(t, "POST", q.APIURL+"/unicorns/basket", cartBody(user.UUID, unicorn)); res.status != 200 {
		t.Fatalf("add in secondary: %d %q", res.status, res.body)
	}
	if got := s.Cart(p.Name, user.UUID); time.Since(began) < lag && len(got) != 0 {
		t.Errorf("primary cart %v before the lag", got)
	}
	if got := s.Cart(q.Name, user.UUID); !slices.Equal(got, []string{unicorn}) {
		t.Errorf("secondary cart %v right after the write", got)
	}
	eventually(t, lag+3*time.Second, "cart replicated to the primary", func() bool {
		return slices.Equal(s.Cart(p.Name, user.UUID), []string{unicorn})
	})
	view := decode[CartBody](t, do(t, "GET", p.APIURL+"/unicorns/basket/"+user.UUID, ""))
	if view.UUID != user.UUID || len(view.Unicorns) != 1 || view.Unicorns[0].UUID != unicorn {
		t.Errorf("primary view %+v", view)
	}
}

func TestFailNextShop(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		op, method, path string
		status           int
		api              string
	}{
		{"Health", "GET", "/health/ping", 503, s.Secondary().APIURL},
		{"ListUnicorns", "GET", "/unicorns/", 500, s.Secondary().APIURL},
		{"GetCart", "GET", "/unicorns/basket/x", 502, s.Secondary().APIURL},
		{"SignUp", "POST", "/user", 500, s.Primary().APIURL}, // users are writable in the primary only
	} {
		api := tc.api
		t.Run(tc.op, func(t *testing.T) {
			s.FailNext(tc.op, 1, tc.status)
			body := ""
			if tc.method == "POST" {
				body = `{"email":"f@example.com"}`
			}
			if res := do(t, tc.method, api+tc.path, body); res.status != tc.status {
				t.Errorf("first call %d, want %d", res.status, tc.status)
			}
			if res := do(t, tc.method, api+tc.path, body); res.status >= 300 {
				t.Errorf("second call %d %q", res.status, res.body)
			}
		})
	}
}
