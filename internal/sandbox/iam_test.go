package sandbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/policy"
)

// The replica's IAM: a principal's calls are held to its policy, with S3's own
// answers: AccessDenied for a denied action, and for a missing key when the caller may
// not list the bucket.
func TestS3EnforcesPolicies(t *testing.T) {
	s := start(t, Config{})
	sc := s.Config()
	ledger := "arn:aws:s3:::" + sc.LedgerBucket
	s.SetPolicies(map[string][]policy.Statement{
		"writer": {{Actions: []string{"s3:PutObject", "s3:GetObject"}, Resources: []string{ledger + "/runs/*"}}},
		"lister": {
			{Actions: []string{"s3:GetObject"}, Resources: []string{ledger + "/runs/*"}},
			{Actions: []string{"s3:ListBucket"}, Resources: []string{ledger}},
		},
	})
	as := func(principal string) *s3.Client {
		return awsconf.SandboxFactoryAs(s.S3Endpoints(), principal)(sc.PrimaryRegion)
	}
	put := func(c *s3.Client, key string) error {
		_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String(key), Body: bytes.NewReader([]byte("{}"))})
		return err
	}
	get := func(c *s3.Client, key string) error {
		_, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String(key)})
		return err
	}

	if err := put(as("writer"), "runs/a/report.json"); err != nil {
		t.Fatalf("allowed put: %v", err)
	}
	err := put(as("writer"), "locks/ui.json")
	if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), `not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::`+sc.LedgerBucket+`/locks/ui.json"`) {
		t.Errorf("put outside the policy: %v, want AccessDenied naming the action and resource", err)
	}
	if _, ok := s.Object(sc.LedgerBucket, "locks/ui.json"); ok {
		t.Error("a denied put was stored")
	}
	if _, err := as("writer").GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: aws.String(sc.PrimaryBucket)}); apiCode(err) != "AccessDenied" {
		t.Errorf("PAB read without s3:GetBucketPublicAccessBlock: %v", err)
	}
	// A missing key: 403 without s3:ListBucket, 404 with it.
	if err := get(as("writer"), "runs/none/report.json"); apiCode(err) != "AccessDenied" {
		t.Errorf("missing key without ListBucket: %v, want AccessDenied", err)
	}
	if err := get(as("lister"), "runs/none/report.json"); apiCode(err) != "NoSuchKey" {
		t.Errorf("missing key with ListBucket: %v, want NoSuchKey", err)
	}
	if _, err := as("lister").ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(sc.LedgerBucket)}); err != nil {
		t.Errorf("list with ListBucket: %v", err)
	}
	if _, err := as("writer").ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(sc.LedgerBucket)}); apiCode(err) != "AccessDenied" {
		t.Errorf("list without ListBucket: %v", err)
	}
	// Anyone without a policy (the operator, these tests) may do everything.
	if err := put(as(awsconf.SandboxAdmin), "locks/ui.json"); err != nil {
		t.Errorf("administrator: %v", err)
	}
}

