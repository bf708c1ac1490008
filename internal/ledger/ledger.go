// Package ledger is the drill's state in the ledger bucket: per target bucket the lock,
// which also carries the restore data (locks/<bucket>.json: never expires), and per run
// the run's ticket and report (runs/<execution>/...: expire with the lifecycle rule).
//
// Every conditional write and delete (If-None-Match, If-Match) is retried when S3
// answers 409 ConditionalRequestConflict: S3 means "a conflicting conditional request
// was in flight, try again", not "you lost" (that is 412).
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// ObjectAPI is the part of the S3 client the ledger uses.
type ObjectAPI interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, params *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ ObjectAPI = (*s3.Client)(nil)

// Content types of the objects the ledger writes.
const (
	ContentTypeJSON = "application/json"
	ContentTypeHTML = "text/html; charset=utf-8"
)

// maxObjectBytes bounds what the ledger reads back: tickets are a few hundred bytes.
const maxObjectBytes = 1 << 20

// lockAttempts bounds how often TakeLock tries when the lock is released between its
// write and its read.
const lockAttempts = 4

// ConflictAttempts bounds the tries of one conditional call S3 keeps answering 409;
// the waits between them are ConflictBackoff, doubling (50, 100, 200, 400 ms).
const (
	ConflictAttempts = 5
	ConflictBackoff  = 50 * time.Millisecond
)

// Ledger stores the drill's state as objects in Bucket. Sleep waits between retries
// (default clock.Sleep).
type Ledger struct {
	S3     ObjectAPI
	Bucket string
	Sleep  func(ctx context.Context, d time.Duration) error
}

// ErrChanged: a conditional write lost (412, or 404 for If-Match on a key that is
// gone), because the object was created, changed or deleted since it was read. Read it
// again and decide anew.
var ErrChanged = errors.New("changed concurrently")

// TakeLock creates the lock for t.Bucket holding t, only if there is none. created
// says whether this call created it; if not, held is the lock already there, which
// may belong to another execution or to t's own (a re-invocation). etag is held's version.
func (l *Ledger) TakeLock(ctx context.Context, t drill.Ticket) (held drill.Ticket, etag string, created bool, err error) {
	if t.Bucket == "" || t.Execution == "" {
		return drill.Ticket{}, "", false, fmt.Errorf("ledger take lock: ticket's bucket or execution missing (bucket %q, execution %q)", t.Bucket, t.Execution)
	}
	key := drill.LockKey(t.Bucket)
	for range lockAttempts {
		etag, err := l.putJSONIf(ctx, key, t, "*", "")
		if err == nil {
			return t, etag, true, nil
		}
		if !errors.Is(err, ErrChanged) {
			return drill.Ticket{}, "", false, err
		}
		existing, etag, err := l.LockVersion(ctx, t.Bucket)
		if err != nil {
			return drill.Ticket{}, "", false, err
		}
		if existing != nil {
			return *existing, etag, false, nil
		}
		// Released between our write and our read: try to take it again.
	}
	return drill.Ticket{}, "", false, &drill.Transient{Msg: fmt.Sprintf("ledger take lock %s: taken and released %d times while trying", key, lockAttempts)}
}

// ReplaceLock overwrites t.Bucket's lock only if it is still the version etag
// (If-Match). It returns the new version's ETag, or ErrChanged.
func (l *Ledger) ReplaceLock(ctx context.Context, t drill.Ticket, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("ledger replace lock %s: no ETag to match", t.Bucket)
	}
	return l.putJSONIf(ctx, drill.LockKey(t.Bucket), t, "", etag)
}

// Lock returns the lock held on bucket, nil when there is none.
func (l *Ledger) Lock(ctx context.Context, bucket string) (*drill.Ticket, error) {
	t, _, err := l.getTicketVersion(ctx, drill.LockKey(bucket))
	return t, err
}

// LockVersion returns the lock held on bucket and its ETag, nil when there is none.
func (l *Ledger) LockVersion(ctx context.Context, bucket string) (*drill.Ticket, string, error) {
	return l.getTicketVersion(ctx, drill.LockKey(bucket))
}

// LockEntry is one lock and its version, or, when it could not be read or decoded,
// its key and Err (Lock is then empty).
type LockEntry struct {
	Key  string
	ETag string
	Lock drill.Ticket
	Err  error
}

