package seedcart_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/seedcart"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/shop/shoptest"
)

const execution = "Drill-2026-05-01T10_00_00"

// fixture is a fake shop API and a fake distribution serving its config.json.
type fixture struct {
	shop       *shoptest.Shop
	apiHost    string
	dist       string
	distCalls  *atomic.Int32
	handler    *seedcart.Handler
	siteStatus int    // status config.json answers (0: 200)
	siteRegion string // region config.json names
}

func newFixture(t *testing.T, unicorns int) *fixture {
	t.Helper()
	f := &fixture{shop: shoptest.New(shoptest.Unicorns(unicorns)...), distCalls: new(atomic.Int32), siteRegion: "us-east-1"}
	mux := http.NewServeMux()
	mux.Handle("/Production/", http.StripPrefix("/Production", f.shop))
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	f.apiHost = api.URL + "/Production"
	dist := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.distCalls.Add(1)
		if r.URL.Path != "/config.json" {
			http.NotFound(w, r)
			return
		}
		if f.siteStatus != 0 {
			http.Error(w, "injected", f.siteStatus)
			return
		}
		_ = json.NewEncoder(w).Encode(shop.SiteConfig{Host: f.apiHost + "/", Region: f.siteRegion})
	}))
	t.Cleanup(dist.Close)
	f.dist = dist.URL
	client := shop.New(&http.Client{Timeout: 2 * time.Second})
	client.Backoff = 5 * time.Millisecond
	clock := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	f.handler = &seedcart.Handler{Shop: client, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	return f
}

