// Package ledgertest has an in-memory fake of ledger.ObjectAPI with S3's conditional
// write semantics: If-None-Match: * answers 412 when the key exists, If-Match answers
// 412 when the stored ETag differs and 404 when the key is gone.
package ledgertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// Object is a stored object.
type Object struct {
	Body        []byte
	ContentType string
	ETag        string
}

// Store is the fake. Hooks, when set, run before a call and fail it (without effect)
// by returning an error. Record, if set, is told every call as "Op key".
type Store struct {
	mu      sync.Mutex
	Objects map[string]Object
	Calls   []string
	Sleeps  []time.Duration // the ledger's retry waits
	version int             // makes every write's ETag new

	GetErr    func(key string) error
	PutErr    func(key string, in *s3.PutObjectInput) error
	DeleteErr func(key string, in *s3.DeleteObjectInput) error
	ListErr   func(prefix string) error
	Record    func(call string)
	// PageSize, when set, bounds ListObjectsV2 pages (to exercise continuation).
	PageSize int
}

var _ ledger.ObjectAPI = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{Objects: map[string]Object{}} }

// Ledger returns a ledger over s whose retry waits do not wait: they are recorded in
// Sleeps.
func (s *Store) Ledger() *ledger.Ledger {
	return &ledger.Ledger{S3: s, Bucket: "ledger-bucket", Sleep: func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.Sleeps = append(s.Sleeps, d)
		s.mu.Unlock()
		return ctx.Err()
	}}
}

// Keys lists the stored keys, sorted.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.Objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Delete removes key, as the lifecycle rule or a person would.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	delete(s.Objects, key)
	s.mu.Unlock()
}

// Ticket decodes the ticket stored at key, nil when absent.
func (s *Store) Ticket(key string) *drill.Ticket {
	s.mu.Lock()
	o, ok := s.Objects[key]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	var t drill.Ticket
	if err := json.Unmarshal(o.Body, &t); err != nil {
		panic("ledgertest: " + key + ": " + err.Error())
	}
	return &t
}

// PutTicket stores t at key.
func (s *Store) PutTicket(key string, t drill.Ticket) {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.version++
	s.Objects[key] = Object{Body: b, ContentType: ledger.ContentTypeJSON, ETag: fmt.Sprintf(`"v%d"`, s.version)}
	s.mu.Unlock()
}

func (s *Store) record(op, key string) {
	s.mu.Lock()
	s.Calls = append(s.Calls, op+" "+key)
	s.mu.Unlock()
	if s.Record != nil {
		s.Record(op + " " + key)
	}
}

func (s *Store) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	s.record("GetObject", key)
	if s.GetErr != nil {
		if err := s.GetErr(key); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	o, ok := s.Objects[key]
	s.mu.Unlock()
	if !ok {
		return nil, pabtest.APIError("GetObject", 404, "NoSuchKey")
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.Body)), ContentType: aws.String(o.ContentType), ETag: aws.String(o.ETag)}, nil
}

func (s *Store) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	s.record("PutObject", key)
	if s.PutErr != nil {
		if err := s.PutErr(key, in); err != nil {
			return nil, err
		}
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.Objects[key]
	if exists && aws.ToString(in.IfNoneMatch) == "*" {
		return nil, pabtest.APIError("PutObject", 412, "PreconditionFailed")
	}
	if match := aws.ToString(in.IfMatch); match != "" {
		if !exists {
			return nil, pabtest.APIError("PutObject", 404, "NoSuchKey")
		}
		if match != old.ETag {
			return nil, pabtest.APIError("PutObject", 412, "PreconditionFailed")
		}
	}
	s.version++
	etag := fmt.Sprintf(`"v%d"`, s.version)
	s.Objects[key] = Object{Body: body, ContentType: aws.ToString(in.ContentType), ETag: etag}
	return &s3.PutObjectOutput{ETag: aws.String(etag)}, nil
}

func (s *Store) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	key := aws.ToString(in.Key)
	s.record("DeleteObject", key)
	if s.DeleteErr != nil {
		if err := s.DeleteErr(key, in); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if match := aws.ToString(in.IfMatch); match != "" {
		old, exists := s.Objects[key]
		if !exists {
			return nil, pabtest.APIError("DeleteObject", 404, "NoSuchKey")
		}
		if match != old.ETag {
			return nil, pabtest.APIError("DeleteObject", 412, "PreconditionFailed")
		}
	}
	delete(s.Objects, key)
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 lists keys under the prefix in order, PageSize at a time, continuing
// after the continuation token (the last key of the previous page).
func (s *Store) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	prefix := aws.ToString(in.Prefix)
	s.record("ListObjectsV2", prefix)
	if s.ListErr != nil {
		if err := s.ListErr(prefix); err != nil {
			return nil, err
		}
	}
	after := aws.ToString(in.ContinuationToken)
	var keys []string
	for _, k := range s.Keys() {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	out := &s3.ListObjectsV2Output{}
	if s.PageSize > 0 && len(keys) > s.PageSize {
		keys = keys[:s.PageSize]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(keys[len(keys)-1])
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
	}
	out.KeyCount = aws.Int32(int32(len(keys)))
	return out, nil
}

// Start is the start time of the runs ID names.
var Start = time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC)

// ID is the identity of execution name of the test state machine, started at Start.
func ID(name string) drill.RunID { return IDAt(name, Start) }

// IDAt is the identity of execution name started at start: the same name started at
// another time is another run (a reused name).
func IDAt(name string, start time.Time) drill.RunID {
	return drill.RunID{
		Execution:    name,
		ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:failover-drill:" + name,
		StartTime:    drill.At(start),
	}
}

// WithID stamps t with id.
func WithID(t drill.Ticket, id drill.RunID) drill.Ticket {
	t.Execution, t.ExecutionArn, t.StartTime = id.Execution, id.ExecutionArn, id.StartTime
	return t
}
