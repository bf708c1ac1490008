package drill

import (
	"encoding/json"
	"time"
)

// probe-cloudfront's payload and result: the probe's modes, what it saw, the cart it checked.

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