func (f *fixture) input(t *testing.T, items int) drill.SeedInput {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"distribution": f.dist, "primaryBucket": "primary-ui-bucket", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	return drill.SeedInput{Config: raw, Execution: execution}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func checkSeeded(t *testing.T, f *fixture, res drill.SeedResult, want []string) {
	t.Helper()
	email := seedcart.Email(execution)
	stored, ok := f.shop.User(email)
	if !ok {
		t.Fatalf("no user %s in the shop", email)
	}
	if res.User != (drill.User{UUID: stored.UUID, Email: email}) {
		t.Errorf("user = %+v, want uuid %s email %s", res.User, stored.UUID, email)
	}
	if !slices.Equal(res.Cart, want) {
		t.Errorf("cart = %v, want %v", res.Cart, want)
	}
	// Every seeded unicorn is named, as the shop lists it.
	if len(res.Names) != len(want) {
		t.Errorf("names %v, want one for each of %v", res.Names, want)
	}
	for _, id := range want {
		if res.Names[id] == "" {
			t.Errorf("unicorn %s has no name in %v", id, res.Names)
		}
	}
	got := f.shop.StoredCart(stored.UUID)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("stored cart = %v, want %v", got, want)
	}
	if res.ServedRegion != "us-east-1" || res.APIHost != f.apiHost {
		t.Errorf("region %q host %q, want us-east-1 %q", res.ServedRegion, res.APIHost, f.apiHost)
	}
	if res.StartedAt.IsZero() || !res.FinishedAt.After(res.StartedAt) {
		t.Errorf("timing = %+v", res.Timing)
	}
	if f.shop.Users() != 1 {
		t.Errorf("users = %d, want 1", f.shop.Users())
	}
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		items   int
		setup   func(f *fixture)
		want    []string
		wantErr string // error type name; "" for success
		errHas  []string
		signUps int
	}{
		{name: "happy path", items: 3, want: []string{"u01", "u02", "u03"}, signUps: 1},
		{name: "sign-up answer lost: recovered by login", items: 2, want: []string{"u01", "u02"}, signUps: 1,
			setup: func(f *fixture) {
				f.shop.After = func(route string, n int) int {
					if route == shoptest.RouteSignUp && n == 1 {
						return http.StatusServiceUnavailable
					}
					return 0
				}
			}},
		{name: "user left by an earlier attempt with a stale cart: reconciled", items: 2, want: []string{"u01", "u02"}, signUps: 1,
			setup: func(f *fixture) {
				f.shop.AddUser(shop.User{UUID: "old-user", Email: seedcart.Email(execution)})
				f.shop.SetCart("old-user", []string{"u05", "u01"})
			}},
		{name: "stale cart with duplicates and extras: reconciled", items: 3, want: []string{"u01", "u02", "u03"}, signUps: 1,
			setup: func(f *fixture) {
				f.shop.AddUser(shop.User{UUID: "old-user", Email: seedcart.Email(execution)})
				f.shop.SetCart("old-user", []string{"u02", "u05", "u02", "u01", "u05", "u02"})
			}},
		{name: "not enough unicorns", items: 6, wantErr: "SeedFailed", errHas: []string{"5 distinct unicorns", "needs 6"}, signUps: 1},
		{name: "cart reads back wrong", items: 3, wantErr: "SeedFailed", errHas: []string{"reads back [u01 u02]", "[u01 u02 u03]"}, signUps: 1,
			setup: func(f *fixture) {
				f.shop.CartView = func(_ string, stored []string, _ int) []string {
					slices.Sort(stored)
					return slices.DeleteFunc(stored, func(s string) bool { return s == "u03" })
				}
			}},
		{name: "distribution serves the secondary", items: 1, wantErr: "SteadyStateFailed", errHas: []string{`"us-west-1"`, `"us-east-1"`},
			setup: func(f *fixture) { f.siteRegion = "us-west-1" }},
		{name: "config.json blocked", items: 1, wantErr: "SteadyStateFailed", errHas: []string{"403"},
			setup: func(f *fixture) { f.siteStatus = http.StatusForbidden }},
		{name: "config.json 503", items: 1, wantErr: "Transient", errHas: []string{"503"},
			setup: func(f *fixture) { f.siteStatus = http.StatusServiceUnavailable }},
		{name: "unicorn list 503 is transient", items: 1, wantErr: "Transient", signUps: 1,
			setup: func(f *fixture) {
				f.shop.Before = func(route string, _ int) int {
					if route == shoptest.RouteUnicorns {
						return http.StatusServiceUnavailable
					}
					return 0
				}
			}},
		{name: "sign-up refused and unknown to login", items: 1, wantErr: "SeedFailed", errHas: []string{"400"}, signUps: 1,
			setup: func(f *fixture) {
				f.shop.Before = func(route string, _ int) int {
					if route == shoptest.RouteSignUp {
						return http.StatusBadRequest
					}
					return 0
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5)
			if tt.setup != nil {
				tt.setup(f)
			}
			res, err := f.handler.Handle(ctx(t), f.input(t, tt.items))
			if got := f.shop.Calls(shoptest.RouteSignUp); got != tt.signUps {
				t.Errorf("sign-up calls = %d, want %d", got, tt.signUps)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Handle: %v", err)
				}
				checkSeeded(t, f, res, tt.want)
				return
			}
			if err == nil {
				t.Fatalf("no error, result %+v", res)
			}
			if name := drill.ErrorName(drill.Classify(err)); name != tt.wantErr {
				t.Fatalf("error type %s (%v), want %s", name, err, tt.wantErr)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestRetriedStep runs the step twice for one execution, as the state machine's Retry
// does after a transient failure half-way: one user, the same cart, no duplicates.
func TestRetriedStep(t *testing.T) {
	f := newFixture(t, 5)
	f.shop.Before = func(route string, n int) int {
		if route == shoptest.RouteAdd && n == 2 {
			return http.StatusBadGateway
		}
		return 0
	}
	_, err := f.handler.Handle(ctx(t), f.input(t, 3))
	var tr *drill.Transient
	if !errors.As(drill.Classify(err), &tr) {
		t.Fatalf("first attempt: %v, want Transient", err)
	}
	res, err := f.handler.Handle(ctx(t), f.input(t, 3))
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	checkSeeded(t, f, res, []string{"u01", "u02", "u03"})
	if n := f.shop.Calls(shoptest.RouteAdd); n != 4 {
		t.Errorf("add calls = %d, want 4 (1 ok + 1 failed, then only the 2 missing)", n)
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name      string
		config    string
		execution string
		want      []string // fields named in the problems
	}{
		{name: "missing everything", config: `{}`, execution: "", want: []string{"distribution:", "primaryBucket:", "execution:"}},
		{name: "bad items", config: `{"distribution":"d111.cloudfront.net","primaryBucket":"b-ucket","items":0}`, execution: "x", want: []string{"items:"}},
		{name: "unknown field", config: `{"distributon":"x"}`, execution: "x", want: []string{"distributon:"}},
		{name: "blank execution", config: `{"distribution":"d111.cloudfront.net","primaryBucket":"b-ucket"}`, execution: "  ", want: []string{"execution:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5)
			_, err := f.handler.Handle(ctx(t), drill.SeedInput{Config: json.RawMessage(tt.config), Execution: tt.execution})
			var inv *drill.InvalidInput
			if !errors.As(err, &inv) || drill.Classify(err) != err {
				t.Fatalf("err = %v (%T), want *drill.InvalidInput as is", err, err)
			}
			for _, field := range tt.want {
				if !slices.ContainsFunc(inv.Problems, func(p string) bool { return strings.HasPrefix(p, field) }) {
					t.Errorf("problems %q do not name %s", inv.Problems, field)
				}
			}
			if n := f.distCalls.Load() + int32(f.shop.TotalCalls()); n != 0 {
				t.Errorf("%d HTTP calls made on invalid input", n)
			}
		})
	}
}

// Dry runs reuse one synthetic user per target: two dry runs of different executions
// sign up one user and each finds it again, cart reconciled; a drill still gets its own.
func TestDryRunsReuseOneUser(t *testing.T) {
	f := newFixture(t, 4)
	dry := func(execution string, items int) drill.SeedResult {
		t.Helper()
		raw, _ := json.Marshal(map[string]any{"distribution": f.dist, "primaryBucket": "primary-ui-bucket", "items": items, "dryRun": true})
		res, err := f.handler.Handle(ctx(t), drill.SeedInput{Config: raw, Execution: execution})
		if err != nil {
			t.Fatalf("dry run %s: %v", execution, err)
		}
		return res
	}
	first := dry("dry-1", 3)
	second := dry("dry-2", 2)
	cfg, _ := drill.ParseConfig(json.RawMessage(fmt.Sprintf(`{"distribution":%q,"primaryBucket":"primary-ui-bucket"}`, f.dist)))
	email := seedcart.DryRunEmail(cfg)
	if first.User != second.User || first.User.Email != email || !strings.HasPrefix(email, "drill-dryrun-") {
		t.Errorf("dry runs' users %+v and %+v, want both %s", first.User, second.User, email)
	}
	if n := f.shop.Users(); n != 1 {
		t.Errorf("%d users after two dry runs, want 1", n)
	}
	if got := f.shop.StoredCart(second.User.UUID); len(got) != 2 {
		t.Errorf("the reused user's cart holds %v, want the second dry run's 2 unicorns", got)
	}
	if _, err := f.handler.Handle(ctx(t), f.input(t, 1)); err != nil {
		t.Fatal(err)
	}
	if n := f.shop.Users(); n != 2 {
		t.Errorf("%d users after a drill, want its own beside the dry runs'", n)
	}
	// Another target, another user.
	other, _ := drill.ParseConfig(json.RawMessage(fmt.Sprintf(`{"distribution":%q,"primaryBucket":"other-bucket"}`, f.dist)))
	if seedcart.DryRunEmail(other) == email {
		t.Error("two targets share a dry-run user")
	}
}

func TestEmail(t *testing.T) {
	valid := regexp.MustCompile(`^drill-([a-z0-9]+-)*[0-9a-f]{8}@failover-drill\.example$`)
	tests := []struct {
		name, execution, prefix string
	}{
		{name: "console name", execution: "Drill-2026-05-01T10_00_00", prefix: "drill-drill-2026-05-01t10-00-00-"},
		{name: "uuid", execution: "3f0c1a9e-5b1d-4e0a-9f2c-1d2e3f4a5b6c", prefix: "drill-3f0c1a9e-5b1d-4e0a-9f2c-1d2e3f4a5b6c-"},
		{name: "punctuation runs", execution: "__a..B__", prefix: "drill-a-b-"},
		{name: "nothing safe", execution: "___", prefix: "drill-"},
		{name: "long", execution: strings.Repeat("x", 80), prefix: "drill-" + strings.Repeat("x", 40) + "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := seedcart.Email(tt.execution)
			if !valid.MatchString(e) || !strings.HasPrefix(e, tt.prefix) {
				t.Errorf("Email(%q) = %q, want %s<hash>@%s", tt.execution, e, tt.prefix, drill.SyntheticDomain)
			}
			if local := e[:strings.IndexByte(e, '@')]; len(local) > 64 {
				t.Errorf("local part %d characters", len(local))
			}
			if seedcart.Email(tt.execution) != e {
				t.Error("not deterministic")
			}
		})
	}
	if seedcart.Email("Run-A") == seedcart.Email("run-a") {
		t.Error("names differing in case share an email")
	}
	if seedcart.Email(strings.Repeat("x", 60)+"1") == seedcart.Email(strings.Repeat("x", 60)+"2") {
		t.Error("names differing after the slug limit share an email")
	}
}

// TestClassifyNames ties wrapped errors to the ASL error names the state machine sees.
func TestClassifyNames(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", &drill.Transient{Msg: "503"}), "Transient"},
		{fmt.Errorf("x: %w", &drill.SeedFailed{Msg: "no"}), "SeedFailed"},
		{fmt.Errorf("x: %w", &drill.SteadyStateFailed{Msg: "no"}), "SteadyStateFailed"},
		{&drill.InvalidInput{Problems: []string{"a"}}, "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := drill.ErrorName(drill.Classify(tt.err)); got != tt.want {
				t.Errorf("name = %q, want %q", got, tt.want)
			}
		})
	}
}
