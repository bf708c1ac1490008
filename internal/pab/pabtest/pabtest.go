// Package pabtest has test doubles for S3: errors shaped like the SDK's, and an
// in-memory public access block fake whose behaviour tests override with function fields.
package pabtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// APIError builds the error the SDK returns for an S3 error response: an
// OperationError around a ResponseError (with the HTTP status) around the API error.
// NoSuchKey and NotFound are the SDK's modeled types; any other code is generic.
func APIError(op string, status int, code string) error {
	var apiErr error
	switch code {
	case "NoSuchKey":
		apiErr = &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	case "NotFound":
		apiErr = &types.NotFound{Message: aws.String("Not Found")}
	default:
		apiErr = &smithy.GenericAPIError{Code: code, Message: code + " (test)"}
	}
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
				Err:      apiErr,
			},
			RequestID: "TESTREQUESTID",
		},
	}
}

// ConnRefused builds the error the SDK returns when it cannot connect.
func ConnRefused(op string) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &smithyhttp.RequestSendError{Err: &net.OpError{
			Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED),
		}},
	}
}

// Memory is a fake of pab.API holding each bucket's configuration (nil: none). Before
// each call, the matching hook (if set) may return an error to fail the call without
// effect. Read, if set, replaces what GetPublicAccessBlock reports (to model S3's
// eventual consistency). Record, if set, is told every call as "Op bucket".
type Memory struct {
	mu      sync.Mutex
	Configs map[string]*drill.PublicAccessBlock
	Calls   []string

	GetErr    func(bucket string) error
	PutErr    func(bucket string, p drill.PublicAccessBlock) error
	DeleteErr func(bucket string) error
	Read      func(bucket string, stored *drill.PublicAccessBlock) *drill.PublicAccessBlock
	Record    func(call string)
}

var _ pab.API = (*Memory)(nil)

// NewMemory returns a Memory holding configs (copied).
func NewMemory(configs map[string]*drill.PublicAccessBlock) *Memory {
	m := &Memory{Configs: map[string]*drill.PublicAccessBlock{}}
	for b, p := range configs {
		m.Configs[b] = clone(p)
	}
	return m
}

// Config returns bucket's stored configuration.
func (m *Memory) Config(bucket string) *drill.PublicAccessBlock {
	m.mu.Lock()
	defer m.mu.Unlock()
	return clone(m.Configs[bucket])
}

func (m *Memory) record(op, bucket string) {
	m.mu.Lock()
	m.Calls = append(m.Calls, op+" "+bucket)
	m.mu.Unlock()
	if m.Record != nil {
		m.Record(op + " " + bucket)
	}
}

func (m *Memory) GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	b := aws.ToString(in.Bucket)
	m.record("GetPublicAccessBlock", b)
	if m.GetErr != nil {
		if err := m.GetErr(b); err != nil {
			return nil, err
		}
	}
	p := m.Config(b)
	if m.Read != nil {
		p = clone(m.Read(b, p))
	}
	if p == nil {
		return nil, APIError("GetPublicAccessBlock", 404, pab.CodeNoConfiguration)
	}
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: pab.ToSDK(*p)}, nil
}

func (m *Memory) PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error) {
	b := aws.ToString(in.Bucket)
	m.record("PutPublicAccessBlock", b)
	c := in.PublicAccessBlockConfiguration
	if c == nil || c.BlockPublicAcls == nil || c.IgnorePublicAcls == nil || c.BlockPublicPolicy == nil || c.RestrictPublicBuckets == nil {
		return nil, fmt.Errorf("pabtest: put on %s must set all four flags explicitly", b)
	}
	p := pab.FromSDK(c)
	if m.PutErr != nil {
		if err := m.PutErr(b, *p); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	m.Configs[b] = p
	m.mu.Unlock()
	return &s3.PutPublicAccessBlockOutput{}, nil
}

func (m *Memory) DeletePublicAccessBlock(ctx context.Context, in *s3.DeletePublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.DeletePublicAccessBlockOutput, error) {
	b := aws.ToString(in.Bucket)
	m.record("DeletePublicAccessBlock", b)
	if m.DeleteErr != nil {
		if err := m.DeleteErr(b); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	delete(m.Configs, b)
	m.mu.Unlock()
	return &s3.DeletePublicAccessBlockOutput{}, nil
}

func clone(p *drill.PublicAccessBlock) *drill.PublicAccessBlock {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
