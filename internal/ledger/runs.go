package ledger

// The ledger's read side, for people: a run's folder and its files, every run of one
// execution name (legacy folders too), the restores recorded after a run ended, and
// typed reads of them. drill report and drill history read through these with a
// principal that may only list and get (policy.Commands["report"], ["history"]).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
)

// ReadAPI is what a reader of the ledger calls: s3:ListBucket, and s3:GetObject on
// runs/*.
type ReadAPI interface {
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObjectAPI
}

// GetObjectAPI is the S3 call that reads one ledger object.
type GetObjectAPI interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ReadAPI = (*s3.Client)(nil)

// NotFoundError is a ledger object (or the ledger bucket) that does not exist.
type NotFoundError struct {
	Bucket, Key string
	Code        string // NoSuchKey, NoSuchBucket, NotFound
}

func (e *NotFoundError) Error() string {
	if e.Code == "NoSuchBucket" {
		return fmt.Sprintf("bucket %s does not exist (reading %s; is it the stack output LedgerBucketName, in this region?)", e.Bucket, e.Key)
	}
	return fmt.Sprintf("no s3://%s/%s in the ledger (%s): is the execution name right, and has the run reached its report?", e.Bucket, e.Key, e.Code)
}

// GetObject reads a whole ledger object. A missing object or bucket is a *NotFoundError.
func GetObject(ctx context.Context, api GetObjectAPI, bucket, key string) ([]byte, error) {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch code := ae.ErrorCode(); code {
			case "NoSuchKey", "NoSuchBucket", "NotFound":
				return nil, &NotFoundError{Bucket: bucket, Key: key, Code: code}
			case "AccessDenied":
				return nil, fmt.Errorf("read s3://%s/%s: access denied (without s3:ListBucket on the bucket a missing object also reads as AccessDenied): %w", bucket, key, err)
			}
		}
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// Folder is one run's evidence in the ledger: its folder (drill.RunFolder: the run's
// name and start, or a legacy folder, where versions before the start was in the key
// wrote a name's evidence) and the files found in it.
type Folder struct {
	drill.RunFolder
	Files        []string  // file names, sorted
	LastModified time.Time // the newest file's
}

// Has reports whether the folder holds file.
func (f Folder) Has(file string) bool { return slices.Contains(f.Files, file) }

// IsRun reports whether the folder holds a run's report or a restore recorded after it
// ended (a run stopped before its Report state has only the latter).
func (f Folder) IsRun() bool { return f.Has(drill.FileReport) || f.Record() != "" }

// Record is the file of the first restore recorded after the run ended, in
// drill.RestoreRecordReasons order (the safety net's before the sweeper's); "" when
// there is none.
func (f Folder) Record() string {
	for _, reason := range drill.RestoreRecordReasons {
		if f.Has(drill.RestoreRecordFile(reason)) {
			return drill.RestoreRecordFile(reason)
		}
	}
	return ""
}

// When orders runs: a run's start, or, for a legacy folder, which has no start in its
// key, when its newest file was written (after its start).
func (f Folder) When() time.Time {
	if f.Legacy() {
		return f.LastModified
	}
	return f.Start.Time()
}

// Folders lists the run folders beneath prefix ("runs/" for every run,
// drill.RunFolder{Execution: name}.Prefix() for one name's), oldest first (When). Keys
// that are not a run's evidence (run tickets, strays) are left out. A missing bucket
// is a *NotFoundError.
func Folders(ctx context.Context, api ReadAPI, bucket, prefix string) ([]Folder, error) {
	byPrefix := map[string]*Folder{}
	var token *string
	for {
		page, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
				return nil, &NotFoundError{Bucket: bucket, Key: prefix, Code: "NoSuchBucket"}
			}
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			k, ok := drill.ParseRunKey(aws.ToString(o.Key))
			if !ok {
				continue
			}
			f := byPrefix[k.Prefix()]
			if f == nil {
				f = &Folder{RunFolder: k.RunFolder}
				byPrefix[k.Prefix()] = f
			}
			f.Files = append(f.Files, k.File)
			if t := aws.ToTime(o.LastModified); t.After(f.LastModified) {
				f.LastModified = t
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			break
		}
		token = page.NextContinuationToken
	}
	out := make([]Folder, 0, len(byPrefix))
	for _, f := range byPrefix {
		slices.Sort(f.Files)
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Folder) int {
		if c := a.When().Compare(b.When()); c != 0 {
			return c
		}
		return strings.Compare(a.Prefix(), b.Prefix())
	})
	return out, nil
}

