package iam

import (
	"net/http"
	"testing"

	"github.com/unishop/failover-drill/internal/policy"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, value string
		want           bool
	}{
		{"arn:aws:s3:::b", "arn:aws:s3:::b", true},
		{"arn:aws:s3:::b", "arn:aws:s3:::bb", false},
		{"arn:aws:s3:::b/locks/*", "arn:aws:s3:::b/locks/ui.json", true},
		{"arn:aws:s3:::b/locks/*", "arn:aws:s3:::b/locks/", true},
		{"arn:aws:s3:::b/locks/*", "arn:aws:s3:::b/runs/x", false},
		{"arn:aws:s3:::b/runs/*/ticket-*", "arn:aws:s3:::b/runs/n/ticket-20250601T120000.123Z.json", true},
		{"arn:aws:s3:::b/runs/*/ticket-*", "arn:aws:s3:::b/runs/n/report.json", false},
		{"arn:aws:s3:::b/runs/*/report.json", "arn:aws:s3:::b/runs/a/b/report.json", true}, // * spans /
		{"s3:Get?ucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock", true},
		{"s3:Get?", "s3:Get", false},
		{"*", "", true},
		{"", "x", false},
		{"a*b*c", "acb", false},
		{"a*b*c", "axbyc", true},
	} {
		if got := Match(tc.pattern, tc.value); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.value, got, tc.want)
		}
	}
}

func TestAllowed(t *testing.T) {
	var p Policies
	if !p.Allowed("anyone", "s3:DeleteBucket", "arn:aws:s3:::x") {
		t.Error("with no policies everyone is an administrator")
	}
	p.Set(map[string][]policy.Statement{
		"report": {{Actions: []string{"s3:PutObject"}, Resources: []string{"arn:aws:s3:::l/runs/*/report.json"}}},
		"probe":  {},
	})
	for _, tc := range []struct {
		principal, action, resource string
		want                        bool
	}{
		{"report", "s3:PutObject", "arn:aws:s3:::l/runs/r/report.json", true},
		{"report", "S3:putobject", "arn:aws:s3:::l/runs/r/report.json", true}, // actions are case-insensitive
		{"report", "s3:PutObject", "arn:aws:s3:::l/runs/r/ticket-1.json", false},
		{"report", "s3:GetObject", "arn:aws:s3:::l/runs/r/report.json", false},
		{"report", "s3:PutObject", "ARN:AWS:S3:::L/RUNS/R/REPORT.JSON", false}, // resources are not
		{"probe", "s3:GetObject", "arn:aws:s3:::l/x", false},
		{"operator", "s3:DeleteObject", "arn:aws:s3:::l/locks/ui.json", true},
	} {
		if got := p.Allowed(tc.principal, tc.action, tc.resource); got != tc.want {
			t.Errorf("Allowed(%s, %s, %s) = %v, want %v", tc.principal, tc.action, tc.resource, got, tc.want)
		}
	}
}

func TestPrincipal(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	if got := Principal(r); got != "" {
		t.Errorf("unsigned: %q", got)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=restore/20250601/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc")
	if got := Principal(r); got != "restore" {
		t.Errorf("signed: %q", got)
	}
	if msg := DeniedMessage("restore", "s3:PutObject", "arn:aws:s3:::l/locks/b.json"); msg !=
		`User: arn:aws:sts::000000000000:assumed-role/restore/restore is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::l/locks/b.json" because no identity-based policy allows the s3:PutObject action` {
		t.Errorf("message %q", msg)
	}
}
