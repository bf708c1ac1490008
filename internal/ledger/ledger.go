// Package ledger is the drill's state in the ledger bucket: per target bucket the lock,
// which is also the restore ticket (locks/<bucket>.json, taken with a conditional
// write), and per run the run's ticket and report (runs/<execution>/...).
package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

var _ ObjectAPI = (*s3.Client)(nil)

// Content types of the objects the ledger writes.
const (
	ContentTypeJSON = "application/json"
	ContentTypeHTML = "text/html; charset=utf-8"
)

// maxObjectBytes bounds what the ledger reads back: tickets are a few hundred bytes.
const maxObjectBytes = 1 << 20

// lockAttempts bounds how often TakeLock tries when the lock is contended.
const lockAttempts = 4

// Ledger stores the drill's state as objects in Bucket.
type Ledger struct {
	S3     ObjectAPI
	Bucket string
}

// TakeLock creates the lock for t.Bucket holding t, only if there is none. created
// says whether this call created it; if not, held is the lock already there, which
// may belong to another execution or to t.Execution itself (a re-invocation).
func (l *Ledger) TakeLock(ctx context.Context, t drill.Ticket) (held drill.Ticket, created bool, err error) {
	if t.Bucket == "" || t.Execution == "" {
		return drill.Ticket{}, false, fmt.Errorf("ledger take lock: ticket's bucket or execution missing (bucket %q, execution %q)", t.Bucket, t.Execution)
	}
	key := drill.LockKey(t.Bucket)
	body, err := json.Marshal(t)
	if err != nil {
		return drill.Ticket{}, false, fmt.Errorf("ledger take lock %s: %w", key, err)
	}
	var last error
	for attempt := range lockAttempts {
		if attempt > 0 {
			if err := clock.Sleep(ctx, time.Duration(attempt)*100*time.Millisecond); err != nil {
				return drill.Ticket{}, false, fmt.Errorf("ledger take lock %s: %w", key, err)
			}
		}
		_, err := l.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket:      aws.String(l.Bucket),
			Key:         aws.String(key),
			Body:        bytes.NewReader(body),
			ContentType: aws.String(ContentTypeJSON),
			IfNoneMatch: aws.String("*"),
		})
		if err == nil {
			return t, true, nil
		}
		// 412: the lock exists. 409: a concurrent conditional write on the same key is
		// in flight; whoever wins, reading the lock tells us (or it is gone: try again).
		if !isPreconditionFailed(err) && !isConditionalConflict(err) {
			return drill.Ticket{}, false, pab.Wrap(err, "ledger take lock %s", key)
		}
		last = err
		existing, err := l.Lock(ctx, t.Bucket)
		if err != nil {
			return drill.Ticket{}, false, err
		}
		if existing != nil {
			return *existing, false, nil
		}
		// Released between our write and our read: try to take it again.
	}
	return drill.Ticket{}, false, &drill.Transient{Msg: fmt.Sprintf("ledger take lock %s: contended, %d attempts: %v", key, lockAttempts, last)}
}

// Lock returns the lock held on bucket, nil when there is none.
func (l *Ledger) Lock(ctx context.Context, bucket string) (*drill.Ticket, error) {
	return l.getTicket(ctx, drill.LockKey(bucket))
}

// LockVersion returns the lock held on bucket and its ETag, nil when there is none.
func (l *Ledger) LockVersion(ctx context.Context, bucket string) (*drill.Ticket, string, error) {
	return l.getTicketVersion(ctx, drill.LockKey(bucket))
}

// ReleaseLock deletes bucket's lock only if it is still the version etag
// (If-Match), so a release never deletes a lock another drill has taken since it was
// read. A lock already gone or replaced is not an error: it is not ours any more.
func (l *Ledger) ReleaseLock(ctx context.Context, bucket, etag string) error {
	key := drill.LockKey(bucket)
	if etag == "" {
		return fmt.Errorf("ledger release %s: no ETag to match", key)
	}
	_, err := l.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key), IfMatch: aws.String(etag)})
	if err != nil && !isNotFound(err) && !isPreconditionFailed(err) && !isConditionalConflict(err) {
		return pab.Wrap(err, "ledger delete %s", key)
	}
	return nil
}

