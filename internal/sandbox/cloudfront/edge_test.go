package cloudfront

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// origin is an httptest origin answering status with body.
func origin(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEdgeStandalone runs the edge in front of plain HTTP origins: it needs nothing of
// the other stand-ins but their URLs.
func TestEdgeStandalone(t *testing.T) {
	for _, tc := range []struct {
		name            string
		primary, second int
		codes           []int
		method          string
		wantStatus      int
		wantBody        string
		wantTried       []string
	}{
		{"primary serves", 200, 200, AllFailoverCodes, "GET", 200, "p", []string{"primary:200"}},
		{"403 fails over", 403, 200, AllFailoverCodes, "GET", 200, "s", []string{"primary:403", "secondary:200"}},
		{"403 not a criterion", 403, 200, []int{500, 502, 503, 504}, "GET", 403, "p", []string{"primary:403"}},
		{"POST never fails over", 503, 200, AllFailoverCodes, "POST", 503, "p", []string{"primary:503"}},
		{"secondary's answer is final", 500, 503, AllFailoverCodes, "GET", 503, "s", []string{"primary:500", "secondary:503"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := origin(t, tc.primary, "p"), origin(t, tc.second, "s")
			e := NewEdge(Options{PrimaryURL: p.URL, SecondaryURL: s.URL, ConnectAttempts: 1,
				ConnectTimeout: time.Second, ResponseTimeout: 2 * time.Second, FailoverCodes: tc.codes})
			defer e.Close()
			edge := httptest.NewServer(e)
			defer edge.Close()
			req, _ := http.NewRequest(tc.method, edge.URL+"/config.json?cb=1", strings.NewReader("{}"))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
				t.Errorf("answer %d %q, want %d %q", res.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			log := e.Log()
			if len(log) != 1 || !slices.Equal(log[0].Tried, tc.wantTried) || log[0].Path != "/config.json" {
				t.Errorf("log %+v, want one record tried %v", log, tc.wantTried)
			}
			if addr := strings.TrimPrefix(p.URL, "http://"); e.Dials(addr) != 1 {
				t.Errorf("%d dials to the primary, want 1", e.Dials(addr))
			}
		})
	}
}
