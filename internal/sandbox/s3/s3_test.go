package s3

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
)

// TestServiceStandalone serves two regions' endpoints from one Service to the real SDK
// client: a bucket answers only at its region's endpoint, and the change log answers
// what a bucket held at any moment.
func TestServiceStandalone(t *testing.T) {
	svc := New(Options{})
	svc.CreateBucket("east-bucket", "us-east-1", &drill.PublicAccessBlock{BlockPublicAcls: true})
	east := httptest.NewServer(svc.Handler("us-east-1"))
	defer east.Close()
	west := httptest.NewServer(svc.Handler("us-west-1"))
	defer west.Close()
	clients := awsconf.SandboxFactory(map[string]string{"us-east-1": east.URL, "us-west-1": west.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := clients("us-west-1").GetPublicAccessBlock(ctx, &sdk.GetPublicAccessBlockInput{Bucket: aws.String("east-bucket")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "PermanentRedirect" {
		t.Errorf("other region's endpoint: %v, want PermanentRedirect", err)
	}

	before := time.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := clients("us-east-1").DeletePublicAccessBlock(ctx, &sdk.DeletePublicAccessBlockInput{Bucket: aws.String("east-bucket")}); err != nil {
		t.Fatal(err)
	}
	if p := svc.PublicAccessBlockAt("east-bucket", before); p == nil || !p.BlockPublicAcls {
		t.Errorf("before the delete: %+v, want the starting configuration", p)
	}
	if p := svc.PublicAccessBlockAt("east-bucket", time.Now()); p != nil {
		t.Errorf("after the delete: %+v, want none", p)
	}
	if ch := svc.Changes(); len(ch) != 1 || ch[0].Op != "delete" || ch[0].Bucket != "east-bucket" {
		t.Errorf("changes %+v", ch)
	}
}
