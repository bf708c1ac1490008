package cloudfront

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
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

// hanging is an origin that accepts connections and never answers the first hangs
// requests (until the edge gives up on them), then answers 200 "p"; it counts requests.
func hanging(t *testing.T, hangs int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= hangs {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, "p")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A response timeout is retried as CloudFront retries it for a custom origin: a GET or
// HEAD gets ConnectAttempts attempts, each with its own response timeout, so a primary
// that never answers holds the request attempts × the timeout before the secondary;
// the response completion timeout caps that; other methods get one attempt.
func TestEdgeRetriesTheResponseTimeout(t *testing.T) {
	const rt = 200 * time.Millisecond
	for _, tc := range []struct {
		name       string
		hangs      int
		attempts   int
		completion time.Duration
		method     string
		wantStatus int
		wantBody   string
		wantTried  []string
		wantWait   time.Duration // at least
		wantReqs   int32         // requests the primary got
	}{
		{"hangs: 3 attempts, then the secondary", 99, 3, 0, "GET", 200, "s",
			[]string{"primary:timeout", "primary:timeout", "primary:timeout", "secondary:200"}, 3 * rt, 3},
		{"hangs once: the retry answers", 1, 3, 0, "GET", 200, "p", []string{"primary:timeout", "primary:200"}, rt, 2},
		{"HEAD is retried too", 99, 2, 0, "HEAD", 200, "", []string{"primary:timeout", "primary:timeout", "secondary:200"}, 2 * rt, 2},
		{"completion timeout caps the retries", 99, 3, 300 * time.Millisecond, "GET", 200, "s",
			[]string{"primary:timeout", "primary:timeout", "secondary:200"}, 300 * time.Millisecond, 2},
		{"POST is not retried", 99, 3, 0, "POST", 504, "", []string{"primary:timeout"}, rt, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, n := hanging(t, tc.hangs)
			s := origin(t, 200, "s")
			e := NewEdge(Options{PrimaryURL: p.URL, SecondaryURL: s.URL, ConnectAttempts: tc.attempts, ConnectTimeout: time.Second,
				ResponseTimeout: rt, ResponseCompletionTimeout: tc.completion, FailoverCodes: AllFailoverCodes})
			defer e.Close()
			edge := httptest.NewServer(e)
			defer edge.Close()
			req, _ := http.NewRequest(tc.method, edge.URL+"/config.json", nil)
			began := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(began)
			if res.StatusCode != tc.wantStatus || (tc.method == "GET" && tc.wantStatus == 200 && string(body) != tc.wantBody) {
				t.Errorf("answer %d %q, want %d %q", res.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if took < tc.wantWait || took > tc.wantWait+time.Second {
				t.Errorf("answered after %v, want %v and a little", took, tc.wantWait)
			}
			if log := e.Log(); len(log) != 1 || !slices.Equal(log[0].Tried, tc.wantTried) {
				t.Errorf("log %+v, want tried %v", log, tc.wantTried)
			}
			if got := n.Load(); got != tc.wantReqs {
				t.Errorf("the primary got %d requests, want %d", got, tc.wantReqs)
			}
		})
	}
}
