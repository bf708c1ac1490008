package shopapi

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/unishop/failover-drill/internal/sandbox/loopback"
)

// Handler is region's API (the API Gateway stage and its backend).
func (s *Shop) Handler(region string) http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, op string, h func(http.ResponseWriter, *http.Request, *store)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if status := s.opt.Faults.Take(op); status != 0 {
				writeJSON(w, status, map[string]string{"message": "injected by sandbox FailNext(" + op + ")"})
				return
			}
			s.mu.Lock()
			st := s.stores[region]
			s.mu.Unlock()
			h(w, r, st)
		})
	}
	route("GET /unicorns/{$}", "ListUnicorns", func(w http.ResponseWriter, r *http.Request, _ *store) {
		writeJSON(w, http.StatusOK, s.unicorns)
	})
	route("POST /user", "SignUp", func(w http.ResponseWriter, r *http.Request, st *store) {
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
		s.replicateLocked(region, func(o *store) { o.putUser(u) })
		writeJSON(w, http.StatusCreated, u)
	})
	route("POST /user/login", "Login", func(w http.ResponseWriter, r *http.Request, st *store) {
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
	cartWrite := func(add bool) func(http.ResponseWriter, *http.Request, *store) {
		return func(w http.ResponseWriter, r *http.Request, st *store) {
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
			s.seq++
			c := cart{unicorns: items, version: s.seq}
			st.putCart(in.UUID, c)
			user := in.UUID
			s.replicateLocked(region, func(o *store) { o.putCart(user, c) })
			w.WriteHeader(http.StatusOK)
		}
	}
	route("POST /unicorns/basket", "AddToCart", cartWrite(true))
	route("DELETE /unicorns/basket", "RemoveFromCart", cartWrite(false))
	route("GET /unicorns/basket/{user}", "GetCart", func(w http.ResponseWriter, r *http.Request, st *store) {
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
		route("GET /health/"+p, "Health", func(w http.ResponseWriter, r *http.Request, _ *store) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "healthy", "region": region})
		})
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &loopback.StatusRecorder{ResponseWriter: w}
		defer func() {
			s.log.Debug("api", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.Status)
		}()
		// The browser UI calls the API cross-origin.
		rec.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			rec.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			rec.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			rec.WriteHeader(http.StatusOK)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, Stage)
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
