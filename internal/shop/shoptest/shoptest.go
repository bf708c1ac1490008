// Package shoptest is an in-memory Unicorn Shop API for tests: the routes of
// reference/lab-facts.md over maps, with hooks to inject failures. Serve it with
// httptest.NewServer (optionally under a path prefix, like API Gateway's stage).
package shoptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/unishop/failover-drill/internal/shop"
)

// Route names, as passed to the hooks and counted by Calls.
const (
	RouteUnicorns   = "GET /unicorns/"
	RouteSignUp     = "POST /user"
	RouteLogin      = "POST /user/login"
	RouteAdd        = "POST /unicorns/basket"
	RouteRemove     = "DELETE /unicorns/basket"
	RouteCart       = "GET /unicorns/basket/{user}"
	RouteHealthPing = "GET /health/ping"
)

// Shop is a fake shop API. Set the hook fields before serving.
type Shop struct {
	// Before runs before a request is handled; a non-zero status is answered instead
	// and nothing changes. n is the 1-based count of calls of that route.
	Before func(route string, n int) int
	// After runs once a request has been handled (its effect happened); a non-zero
	// status replaces the response, as when a gateway loses the answer.
	After func(route string, n int) int
	// CartView, if set, rewrites the cart a GET returns (replication lag, lost writes).
	// n is the 1-based count of cart reads.
	CartView func(userUUID string, stored []string, n int) []string

	mu       sync.Mutex
	unicorns []shop.Unicorn
	users    map[string]shop.User // by email
	carts    map[string][]string  // by user uuid, in insertion order
	calls    map[string]int
	nextID   int
	mux      *http.ServeMux
}

// New returns a shop selling unicorns.
func New(unicorns ...shop.Unicorn) *Shop {
	s := &Shop{
		unicorns: unicorns,
		users:    map[string]shop.User{},
		carts:    map[string][]string{},
		calls:    map[string]int{},
		mux:      http.NewServeMux(),
	}
	s.mux.HandleFunc("GET /unicorns/{$}", s.wrap(RouteUnicorns, s.listUnicorns))
	s.mux.HandleFunc("POST /user", s.wrap(RouteSignUp, s.signUp))
	s.mux.HandleFunc("POST /user/login", s.wrap(RouteLogin, s.login))
	s.mux.HandleFunc("POST /unicorns/basket", s.wrap(RouteAdd, s.add))
	s.mux.HandleFunc("DELETE /unicorns/basket", s.wrap(RouteRemove, s.remove))
	s.mux.HandleFunc("GET /unicorns/basket/{user}", s.wrap(RouteCart, s.cart))
	s.mux.HandleFunc("GET /health/ping", s.wrap(RouteHealthPing, func(http.ResponseWriter, *http.Request) int { return http.StatusOK }))
	return s
}

// Unicorns makes n unicorns with uuids u01, u02, ...
func Unicorns(n int) []shop.Unicorn {
	us := make([]shop.Unicorn, n)
	for i := range us {
		us[i] = shop.Unicorn{UUID: fmt.Sprintf("u%02d", i+1), Name: fmt.Sprintf("Unicorn %d", i+1), Price: float64(10 + i), Image: "u.png"}
	}
	return us
}

func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Calls is how many requests a route received, including answered-by-hook ones.
func (s *Shop) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// TotalCalls is how many requests the shop received on any route.
func (s *Shop) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// AddUser registers a user as if it had signed up.
func (s *Shop) AddUser(u shop.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Email] = u
}

// User returns the user with that email.
func (s *Shop) User(email string) (shop.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[email]
	return u, ok
}

// Users is how many users exist.
func (s *Shop) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// SetCart replaces a user's stored cart.
func (s *Shop) SetCart(userUUID string, unicorns []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.carts[userUUID] = slices.Clone(unicorns)
}

// StoredCart is a user's stored cart, in insertion order.
func (s *Shop) StoredCart(userUUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.carts[userUUID])
}

// handler does the work under the lock and returns the status it wrote.
type handler func(w http.ResponseWriter, r *http.Request) int