// S3 authorizes a write or delete conditional on an ETag (If-Match) only with
// s3:GetObject on the object as well: the answer tells the caller whether its version
// is current. If-None-Match: * and unconditional calls need the write action alone.
func TestS3ConditionalCallsNeedGetObject(t *testing.T) {
	s := start(t, Config{})
	sc := s.Config()
	ledger := "arn:aws:s3:::" + sc.LedgerBucket
	s.SetPolicies(map[string][]policy.Statement{
		"blind":  {{Actions: []string{"s3:PutObject", "s3:DeleteObject"}, Resources: []string{ledger + "/locks/*"}}},
		"reader": {{Actions: []string{"s3:PutObject", "s3:DeleteObject", "s3:GetObject"}, Resources: []string{ledger + "/locks/*"}}},
	})
	as := func(principal string) *s3.Client {
		return awsconf.SandboxFactoryAs(s.S3Endpoints(), principal)(sc.PrimaryRegion)
	}
	body := func() *bytes.Reader { return bytes.NewReader([]byte("{}")) }
	for _, p := range []string{"blind", "reader"} {
		c := as(p)
		key := aws.String("locks/" + p + ".json")
		out, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: key, Body: body(), IfNoneMatch: aws.String("*")}, noRetry)
		if err != nil {
			t.Fatalf("%s: If-None-Match put: %v", p, err)
		}
		_, putErr := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: key, Body: body(), IfMatch: out.ETag}, noRetry)
		_, delErr := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: key, IfMatch: out.ETag}, noRetry)
		if p == "reader" {
			if putErr != nil || delErr != nil {
				t.Errorf("with s3:GetObject: If-Match put %v, delete %v", putErr, delErr)
			}
			continue
		}
		for what, err := range map[string]error{"If-Match put": putErr, "If-Match delete": delErr} {
			if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "not authorized to perform: s3:GetObject") {
				t.Errorf("without s3:GetObject: %s: %v, want AccessDenied naming s3:GetObject", what, err)
			}
		}
		if _, ok := s.Object(sc.LedgerBucket, *key); !ok {
			t.Error("a denied conditional delete deleted")
		}
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: key, Body: body()}, noRetry); err != nil {
			t.Errorf("unconditional put: %v", err)
		}
		if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: key}, noRetry); err != nil {
			t.Errorf("unconditional delete: %v", err)
		}
	}
}

// S3 answers 409 ConditionalRequestConflict to a conditional request that raced
// another: the replica can make every conditional call lose its first race.
func TestS3ConditionalConflicts(t *testing.T) {
	s := start(t, Config{})
	sc := s.Config()
	c := s3Client(s, sc.PrimaryRegion)
	putIfAbsent := func(key string) error {
		_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String(key),
			Body: bytes.NewReader([]byte("{}")), IfNoneMatch: aws.String("*")}, noRetry)
		return err
	}
	s.SetConflicts(true)
	err := putIfAbsent("locks/a.json")
	if apiCode(err) != "ConditionalRequestConflict" || !strings.Contains(err.Error(), "StatusCode: 409") || !strings.Contains(err.Error(), "you can retry the request") {
		t.Fatalf("first conditional put: %v, want 409 ConditionalRequestConflict", err)
	}
	if err := putIfAbsent("locks/a.json"); err != nil {
		t.Fatalf("its retry: %v", err)
	}
	if err := putIfAbsent("locks/a.json"); apiCode(err) != "ConditionalRequestConflict" {
		t.Errorf("the next conditional call loses its first race again: %v", err)
	}
	if err := putIfAbsent("locks/a.json"); apiCode(err) != "PreconditionFailed" {
		t.Errorf("its retry then meets the condition: %v, want 412", err)
	}
	// Unconditional calls never conflict.
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String("runs/x"), Body: bytes.NewReader(nil)}, noRetry); err != nil {
		t.Errorf("unconditional put: %v", err)
	}
	s.SetConflicts(false)
	if err := putIfAbsent("locks/b.json"); err != nil {
		t.Errorf("after SetConflicts(false): %v", err)
	}
	// FailNext("Conditional") aims at the next conditional calls only.
	s.FailNext("Conditional", 1, 409)
	if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String("runs/x")}, noRetry); err != nil {
		t.Errorf("unconditional delete: %v", err)
	}
	_, err = c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String("locks/b.json"), IfMatch: aws.String(`"x"`)}, noRetry)
	if apiCode(err) != "ConditionalRequestConflict" {
		t.Errorf("injected conditional delete: %v", err)
	}
	s.FailNext("PutObject", 1, 409)
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(sc.LedgerBucket), Key: aws.String("runs/y"), Body: bytes.NewReader(nil)}, noRetry); apiCode(err) != "ConditionalRequestConflict" {
		t.Errorf("FailNext(PutObject, 409): %v, want S3's code", err)
	}
}

