package drill

import (
	"encoding/json"
	"fmt"
	"time"
)

// Names shared by the functions, the state machine, the local runner and infra/.
const (
	// Env vars. A function that needs one refuses to start without it.
	EnvLedgerBucket = "LEDGER_BUCKET" // block-bucket, restore, report: the ledger bucket
	EnvStopAlarms   = "STOP_ALARMS"   // readiness: the deployment's stop alarms, a JSON list

	// Function names (folders under functions/).
	FuncSeedCart  = "seed-cart"
	FuncBlock     = "block-bucket"
	FuncProbe     = "probe-cloudfront"
	FuncRestore   = "restore"
	FuncReport    = "report"
	FuncReadiness = "readiness"
	FuncSweeper   = "sweeper" // not a state of the flow: runs on a schedule (see internal/sweeper)

	// Probe modes.
	ModeSteady   = "steady"
	ModeFailover = "failover"
	ModeRecovery = "recovery"
	// ModeRecoveryCheck is the failure path's best-effort look, after its restore,
	// whether the primary serves again: recovery's measurement with a short budget
	// (RecoveryCheckBudget) and a sample log of its own.
	ModeRecoveryCheck = "recovery-check"

	// RecoveryCheckBudget bounds the recovery check's wait: it must never hold up the
	// failure path's ending for long (the ASL gives its Task 120 s); it ends as soon as
	// the primary serves stably.
	RecoveryCheckBudget = 90 * time.Second

	// BlockTimeout is block-bucket's Lambda timeout (infra/ deploys it so); restore's
	// safety net waits longer than this before its second look.
	BlockTimeout = 60 * time.Second

	// SyntheticDomain is the reserved domain (RFC 2606) of every synthetic user's email.
	SyntheticDomain = "failover-drill.example"
)

// Placeholders are the ${Placeholder} names in the ASL file. infra/
// substitutes every one at deploy time; the local runner does the same at load.
var Placeholders = []string{
	"SeedCartFunctionArn", "BlockBucketFunctionArn", "ProbeFunctionArn",
	"RestoreFunctionArn", "ReportFunctionArn", "ReadinessFunctionArn",
	"DistributionDomain", "PrimaryBucket", "PrimaryRegion", "SecondaryRegion",
	"DistributionId", "MaxReplicationLagSeconds",
	"StableSharePercent", "StableWindowSeconds", "MaxErrorRatePercent", "MaxErrorRunSeconds", "MaxLatencyP95Ms",
}

// LimitSubstitutions are the ASL substitutions of the verdict's limits from cfg: each
// limit field's placeholder (its name capitalised) and its value as a digit string.
func LimitSubstitutions(cfg Config) map[string]string {
	return map[string]string{
		"StableSharePercent":  fmt.Sprint(cfg.StableSharePercent),
		"StableWindowSeconds": fmt.Sprint(cfg.StableWindowSeconds),
		"MaxErrorRatePercent": fmt.Sprint(cfg.MaxErrorRatePercent),
		"MaxErrorRunSeconds":  fmt.Sprint(cfg.MaxErrorRunSeconds),
		"MaxLatencyP95Ms":     fmt.Sprint(cfg.MaxLatencyP95Ms),
	}
}

// Step wraps a Lambda result the way the ASL stores it (ResultSelector {"Payload.$": "$.Payload"}).
type Step[T any] struct {
	Payload T `json:"Payload"`
}

// Timing is carried by every step result so a report can list the steps in AWS too.
type Timing struct {
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// PublicAccessBlock is a bucket's Block Public Access configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool `json:"blockPublicAcls"`
	IgnorePublicAcls      bool `json:"ignorePublicAcls"`
	BlockPublicPolicy     bool `json:"blockPublicPolicy"`
	RestrictPublicBuckets bool `json:"restrictPublicBuckets"`
}

// BlockAll is "Block all public access": the fault the drill injects.
var BlockAll = PublicAccessBlock{true, true, true, true}

// ---- probe-cloudfront ----

