package ledger_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
)

// s3Server is a minimal S3 over real HTTP, so the real SDK client parses its errors:
// objects with If-None-Match, and a bucket without a public access block.
func s3Server(t *testing.T, slowDown *bool) *s3.Client {
	t.Helper()
	var mu sync.Mutex
	objects := map[string][]byte{}
	fail := func(w http.ResponseWriter, status int, code string) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test</Message><RequestId>R</RequestId><HostId>H</HostId></Error>`, code)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if *slowDown {
			fail(w, 503, "SlowDown")
			return
		}
		if _, ok := r.URL.Query()["publicAccessBlock"]; ok {
			fail(w, 404, pab.CodeNoConfiguration)
			return
		}
		key := r.URL.Path
		switch r.Method {
		case http.MethodPut:
			if _, exists := objects[key]; exists && r.Header.Get("If-None-Match") == "*" {
				fail(w, 412, "PreconditionFailed")
				return
			}
			b, _ := io.ReadAll(r.Body)
			objects[key] = b
			w.Header().Set("ETag", `"e"`)
		case http.MethodGet:
			b, ok := objects[key]
			if !ok {
				fail(w, 404, "NoSuchKey")
				return
			}
			w.Header().Set("ETag", `"e"`)
			w.Write(b)
		case http.MethodDelete:
			delete(objects, key)
			w.WriteHeader(204)
		}
	}))
	t.Cleanup(srv.Close)
	return s3.NewFromConfig(awsconf.SandboxConfig("us-east-1"), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
}

func TestRealSDKErrors(t *testing.T) {
	ctx := context.Background()
	slow := false
	client := s3Server(t, &slow)
	l := &ledger.Ledger{S3: client, Bucket: "ledger"}

	if got, err := l.Lock(ctx, "ui-bucket"); got != nil || err != nil {
		t.Fatalf("Lock on an empty ledger = %+v, %v; want nil, nil", got, err)
	}
	if _, _, created, err := l.TakeLock(ctx, ticket("run-a")); !created || err != nil {
		t.Fatalf("TakeLock = %v, %v", created, err)
	}
	held, _, created, err := l.TakeLock(ctx, ticket("run-b"))
	if err != nil || created || held.Execution != "run-a" {
		t.Fatalf("second TakeLock = %+v, %v, %v; want holder run-a from the 412", held, created, err)
	}
	if p, err := pab.Read(ctx, client, "ui-bucket"); p != nil || err != nil {
		t.Errorf("Read without a configuration = %s, %v; want none", pab.String(p), err)
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", ledgertest.ID("run-a")); !released || err != nil {
		t.Fatalf("release: %v, %v", released, err)
	}

	slow = true
	_, _, err = l.RunTicketVersion(ctx, ledgertest.ID("run-a"))
	if got := drill.ErrorName(drill.Classify(err)); got != "Transient" || !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("503 SlowDown = %v (%s), want Transient", err, got)
	}
}