// Locks lists every lock in the ledger, in key order. A lock released between the
// listing and its read is left out. One lock that cannot be read or decoded is an
// entry with Err, not an error of the listing: the sweeper reports it and goes on with
// every other lock. Only a listing that fails is an error.
func (l *Ledger) Locks(ctx context.Context) ([]LockEntry, error) {
	var out []LockEntry
	var token *string
	for {
		page, err := l.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(l.Bucket), Prefix: aws.String(drill.LockPrefix), ContinuationToken: token,
		})
		if err != nil {
			return nil, pab.Wrap(err, "ledger list %s", drill.LockPrefix)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !strings.HasSuffix(key, ".json") {
				continue
			}
			t, etag, err := l.getTicketVersion(ctx, key)
			switch {
			case err != nil:
				out = append(out, LockEntry{Key: key, Err: err})
			case t != nil:
				out = append(out, LockEntry{Key: key, ETag: etag, Lock: *t})
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// FindLock returns the lock id holds on any bucket and its ETag, nil when it holds none.
// A lock it cannot read may be id's: that is an error, never "none".
func (l *Ledger) FindLock(ctx context.Context, id drill.RunID) (*drill.Ticket, string, error) {
	locks, err := l.Locks(ctx)
	if err != nil {
		return nil, "", err
	}
	var unreadable error
	for _, e := range locks {
		if e.Err != nil {
			unreadable = errors.Join(unreadable, e.Err)
			continue
		}
		if e.Lock.ID().Same(id) {
			return &e.Lock, e.ETag, nil
		}
	}
	if unreadable != nil {
		return nil, "", fmt.Errorf("ledger find the lock of %s: %w", id.Execution, unreadable)
	}
	return nil, "", nil
}

// ReleaseLock deletes bucket's lock only if it is still the version etag (If-Match),
// so a release never deletes a lock another drill has taken since it was read. A lock
// already gone or replaced (412, 404) is not an error: it is not ours any more.
func (l *Ledger) ReleaseLock(ctx context.Context, bucket, etag string) error {
	key := drill.LockKey(bucket)
	if etag == "" {
		return fmt.Errorf("ledger release %s: no ETag to match", key)
	}
	err := l.retryConflict(ctx, func() error {
		_, err := l.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key), IfMatch: aws.String(etag)})
		return err
	})
	if err != nil && !isNotFound(err) && !isPreconditionFailed(err) {
		return pab.Wrap(err, "ledger delete %s", key)
	}
	return nil
}

// ReleaseIfHeldBy releases bucket's lock if id holds it. It reports whether it
// released one.
func (l *Ledger) ReleaseIfHeldBy(ctx context.Context, bucket string, id drill.RunID) (bool, error) {
	lock, etag, err := l.LockVersion(ctx, bucket)
	if err != nil || lock == nil || !lock.ID().Same(id) {
		return false, err
	}
	return true, l.ReleaseLock(ctx, bucket, etag)
}

// CreateRunTicket writes t as its run's ticket only if there is none (If-None-Match:
// *). It returns the new version's ETag, or ErrChanged.
func (l *Ledger) CreateRunTicket(ctx context.Context, t drill.Ticket) (etag string, err error) {
	if t.Execution == "" {
		return "", fmt.Errorf("ledger put run ticket: execution missing")
	}
	return l.putJSONIf(ctx, drill.RunTicketKey(t.ID()), t, "*", "")
}

// ReplaceRunTicket overwrites t's run ticket only if it is still the version etag
// (If-Match). It returns the new version's ETag, or ErrChanged.
func (l *Ledger) ReplaceRunTicket(ctx context.Context, t drill.Ticket, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("ledger replace run ticket %s: no ETag to match", t.Execution)
	}
	return l.putJSONIf(ctx, drill.RunTicketKey(t.ID()), t, "", etag)
}

// RunTicketVersion returns id's run ticket and its ETag, nil when there is none.
func (l *Ledger) RunTicketVersion(ctx context.Context, id drill.RunID) (*drill.Ticket, string, error) {
	if id.Execution == "" {
		return nil, "", fmt.Errorf("ledger run ticket: execution missing")
	}
	return l.getTicketVersion(ctx, drill.RunTicketKey(id))
}

// PutRunTicket writes (or overwrites) t as its run's ticket.
func (l *Ledger) PutRunTicket(ctx context.Context, t drill.Ticket) error {
	if t.Execution == "" {
		return fmt.Errorf("ledger put run ticket: ticket has no execution")
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("ledger put run ticket %s: %w", t.Execution, err)
	}
	return l.put(ctx, drill.RunTicketKey(t.ID()), body, ContentTypeJSON)
}

