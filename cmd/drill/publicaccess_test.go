package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox"
)

func TestPublicAccess(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	p := sb.Primary()
	target := []string{"-endpoint", p.S3URL, "-bucket", p.Bucket}
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := runPublicAccess(context.Background(), args, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	for _, tc := range []struct {
		name string
		args []string
		want *drill.PublicAccessBlock
		says string
	}{
		{"show none", append([]string{"show"}, target...), nil, p.Bucket + ": none"},
		{"block", append([]string{"block"}, target...), &drill.BlockAll, "restrictPublicBuckets:true} (was none)"},
		{"put partial, action last", append(target, "put", `{"blockPublicAcls":true,"ignorePublicAcls":true}`),
			&drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}, "blockPublicPolicy:false"},
		{"delete", append([]string{"delete"}, target...), nil, "none (was {blockPublicAcls:true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(tc.args...)
			if code != 0 || !strings.Contains(out, tc.says) {
				t.Fatalf("exit %d, output %q; want 0 saying %q", code, out, tc.says)
			}
			got, ok := sb.PublicAccessBlock(p.Bucket)
			if (tc.want == nil) != !ok || (ok && *got != *tc.want) {
				t.Errorf("the bucket holds %+v (%t), want %+v", got, ok, tc.want)
			}
		})
	}

	before := len(sb.PABChanges())
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"a real endpoint", []string{"block", "-endpoint", "https://s3.us-east-1.amazonaws.com", "-bucket", p.Bucket}, 2, "never changes a real bucket"},
		{"no endpoint, no bucket", []string{"block"}, 2, "-bucket: missing"},
		{"no action", target, 2, "ACTION: missing"},
		{"unknown action", append([]string{"unblock"}, target...), 2, `"unblock" is not one of`},
		{"put with a misspelt flag", append([]string{"put", `{"blockPublicAcl":true}`}, target...), 2, "unknown field"},
		{"another region's endpoint", []string{"block", "-endpoint", sb.Secondary().S3URL, "-region", "us-west-1", "-bucket", p.Bucket}, 1, "PermanentRedirect"},
		{"no such bucket", []string{"block", "-endpoint", p.S3URL, "-bucket", "no-such-bucket"}, 1, "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.says) {
				t.Errorf("exit %d, output %q; want %d saying %q", code, out, tc.code, tc.says)
			}
		})
	}
	if after := len(sb.PABChanges()); after != before {
		t.Errorf("refused commands changed the bucket %d times", after-before)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a goroutine writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSandboxPrintsWorkingCommands: the block and restore commands drill sandbox prints
// work against that sandbox: after the block the distribution serves the secondary,
// after the restore the primary again, and the bucket is as it started.
func TestSandboxPrintsWorkingCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- runSandbox(ctx, []string{"-propagation", "1ms", "-prior", "partial"}, &out, &errOut) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "or:\n") {
		if time.Now().After(deadline) {
			t.Fatalf("drill sandbox printed:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	text := out.String()
	dist := strings.TrimSpace(strings.Split(text, "\n")[2])
	if !strings.HasPrefix(dist, "http://127.0.0.1:") {
		t.Fatalf("no URL to open on the third line:\n%s", text)
	}
	command := func(action string) []string {
		for _, line := range strings.Split(text, "\n") {
			if _, rest, ok := strings.Cut(line, " public-access "+action+" "); ok {
				args := []string{action}
				if action == "put" {
					// put '<json>' -endpoint ...: the JSON is one shell word.
					js, flags, _ := strings.Cut(strings.TrimPrefix(rest, "'"), "' ")
					return append(append(args, js), strings.Fields(flags)...)
				}
				return append(args, strings.Fields(rest)...)
			}
		}
		t.Fatalf("no public-access %s command in:\n%s", action, text)
		return nil
	}
	region := func() string {
		res, err := http.Get(dist + "config.json")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return b.String()
	}
	for _, step := range []struct{ action, region string }{{"block", "us-west-1"}, {"put", "us-east-1"}} {
		var stdout, stderr bytes.Buffer
		if code := runPublicAccess(context.Background(), command(step.action), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", step.action, code, stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // propagation is 1 ms
		if got := region(); !strings.Contains(got, `"region":"`+step.region+`"`) {
			t.Errorf("after %s the distribution serves %s, want %s", step.action, got, step.region)
		}
		if step.action == "put" && !strings.Contains(stdout.String(), "{blockPublicAcls:true ignorePublicAcls:true blockPublicPolicy:false restrictPublicBuckets:false} (was") {
			t.Errorf("restore did not put back the partial prior: %s", stdout.String())
		}
	}
}