// ProbeInput is probe-cloudfront's payload.
type ProbeInput struct {
	Mode   string          `json:"mode"`
	Config json.RawMessage `json:"config"`
	// Execution and StartTime name the run ($$.Execution.Name, $$.Execution.StartTime):
	// the probe writes its full sample log to the ledger at SamplesKey(Execution,
	// StartTime, Mode). Without both no log is written.
	Execution string  `json:"execution,omitempty"`
	StartTime Instant `json:"startTime,omitzero"`
	// Since is the moment the fault was applied (failover) or removed (recovery);
	// the measured seconds start there.
	Since *time.Time `json:"since,omitempty"`
	// Seed is the cart to look for through the secondary API (failover only).
	Seed *SeedResult `json:"seed,omitempty"`
	// StopAlarms are watched while the probe waits (failover, recovery): one in ALARM
	// ends the probe with *StopAlarm. The readiness step hands over the full list.
	StopAlarms []string `json:"stopAlarms,omitempty"`
	// Origin are the distribution's origin settings, when known (the readiness check
	// reads them); the probe's request timeout is derived from them. Absent:
	// CloudFrontOriginDefaults.
	Origin *OriginSettings `json:"origin,omitempty"`
}

// CartCheck compares the seeded cart with what the secondary API returns.
type CartCheck struct {
	Intact    bool      `json:"intact"`
	API       string    `json:"api"`
	UserUUID  string    `json:"userUuid"`
	Expected  []string  `json:"expected"`
	Got       []string  `json:"got"`
	CheckedAt time.Time `json:"checkedAt"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
}

// ProbeResult is probe-cloudfront's output: a bounded summary, whatever the number of
// samples (Step Functions payloads are capped at 256 KiB); every sample is in the
// ledger at SamplesKey.
type ProbeResult struct {
	Timing
	Mode              string     `json:"mode"`
	Since             *time.Time `json:"since,omitempty"`
	Samples           int        `json:"samples"`
	UserVisibleErrors int        `json:"userVisibleErrors"`
	Slow              int        `json:"slow"`
	CacheHits         int        `json:"cacheHits"`
	// FirstExpectedAt is when the first answer from the region this mode waits for
	// arrived (secondary for failover, primary for recovery and steady).
	FirstExpectedAt *time.Time `json:"firstExpectedAt,omitempty"`
	// Seconds is the stable time (failover, recovery): from Since until, from then on,
	// the wanted region served the stable share of samples in every stable window.
	Seconds      float64 `json:"seconds"`
	ServedRegion string  `json:"servedRegion"`
	// Phases are the figures of the switch and what visitors saw.
	Phases       *Phases    `json:"phases,omitempty"`
	SamplesKey   string     `json:"samplesKey,omitempty"`
	SamplesError string     `json:"samplesError,omitempty"` // why the log is not in the ledger
	SecondaryAPI string     `json:"secondaryApi,omitempty"`
	Cart         *CartCheck `json:"cart,omitempty"`
	LatencyP50Ms float64    `json:"latencyP50Ms"`
	LatencyP95Ms float64    `json:"latencyP95Ms"`
	// AlarmWatch is how the stop alarms were watched (failover, recovery with alarms).
	AlarmWatch *AlarmWatch `json:"alarmWatch,omitempty"`
}

// ---- seed-cart ----

// SeedInput is seed-cart's payload.
type SeedInput struct {
	Config    json.RawMessage `json:"config"`
	Execution string          `json:"execution"`
}

// User is the synthetic shop user.
type User struct {
	UUID  string `json:"uuid"`
	Email string `json:"email"`
}

// SeedResult is seed-cart's output.
type SeedResult struct {
	Timing
	User         User     `json:"user"`
	Cart         []string `json:"cart"` // unicorn uuids, sorted
	ServedRegion string   `json:"servedRegion"`
	APIHost      string   `json:"apiHost"`
}

// ---- block-bucket ----

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

// ---- the ledger ----

// Run ticket statuses. The run ticket (RunTicketKey) is where block-bucket and
// restore meet; every change of status is a conditional write, so a late or concurrent
// block-bucket can never block a bucket restore has already handled.
//
//	claimed ──► held ──► restoring ──► restored
//	   │                     └──────► changed (someone else changed the bucket during the drill)
//	   └──────────────────────► abandoned (restore came first: nothing was changed)
//
// The bucket's lock (LockKey) uses claimed (taken, nothing recorded yet), held (the
// prior is recorded) and changed: it is the copy of the restore data that never expires.
const (
	TicketClaimed   = "claimed"   // block-bucket started; the bucket is untouched
	TicketHeld      = "held"      // Prior recorded; the block may be applied
	TicketRestoring = "restoring" // restore is putting Prior back; block-bucket must undo any block it lands
	TicketRestored  = "restored"  // Prior is back and verified; final once no late block can land (see Ticket.BlockSentAt)
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

// ---- restore ----

// Restore reasons.
const (
	ReasonFlow      = "flow"       // the normal path
	ReasonFailure   = "failure"    // a Catch after a failed state
	ReasonSafetyNet = "safety-net" // EventBridge, after FAILED / TIMED_OUT / ABORTED
	ReasonSweeper   = "sweeper"    // the sweeper found the execution's lock after it ended
	ReasonOperator  = "operator"   // drill restore, with a person's credentials
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
}

// ---- report ----

// Coverage is what no probe watched between the block and the end of recovery: the
// block to the failover probe's first request (an invocation's start: a Lambda cold
// start on AWS), the failover probe's end to the restore (the Restore state's S3 calls
// and cart clean-up), the restore to the recovery probe's first request. A figure is
// absent when its ends are unknown. Visitors' errors and waits in these stretches are
// in no figure of the report.
type Coverage struct {
	BlockToFirstSampleSeconds   *float64 `json:"blockToFirstSampleSeconds,omitempty"`
	FailoverEndToRestoreSeconds *float64 `json:"failoverEndToRestoreSeconds,omitempty"`
	RestoreToFirstSampleSeconds *float64 `json:"restoreToFirstSampleSeconds,omitempty"`
	// UnsampledSeconds is their sum; SpanSeconds the block to the last probe's end;
	// UnsampledPercent the share of the span no probe watched.
	UnsampledSeconds float64 `json:"unsampledSeconds"`
	SpanSeconds      float64 `json:"spanSeconds"`
	UnsampledPercent float64 `json:"unsampledPercent"`
}

// ErrorInfo is what a Catch stores at its ResultPath.
type ErrorInfo struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// State is the state machine's document as the Report state sees it ($).
type State struct {
	Config    json.RawMessage      `json:"config,omitempty"`
	Preflight *Step[ProbeResult]   `json:"preflight,omitempty"`
	Seed      *Step[SeedResult]    `json:"seed,omitempty"`
	Block     *Step[BlockResult]   `json:"block,omitempty"`
	Failover  *Step[ProbeResult]   `json:"failover,omitempty"`
	Restore   *Step[RestoreResult] `json:"restore,omitempty"`
	Recovery  *Step[ProbeResult]   `json:"recovery,omitempty"`
	// RecoveryCheck is the failure path's recovery check (RecoveryCheckError when it
	// failed: best effort, caught).
	RecoveryCheck      *Step[ProbeResult]     `json:"recoveryCheck,omitempty"`
	RecoveryCheckError *ErrorInfo             `json:"recoveryCheckError,omitempty"`
	Error              *ErrorInfo             `json:"error,omitempty"`
	RestoreError       *ErrorInfo             `json:"restoreError,omitempty"`
	Readiness          *Step[ReadinessResult] `json:"readiness,omitempty"`
}

// ReportInput is report's payload.
type ReportInput struct {
	State     State     `json:"state"`
	Execution string    `json:"execution"`
	StartedAt time.Time `json:"startedAt"`
	// ExecutionArn names the state machine whose other executions a dry run that did
	// not end ready is compared with (a drill meanwhile makes it skipped).
	ExecutionArn string `json:"executionArn,omitempty"`
	// Interrupted is the state that was running when the execution was stopped or timed
	// out: only local mode knows it, and judges such a run after its end.
	Interrupted string `json:"-"`
}

// ConcurrentRun is a drill that ran while a dry run did (Report.ConcurrentDrill).
type ConcurrentRun struct {
	Execution    string     `json:"execution"`
	ExecutionArn string     `json:"executionArn"`
	Status       string     `json:"status"`
	StartedAt    time.Time  `json:"startedAt"`
	StoppedAt    *time.Time `json:"stoppedAt,omitempty"`
	Note         string     `json:"note,omitempty"`
}

// Verdicts. A drill passes or fails. A dry run is ready (every check passed and
// every access proved), not-ready (something failed), unverified (nothing failed but
// a check was skipped, so readiness is not proven), or skipped (a drill ran on the
// same state machine meanwhile and disturbed it: it proves nothing either way, and the
// next dry run checks again).
const (
	Pass        = "pass"
	Fail        = "fail"
	Ready       = "ready"
	Unready     = "not-ready"
	NotVerified = "unverified"
	SkippedBusy = "skipped"
)

// Verdicts lists every verdict.
var Verdicts = []string{Pass, Fail, Ready, Unready, NotVerified, SkippedBusy}

// Succeeded reports whether a verdict is a success: pass, or ready for a dry run.
func Succeeded(verdict string) bool { return verdict == Pass || verdict == Ready }

// Report is the drill's result, written to the ledger as report.json.
type Report struct {
	Execution  string    `json:"execution"`
	Verdict    string    `json:"verdict"`
	Reasons    []string  `json:"reasons"` // why the verdict is fail; empty on pass
	Summary    string    `json:"summary"` // one line for humans and the Fail state's cause
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Target     struct {
		Distribution    string `json:"distribution"`
		PrimaryBucket   string `json:"primaryBucket"`
		PrimaryRegion   string `json:"primaryRegion"`
		SecondaryRegion string `json:"secondaryRegion"`
	} `json:"target"`
	// Failover and Recovery: Seconds is the stable time (see Phases.Stable), absent
	// when there is none; NotMeasured says why a switch was not measured at all.
	Failover struct {
		Seconds      float64 `json:"seconds,omitempty"`
		Stable       bool    `json:"stable,omitempty"`
		ServedRegion string  `json:"servedRegion,omitempty"`
		// BlockSentAt is when the block's put was sent, the earliest the failover can
		// have begun: the figures count from it. BlockedAt is when S3 acknowledged it.
		BlockSentAt      *time.Time `json:"blockSentAt,omitempty"`
		BlockedAt        *time.Time `json:"blockedAt,omitempty"`
		FirstSecondaryAt *time.Time `json:"firstSecondaryAt,omitempty"`
		NotMeasured      string     `json:"notMeasured,omitempty"`
		Phases           *Phases    `json:"phases,omitempty"`
		// Late is the switch seen after the drill stopped watching the failover (a
		// block that took effect late); absent when none was seen.
		Late *LateSwitch `json:"late,omitempty"`
	} `json:"failover"`
	Recovery struct {
		Seconds        float64    `json:"seconds,omitempty"`
		Stable         bool       `json:"stable,omitempty"`
		ServedRegion   string     `json:"servedRegion,omitempty"`
		RestoredAt     *time.Time `json:"restoredAt,omitempty"`
		FirstPrimaryAt *time.Time `json:"firstPrimaryAt,omitempty"`
		NotMeasured    string     `json:"notMeasured,omitempty"`
		Phases         *Phases    `json:"phases,omitempty"`
		// ByCheck: measured by the failure path's recovery check (ModeRecoveryCheck),
		// AwaitRecovery having not run or failed.
		ByCheck bool `json:"byCheck,omitempty"`
	} `json:"recovery"`
	// PrimaryNotServing: the drill blocked the bucket and the primary was not seen
	// serving stably after the restore, neither by AwaitRecovery nor by the failure
	// path's recovery check (or the restore failed): the shop may be broken. The
	// PrimaryNotServingAfterDrill metric and alarm carry it.
	PrimaryNotServing bool `json:"primaryNotServing"`
	// Coverage is how much of the drill, from the block to the end of recovery, no
	// probe sampled.
	Coverage *Coverage `json:"coverage,omitempty"`
	// UserVisibleErrors counts every error sample of every probe mode, failed ones
	// included; absent when the probe never ran (nothing was measured).
	UserVisibleErrors *int `json:"userVisibleErrors,omitempty"`
	// Visitors is what visitors saw from the block to the end of recovery; Baseline
	// what they saw in the steady state before it.
	Visitors *VisitorStats `json:"visitors,omitempty"`
	Baseline *VisitorStats `json:"baseline,omitempty"`
	// Limits are the limits the verdict applied; LimitsFailed names those not met.
	Limits       Limits       `json:"limits"`
	LimitsFailed []string     `json:"limitsFailed"`
	Cart         CartFacts    `json:"cart"`
	Restore      RestoreFacts `json:"restore"`
	// DryRun: the bucket was never meant to change; the verdict is ready or not-ready.
	DryRun bool `json:"dryRun"`
	// Readiness lists every readiness check of the run (empty when it never ran).
	// Ready: every check passed. Skipped names the checks that could not run; a drill
	// blocks despite them only with AllowSkippedChecks, which is recorded here.
	Readiness struct {
		Ready              bool     `json:"ready"`
		Checks             []Check  `json:"checks"`
		Skipped            []string `json:"skipped"`
		AllowSkippedChecks bool     `json:"allowSkippedChecks"`
	} `json:"readiness"`
	// ConcurrentDrill is the drill that ran during a dry run, which therefore proves
	// nothing either way: verdict skipped.
	ConcurrentDrill *ConcurrentRun `json:"concurrentDrill,omitempty"`
	// StopAlarms is how the stop alarms were watched during AwaitFailover and
	// AwaitRecovery, both added up (absent when none were named): how long they went
	// unwatched, and why.
	StopAlarms *AlarmWatch `json:"stopAlarms,omitempty"`
	// Replication is the RPO evidence: how long the seeded cart took to be readable
	// through the secondary API before the block (Measured false: not observed, and
	// no seconds).
	Replication struct {
		Seconds  float64 `json:"seconds,omitempty"`
		Measured bool    `json:"measured"`
	} `json:"replication"`
	Steps []StepRecord `json:"steps"`
	// Samples are the ledger keys of the probe's sample logs, by mode.
	Samples map[string]string `json:"samples,omitempty"`
	Error   *ErrorInfo        `json:"error,omitempty"`
	Sandbox *SandboxFacts     `json:"sandbox,omitempty"`
	Timing  *TimingFacts      `json:"timing,omitempty"`

	// How the run ended and what put the bucket back, for every ending.
	//
	// RestoreError: the restore did not finish (retries exhausted, or the bucket was
	// changed during the drill): the bucket may still be blocked.
	RestoreError *ErrorInfo `json:"restoreError,omitempty"`
	// Status is the execution's end (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), when known
	// (local mode; on AWS the report is written before the execution ends).
	Status string `json:"status,omitempty"`
	// InterruptedState is the state that was running when the execution was stopped or
	// timed out.
	InterruptedState string `json:"interruptedState,omitempty"`
	// SafetyNet is what the safety net's restore did after the execution ended (local
	// mode plays the EventBridge rule), and SafetyNetError why it failed.
	SafetyNet      *RestoreResult `json:"safetyNet,omitempty"`
	SafetyNetError string         `json:"safetyNetError,omitempty"`

	// Ending says how the run ended, for every ending, in a person's terms.
	Ending *Ending `json:"ending,omitempty"`
	// Cost is what the drill used and its estimated price.
	Cost *Cost `json:"cost,omitempty"`
}

// StepRecord is one state of the execution.
type StepRecord struct {
	Name   string    `json:"name"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Status string    `json:"status"` // succeeded | failed | caught
}