func (s *Shop) wrap(route string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		n := s.calls[route]
		before, after := s.Before, s.After
		s.mu.Unlock()
		if before != nil {
			if st := before(route, n); st != 0 {
				http.Error(w, "injected by the test", st)
				return
			}
		}
		if after == nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			h(w, r)
			return
		}
		rec := &discard{header: http.Header{}}
		s.mu.Lock()
		st := h(rec, r)
		s.mu.Unlock()
		if inj := after(route, n); inj != 0 {
			http.Error(w, "injected by the test after the effect", inj)
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(st)
		_, _ = w.Write(rec.body)
	}
}

// discard buffers a response so After can replace it.
type discard struct {
	header http.Header
	body   []byte
	status int
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) Write(b []byte) (int, error) {
	d.body = append(d.body, b...)
	return len(b), nil
}
func (d *discard) WriteHeader(st int) { d.status = st }

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

func fail(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	return status
}

func (s *Shop) listUnicorns(w http.ResponseWriter, _ *http.Request) int {
	return writeJSON(w, http.StatusOK, s.unicorns)
}

func (s *Shop) signUp(w http.ResponseWriter, r *http.Request) int {
	var u shop.User
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil || u.Email == "" {
		return fail(w, http.StatusBadRequest, "bad user")
	}
	if _, dup := s.users[u.Email]; dup {
		return fail(w, http.StatusBadRequest, "user exists")
	}
	s.nextID++
	u.UUID = fmt.Sprintf("user-%04d", s.nextID)
	s.users[u.Email] = u
	return writeJSON(w, http.StatusCreated, u)
}

func (s *Shop) login(w http.ResponseWriter, r *http.Request) int {
	var in struct{ Email string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return fail(w, http.StatusBadRequest, "bad request")
	}
	u, ok := s.users[in.Email]
	if !ok {
		return fail(w, http.StatusBadRequest, "unknown user")
	}
	return writeJSON(w, http.StatusOK, u)
}

type basket struct {
	UUID     string `json:"uuid"`
	Unicorns []struct {
		UUID string `json:"uuid"`
	} `json:"unicorns"`
}

func (s *Shop) decodeBasket(r *http.Request) (basket, bool) {
	var b basket
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.UUID == "" || len(b.Unicorns) == 0 {
		return b, false
	}
	return b, true
}

func (s *Shop) known(uuid string, list []shop.Unicorn) bool {
	return slices.ContainsFunc(list, func(u shop.Unicorn) bool { return u.UUID == uuid })
}

func (s *Shop) add(w http.ResponseWriter, r *http.Request) int {
	b, ok := s.decodeBasket(r)
	if !ok || !s.known(b.Unicorns[0].UUID, s.unicorns) {
		return fail(w, http.StatusBadRequest, "bad basket")
	}
	// Only the first unicorn is used, as in the real shop. The cart is a list: adding
	// twice holds the unicorn twice (as the local sandbox does).
	s.carts[b.UUID] = append(s.carts[b.UUID], b.Unicorns[0].UUID)
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

func (s *Shop) remove(w http.ResponseWriter, r *http.Request) int {
	b, ok := s.decodeBasket(r)
	if !ok {
		return fail(w, http.StatusBadRequest, "bad basket")
	}
	// One entry goes per request.
	if i := slices.Index(s.carts[b.UUID], b.Unicorns[0].UUID); i >= 0 {
		s.carts[b.UUID] = slices.Delete(s.carts[b.UUID], i, i+1)
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

func (s *Shop) cart(w http.ResponseWriter, r *http.Request) int {
	user := r.PathValue("user")
	ids := slices.Clone(s.carts[user])
	if s.CartView != nil {
		ids = s.CartView(user, ids, s.calls[RouteCart])
	}
	b := basket{UUID: user}
	for _, id := range ids {
		b.Unicorns = append(b.Unicorns, struct {
			UUID string `json:"uuid"`
		}{id})
	}
	if b.Unicorns == nil {
		b.Unicorns = []struct {
			UUID string `json:"uuid"`
		}{}
	}
	return writeJSON(w, http.StatusOK, b)
}
