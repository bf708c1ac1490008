package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

// A probe mode's sample log is written under the run's folder and read back; a log
// that names no run is refused, a missing one reads as none, and one larger than
// MaxSampleLogBytes is refused rather than cut.
func TestSamples(t *testing.T) {
	ctx := context.Background()
	start := ledgertest.ID("run-a").StartTime
	log := drill.SampleLog{Execution: "run-a", ExecutionStartTime: start, Mode: drill.ModeFailover, Want: "us-west-2",
		Start: time.Date(2025, 6, 1, 12, 1, 0, 0, time.UTC), End: time.Date(2025, 6, 1, 12, 2, 0, 0, time.UTC)}
	store := ledgertest.New()
	l := store.Ledger()

	for _, bad := range []drill.SampleLog{
		{ExecutionStartTime: start, Mode: drill.ModeFailover},
		{Execution: "run-a", Mode: drill.ModeFailover},
		{Execution: "run-a", ExecutionStartTime: start},
	} {
		if key, err := l.PutSamples(ctx, bad); err == nil || key != "" || !strings.Contains(err.Error(), "missing") {
			t.Errorf("PutSamples(%+v) = %q, %v: want refused", bad, key, err)
		}
	}
	if keys := store.Keys(); len(keys) != 0 {
		t.Fatalf("refused logs written: %v", keys)
	}

	if got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover); got != nil || err != nil {
		t.Errorf("no log: %+v, %v", got, err)
	}
	key, err := l.PutSamples(ctx, log)
	want := drill.SamplesKey("run-a", start, drill.ModeFailover)
	if err != nil || key != want {
		t.Fatalf("PutSamples = %q, %v; want %q", key, err, want)
	}
	if o := store.Objects[key]; o.ContentType != ledger.ContentTypeJSON {
		t.Errorf("content type %q", o.ContentType)
	}
	got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover)
	if err != nil || got == nil || got.Execution != "run-a" || !got.ExecutionStartTime.Equal(start) || got.Mode != drill.ModeFailover || got.Want != "us-west-2" || !got.End.Equal(log.End) {
		t.Errorf("Samples = %+v, %v", got, err)
	}

	// Exactly the bound is read; one byte more is refused.
	body, _ := json.Marshal(log)
	padded := append(body, bytes.Repeat([]byte(" "), ledger.MaxSampleLogBytes-len(body))...)
	store.Objects[key] = ledgertest.Object{Body: padded, ETag: `"big"`}
	if got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover); err != nil || got == nil || got.Want != "us-west-2" {
		t.Errorf("a log of exactly %d bytes: %v", ledger.MaxSampleLogBytes, err)
	}
	store.Objects[key] = ledgertest.Object{Body: append(padded, ' '), ETag: `"bigger"`}
	if got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover); err == nil || got != nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a log one byte over the bound: %+v, %v", got, err)
	}
	store.Objects[key] = ledgertest.Object{Body: []byte("<html>"), ETag: `"x"`}
	if got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover); err == nil || got != nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("an undecodable log: %+v, %v", got, err)
	}

	store.GetErr = func(string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
	if got, err := l.Samples(ctx, "run-a", start, drill.ModeFailover); err == nil || got != nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("read denied: %+v, %v", got, err)
	}
	store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 403, "AccessDenied") }
	if _, err := l.PutSamples(ctx, log); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("write denied: %v", err)
	}
}

// A restore record is written next to the run's report, under its reason; one that
// names no run or reason is refused.
func TestPutRestoreRecord(t *testing.T) {
	ctx := context.Background()
	id := ledgertest.ID("run-a")
	rec := drill.RestoreRecord{Execution: "run-a", ExecutionArn: id.ExecutionArn, StartTime: id.StartTime, Reason: drill.ReasonSweeper, ExecutionStatus: "ABORTED"}
	store := ledgertest.New()
	l := store.Ledger()
	for _, bad := range []drill.RestoreRecord{
		{StartTime: id.StartTime, Reason: drill.ReasonSweeper},
		{Execution: "run-a", Reason: drill.ReasonSweeper},
		{Execution: "run-a", StartTime: id.StartTime},
	} {
		if err := l.PutRestoreRecord(ctx, bad); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("PutRestoreRecord(%+v) = %v: want refused", bad, err)
		}
	}
	if keys := store.Keys(); len(keys) != 0 {
		t.Fatalf("refused records written: %v", keys)
	}
	if err := l.PutRestoreRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	key := drill.RestoreRecordKey("run-a", id.StartTime, drill.ReasonSweeper)
	o, ok := store.Objects[key]
	if !ok || o.ContentType != ledger.ContentTypeJSON {
		t.Fatalf("record at %s: %+v (keys %v)", key, o, store.Keys())
	}
	var got drill.RestoreRecord
	if err := json.Unmarshal(o.Body, &got); err != nil || got.Execution != "run-a" || got.Reason != drill.ReasonSweeper || got.ExecutionStatus != "ABORTED" {
		t.Errorf("record %+v, %v", got, err)
	}
	store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 503, "SlowDown") }
	if err := l.PutRestoreRecord(ctx, rec); err == nil || !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("write fails: %v", err)
	}
}