// ReleaseIfHeldBy releases bucket's lock if execution holds it. It reports whether it
// released one.
func (l *Ledger) ReleaseIfHeldBy(ctx context.Context, bucket, execution string) (bool, error) {
	lock, etag, err := l.LockVersion(ctx, bucket)
	if err != nil || lock == nil || lock.Execution != execution {
		return false, err
	}
	return true, l.ReleaseLock(ctx, bucket, etag)
}

// ErrChanged: a conditional write of a run ticket lost, because the ticket was
// created or changed since it was read. Read it again and decide anew.
var ErrChanged = errors.New("run ticket changed concurrently")

// CreateRunTicket writes t as its execution's run ticket only if there is none
// (If-None-Match: *). It returns the new version's ETag, or ErrChanged.
func (l *Ledger) CreateRunTicket(ctx context.Context, t drill.Ticket) (etag string, err error) {
	return l.putTicketIf(ctx, t, "*", "")
}

// ReplaceRunTicket overwrites execution's run ticket only if it is still the version
// etag (If-Match). It returns the new version's ETag, or ErrChanged.
func (l *Ledger) ReplaceRunTicket(ctx context.Context, t drill.Ticket, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("ledger replace run ticket %s: no ETag to match", t.Execution)
	}
	return l.putTicketIf(ctx, t, "", etag)
}

func (l *Ledger) putTicketIf(ctx context.Context, t drill.Ticket, ifNoneMatch, ifMatch string) (string, error) {
	if t.Execution == "" {
		return "", fmt.Errorf("ledger put run ticket: execution missing")
	}
	key := drill.RunTicketKey(t.Execution)
	body, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("ledger put %s: %w", key, err)
	}
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
	switch {
	case err == nil:
		return aws.ToString(out.ETag), nil
	// 412: the condition failed; 409: a concurrent conditional write won; 404: If-Match
	// on a key that is gone. In every case the ticket is not the version we decided on.
	case isPreconditionFailed(err), isConditionalConflict(err), ifMatch != "" && isNotFound(err):
		return "", fmt.Errorf("ledger put %s: %w", key, ErrChanged)
	default:
		return "", pab.Wrap(err, "ledger put %s", key)
	}
}

// RunTicketVersion returns execution's run ticket and its ETag, nil when there is none.
func (l *Ledger) RunTicketVersion(ctx context.Context, execution string) (*drill.Ticket, string, error) {
	if execution == "" {
		return nil, "", fmt.Errorf("ledger run ticket: execution missing")
	}
	return l.getTicketVersion(ctx, drill.RunTicketKey(execution))
}

// PutRunTicket writes (or overwrites) t as its execution's run ticket.
func (l *Ledger) PutRunTicket(ctx context.Context, t drill.Ticket) error {
	if t.Execution == "" {
		return fmt.Errorf("ledger put run ticket: ticket has no execution")
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("ledger put run ticket %s: %w", t.Execution, err)
	}
	return l.put(ctx, drill.RunTicketKey(t.Execution), body, ContentTypeJSON)
}

// RunTicket returns execution's run ticket, nil when there is none.
func (l *Ledger) RunTicket(ctx context.Context, execution string) (*drill.Ticket, error) {
	if execution == "" {
		return nil, fmt.Errorf("ledger run ticket: no execution")
	}
	return l.getTicket(ctx, drill.RunTicketKey(execution))
}

// PutReport writes execution's report.json and report.html.
func (l *Ledger) PutReport(ctx context.Context, execution string, jsonBody, htmlBody []byte) error {
	if execution == "" {
		return fmt.Errorf("ledger put report: no execution")
	}
	if err := l.put(ctx, drill.ReportKey(execution), jsonBody, ContentTypeJSON); err != nil {
		return err
	}
	return l.put(ctx, drill.ReportHTMLKey(execution), htmlBody, ContentTypeHTML)
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

func (l *Ledger) getTicket(ctx context.Context, key string) (*drill.Ticket, error) {
	t, _, err := l.getTicketVersion(ctx, key)
	return t, err
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
// is an error, never "no lock".
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
