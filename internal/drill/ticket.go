package drill

import "time"

// The ledger's objects: run tickets and locks, their statuses and keys.

// Run ticket statuses. The run ticket (RunTicketKey) is where block-bucket and
// restore meet; every change of status is a conditional write, so a late or concurrent
// block-bucket can never block a bucket restore has already handled.
//
//	claimed ──► held ──► restoring ──► restored
//	   │                     └──────► changed (someone else changed the bucket during the drill)
//	   └──────────────────────► abandoned (restore came first: nothing was changed)
//
// The bucket's lock (LockKey) uses claimed (taken, nothing recorded yet), held (the
// prior is recorded), restored (the prior is back and verified, but a block the run
// sent may still land until SettlingUntil: the lock is kept until a look after that
// moment found the prior) and changed: it is the copy of the restore data that never
// expires, and it is released only when no change of the run can land any more.
const (
	TicketClaimed   = "claimed"   // block-bucket started; the bucket is untouched
	TicketHeld      = "held"      // Prior recorded; the block may be applied
	TicketRestoring = "restoring" // restore is putting Prior back; block-bucket must undo any block it lands
	TicketRestored  = "restored"  // Prior is back and verified; final once no late block can land (see Ticket.BlockSentAt); on a lock: settling until SettlingUntil
	TicketAbandoned = "abandoned" // restore ran before any change; block-bucket must not start
	// TicketChanged: restore found the bucket holding neither the block nor the prior:
	// someone changed it during the drill. Nothing of this run writes the bucket again;
	// the lock stays, and the sweeper reports it every sweep, until a person has set
	// what the bucket must hold and released the lock (drill unlock).
	TicketChanged = "changed"
)

// SeededCart is what restore needs to take the synthetic cart back out.
type SeededCart struct {
	APIHost  string   `json:"apiHost"`
	UserUUID string   `json:"userUuid"`
	Unicorns []string `json:"unicorns"`
}

// Ticket is the restore ticket: everything needed to put the bucket back, written to
// the ledger before the bucket is touched. It is stored twice: as the run ticket
// (RunTicketKey, under runs/, which the ledger's lifecycle rule expires) and as the
// bucket's lock (LockKey, under locks/, which never expires), so a lock never outlives
// what is needed to act on it and an operator can read it to know what to put back.
type Ticket struct {
	Bucket       string             `json:"bucket"`
	Region       string             `json:"region"`
	Execution    string             `json:"execution"`
	ExecutionArn string             `json:"executionArn"`
	StartTime    Instant            `json:"startTime"`
	CreatedAt    time.Time          `json:"createdAt"`
	Prior        *PublicAccessBlock `json:"prior"` // nil: delete the configuration on restore
	Seed         *SeededCart        `json:"seed,omitempty"`
	Status       string             `json:"status"`
	RestoredAt   *time.Time         `json:"restoredAt,omitempty"`
	// DryRun: a dry run's claim, which never blocks and is released within seconds;
	// a drill that finds the lock held by one waits for it (block.DryRunLockWait).
	DryRun bool `json:"dryRun,omitempty"`
	// BlockSentAt (the run ticket only) is when block-bucket last recorded, just before
	// sending its put, that it was about to block. It records it with a conditional
	// write while the ticket is held, so every put of this run comes from an invocation
	// that started before its record and before restore began; block-bucket lives at
	// most restore.DefaultSettle, so no block of this run can land after BlockSentAt plus
	// that. Restore undoes a block it finds on a restored run only until then.
	BlockSentAt *time.Time `json:"blockSentAt,omitempty"`
	// SettlingUntil (the lock only, status restored) is the last moment a block of the
	// run can land (BlockSentAt plus restore's Settle). The lock is kept until a look
	// after it found the prior: whoever restores next finishes that look, undoes a
	// late block it finds, and only then releases the lock.
	SettlingUntil *time.Time `json:"settlingUntil,omitempty"`
	// Database is the run's record of the users' global database (the database stage
	// only): the writer to put back, and when the run sent its switches. The lock is
	// released only once that writer is back and no switch of the run can start.
	Database *DatabaseTicket `json:"database,omitempty"`
}

// ID is the execution the ticket belongs to.
func (t Ticket) ID() RunID {
	return RunID{Execution: t.Execution, ExecutionArn: t.ExecutionArn, StartTime: t.StartTime}
}

// LockPrefix is where the locks live; nothing under it ever expires.
const LockPrefix = "locks/"

// Ledger keys.
func LockKey(bucket string) string { return LockPrefix + bucket + ".json" }

// RunTicketKey is the run ticket's key: per execution name AND start, so a run whose
// name reuses an old one's never finds the old ticket
// (runs/drill-w23/ticket-20250601T120000.123Z.json).
func RunTicketKey(id RunID) string {
	return "runs/" + id.Execution + "/ticket-" + KeyTime(id.StartTime) + ".json"
}
