package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// TestRunsNamed reads one name's runs from the replica's ledger over real HTTP: two
// runs with their start in the key, a legacy folder whose start is in its restore
// record, and a run ticket that is no run's evidence. The runs come back oldest first,
// the legacy one placed by its record's start, and each run's restore records read.
func TestRunsNamed(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := sb.Config()
	api := awsconf.SandboxFactory(sb.S3Endpoints())(cfg.PrimaryRegion)
	ctx := context.Background()
	put := func(key string, v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cfg.LedgerBucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	early, late, legacy := drill.At(t0), drill.At(t0.Add(48*time.Hour)), drill.At(t0.Add(24*time.Hour))
	put(drill.ReportKey("w23", late), map[string]any{"verdict": drill.Pass, "startedAt": late.Time()})
	put(drill.ReportKey("w23", early), map[string]any{"verdict": drill.Fail, "startedAt": early.Time()})
	put(drill.RestoreRecordKey("w23", early, drill.ReasonSafetyNet), drill.RestoreRecord{Execution: "w23", StartTime: early, Reason: drill.ReasonSafetyNet, ExecutionStatus: "ABORTED"})
	put(drill.RunFolder{Execution: "w23"}.Key(drill.RestoreRecordFile(drill.ReasonSweeper)),
		drill.RestoreRecord{Execution: "w23", StartTime: legacy, Reason: drill.ReasonSweeper, ExecutionStatus: "TIMED_OUT"})
	put(drill.ReportKey("w230", early), map[string]any{"verdict": drill.Pass}) // another name, same beginning

	runs, err := ledger.RunsNamed(ctx, api, cfg.LedgerBucket, "w23", false)
	if err != nil {
		t.Fatal(err)
	}
	var starts []drill.Instant
	for _, r := range runs {
		starts = append(starts, r.StartedAt)
	}
	if want := []drill.Instant{early, legacy, late}; len(starts) != 3 || !starts[0].Equal(want[0]) || !starts[1].Equal(want[1]) || !starts[2].Equal(want[2]) {
		t.Fatalf("starts %v, want %v (the legacy run placed by its record)", starts, want)
	}
	if !runs[1].Legacy() || runs[0].Legacy() {
		t.Errorf("legacy flags: %v %v, want only the middle run legacy", runs[0].Legacy(), runs[1].Legacy())
	}
	recs, err := ledger.RestoreRecords(ctx, api, cfg.LedgerBucket, runs[0].Folder)
	if err != nil || len(recs) != 1 || recs[0].ExecutionStatus != "ABORTED" {
		t.Errorf("restore records of the first run: %+v, %v; want the safety net's ABORTED", recs, err)
	}
	if recs, err := ledger.RestoreRecords(ctx, api, cfg.LedgerBucket, runs[2].Folder); err != nil || len(recs) != 0 {
		t.Errorf("restore records of the last run: %+v, %v; want none", recs, err)
	}

	// A missing bucket is a NotFoundError naming it, for the listing and for a read.
	_, err = ledger.RunsNamed(ctx, api, "no-such-ledger", "w23", false)
	var nf *ledger.NotFoundError
	if !errors.As(err, &nf) || nf.Code != "NoSuchBucket" {
		t.Errorf("listing a missing bucket: %v, want a NotFoundError NoSuchBucket", err)
	}
	_, err = ledger.GetObject(ctx, api, cfg.LedgerBucket, drill.ReportKey("nobody", early))
	if !errors.As(err, &nf) || nf.Code != "NoSuchKey" {
		t.Errorf("reading a missing key: %v, want a NotFoundError NoSuchKey", err)
	}
}
