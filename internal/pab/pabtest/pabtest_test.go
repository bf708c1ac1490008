package pabtest_test

import (
	"context"
	"errors"
	"reflect"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// The fakes other packages' tests rely on behave like the SDK and S3.
func TestAPIError(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		typed  any
	}{
		{"NoSuchKey", 404, new(*types.NoSuchKey)},
		{"NotFound", 404, new(*types.NotFound)},
		{"SlowDown", 503, nil},
	} {
		err := pabtest.APIError("GetObject", tc.status, tc.code)
		var api smithy.APIError
		var op *smithy.OperationError
		if !errors.As(err, &api) || api.ErrorCode() != tc.code || !errors.As(err, &op) || op.OperationName != "GetObject" || op.ServiceID != "S3" {
			t.Errorf("%s: %v", tc.code, err)
		}
		if pab.HTTPStatus(err) != tc.status {
			t.Errorf("%s: status %d", tc.code, pab.HTTPStatus(err))
		}
		if tc.typed != nil && !errors.As(err, tc.typed) {
			t.Errorf("%s: not the SDK's modeled type", tc.code)
		}
	}
	err := pabtest.ConnRefused("PutObject")
	if !errors.Is(err, syscall.ECONNREFUSED) || !pab.IsTransient(err) || pab.HTTPStatus(err) != 0 {
		t.Errorf("ConnRefused: %v", err)
	}
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	partial := &drill.PublicAccessBlock{BlockPublicAcls: true}
	orig := map[string]*drill.PublicAccessBlock{"a": partial}
	m := pabtest.NewMemory(orig)
	var recorded []string
	m.Record = func(c string) { recorded = append(recorded, c) }
	orig["a"].IgnorePublicAcls = true // NewMemory copied
	if got := m.Config("a"); !pab.Equal(got, &drill.PublicAccessBlock{BlockPublicAcls: true}) {
		t.Errorf("Config = %s: NewMemory shares the caller's configuration", pab.String(got))
	}
	if recorded != nil {
		t.Errorf("recorded %v before any call", recorded)
	}
	m = pabtest.NewMemory(map[string]*drill.PublicAccessBlock{"a": {BlockPublicAcls: true}, "none": nil})
	m.Record = func(c string) { recorded = append(recorded, c) }
	c := m.Config("a")
	c.BlockPublicPolicy = true // Config is a copy
	if got := m.Config("a"); got.BlockPublicPolicy {
		t.Error("Config shares the stored configuration")
	}
	if _, err := m.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("none")}); !pab.HasCode(err, pab.CodeNoConfiguration) || pab.HTTPStatus(err) != 404 {
		t.Errorf("get of none: %v", err)
	}
	out, err := m.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("a")})
	if err != nil || !pab.Equal(pab.FromSDK(out.PublicAccessBlockConfiguration), &drill.PublicAccessBlock{BlockPublicAcls: true}) {
		t.Errorf("get: %v %v", out, err)
	}
	if _, err := m.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("a"),
		PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true)}}); err == nil {
		t.Error("a put with flags left out was accepted: the drill must set all four")
	}
	for _, partialFlags := range []types.PublicAccessBlockConfiguration{
		{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)},
		{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
		{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
		{IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
	} {
		cfg := partialFlags
		if _, err := m.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("a"), PublicAccessBlockConfiguration: &cfg}); err == nil {
			t.Errorf("put of %+v accepted", cfg)
		}
	}
	if _, err := m.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("a")}); err == nil {
		t.Error("a put without a configuration was accepted")
	}
	if _, err := m.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("b"), PublicAccessBlockConfiguration: pab.ToSDK(drill.BlockAll)}); err != nil {
		t.Fatal(err)
	}
	if got := m.Config("b"); !pab.Equal(got, &drill.BlockAll) {
		t.Errorf("after put: %s", pab.String(got))
	}
	if _, err := m.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("b")}); err != nil || m.Config("b") != nil {
		t.Errorf("delete: %v, %s", err, pab.String(m.Config("b")))
	}

	// Hooks fail a call without effect; Read replaces what a get reports.
	boom := errors.New("boom")
	m.GetErr = func(string) error { return boom }
	m.PutErr = func(string, drill.PublicAccessBlock) error { return boom }
	m.DeleteErr = func(string) error { return boom }
	if _, err := m.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("a")}); err != boom {
		t.Errorf("GetErr: %v", err)
	}
	if _, err := m.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String("a"), PublicAccessBlockConfiguration: pab.ToSDK(drill.BlockAll)}); err != boom || m.Config("a").BlockPublicPolicy {
		t.Errorf("PutErr: %v", err)
	}
	if _, err := m.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("a")}); err != boom || m.Config("a") == nil {
		t.Errorf("DeleteErr: %v", err)
	}
	m.GetErr, m.PutErr, m.DeleteErr = nil, nil, nil
	m.Read = func(string, *drill.PublicAccessBlock) *drill.PublicAccessBlock { return nil }
	if _, err := m.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("a")}); !pab.HasCode(err, pab.CodeNoConfiguration) {
		t.Errorf("Read override to none: %v", err)
	}
	m.Read = func(_ string, stored *drill.PublicAccessBlock) *drill.PublicAccessBlock { return &drill.BlockAll }
	if out, err := m.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("a")}); err != nil || !pab.Equal(pab.FromSDK(out.PublicAccessBlockConfiguration), &drill.BlockAll) {
		t.Errorf("Read override: %v", err)
	}
	want := []string{"GetPublicAccessBlock none", "GetPublicAccessBlock a", "PutPublicAccessBlock a", "PutPublicAccessBlock a", "PutPublicAccessBlock a",
		"PutPublicAccessBlock a", "PutPublicAccessBlock a", "PutPublicAccessBlock a", "PutPublicAccessBlock b", "DeletePublicAccessBlock b",
		"GetPublicAccessBlock a", "PutPublicAccessBlock a", "DeletePublicAccessBlock a", "GetPublicAccessBlock a", "GetPublicAccessBlock a"}
	if !reflect.DeepEqual(recorded, want) || !reflect.DeepEqual(m.Calls, want) {
		t.Errorf("recorded %q\ncalls %q\nwant %q", recorded, m.Calls, want)
	}
}
