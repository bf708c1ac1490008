package sandbox

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/shop"
)

// apiStage is the API Gateway stage path the real config.json host ends with; the shop
// API answers under it only, so a client that drops the host's path fails here too.
const apiStage = "/Production"

// The sandbox speaks the same wire types as the shop client.
type (
	Unicorn = shop.Unicorn
	User    = shop.User
)

// CartItem and CartBody are the basket requests' and response's shapes.
type CartItem struct {
	UUID string `json:"uuid"`
}

// CartBody is {"uuid": user, "unicorns": [{"uuid"}...]}.
type CartBody struct {
	UUID     string     `json:"uuid"`
	Unicorns []CartItem `json:"unicorns"`
}

var unicornNames = []string{
	"Sparkles", "Stardust", "Moonbeam", "Rainbow Dash", "Glitter Hoof", "Aurora", "Comet",
	"Celestia", "Twilight", "Nimbus", "Prism", "Zephyr", "Marshmallow", "Bubblegum", "Nova", "Opal",
}

// catalogue is n unicorns with uuids derived from their index (name-based, like a UUID
// v5), so both regions and every run agree.
func catalogue(n int) []Unicorn {
	out := make([]Unicorn, n)
	for i := range out {
		name := unicornNames[i%len(unicornNames)]
		if i >= len(unicornNames) {
			name = fmt.Sprintf("%s %d", name, i/len(unicornNames)+1)
		}
		sum := sha1.Sum([]byte(fmt.Sprintf("unishop-sandbox-unicorn-%d", i)))
		sum[6] = sum[6]&0x0f | 0x50
		sum[8] = sum[8]&0x3f | 0x80
		out[i] = Unicorn{
			UUID: formatUUID(sum[:16]), Name: name,
			Description: "A sandbox unicorn called " + name + ".",
			Price:       float64(100+17*i) + 0.99,
			Image:       fmt.Sprintf("images/unicorn-%02d.png", i+1),
		}
	}
	return out
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// shopStore is one region's data: users (the Aurora global database) and carts (the
// DynamoDB global table). Guarded by Sandbox.mu.
type shopStore struct {
	users  map[string]User   // by uuid
	emails map[string]string // lower-case email -> uuid
	carts  map[string]cart   // by user uuid
}

// cart is a basket item; version orders writes for last-writer-wins replication, as
// DynamoDB global tables do per item.
type cart struct {
	unicorns []string
	version  int64
}

func newShopStore() *shopStore {
	return &shopStore{users: map[string]User{}, emails: map[string]string{}, carts: map[string]cart{}}
}

func (st *shopStore) putUser(u User) {
	st.users[u.UUID] = u
	st.emails[strings.ToLower(u.Email)] = u.UUID
}

func (st *shopStore) putCart(user string, c cart) {
	if old, ok := st.carts[user]; ok && old.version > c.version {
		return
	}
	st.carts[user] = c
}

// replicateLocked applies f to the other region's store after ReplicationLag.
func (s *Sandbox) replicateLocked(from string, f func(*shopStore)) {
	if s.closed {
		return
	}
	to := s.cfg.SecondaryRegion
	if from == to {
		to = s.cfg.PrimaryRegion
	}
	var t *time.Timer
	t = time.AfterFunc(s.cfg.ReplicationLag, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		delete(s.timers, t)
		f(s.shop[to])
	})
	s.timers[t] = struct{}{}
}

// apiHandler is one region's shop API (API Gateway stage + backend).
func (s *Sandbox) apiHandler(region string) http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, op string, h func(http.ResponseWriter, *http.Request, *shopStore)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if status := s.takeFault(op); status != 0 {
				writeJSON(w, status, map[string]string{"message": "injected by sandbox FailNext(" + op + ")"})
				return
			}
			s.mu.Lock()
			st := s.shop[region]
			s.mu.Unlock()
			h(w, r, st)
		})
	}
	route("GET /unicorns/{$}", "ListUnicorns", func(w http.ResponseWriter, r *http.Request, _ *shopStore) {
		writeJSON(w, http.StatusOK, s.unicorns)
	})
	route("POST /user", "SignUp", func(w http.ResponseWriter, r *http.Request, st *shopStore) {
		var u User
		if err := decodeJSON(r, &u); err != nil || strings.TrimSpace(u.Email) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "a JSON body with an email is required"})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, dup := st.emails[strings.ToLower(u.Email)]; dup {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "email already registered"})
			return
		}
		u.UUID = newUUID()
		st.putUser(u)
		s.replicateLocked(region, func(o *shopStore) { o.putUser(u) })
		writeJSON(w, http.StatusCreated, u)
	})
	route("POST /user/login", "Login", func(w http.ResponseWriter, r *http.Request, st *shopStore) {
		var in User
		if err := decodeJSON(r, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "a JSON body with an email is required"})
			return
		}
		s.mu.Lock()
		id, ok := st.emails[strings.ToLower(in.Email)]
		u := st.users[id]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown user"})
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
	cartWrite := func(add bool) func(http.ResponseWriter, *http.Request, *shopStore) {
		return func(w http.ResponseWriter, r *http.Request, st *shopStore) {
			var in CartBody
			if err := decodeJSON(r, &in); err != nil || len(in.Unicorns) == 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": `a JSON body {"uuid","unicorns":[{"uuid"}]} is required`})
				return
			}
			unicorn := in.Unicorns[0].UUID // as the real backend, only the first is used
			if !slices.ContainsFunc(s.unicorns, func(u Unicorn) bool { return u.UUID == unicorn }) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown unicorn"})
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, ok := st.users[in.UUID]; !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown user"})
				return
			}
			items := slices.Clone(st.carts[in.UUID].unicorns)
			if add {
				items = append(items, unicorn)
			} else if i := slices.Index(items, unicorn); i >= 0 {
				items = slices.Delete(items, i, i+1)
			}
			s.shopSeq++
			c := cart{unicorns: items, version: s.shopSeq}
			st.putCart(in.UUID, c)
			user := in.UUID
			s.replicateLocked(region, func(o *shopStore) { o.putCart(user, c) })
			w.WriteHeader(http.StatusOK)
		}
	}
	route("POST /unicorns/basket", "AddToCart", cartWrite(true))
	route("DELETE /unicorns/basket", "RemoveFromCart", cartWrite(false))
	route("GET /unicorns/basket/{user}", "GetCart", func(w http.ResponseWriter, r *http.Request, st *shopStore) {
		user := r.PathValue("user")
		s.mu.Lock()
		items := slices.Clone(st.carts[user].unicorns)
		s.mu.Unlock()
		out := CartBody{UUID: user, Unicorns: []CartItem{}}
		for _, u := range items {
			out.Unicorns = append(out.Unicorns, CartItem{UUID: u})
		}
		writeJSON(w, http.StatusOK, out)
	})
	for _, p := range []string{"ping", "ishealthy", "dbping"} {
		route("GET /health/"+p, "Health", func(w http.ResponseWriter, r *http.Request, _ *shopStore) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "healthy", "region": region})
		})
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			s.log.Debug("api", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.status)
		}()
		// The browser UI calls the API cross-origin.
		rec.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			rec.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			rec.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			rec.WriteHeader(http.StatusOK)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, apiStage)
		if !ok || (rest != "" && rest[0] != '/') {
			// API Gateway's answer for a path outside the stage's resources.
			writeJSON(rec, http.StatusForbidden, map[string]string{"message": "Missing Authentication Token"})
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		mux.ServeHTTP(rec, r2)
	})
}

func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
