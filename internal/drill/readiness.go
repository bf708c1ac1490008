package drill

import (
	"encoding/json"
	"time"
)

// ---- readiness ----

// Readiness modes: the checks before anything changes, then, after SeedCart, the
// replication check, which extends the first result.
const (
	ModeChecks      = "checks"
	ModeReplication = "replication"
)

// Check names, in the order a report lists them.
const (
	CheckDistribution    = "distribution"
	CheckSecondaryOrigin = "secondary-origin"
	CheckAccountPAB      = "account-public-access-block"
	CheckStopAlarms      = "stop-alarms"
	CheckReplication     = "replication"
)

// The database stage's checks (only with globalCluster): the global cluster before
// anything changes, then, after SeedCart, the users' replication and the secondary's
// refusal of writes.
const (
	CheckDatabase            = "database"
	CheckDatabaseReplication = "database-replication"
)

// DatabaseCheckNames are the checks a run with globalCluster adds, in report order.
var DatabaseCheckNames = []string{CheckDatabase, CheckDatabaseReplication}

// CheckNames lists every check in report order.
var CheckNames = []string{CheckDistribution, CheckSecondaryOrigin, CheckAccountPAB, CheckStopAlarms, CheckReplication}

// Check statuses. Skipped is never a silent pass: Reason says why it did not run.
const (
	CheckPass    = "pass"
	CheckFail    = "fail"
	CheckSkipped = "skipped"
)

// Check is one readiness check's outcome.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Evidence is what was read, in a person's words.
	Evidence []string `json:"evidence"`
	// Reason says why the check failed or was skipped.
	Reason string `json:"reason,omitempty"`
	// Action is what a person can do about a fail or a skip.
	Action string `json:"action,omitempty"`
}

// ReadinessInput is readiness's payload.
type ReadinessInput struct {
	Mode      string          `json:"mode"`
	Config    json.RawMessage `json:"config"`
	Execution string          `json:"execution"`
	// Seed and Previous are the replication mode's: the seeded cart, and the checks
	// mode's result it extends.
	Seed     *SeedResult      `json:"seed,omitempty"`
	Previous *ReadinessResult `json:"previous,omitempty"`
}

// ReadinessResult is readiness's output. Proceed is the state machine's choice: false
// stops the drill before BlockBucket (error NotReady), as soon as one check failed, or
// one was skipped in a drill without allowSkippedChecks (a check that could not run
// did not guard the block). A dry run with a skipped check goes on, to prove what it
// can, and its verdict is unverified.
type ReadinessResult struct {
	Timing
	// Ready: every check passed (none failed, none skipped).
	Ready   bool `json:"ready"`
	Proceed bool `json:"proceed"`
	// Skipped names the skipped checks, in report order.
	Skipped            []string `json:"skipped"`
	AllowSkippedChecks bool     `json:"allowSkippedChecks"`
	// DryRun echoes the input's dryRun, normalised, for the state machine's choice.
	DryRun  bool    `json:"dryRun"`
	Summary string  `json:"summary"`
	Checks  []Check `json:"checks"`
	// StopAlarms is every alarm watched (deployment's and input's), for the probe.
	StopAlarms []string `json:"stopAlarms"`
	// SecondaryAPI is the API host the secondary origin's config.json names.
	SecondaryAPI string         `json:"secondaryApi,omitempty"`
	Origin       OriginSettings `json:"origin"`
	// ReplicationSeconds is set by the replication mode when the cart was seen.
	ReplicationSeconds *float64 `json:"replicationSeconds,omitempty"`
}

// CheckByName returns the named check, or nil.
func (r *ReadinessResult) CheckByName(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Seconds rounds d to milliseconds, as every figure of the drill is reported.
func Seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond).Milliseconds()) / 1000
}
