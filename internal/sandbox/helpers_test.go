package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/unishop/failover-drill/internal/awsconf"
)

// start runs a sandbox for the test's duration.
func start(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// s3Client is the real SDK client, as the functions build it for the sandbox.
func s3Client(s *Sandbox, region string) *s3.Client {
	return awsconf.SandboxFactory(s.S3Endpoints())(region)
}

// noRetry makes one SDK call a single attempt, so injected 5xx are seen as they are.
func noRetry(o *s3.Options) { o.RetryMaxAttempts = 1 }

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiCode is the S3 error code of err, "" when none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

type response struct {
	status int
	header http.Header
	body   string
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// servedRegion reads config.json's region through url (website or distribution).
func servedRegion(t *testing.T, base string) (int, string) {
	t.Helper()
	res := do(t, http.MethodGet, base+"/config.json?cb="+time.Now().Format("150405.000000000"), "")
	if res.status != http.StatusOK {
		return res.status, ""
	}
	var conf struct{ Host, Region string }
	if err := json.Unmarshal([]byte(res.body), &conf); err != nil {
		t.Fatalf("config.json: %v in %q", err, res.body)
	}
	return res.status, conf.Region
}

// eventually polls cond every 10ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s never happened", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func asErr[T any](err error, target *T) bool { return errors.As(err, target) }
