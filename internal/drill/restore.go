package drill

import "time"

// restore's payload and result.

// Restore reasons.
const (
	ReasonFlow      = "flow"       // the normal path
	ReasonFailure   = "failure"    // a Catch after a failed state
	ReasonSafetyNet = "safety-net" // EventBridge, after FAILED / TIMED_OUT / ABORTED
	ReasonSweeper   = "sweeper"    // the sweeper found the execution's lock after it ended
	ReasonOperator  = "operator"   // drill restore, with a person's credentials
	// ReasonRelease is the flow's last look (the ReleaseLock state, after the
	// recovery): it waits until no block of the run can land any more, looks once
	// more and releases the lock.
	ReasonRelease = "release"
)

// RestoreInput is restore's payload: the execution's identity. Its run ticket or its
// lock names the bucket and the region; Bucket is a hint for when the run ticket has
// expired (the sweeper and the operator know the lock's bucket).
type RestoreInput struct {
	Execution    string  `json:"execution"`
	ExecutionArn string  `json:"executionArn"`
	StartTime    Instant `json:"startTime"`
	Bucket       string  `json:"bucket,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	// Status is how the execution ended (the safety net's event says; the sweeper asks
	// Step Functions), recorded with the restore.
	Status string `json:"status,omitempty"`
}

// ID is the execution the payload is for.
func (in RestoreInput) ID() RunID {
	return RunID{Execution: in.Execution, ExecutionArn: in.ExecutionArn, StartTime: in.StartTime}
}

// RestoreResult is restore's output.
type RestoreResult struct {
	Timing
	Execution        string             `json:"execution"`
	Bucket           string             `json:"bucket,omitempty"`
	NothingToRestore bool               `json:"nothingToRestore"`
	AlreadyRestored  bool               `json:"alreadyRestored"`
	Skipped          string             `json:"skipped,omitempty"` // why nothing was done
	Prior            *PublicAccessBlock `json:"prior"`
	ReadBack         *PublicAccessBlock `json:"readBack"`
	MatchesPrior     bool               `json:"matchesPrior"`
	RestoredAt       *time.Time         `json:"restoredAt,omitempty"`
	CartCleared      bool               `json:"cartCleared"`
	CartError        string             `json:"cartError,omitempty"`
	// TicketMissing: the run ticket had expired or been deleted; restore worked from
	// the bucket's lock.
	TicketMissing bool `json:"ticketMissing,omitempty"`
	// ChangedAfterRestore says why the bucket no longer holds the prior although this
	// run restored it (RestoredAt) and no block of the run can land any more: someone
	// else changed it since. ReadBack is what it holds now. A restored run is final:
	// restore leaves the bucket as it is; this is neither an error nor a mismatch.
	ChangedAfterRestore string `json:"changedAfterRestore,omitempty"`
	// SettlingUntil: the prior is back and verified, but a block of the run could still
	// land until then, so the lock is kept (drill status: "restored, settling until");
	// the next restore (the flow's ReleaseLock, the safety net, the sweeper, an
	// operator) looks again after that moment and releases it.
	SettlingUntil *time.Time `json:"settlingUntil,omitempty"`
	// LockReleasedAt is when this restore released the run's lock, after a look made
	// once no block of the run could land any more found the prior (WaitedSeconds: how
	// long it waited for that moment).
	LockReleasedAt *time.Time `json:"lockReleasedAt,omitempty"`
	WaitedSeconds  float64    `json:"waitedSeconds,omitempty"`
	// Database is what restore found and did on the global database (the database
	// stage only).
	Database *DatabaseRestore `json:"database,omitempty"`
}

// DatabaseRestore is restore's part for the global database.
type DatabaseRestore struct {
	GlobalCluster string `json:"globalCluster"`
	// Writer is the writer's region at restore's last look; Back: it is the writer
	// the run recorded, with no switch in progress, at a look made once no switch of
	// the run could start any more.
	Writer string `json:"writer"`
	Back   bool   `json:"back"`
	// SentBack: this restore switched the global database back.
	SentBack      bool    `json:"sentBack,omitempty"`
	WaitedSeconds float64 `json:"waitedSeconds,omitempty"`
}
