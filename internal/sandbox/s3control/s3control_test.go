package s3control

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

func TestAccountConfigurationOverHTTP(t *testing.T) {
	s := New("123456789012", nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, account, body string) int {
		req, _ := http.NewRequest(method, srv.URL+Path, strings.NewReader(body))
		req.Header.Set("x-amz-account-id", account)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := do(http.MethodGet, "123456789012", ""); got != 404 {
		t.Errorf("no configuration: %d, want 404", got)
	}
	before := time.Now()
	if got := do(http.MethodPut, "123456789012", `<PublicAccessBlockConfiguration><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`); got != 200 {
		t.Fatalf("put: %d", got)
	}
	if p := s.ConfigAt(time.Now()); p == nil || *p != (drill.PublicAccessBlock{RestrictPublicBuckets: true}) {
		t.Errorf("after the put: %+v", p)
	}
	if p := s.ConfigAt(before.Add(-time.Millisecond)); p != nil {
		t.Errorf("before the put: %+v, want none (the website's propagation reads the past)", p)
	}
	if got := do(http.MethodGet, "999999999999", ""); got != 403 {
		t.Errorf("another account: %d, want 403", got)
	}
	if got := do(http.MethodDelete, "123456789012", ""); got != 204 || s.ConfigAt(time.Now()) != nil || len(s.Changes()) != 2 {
		t.Errorf("delete: %d, %d changes", got, len(s.Changes()))
	}
}
