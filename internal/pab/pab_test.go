package pab_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

func TestFromSDK(t *testing.T) {
	tests := []struct {
		name string
		in   *types.PublicAccessBlockConfiguration
		want *drill.PublicAccessBlock
	}{
		{name: "none", in: nil, want: nil},
		{name: "flags left out are false", in: &types.PublicAccessBlockConfiguration{BlockPublicPolicy: aws.Bool(true)},
			want: &drill.PublicAccessBlock{BlockPublicPolicy: true}},
		{name: "all", in: pab.ToSDK(drill.BlockAll), want: &drill.BlockAll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pab.FromSDK(tc.in); !pab.Equal(got, tc.want) {
				t.Errorf("FromSDK = %s, want %s", pab.String(got), pab.String(tc.want))
			}
		})
	}
}

func TestString(t *testing.T) {
	if got := pab.String(nil); got != "none" {
		t.Errorf("String(nil) = %q", got)
	}
	if got := pab.String(&drill.PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}); got !=
		"{blockPublicAcls:true ignorePublicAcls:false blockPublicPolicy:false restrictPublicBuckets:true}" {
		t.Errorf("String = %q", got)
	}
}

func TestReadSetDelete(t *testing.T) {
	ctx := context.Background()
	partial := &drill.PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}
	m := pabtest.NewMemory(map[string]*drill.PublicAccessBlock{"with": partial})
	if got, err := pab.Read(ctx, m, "with"); err != nil || !pab.Equal(got, partial) {
		t.Errorf("Read(with) = %s, %v", pab.String(got), err)
	}
	if got, err := pab.Read(ctx, m, "without"); err != nil || got != nil {
		t.Errorf("Read(without) = %s, %v; want none", pab.String(got), err)
	}
	if err := pab.Set(ctx, m, "with", nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Config("with"); got != nil {
		t.Errorf("after Set(nil) config = %s", pab.String(got))
	}
	m.DeleteErr = func(string) error {
		return pabtest.APIError("DeletePublicAccessBlock", 404, pab.CodeNoConfiguration)
	}
	if err := pab.Delete(ctx, m, "with"); err != nil {
		t.Errorf("delete of an absent config: %v", err)
	}
	m.GetErr = func(string) error { return pabtest.APIError("GetPublicAccessBlock", 503, "SlowDown") }
	_, err := pab.Read(ctx, m, "with")
	var tr *drill.Transient
	if !errors.As(err, &tr) || drill.ErrorName(drill.Classify(err)) != "Transient" {
		t.Errorf("Read with SlowDown = %v, want Transient", err)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"SlowDown 503", pabtest.APIError("PutObject", 503, "SlowDown"), true},
		{"InternalError 500", pabtest.APIError("PutObject", 500, "InternalError"), true},
		{"bare 502", pabtest.APIError("PutObject", 502, "BadGateway"), true},
		{"RequestTimeout 400", pabtest.APIError("PutObject", 400, "RequestTimeout"), true},
		{"throttling code without response", &smithy.GenericAPIError{Code: "Throttling"}, true},
		{"connection refused", pabtest.ConnRefused("PutObject"), true},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"deadline", context.DeadlineExceeded, true},
		{"AccessDenied 403", pabtest.APIError("PutObject", 403, "AccessDenied"), false},
		{"NoSuchBucket 404", pabtest.APIError("PutObject", 404, "NoSuchBucket"), false},
		{"canceled", context.Canceled, false},
		{"plain", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pab.IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
			wrapped := pab.Wrap(tc.err, "op %s", "x")
			if tc.err == nil {
				if wrapped != nil {
					t.Errorf("Wrap(nil) = %v", wrapped)
				}
				return
			}
			name := drill.ErrorName(drill.Classify(wrapped))
			if (name == "Transient") != tc.want {
				t.Errorf("Classify(Wrap(%v)) = %s", tc.err, name)
			}
			if tc.want {
				want := "transient: op x: " + tc.err.Error()
				if got := drill.Classify(fmt.Errorf("outer: %w", wrapped)).Error(); got != "transient: outer: op x: "+tc.err.Error() {
					t.Errorf("classified message %q, want the context kept once", got)
				}
				if got := drill.Classify(wrapped).Error(); got != want {
					t.Errorf("classified message %q, want %q", got, want)
				}
			}
			if !errors.Is(wrapped, tc.err) && !errors.As(wrapped, new(smithy.APIError)) {
				t.Errorf("Wrap lost the cause: %v", wrapped)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
