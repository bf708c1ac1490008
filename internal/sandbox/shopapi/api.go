package shopapi

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/unishop/failover-drill/internal/sandbox/loopback"
)

// CORS headers of the lab's API Gateway: each resource's OPTIONS method is the mock
// integration the console's "Enable CORS" creates, with its default allowed headers; the
// backend (a proxy integration) adds Access-Control-Allow-Origin to its own answers.
const (
	CORSAllowHeaders = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"
	corsAllowOrigin  = "*"
)

// route is one method on one API Gateway resource.
type route struct {
	method, resource, op string
	h                    func(http.ResponseWriter, *http.Request, *store)
}

// Handler is region's API (the API Gateway stage and its backend).
func (s *Shop) Handler(region string) http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{} // resource -> its methods, for the CORS preflight
	for _, rt := range s.routes(region) {
		mux.HandleFunc(rt.method+" "+rt.resource, func(w http.ResponseWriter, r *http.Request) {
			// From here on the backend answers, and it adds the CORS origin header.
			w.Header().Set("Access-Control-Allow-Origin", corsAllowOrigin)
			if status := s.opt.Faults.Take(rt.op); status != 0 {
				writeJSON(w, status, map[string]string{"message": "injected by sandbox FailNext(" + rt.op + ")"})
				return
			}
			s.mu.Lock()
			st := s.stores[region]
			s.mu.Unlock()
			rt.h(w, r, st)
		})
		if !slices.Contains(methods[rt.resource], rt.method) {
			methods[rt.resource] = append(methods[rt.resource], rt.method)
		}
	}
	for resource, ms := range methods {
		allow := strings.Join(append(slices.Sorted(slices.Values(ms)), "OPTIONS"), ",")
		mux.HandleFunc("OPTIONS "+resource, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", corsAllowOrigin)
			h.Set("Access-Control-Allow-Methods", allow)
			h.Set("Access-Control-Allow-Headers", CORSAllowHeaders)
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
		})
	}
	// API Gateway's answer for a resource or method the API does not have; a gateway
	// answer, so it carries no CORS header and a browser sees a CORS failure.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "Missing Authentication Token"})
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &loopback.StatusRecorder{ResponseWriter: w}
		defer func() {
			s.log.Debug("api", "region", region, "method", r.Method, "uri", r.URL.RequestURI(), "status", rec.Status)
		}()
		rest, ok := strings.CutPrefix(r.URL.Path, Stage)
		if !ok || (rest != "" && rest[0] != '/') {
			writeJSON(rec, http.StatusForbidden, map[string]string{"message": "Missing Authentication Token"})
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		mux.ServeHTTP(rec, r2)
	})
}

// routes are the lab's API resources and methods (reference/lab-facts.md).
func (s *Shop) routes(region string) []route {
	rs := []route{
		{"GET", "/unicorns/{$}", "ListUnicorns", func(w http.ResponseWriter, r *http.Request, _ *store) {
			writeJSON(w, http.StatusOK, s.unicorns)
		}},
		{"POST", "/user", "SignUp", func(w http.ResponseWriter, r *http.Request, _ *store) { s.signUp(w, r, region) }},
		{"POST", "/user/login", "Login", func(w http.ResponseWriter, r *http.Request, _ *store) {
			var in User
			if err := decodeJSON(r, &in); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "a JSON body with an email is required"})
				return
			}
			u, ok := s.user(region, emailKey(in.Email))
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown user"})
				return
			}
			writeJSON(w, http.StatusOK, u)
		}},
		{"POST", "/unicorns/basket", "AddToCart", s.cartWrite(region, true)},
		{"DELETE", "/unicorns/basket", "RemoveFromCart", s.cartWrite(region, false)},
		{"GET", "/unicorns/basket/{user}", "GetCart", func(w http.ResponseWriter, r *http.Request, st *store) {
			user := r.PathValue("user")
			s.mu.Lock()
			items := slices.Clone(st.carts[user].unicorns)
			s.mu.Unlock()
			out := CartBody{UUID: user, Unicorns: []CartItem{}}
			for _, u := range items {
				out.Unicorns = append(out.Unicorns, CartItem{UUID: u})
			}
			writeJSON(w, http.StatusOK, out)
		}},
	}
	for _, p := range []string{"ping", "ishealthy", "dbping"} {
		rs = append(rs, route{"GET", "/health/" + p, "Health", func(w http.ResponseWriter, r *http.Request, _ *store) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "healthy", "region": region})
		}})
	}
	return rs
}

// duplicateEntry starts MySQL's error for a key that exists.
const duplicateEntry = "ERROR 1062 "

// signUp writes a user: the duplicate check is a read of the region's own cluster; the
// insert goes through the region's database client, and a database error (1290 from a
// read-only cluster, 2003 during a switchover) is answered 500 with its message, except
// a duplicate key (1062), the same 400 as a duplicate the read found.
func (s *Shop) signUp(w http.ResponseWriter, r *http.Request, region string) {
	var u User
	if err := decodeJSON(r, &u); err != nil || strings.TrimSpace(u.Email) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "a JSON body with an email is required"})
		return
	}
	if _, dup := s.opt.Users.Get(region, emailKey(u.Email)); dup {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "email already registered"})
		return
	}
	u.UUID = newUUID()
	row, _ := json.Marshal(u)
	err := s.opt.Users.Insert(region, map[string][]byte{emailKey(u.Email): row, uuidKey(u.UUID): row})
	switch {
	case err != nil && strings.HasPrefix(err.Error(), duplicateEntry):
		// Registered through the writer, not yet replicated to this region's cluster.
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "email already registered"})
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

// cartWrite adds or removes one unicorn: a DynamoDB global table item, writable in
// every region, replicated last writer wins.
func (s *Shop) cartWrite(region string, add bool) func(http.ResponseWriter, *http.Request, *store) {
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
		if _, ok := s.opt.Users.Get(region, uuidKey(in.UUID)); !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unknown user"})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
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