// NamedRun is one run of a name in the ledger: its folder, and its start (a legacy
// folder's is read from its report or restore record when it is needed; zero when
// neither can be read).
type NamedRun struct {
	Folder
	StartedAt drill.Instant
}

// RunsNamed lists the runs of execution in the ledger, oldest first. A name may be
// reused (Step Functions accepts it again 90 days after its execution closed), and
// each run has its own folder. A legacy folder (written before the start was in the
// key) has no start in its key: when there are several runs, or needStarts, it is read
// from the run's report or restore record, so the runs can be ordered and picked.
func RunsNamed(ctx context.Context, api ReadAPI, bucket, execution string, needStarts bool) ([]NamedRun, error) {
	folders, err := Folders(ctx, api, bucket, drill.RunFolder{Execution: execution}.Prefix())
	if err != nil {
		return nil, err
	}
	var runs []NamedRun
	for _, f := range folders {
		if f.IsRun() {
			runs = append(runs, NamedRun{Folder: f, StartedAt: f.Start})
		}
	}
	if len(runs) < 2 && !needStarts {
		return runs, nil
	}
	for i, r := range runs {
		if r.Legacy() {
			runs[i].StartedAt = legacyStart(ctx, api, bucket, r.Folder)
		}
	}
	slices.SortStableFunc(runs, func(a, b NamedRun) int { return a.StartedAt.Time().Compare(b.StartedAt.Time()) })
	return runs, nil
}

// legacyStart is the start a legacy folder's report or restore record names (zero
// when neither can be read: the run then counts as the oldest).
func legacyStart(ctx context.Context, api GetObjectAPI, bucket string, f Folder) drill.Instant {
	file := drill.FileReport
	if !f.Has(file) {
		file = f.Record()
	}
	raw, err := GetObject(ctx, api, bucket, f.Key(file))
	if err != nil {
		return drill.Instant{}
	}
	var doc struct {
		StartedAt time.Time     `json:"startedAt"`
		StartTime drill.Instant `json:"startTime"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return drill.Instant{}
	}
	if file == drill.FileReport {
		return drill.At(doc.StartedAt)
	}
	return doc.StartTime
}

// RestoreRecords reads the restores recorded in the run's folder after the execution
// ended, in drill.RestoreRecordReasons order. On an error it returns the records read
// so far.
func RestoreRecords(ctx context.Context, api GetObjectAPI, bucket string, f Folder) ([]drill.RestoreRecord, error) {
	var out []drill.RestoreRecord
	for _, reason := range drill.RestoreRecordReasons {
		rec, err := ReadInFolder[drill.RestoreRecord](ctx, api, bucket, f, drill.RestoreRecordFile(reason))
		if err != nil {
			return out, err
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	return out, nil
}

// SampleLogs reads the run's sample logs, by probe mode; empty when it has none.
func SampleLogs(ctx context.Context, api GetObjectAPI, bucket string, f Folder) (map[string]*drill.SampleLog, error) {
	logs := map[string]*drill.SampleLog{}
	for _, mode := range drill.LogModes {
		l, err := ReadInFolder[drill.SampleLog](ctx, api, bucket, f, drill.SamplesFile(mode))
		if err != nil {
			return nil, err
		}
		if l != nil {
			logs[mode] = l
		}
	}
	return logs, nil
}

// ReadInFolder reads one JSON file of a run's folder; nil when the folder has no such
// file (or it went away since the listing).
func ReadInFolder[T any](ctx context.Context, api GetObjectAPI, bucket string, f Folder, file string) (*T, error) {
	if !f.Has(file) {
		return nil, nil
	}
	key := f.Key(file)
	raw, err := GetObject(ctx, api, bucket, key)
	var nf *NotFoundError
	switch {
	case errors.As(err, &nf):
		return nil, nil
	case err != nil:
		return nil, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return &v, nil
}
