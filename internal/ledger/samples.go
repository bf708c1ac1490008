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
	body, err := json.Marshal(log)
	if err != nil {
		return "", fmt.Errorf("ledger put samples: %w", err)
	}
	key := drill.SamplesKey(log.Execution, log.ExecutionStartTime, log.Mode)
	return key, l.put(ctx, key, body, ContentTypeJSON)
}

// Samples reads a probe mode's sample log of the run that started at start; nil when
// there is none.
func (l *Ledger) Samples(ctx context.Context, execution string, start drill.Instant, mode string) (*drill.SampleLog, error) {
	key := drill.SamplesKey(execution, start, mode)
	out, err := l.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, pab.Wrap(err, "ledger get %s", key)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, MaxSampleLogBytes+1))
	if err != nil {
		return nil, pab.Wrap(err, "ledger read %s", key)
	}
	if len(body) > MaxSampleLogBytes {
		return nil, fmt.Errorf("ledger read %s: larger than %d bytes", key, MaxSampleLogBytes)
	}
	var log drill.SampleLog
	if err := json.Unmarshal(body, &log); err != nil {
		return nil, fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return &log, nil
}

// PutWrites writes a database mode's write and read samples to drill.WritesKey.
func (l *Ledger) PutWrites(ctx context.Context, log drill.WriteLog) (string, error) {
	if log.Execution == "" || log.ExecutionStartTime.IsZero() || log.Mode == "" {
		return "", fmt.Errorf("ledger put writes: execution, its start or mode missing (execution %q, executionStartTime %q, mode %q)",
			log.Execution, log.ExecutionStartTime, log.Mode)
	}
	body, err := json.Marshal(log)
	if err != nil {
		return "", fmt.Errorf("ledger put writes: %w", err)
	}
	key := drill.WritesKey(log.Execution, log.ExecutionStartTime, log.Mode)
	return key, l.put(ctx, key, body, ContentTypeJSON)
}

// Writes reads a database mode's samples; nil when there are none.
func (l *Ledger) Writes(ctx context.Context, execution string, start drill.Instant, mode string) (*drill.WriteLog, error) {
	key := drill.WritesKey(execution, start, mode)
	out, err := l.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, pab.Wrap(err, "ledger get %s", key)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, MaxSampleLogBytes+1))
	if err != nil {
		return nil, pab.Wrap(err, "ledger read %s", key)
	}
	if len(body) > MaxSampleLogBytes {
		return nil, fmt.Errorf("ledger read %s: larger than %d bytes", key, MaxSampleLogBytes)
	}
	var log drill.WriteLog
	if err := json.Unmarshal(body, &log); err != nil {
		return nil, fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return &log, nil
}
