package drill

import (
	"encoding/json"
	"time"
)

// report's payload and the report: the verdict, the figures, the facts behind them.

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
	// Release is the ReleaseLock state's restore: the last look, once no block of the
	// run can land, and the lock's release.
	Release *Step[RestoreResult] `json:"release,omitempty"`
	// RecoveryCheck is the failure path's recovery check (RecoveryCheckError when it
	// failed: best effort, caught).
	RecoveryCheck      *Step[ProbeResult]     `json:"recoveryCheck,omitempty"`
	RecoveryCheckError *ErrorInfo             `json:"recoveryCheckError,omitempty"`
	Error              *ErrorInfo             `json:"error,omitempty"`
	RestoreError       *ErrorInfo             `json:"restoreError,omitempty"`
	Readiness          *Step[ReadinessResult] `json:"readiness,omitempty"`
	// Database and DatabaseBack are the database stage's two switches (opt-in).
	Database     *Step[DatabaseResult] `json:"database,omitempty"`
	DatabaseBack *Step[DatabaseResult] `json:"databaseBack,omitempty"`
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
	// Database is the database stage's account (absent without globalCluster).
	Database *DatabaseFacts `json:"database,omitempty"`
}

// DatabaseFacts is what the database stage did and what the users' writes lived.
type DatabaseFacts struct {
	GlobalCluster string `json:"globalCluster"`
	// Over and Back are the two switches (absent: not reached or failed).
	Over *DatabaseResult `json:"over,omitempty"`
	Back *DatabaseResult `json:"back,omitempty"`
	// LostWrites counts acknowledged sign-ups that could not be read back (must be 0);
	// Checked how many were read back.
	LostWrites int `json:"lostWrites"`
	Checked    int `json:"checked"`
	// WriterRestored: the writer the run recorded is the writer again (the stage's
	// back switch, or restore's look); By says which.
	WriterRestored bool   `json:"writerRestored"`
	RestoredBy     string `json:"restoredBy,omitempty"`
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
