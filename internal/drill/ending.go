package drill

import (
	"encoding/json"
	"time"
)

// Endings (Ending.Kind): every way a run can end.
const (
	EndPassed           = "passed"             // the drill ran and its verdict is pass
	EndFailed           = "failed"             // the drill ran to its verdict, which is fail
	EndInvalidInput     = "invalid-input"      // the input was refused before anything was touched
	EndRefused          = "refused"            // stopped before the block: lock held, not ready, steady state not met, seeding failed
	EndFailedAfterBlock = "failed-after-block" // a state failed after the bucket was blocked; the failure path restored it
	EndAborted          = "aborted"            // the execution was stopped
	EndTimedOut         = "timed-out"          // the execution ran out of its TimeoutSeconds
	EndRestoreFailed    = "restore-failed"     // the restore did not finish: the bucket may still be blocked
	EndBucketChanged    = "bucket-changed"     // someone changed the bucket during the drill; restore kept their settings
	EndDryRun           = "dry-run"            // a dry run: the bucket was read, never written
)

// Ending is how a run ended, for every ending: which state failed or was interrupted
// and the original error in full; what the drill touched; what was put back, by whom,
// and how it was verified.
type Ending struct {
	Kind string `json:"kind"`
	// State is the state that failed or was interrupted; "" when none did. On AWS a
	// failed state is inferred from the results the execution holds (StateInferred).
	State         string `json:"state,omitempty"`
	StateInferred bool   `json:"stateInferred,omitempty"`
	// Error is the error that ended the run, its message taken out of the Lambda error
	// envelope, never cut; RestoreError the restore's own, when it did not finish. In
	// JSON they are the report's error and restoreError (once: a report is also a Step
	// Functions payload, with its size limit).
	Error        *ErrorInfo `json:"-"`
	RestoreError *ErrorInfo `json:"-"`
	// Touched lists what the drill changed outside its ledger, one fact a line; empty:
	// nothing.
	Touched []string `json:"touched"`
	// BucketBlocked: the drill changed the primary bucket's Block Public Access.
	BucketBlocked bool `json:"bucketBlocked"`
	// Restored says what was put back, by whom and how it was verified, or why nothing
	// needed to be; RestoredBy names who: "flow" (the Restore state), "failure path"
	// (RestoreAfterFailure), "safety net", "sweeper", or "" (nobody needed to, or nobody
	// could).
	Restored   string `json:"restored"`
	RestoredBy string `json:"restoredBy,omitempty"`
	// Next is what a person should do now, when anything.
	Next string `json:"next,omitempty"`
}

// CartFacts is the seeded cart read through the secondary API after failover. When it
// was never read, NotChecked says why and Intact and Got are left out.
type CartFacts struct {
	User       string   `json:"user,omitempty"` // the synthetic user's email
	Intact     bool     `json:"intact"`
	Expected   []string `json:"expected"`
	Got        []string `json:"got"`
	NotChecked string   `json:"notChecked,omitempty"`
	// Names are the seeded unicorns' names by uuid, for people (the report's page).
	Names map[string]string `json:"names,omitempty"`
}

// MarshalJSON leaves out what was not measured.
func (c CartFacts) MarshalJSON() ([]byte, error) {
	if c.NotChecked != "" {
		return json.Marshal(struct {
			User       string            `json:"user,omitempty"`
			Expected   []string          `json:"expected,omitempty"`
			NotChecked string            `json:"notChecked"`
			Names      map[string]string `json:"names,omitempty"`
		}{c.User, c.Expected, c.NotChecked, c.Names})
	}
	type plain CartFacts
	return json.Marshal(plain(c))
}

// RestoreFacts is what put the bucket back. Needed is false when the drill never
// changed the bucket: then there is no prior, read-back or match to report, and
// NotNeeded says why.
type RestoreFacts struct {
	Needed       bool               `json:"needed"`
	By           string             `json:"by,omitempty"`
	MatchesPrior bool               `json:"matchesPrior"`
	Prior        *PublicAccessBlock `json:"prior"` // null: the bucket had no configuration
	ReadBack     *PublicAccessBlock `json:"readBack"`
	RestoredAt   *time.Time         `json:"restoredAt,omitempty"`
	CartCleared  bool               `json:"cartCleared,omitempty"`
	NotNeeded    string             `json:"notNeeded,omitempty"`
	// NotRestored: the bucket needed its restore and no restore finished; there is no
	// read-back to report.
	NotRestored string `json:"notRestored,omitempty"`
}

// MarshalJSON leaves out the prior, read-back and match of a restore that was not needed.
func (r RestoreFacts) MarshalJSON() ([]byte, error) {
	if !r.Needed && r.By == "dry run" {
		// What the dry run read, and left as it was.
		return json.Marshal(struct {
			Needed    bool               `json:"needed"`
			By        string             `json:"by"`
			Prior     *PublicAccessBlock `json:"prior"`
			NotNeeded string             `json:"notNeeded,omitempty"`
		}{false, r.By, r.Prior, r.NotNeeded})
	}
	if !r.Needed {
		return json.Marshal(struct {
			Needed    bool   `json:"needed"`
			By        string `json:"by,omitempty"`
			NotNeeded string `json:"notNeeded,omitempty"`
		}{false, r.By, r.NotNeeded})
	}
	if r.NotRestored != "" && r.Prior == nil && r.ReadBack == nil {
		return json.Marshal(struct {
			Needed       bool   `json:"needed"`
			By           string `json:"by,omitempty"`
			MatchesPrior bool   `json:"matchesPrior"`
			NotRestored  string `json:"notRestored"`
		}{true, r.By, false, r.NotRestored})
	}
	type plain RestoreFacts
	return json.Marshal(plain(r))
}

