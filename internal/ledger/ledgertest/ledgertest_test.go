package ledgertest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab"
)

// The fake other packages' tests rely on keeps S3's conditional semantics.
func TestConditionalSemantics(t *testing.T) {
	ctx := context.Background()
	s := ledgertest.New()
	var recorded []string
	s.Record = func(c string) { recorded = append(recorded, c) }
	put := func(key string, ifNoneMatch, ifMatch *string) (string, error) {
		out, err := s.PutObject(ctx, &s3.PutObjectInput{Key: aws.String(key), Body: bytes.NewReader([]byte(key)), ContentType: aws.String("x/y"),
			IfNoneMatch: ifNoneMatch, IfMatch: ifMatch})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ETag), nil
	}
	get := func(key string) (string, string, error) {
		out, err := s.GetObject(ctx, &s3.GetObjectInput{Key: aws.String(key)})
		if err != nil {
			return "", "", err
		}
		b, _ := io.ReadAll(out.Body)
		return string(b), aws.ToString(out.ETag), nil
	}
	if _, _, err := get("k"); pab.HTTPStatus(err) != 404 || !pab.HasCode(err, "NoSuchKey") {
		t.Errorf("get of a missing key: %v", err)
	}
	e1, err := put("k", aws.String("*"), nil)
	if err != nil || e1 == "" {
		t.Fatalf("create: %q %v", e1, err)
	}
	if _, err := put("k", aws.String("*"), nil); pab.HTTPStatus(err) != 412 {
		t.Errorf("create over an existing key: %v", err)
	}
	if _, err := put("k", nil, aws.String(`"other"`)); pab.HTTPStatus(err) != 412 {
		t.Errorf("If-Match another version: %v", err)
	}
	if _, err := put("gone", nil, aws.String(e1)); pab.HTTPStatus(err) != 404 {
		t.Errorf("If-Match a missing key: %v", err)
	}
	e2, err := put("k", nil, aws.String(e1))
	if err != nil || e2 == e1 {
		t.Errorf("If-Match the version: %q %v, want a new ETag", e2, err)
	}
	e3, err := put("k", nil, nil)
	if err != nil || e3 == e2 {
		t.Errorf("unconditional: %q %v", e3, err)
	}
	if body, etag, err := get("k"); err != nil || body != "k" || etag != e3 || s.Objects["k"].ContentType != "x/y" {
		t.Errorf("get: %q %q %v", body, etag, err)
	}
	del := func(key string, ifMatch *string) error {
		_, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Key: aws.String(key), IfMatch: ifMatch})
		return err
	}
	if err := del("k", aws.String(e1)); pab.HTTPStatus(err) != 412 {
		t.Errorf("delete If-Match an old version: %v", err)
	}
	if err := del("gone", aws.String(e1)); pab.HTTPStatus(err) != 404 {
		t.Errorf("delete If-Match a missing key: %v", err)
	}
	if err := del("k", aws.String(e3)); err != nil {
		t.Errorf("delete If-Match: %v", err)
	}
	if err := del("k", nil); err != nil {
		t.Errorf("unconditional delete of a missing key: %v", err)
	}
	if len(s.Keys()) != 0 {
		t.Errorf("keys %v", s.Keys())
	}
	want := []string{"GetObject k", "PutObject k", "PutObject k", "PutObject k", "PutObject gone", "PutObject k", "PutObject k", "GetObject k",
		"DeleteObject k", "DeleteObject gone", "DeleteObject k", "DeleteObject k"}
	if !reflect.DeepEqual(recorded, want) || !reflect.DeepEqual(s.Calls, want) {
		t.Errorf("recorded %q\ncalls %q\nwant %q", recorded, s.Calls, want)
	}
}

