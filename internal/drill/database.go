package drill

import (
	"encoding/json"
	"time"
)

// The database stage (opt-in: Config.GlobalCluster): switch-database's payload and
// result, and what the run records about the users' Aurora global database in its
// ticket and lock before it changes anything.

// Database stage modes.
const (
	// DatabaseOver records the writer, then switches the global database over to the
	// secondary region's cluster and measures what users' writes lived.
	DatabaseOver = "over"
	// DatabaseBack switches it back to the writer the run recorded and verifies it.
	DatabaseBack = "back"
)

// DatabaseTicket is the run's record of the global database, kept in the run ticket
// and the lock (Ticket.Database), written before the run's first switch, with the same
// rule as the bucket: the record first, then the change. Restore reads it to put the
// writer back.
type DatabaseTicket struct {
	GlobalCluster string `json:"globalCluster"`
	// PriorWriter is the member cluster (ARN) that was the writer when the run
	// recorded it, in PriorRegion: restore makes it the writer again.
	PriorWriter string `json:"priorWriter"`
	PriorRegion string `json:"priorRegion"`
	// Target is the member the run switches over to, in TargetRegion.
	Target       string `json:"target"`
	TargetRegion string `json:"targetRegion"`
	// SwitchSentAt is when the run last recorded, with a conditional write while the
	// run ticket was held and just before sending it, that it was about to switch over
	// to Target. The request is sent with a bound (DatabaseSendTimeout), so no switch of
	// the run can start after SwitchSentAt plus restore's Settle: until then the lock
	// stays, as for a late block.
	SwitchSentAt *time.Time `json:"switchSentAt,omitempty"`
	// SwitchDoneAt is when the over mode, its send answered, saw Target the writer
	// with no switch in progress. At or after SwitchSentAt, the run's last switch has
	// landed: none of it can start later, and restore need not wait for the settle.
	SwitchDoneAt *time.Time `json:"switchDoneAt,omitempty"`
	// BackSentAt is when a switch back to PriorWriter was last sent (by the stage's
	// back mode or by a restore), recorded just before it was sent.
	BackSentAt *time.Time `json:"backSentAt,omitempty"`
	// RestoredAt is when a look found PriorWriter the writer with no switch in
	// progress, after the run had sent a switch.
	RestoredAt *time.Time `json:"restoredAt,omitempty"`
	// Changed says who else moved the writer: the run found Target the writer though
	// it never sent a switch (or a member it never named). It is never undone
	// silently: restore leaves it and answers DatabaseChangedDuringDrill.
	Changed string `json:"changed,omitempty"`
}

// Switched reports whether the run sent a switch over (so restore owes a switch back).
func (d *DatabaseTicket) Switched() bool { return d != nil && d.SwitchSentAt != nil }

// DatabaseSendTimeout bounds one SwitchoverGlobalCluster call (its retries included):
// with the Lambda's own life it is why a switch of the run starts at most restore's
// Settle after SwitchSentAt.
const DatabaseSendTimeout = 30 * time.Second

// DatabaseInput is switch-database's payload.
type DatabaseInput struct {
	Mode         string          `json:"mode"`
	Config       json.RawMessage `json:"config"`
	Execution    string          `json:"execution"`
	ExecutionArn string          `json:"executionArn"`
	StartTime    Instant         `json:"startTime"`
	// PrimaryAPI and SecondaryAPI are the shop's API in each region (the seeded cart's
	// host, and the one the secondary origin's config.json names); SeedEmail is the
	// seeded user, whom the reads log in.
	PrimaryAPI   string `json:"primaryApi"`
	SecondaryAPI string `json:"secondaryApi"`
	SeedEmail    string `json:"seedEmail"`
}

// ID is the execution the payload is for.
func (in DatabaseInput) ID() RunID {
	return RunID{Execution: in.Execution, ExecutionArn: in.ExecutionArn, StartTime: in.StartTime}
}

// DatabaseResult is what one switch did and what the users' writes lived meanwhile.
// Every time is UTC; every "seconds" figure counts from SentAt.
type DatabaseResult struct {
	Timing
	Mode          string `json:"mode"`
	GlobalCluster string `json:"globalCluster"`
	// From and To are the regions whose clusters were the writer before and after.
	From string `json:"from"`
	To   string `json:"to"`
	// SentAt is when the switch was sent; AcceptedAt when RDS accepted it. Reinvoked:
	// a switch of this run to To was already in progress or done, none was sent.
	SentAt     time.Time `json:"sentAt"`
	AcceptedAt time.Time `json:"acceptedAt"`
	Reinvoked  bool      `json:"reinvoked,omitempty"`
	// DoneAt is the first look (DescribeGlobalClusters) that found To the writer with
	// no switch in progress; SwitchSeconds = DoneAt − SentAt, bounded below by the last
	// look that still found the switch in progress (SwitchMinSeconds).
	DoneAt           *time.Time `json:"doneAt,omitempty"`
	SwitchSeconds    *float64   `json:"switchSeconds,omitempty"`
	SwitchMinSeconds *float64   `json:"switchMinSeconds,omitempty"`
	// States are the switch's FailoverState statuses as the looks saw them change (at
	// most MaxDatabaseStates, the last one the latest).
	States []DatabaseState `json:"states"`
	Writes WriteFigures    `json:"writes"`
	// Reads are log-ins through the secondary region's API (which reads its own
	// cluster) while the switch ran: reads must keep working throughout.
	Reads ReadFigures `json:"reads"`
	// ReadBack: every acknowledged sign-up, logged in through To's API afterwards.
	ReadBack ReadBack `json:"readBack"`
	// TimedOut: To was not the writer within databaseSwitchTimeoutSeconds.
	TimedOut bool `json:"timedOut,omitempty"`
}