// UnmarshalJSON reads a restore; a report from before Needed existed had always
// blocked the bucket when it had a prior or a read-back, or a match.
func (r *RestoreFacts) UnmarshalJSON(b []byte) error {
	type plain RestoreFacts
	var p struct {
		plain
		Needed *bool `json:"needed"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = RestoreFacts(p.plain)
	if p.Needed != nil {
		r.Needed = *p.Needed
	} else {
		r.Needed = r.MatchesPrior || r.Prior != nil || r.ReadBack != nil
	}
	return nil
}

// Errors returns the report's user-visible error count and whether it was measured.
func (r Report) Errors() (int, bool) {
	if r.UserVisibleErrors == nil {
		return 0, false
	}
	return *r.UserVisibleErrors, true
}

// Cost is what one drill used of each billed service, and its price estimated from the
// published per-unit prices (internal/cost holds them, with their date).
type Cost struct {
	// StateTransitions counts Step Functions state transitions (each state entered,
	// retries included: a retry is billed as a transition).
	StateTransitions int `json:"stateTransitions"`
	// Lambda is each function's use: memory × billed duration, and invocations.
	Lambda []FunctionUse `json:"lambda"`
	// DistributionRequests are the HTTPS requests the drill sent to the CloudFront
	// distribution: the probe's samples and seed-cart's config.json.
	DistributionRequests RequestCount `json:"distributionRequests"`
	// S3Requests are requests to S3: Put counts PUT, COPY, POST and LIST (S3's dearer
	// tier: PutPublicAccessBlock, PutObject, ListObjectsV2), Get the GETs and the others
	// (GetPublicAccessBlock, GetObject, HEAD); DELETEs are free and not counted.
	S3Requests S3Count `json:"s3Requests"`
	// Lines are the price of each item; EstimatedUSD their sum.
	Lines        []CostLine `json:"lines"`
	EstimatedUSD float64    `json:"estimatedUsd"`
	// PricesAsOf is the date the unit prices were read (us-east-1, on-demand, no free
	// tier); Source says how the quantities were had: "measured" (local mode: the
	// runner's events, the replica's request log) or "counted" (on AWS: from the
	// results the execution holds).
	PricesAsOf string `json:"pricesAsOf"`
	Source     string `json:"source"`
	// Notes say what the estimate leaves out or counts specially, each with why.
	Notes []string `json:"notes,omitempty"`
}

// FunctionUse is one Lambda function's share of a drill.
type FunctionUse struct {
	Function    string  `json:"function"`
	MemoryMB    int     `json:"memoryMb"`
	Invocations int     `json:"invocations"`
	BilledMs    int64   `json:"billedMs"`
	GBSeconds   float64 `json:"gbSeconds"`
}

// RequestCount are the requests to the distribution, by who sent them.
type RequestCount struct {
	Probe int `json:"probe"`
	Seed  int `json:"seed"`
	Total int `json:"total"`
}

// S3Count are S3 requests by price tier.
type S3Count struct {
	Put int `json:"put"`
	Get int `json:"get"`
}

// CostLine is one priced item.
type CostLine struct {
	Item      string  `json:"item"`
	Quantity  float64 `json:"quantity"`
	Unit      string  `json:"unit"`
	UnitPrice float64 `json:"unitPriceUsd"`
	USD       float64 `json:"usd"`
}

// RestoreRecordReasons are the restores that record themselves, in the order they run.
var RestoreRecordReasons = []string{ReasonSafetyNet, ReasonSweeper, ReasonOperator}

// RestoreRecord is one restore that ran after its execution ended.
type RestoreRecord struct {
	Execution    string  `json:"execution"`
	ExecutionArn string  `json:"executionArn"`
	StartTime    Instant `json:"startTime"`
	Reason       string  `json:"reason"`
	// ExecutionStatus is how the execution ended, as the safety net's event or Step
	// Functions told the restore ("" when it was not told).
	ExecutionStatus string         `json:"executionStatus,omitempty"`
	At              time.Time      `json:"at"`
	Result          *RestoreResult `json:"result,omitempty"`
	// Error is why the restore failed, in full: the bucket may still be blocked.
	Error string `json:"error,omitempty"`
	// ExecutionHistory is what Step Functions' history of a stopped, timed-out or
	// failed execution says about its end, read after the restore; HistoryError why it
	// could not be read (best effort: it never holds up or fails the restore).
	ExecutionHistory *HistoryFacts `json:"executionHistory,omitempty"`
	HistoryError     string        `json:"historyError,omitempty"`
}

// HistoryFacts is which state an execution was in when it was stopped or timed out
// (InterruptedState: entered, never exited), or which state failed it (FailedState:
// the last Task whose failure no retry made good, else the state it failed in), with
// the error and cause in full: the failed Task's, else the execution's own.
type HistoryFacts struct {
	InterruptedState string `json:"interruptedState,omitempty"`
	FailedState      string `json:"failedState,omitempty"`
	Error            string `json:"error,omitempty"`
	Cause            string `json:"cause,omitempty"`
}