func TestHooksAndHelpers(t *testing.T) {
	ctx := context.Background()
	s := ledgertest.New()
	boom := errors.New("boom")
	s.GetErr = func(string) error { return boom }
	s.PutErr = func(string, *s3.PutObjectInput) error { return boom }
	s.DeleteErr = func(string, *s3.DeleteObjectInput) error { return boom }
	s.ListErr = func(string) error { return boom }
	if _, err := s.GetObject(ctx, &s3.GetObjectInput{Key: aws.String("k")}); err != boom {
		t.Errorf("GetErr: %v", err)
	}
	if _, err := s.PutObject(ctx, &s3.PutObjectInput{Key: aws.String("k"), Body: bytes.NewReader(nil)}); err != boom || len(s.Keys()) != 0 {
		t.Errorf("PutErr: %v", err)
	}
	s.PutTicket("k", drill.Ticket{Execution: "x"})
	if _, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Key: aws.String("k")}); err != boom || len(s.Keys()) != 1 {
		t.Errorf("DeleteErr: %v", err)
	}
	if _, err := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Prefix: aws.String("")}); err != boom {
		t.Errorf("ListErr: %v", err)
	}
	s.ListErr = nil
	if tk := s.Ticket("k"); tk == nil || tk.Execution != "x" || s.Ticket("missing") != nil {
		t.Errorf("Ticket: %+v", tk)
	}
	s.Objects["bad"] = ledgertest.Object{Body: []byte("{")}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Ticket of an undecodable object did not panic")
			}
		}()
		s.Ticket("bad")
	}()
	s.Delete("bad")
	s.Delete("k")

	// Listing: prefix, order, pages and continuation.
	for _, k := range []string{"locks/c", "locks/a", "runs/x", "locks/b"} {
		s.PutTicket(k, drill.Ticket{Execution: k})
	}
	if out, _ := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Prefix: aws.String("locks/")}); aws.ToBool(out.IsTruncated) || len(out.Contents) != 3 {
		t.Errorf("no page size: one page of all: %+v", out)
	}
	s.PageSize = 2
	var keys []string
	var token *string
	pages := 0
	for {
		out, err := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Prefix: aws.String("locks/"), ContinuationToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if int(aws.ToInt32(out.KeyCount)) != len(out.Contents) {
			t.Errorf("KeyCount %d for %d keys", aws.ToInt32(out.KeyCount), len(out.Contents))
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	if !reflect.DeepEqual(keys, []string{"locks/a", "locks/b", "locks/c"}) || pages != 2 {
		t.Errorf("listed %v in %d pages", keys, pages)
	}
	s.PageSize = 3
	if out, _ := s.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Prefix: aws.String("locks/")}); aws.ToBool(out.IsTruncated) || len(out.Contents) != 3 {
		t.Errorf("a page that fits exactly: %+v", out)
	}

	// The ledger over the store records its waits instead of waiting.
	l := s.Ledger()
	if l.Bucket != "ledger-bucket" || l.Sleep(ctx, time.Hour) != nil || !reflect.DeepEqual(s.Sleeps, []time.Duration{time.Hour}) {
		t.Errorf("Ledger: %+v, sleeps %v", l, s.Sleeps)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if l.Sleep(cancelled, time.Second) == nil {
		t.Error("a wait on a cancelled context succeeded")
	}
}

func TestIdentities(t *testing.T) {
	id := ledgertest.ID("run-a")
	if id.Execution != "run-a" || id.ExecutionArn != "arn:aws:states:us-east-1:123456789012:execution:failover-drill:run-a" ||
		!id.StartTime.Equal(drill.At(ledgertest.Start)) || len(id.Problems()) != 0 {
		t.Errorf("ID = %+v", id)
	}
	later := ledgertest.IDAt("run-a", ledgertest.Start.Add(time.Hour))
	if later.Same(id) || later.ExecutionArn != id.ExecutionArn {
		t.Errorf("IDAt: %+v", later)
	}
	tk := ledgertest.WithID(drill.Ticket{Bucket: "b"}, later)
	if !tk.ID().Same(later) || tk.Bucket != "b" {
		t.Errorf("WithID: %+v", tk)
	}
}