// MaxDatabaseStates bounds DatabaseResult.States (the result must stay small).
const MaxDatabaseStates = 100

// DatabaseState is one FailoverState status seen, from when (seconds after SentAt),
// with the writer's region at that look ("" status: no switch in progress).
type DatabaseState struct {
	Status string  `json:"status"`
	At     float64 `json:"at"`
	Writer string  `json:"writer"`
}

// WriteSample is one sign-up through a region's API.
type WriteSample struct {
	Region string    `json:"region"`
	N      int       `json:"n"`
	Email  string    `json:"email"`
	SentAt time.Time `json:"sentAt"`
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Error  string    `json:"error,omitempty"`
}

// WriteFigures are what the sign-ups lived: the write outage is from the moment From
// stopped accepting writes to the moment To started (each bounded by the samples
// around it), in seconds after SentAt.
type WriteFigures struct {
	IntervalMs int `json:"intervalMs"`
	// Sent, Acknowledged per region.
	Sent         map[string]int `json:"sent"`
	Acknowledged map[string]int `json:"acknowledged"`
	// LastFromAck is when the last write From's API acknowledged before its first
	// refusal after SentAt was sent; FirstToAck when the first one To's API
	// acknowledged after its own first refusal was answered.
	LastFromAck *float64 `json:"lastFromAck,omitempty"`
	FirstToAck  *float64 `json:"firstToAck,omitempty"`
	// OutageSeconds is the write outage (midpoint estimate) and OutageMin..OutageMax
	// its bounds from the samples around both ends; nil when To accepted no write.
	OutageSeconds *float64 `json:"outageSeconds,omitempty"`
	OutageMin     *float64 `json:"outageMin,omitempty"`
	OutageMax     *float64 `json:"outageMax,omitempty"`
	// StaleWrites are writes refused as read-only (MySQL 1290) after the switch was
	// done: the old region's application writing to its own, now read-only, cluster,
	// or a client whose cached DNS still names the demoted node.
	StaleWrites int `json:"staleWrites"`
	// Errors counts refusals by kind ("1290 read-only", "2003 cannot connect", ...).
	Errors map[string]int `json:"errors,omitempty"`
	// SamplesKey is where every write and read sample is kept in the ledger
	// (WritesKey): the result itself must stay small for Step Functions.
	SamplesKey   string `json:"samplesKey,omitempty"`
	SamplesError string `json:"samplesError,omitempty"`
}

// WriteLog is a database mode's samples, kept in the ledger.
type WriteLog struct {
	Execution          string        `json:"execution"`
	ExecutionStartTime Instant       `json:"executionStartTime"`
	Mode               string        `json:"mode"`
	Writes             []WriteSample `json:"writes"`
	Reads              []WriteSample `json:"reads"`
}

// WritesKey is where a database mode's samples live: runs/<execution>/<start>/writes-<mode>.json.
func WritesKey(execution string, start Instant, mode string) string {
	return RunFolder{Execution: execution, Start: start}.Key("writes-" + mode + ".json")
}

// ReadFigures are log-ins through a region's API during the switch.
type ReadFigures struct {
	Region string `json:"region"`
	Sent   int    `json:"sent"`
	OK     int    `json:"ok"`
	// LongestFailedSeconds is the longest stretch of failed log-ins.
	LongestFailedSeconds float64 `json:"longestFailedSeconds"`
}

// ReadBack is the lost-write check: every sign-up the shop acknowledged, logged in
// through Region's API once the switch was over.
type ReadBack struct {
	Region  string `json:"region"`
	Checked int    `json:"checked"`
	// Lost counts the acknowledged sign-ups not found: lost writes. Missing names the
	// first MaxMissingNamed of them (the payload must stay small for Step Functions;
	// every write is in the ledger's writes-<mode>.json).
	Lost    int      `json:"lost"`
	Missing []string `json:"missing"`
	// Note says what was not read back, and why.
	Note string `json:"note,omitempty"`
}

// MaxMissingNamed bounds the lost writes a result names.
const MaxMissingNamed = 20
