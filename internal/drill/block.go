package drill

import (
	"encoding/json"
	"time"
)

// block-bucket's payload and result.

// BlockInput is block-bucket's payload.
type BlockInput struct {
	Config       json.RawMessage `json:"config"`
	Execution    string          `json:"execution"`
	ExecutionArn string          `json:"executionArn"`
	StartTime    Instant         `json:"startTime"`
	Seed         *SeedResult     `json:"seed,omitempty"`
}

// ID is the execution the payload is for.
func (in BlockInput) ID() RunID {
	return RunID{Execution: in.Execution, ExecutionArn: in.ExecutionArn, StartTime: in.StartTime}
}

// BlockResult is block-bucket's output.
type BlockResult struct {
	Timing
	Bucket string             `json:"bucket"`
	Region string             `json:"region"`
	Prior  *PublicAccessBlock `json:"prior"` // nil: the bucket had none
	// BlockSentAt is when the block's put was sent: it cannot have taken effect
	// earlier, so it is the earliest the failover can have begun (the probe counts from
	// it). BlockedAt is when S3 acknowledged the put: the block was in place by then.
	BlockSentAt time.Time `json:"blockSentAt"`
	BlockedAt   time.Time `json:"blockedAt"`
	Reinvoked   bool      `json:"reinvoked"` // the ticket already existed for this execution
	// DryRun: the ticket was claimed, the lock taken and the configuration read, but
	// the bucket was not changed; Restore then releases the lock.
	DryRun bool `json:"dryRun"`
}