// PutReport writes the report.json and report.html of the run of execution that
// started at start.
func (l *Ledger) PutReport(ctx context.Context, execution string, start drill.Instant, jsonBody, htmlBody []byte) error {
	if execution == "" || start.IsZero() {
		return fmt.Errorf("ledger put report: execution %q or its start %q missing", execution, start)
	}
	if err := l.put(ctx, drill.ReportKey(execution, start), jsonBody, ContentTypeJSON); err != nil {
		return err
	}
	return l.put(ctx, drill.ReportHTMLKey(execution, start), htmlBody, ContentTypeHTML)
}

// PutRestoreRecord records a restore that ran after its execution ended, next to the
// run's report (drill.RestoreRecordKey).
func (l *Ledger) PutRestoreRecord(ctx context.Context, rec drill.RestoreRecord) error {
	if rec.Execution == "" || rec.StartTime.IsZero() || rec.Reason == "" {
		return fmt.Errorf("ledger put restore record: execution %q, its start %q or reason %q missing", rec.Execution, rec.StartTime, rec.Reason)
	}
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("ledger put restore record %s: %w", rec.Execution, err)
	}
	return l.put(ctx, drill.RestoreRecordKey(rec.Execution, rec.StartTime, rec.Reason), body, ContentTypeJSON)
}

func (l *Ledger) put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := l.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(l.Bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String(contentType),
	})
	return pab.Wrap(err, "ledger put %s", key)
}

// putJSONIf writes v at key under one condition (ifNoneMatch "*" or ifMatch an ETag),
// retrying 409s, and returns the new ETag or ErrChanged.
func (l *Ledger) putJSONIf(ctx context.Context, key string, v any, ifNoneMatch, ifMatch string) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("ledger put %s: %w", key, err)
	}
	var etag string
	err = l.retryConflict(ctx, func() error {
		in := &s3.PutObjectInput{
			Bucket:      aws.String(l.Bucket),
			Key:         aws.String(key),
			Body:        bytes.NewReader(body),
			ContentType: aws.String(ContentTypeJSON),
		}
		if ifNoneMatch != "" {
			in.IfNoneMatch = aws.String(ifNoneMatch)
		}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		out, err := l.S3.PutObject(ctx, in)
		if err == nil {
			etag = aws.ToString(out.ETag)
		}
		return err
	})
	if err == nil {
		return etag, nil
	}
	// 412: the condition failed; 404: If-Match on a key that is gone. Either way the
	// object is not the version we decided on.
	if isPreconditionFailed(err) || ifMatch != "" && isNotFound(err) {
		return "", fmt.Errorf("ledger put %s: %w", key, ErrChanged)
	}
	return "", pab.Wrap(err, "ledger put %s", key)
}

// retryConflict runs call until it answers anything but 409 ConditionalRequestConflict,
// at most ConflictAttempts times, and returns its last error (a 409 left after the last
// attempt is Transient, through pab.Wrap).
func (l *Ledger) retryConflict(ctx context.Context, call func() error) error {
	wait := ConflictBackoff
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || !isConditionalConflict(err) || attempt == ConflictAttempts {
			return err
		}
		if serr := l.sleep(ctx, wait); serr != nil {
			return err
		}
		wait *= 2
	}
}

func (l *Ledger) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (l *Ledger) getTicketVersion(ctx context.Context, key string) (*drill.Ticket, string, error) {
	out, err := l.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, "", nil
		}
		return nil, "", pab.Wrap(err, "ledger get %s", key)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxObjectBytes))
	if err != nil {
		return nil, "", pab.Wrap(err, "ledger read %s", key)
	}
	var t drill.Ticket
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, "", fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return &t, aws.ToString(out.ETag), nil
}

// isNotFound: the key is absent. A missing ledger bucket (NoSuchBucket, also a 404)
// is an error, never "no lock"; so is AccessDenied, which is what S3 answers for a
// missing key when the caller may not s3:ListBucket.
func isNotFound(err error) bool {
	if pab.HasCode(err, "NoSuchBucket") {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) ||
		pab.HasCode(err, "NoSuchKey", "NotFound") || pab.HTTPStatus(err) == 404
}

func isPreconditionFailed(err error) bool {
	return pab.HasCode(err, "PreconditionFailed") || pab.HTTPStatus(err) == 412
}

func isConditionalConflict(err error) bool {
	return pab.HasCode(err, "ConditionalRequestConflict") || pab.HTTPStatus(err) == 409
}
