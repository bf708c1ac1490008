package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/sandbox"
)

// drill configure against the replica: --dry-run writes nothing, a run merges into an
// existing cdk.context.json keeping its other keys, bad flags change nothing.
func TestConfigureAgainstTheSandbox(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	file := filepath.Join(t.TempDir(), "cdk.context.json")
	const cached = `{"hosted-zone:account=123456789012:domainName=example.com:region=us-east-1": {"Id": "/hostedzone/Z1"}}`
	if err := os.WriteFile(file, []byte(cached), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args = append([]string{"--cloudfront-endpoint", sb.CloudFrontURL(), "--s3-endpoint", sb.Primary().S3URL, "--file", file}, args...)
		code := runConfigure(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	read := func() string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	code, stdout, stderr := run("--notify-email", "sre@example.com", "--dry-run")
	if code != exitPass || !strings.Contains(stdout, "primaryBucket: "+sb.Primary().Bucket) || !strings.Contains(stdout, `"distributionId": "`+sandbox.DistributionID+`"`) ||
		!strings.Contains(stdout, "hosted-zone:account") || read() != cached {
		t.Fatalf("dry run: exit %d\n%s%s\nfile %s", code, stdout, stderr, read())
	}
	for _, bad := range [][]string{{"--notify-email", "sre"}, {}, {"--alarm-topic-arn", "arn:aws:sns:us-east-1:1:x"}} {
		if code, _, stderr := run(bad...); code != exitUsage || read() != cached || !strings.Contains(stderr, "drill configure: --") {
			t.Errorf("%q: exit %d, %s; want 2 naming the flag, the file unchanged", bad, code, stderr)
		}
	}
	if code, _, stderr := run("--distribution-id", "ENOPE", "--notify-email", "sre@example.com"); code != exitUsage || !strings.Contains(stderr, sandbox.DistributionID) {
		t.Errorf("unknown distribution: exit %d, %s; want 2 naming the account's", code, stderr)
	}

	code, stdout, stderr = run("--notify-email", "sre@example.com")
	got := read()
	for _, want := range []string{`"primaryBucket": "` + sb.Primary().Bucket + `"`, `"secondaryRegion": "us-west-1"`, `"distributionDomain": "d1sandbox.cloudfront.net"`,
		`"notifyEmail": "sre@example.com"`, `"Id": "/hostedzone/Z1"`} {
		if code != exitPass || !strings.Contains(got, want) {
			t.Errorf("exit %d %s%s: file\n%s\nlacks %s", code, stdout, stderr, got, want)
		}
	}
	if code, stdout, _ := run(); code != exitPass || !strings.Contains(stdout, "already says so") || read() != got {
		t.Errorf("a second run: exit %d, %s; want the file as it was", code, stdout)
	}
}