func TestExpire(t *testing.T) {
	s := start(t, Config{})
	sc := s.Config()
	s.PutObject(sc.LedgerBucket, "runs/a/ticket-1.json", []byte("{}"), "")
	s.PutObject(sc.LedgerBucket, "locks/ui.json", []byte("{}"), "")
	if gone := s.Expire(sc.LedgerBucket, "runs/", time.Hour); len(gone) != 0 {
		t.Errorf("expired young objects: %v", gone)
	}
	if gone := s.Expire(sc.LedgerBucket, "runs/", 0); len(gone) != 1 || gone[0] != "runs/a/ticket-1.json" {
		t.Errorf("expired %v", gone)
	}
	if _, ok := s.Object(sc.LedgerBucket, "locks/ui.json"); !ok {
		t.Error("a lock expired")
	}
}

// The Step Functions stand-in answers DescribeExecution to the real SDK client, and
// holds the caller to its policy.
func TestStepFunctionsStandIn(t *testing.T) {
	s := start(t, Config{})
	sm := "arn:aws:states:us-east-1:000000000000:stateMachine:failover-drill"
	arn := "arn:aws:states:us-east-1:000000000000:execution:failover-drill:run-a"
	start := time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC)
	c := awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", awsconf.SandboxAdmin)
	describe := func(c *sfn.Client, arn string) (*sfn.DescribeExecutionOutput, error) {
		return c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	}
	var missing *types.ExecutionDoesNotExist
	if _, err := describe(c, arn); !errors.As(err, &missing) {
		t.Fatalf("unknown execution: %v, want ExecutionDoesNotExist", err)
	}
	s.ExecutionStarted(arn, sm, "run-a", start)
	out, err := describe(c, arn)
	if err != nil || out.Status != types.ExecutionStatusRunning || !aws.ToTime(out.StartDate).Equal(start) || out.StopDate != nil ||
		aws.ToString(out.Name) != "run-a" || aws.ToString(out.StateMachineArn) != sm {
		t.Fatalf("running: %+v, %v", out, err)
	}
	stop := start.Add(90*time.Second + 7*time.Millisecond)
	s.ExecutionEnded(arn, "FAILED", stop, "RestoreFailed", "the bucket may still be blocked")
	out, err = describe(c, arn)
	if err != nil || out.Status != types.ExecutionStatusFailed || !aws.ToTime(out.StopDate).Equal(stop) ||
		aws.ToString(out.Error) != "RestoreFailed" || aws.ToString(out.Cause) == "" {
		t.Fatalf("ended: %+v, %v", out, err)
	}
	// A reused name: the same ARN now describes the new run.
	s.ExecutionStarted(arn, sm, "run-a", start.AddDate(1, 0, 0))
	if out, _ := describe(c, arn); out.Status != types.ExecutionStatusRunning || aws.ToTime(out.StartDate).Year() != 2026 {
		t.Errorf("after the name's reuse: %+v", out)
	}
	s.ForgetExecution(arn)
	if _, err := describe(c, arn); !errors.As(err, &missing) {
		t.Errorf("forgotten: %v", err)
	}
	var bad *types.InvalidArn
	if _, err := describe(c, sm); !errors.As(err, &bad) {
		t.Errorf("a state machine ARN: %v, want InvalidArn", err)
	}

	s.SetPolicies(map[string][]policy.Statement{"sweeper": {{Actions: []string{"states:DescribeExecution"},
		Resources: []string{"arn:aws:states:us-east-1:000000000000:execution:failover-drill:*"}}}})
	s.ExecutionStarted(arn, sm, "run-a", start)
	if _, err := describe(awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", "sweeper"), arn); err != nil {
		t.Errorf("allowed: %v", err)
	}
	other := "arn:aws:states:us-east-1:000000000000:execution:another-machine:run-a"
	if _, err := describe(awsconf.SandboxSFN(s.SFNEndpoint(), "us-east-1", "sweeper"), other); apiCode(err) != "AccessDeniedException" {
		t.Errorf("another state machine's execution: %v, want AccessDeniedException", err)
	}
	if got, ok := s.DescribedExecution(arn); !ok || got.Name != "run-a" {
		t.Errorf("DescribedExecution = %+v, %v", got, ok)
	}
	if res := do(t, "GET", s.SFNEndpoint()+"/", ""); res.status != 400 || !strings.Contains(res.body, "UnknownOperationException") {
		t.Errorf("GET: %d %s", res.status, res.body)
	}
}
