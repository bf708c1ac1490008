package s3website

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox/s3wire"
)

// TestWebsiteStandalone gives the website its bucket as two functions: no S3 needed.
func TestWebsiteStandalone(t *testing.T) {
	const delay = time.Second
	blockedAt := time.Now().Add(-10 * time.Second)
	ws := New(Options{
		Region: "us-east-1", Bucket: "b", PropagationDelay: delay,
		Object: func(key string) (s3wire.Object, bool) {
			if key == "index.html" {
				return s3wire.NewObject([]byte("<h1>shop</h1>"), "text/html"), true
			}
			return s3wire.Object{}, false
		},
		PublicAccessBlockAt: func(at time.Time) *drill.PublicAccessBlock {
			if at.Before(blockedAt) {
				return nil
			}
			return &drill.BlockAll
		},
	})
	defer ws.Close()

	if eff := ws.Effective(blockedAt.Add(delay - time.Millisecond)); eff != nil {
		t.Errorf("enforced %+v before the propagation delay", eff)
	}
	if eff := ws.Effective(blockedAt.Add(delay)); eff == nil || *eff != drill.BlockAll {
		t.Errorf("enforced %+v after the propagation delay", eff)
	}
	rec := httptest.NewRecorder()
	ws.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "<Code>AccessDenied</Code>") {
		t.Errorf("blocked GET / = %d %q", rec.Code, rec.Body)
	}
}

func TestWebsiteHangReleasedByClose(t *testing.T) {
	ws := New(Options{Object: func(string) (s3wire.Object, bool) { return s3wire.Object{}, false },
		PublicAccessBlockAt: func(time.Time) *drill.PublicAccessBlock { return nil }})
	ws.SetHang(true)
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		ws.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil).WithContext(context.Background()))
		done <- rec.Code
	}()
	select {
	case <-done:
		t.Fatal("a hanging website answered")
	case <-time.After(100 * time.Millisecond):
	}
	ws.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not release the hanging request")
	}
}
