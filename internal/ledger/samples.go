package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

// MaxSampleLogBytes bounds a sample log read back: the longest probe (840 s) sampling
// config.json every 10 ms and the page every 10 ms logs about 170,000 samples of about
// 150 bytes.
const MaxSampleLogBytes = 64 << 20

// PutSamples writes a probe mode's sample log to drill.SamplesKey(l.Execution,
// l.ExecutionStartTime, l.Mode): the probe's only write to the ledger.
func (l *Ledger) PutSamples(ctx context.Context, log drill.SampleLog) (string, error) {
	if log.Execution == "" || log.ExecutionStartTime.IsZero() || log.Mode == "" {
		return "", fmt.Errorf("ledger put samples: execution, its start or mode missing (execution %q, executionStartTime %q, mode %q)",
			log.Execution, log.ExecutionStartTime, log.Mode)
	}
	return l.putLog(ctx, drill.SamplesKey(log.Execution, log.ExecutionStartTime, log.Mode), log)
}

// Samples reads a probe mode's sample log of the run that started at start; nil when
// there is none.
func (l *Ledger) Samples(ctx context.Context, execution string, start drill.Instant, mode string) (*drill.SampleLog, error) {
	var log drill.SampleLog
	if found, err := l.getLog(ctx, drill.SamplesKey(execution, start, mode), &log); !found || err != nil {
		return nil, err
	}
	return &log, nil
}

// PutWrites writes a database mode's write and read samples to drill.WritesKey.
func (l *Ledger) PutWrites(ctx context.Context, log drill.WriteLog) (string, error) {
	if log.Execution == "" || log.ExecutionStartTime.IsZero() || log.Mode == "" {
		return "", fmt.Errorf("ledger put writes: execution, its start or mode missing (execution %q, executionStartTime %q, mode %q)",
			log.Execution, log.ExecutionStartTime, log.Mode)
	}
	return l.putLog(ctx, drill.WritesKey(log.Execution, log.ExecutionStartTime, log.Mode), log)
}

// Writes reads a database mode's samples; nil when there are none.
func (l *Ledger) Writes(ctx context.Context, execution string, start drill.Instant, mode string) (*drill.WriteLog, error) {
	var log drill.WriteLog
	if found, err := l.getLog(ctx, drill.WritesKey(execution, start, mode), &log); !found || err != nil {
		return nil, err
	}
	return &log, nil
}

// putLog writes v as JSON to key and returns the key.
func (l *Ledger) putLog(ctx context.Context, key string, v any) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("ledger put %s: %w", key, err)
	}
	return key, l.put(ctx, key, body, ContentTypeJSON)
}

// getLog reads key's JSON into v, at most MaxSampleLogBytes; found is false when
// there is no such object.
func (l *Ledger) getLog(ctx context.Context, key string, v any) (found bool, err error) {
	out, err := l.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, pab.Wrap(err, "ledger get %s", key)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, MaxSampleLogBytes+1))
	if err != nil {
		return false, pab.Wrap(err, "ledger read %s", key)
	}
	if len(body) > MaxSampleLogBytes {
		return false, fmt.Errorf("ledger read %s: larger than %d bytes", key, MaxSampleLogBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return true, nil
}