// Limits are the verdict's limits on what visitors saw (Config's limit fields).
type Limits struct {
	StableSharePercent  int `json:"stableSharePercent"`
	StableWindowSeconds int `json:"stableWindowSeconds"`
	MaxErrorRatePercent int `json:"maxErrorRatePercent"`
	MaxErrorRunSeconds  int `json:"maxErrorRunSeconds"`
	MaxLatencyP95Ms     int `json:"maxLatencyP95Ms"`
	// FailoverTimeoutSeconds bounds the stable failover and the stable recovery each.
	FailoverTimeoutSeconds int `json:"failoverTimeoutSeconds"`
}

// SandboxFacts is the local replica's own account of the drill (local mode only).
type SandboxFacts struct {
	Truth struct {
		// FailoverSeconds and RecoverySeconds are the stable times an independent
		// visitor saw, by the drill's own definition, from the sandbox S3 accepting the
		// block (the restore); 0 when it never saw a stable switch.
		FailoverSeconds float64 `json:"failoverSeconds"`
		RecoverySeconds float64 `json:"recoverySeconds"`
		// VisitorIntervalMs is how often the visitor sent a request (config.json).
		VisitorIntervalMs float64 `json:"visitorIntervalMs"`
		// Failover and Recovery are the visitor's figures.
		Failover *Phases `json:"failover,omitempty"`
		Recovery *Phases `json:"recovery,omitempty"`
	} `json:"truth"`
	// ProbeErrorSeconds is |failover.seconds - truth.failoverSeconds|.
	ProbeErrorSeconds float64 `json:"probeErrorSeconds"`
	// PrimaryBucketChanges is the sandbox S3's own log of every change it accepted to
	// the primary bucket's Block Public Access during the run ("put {...}", "delete").
	PrimaryBucketChanges []string `json:"primaryBucketChanges"`
	// FailoverWithinBound: the truth's stable failover lies within the drill's stated
	// bound (give or take the visitor's own interval); likewise RecoveryWithinBound.
	FailoverWithinBound bool `json:"failoverWithinBound"`
	RecoveryWithinBound bool `json:"recoveryWithinBound"`
}

// TimingFacts is how long the whole drill took against what it had to wait for (local).
type TimingFacts struct {
	WallSeconds            float64 `json:"wallSeconds"`
	ConfiguredDelaySeconds float64 `json:"configuredDelaySeconds"`
	OverheadSeconds        float64 `json:"overheadSeconds"`
}

// FunctionMemoryMB is each function's deployed memory: infra/ deploys it, and the cost
// per drill multiplies it by the billed duration (one declaration for both).
var FunctionMemoryMB = map[string]int{
	FuncReadiness: 256,
	FuncProbe:     512,
	FuncSeedCart:  256,
	FuncBlock:     256,
	FuncRestore:   256,
	FuncReport:    256,
	FuncSweeper:   256,
}
