package drill

import (
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
	FuncDatabase  = "switch-database" // the opt-in database stage (Config.GlobalCluster)
	FuncSweeper   = "sweeper"         // not a state of the flow: runs on a schedule (see internal/sweeper)

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
