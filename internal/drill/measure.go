package drill

import (
	"fmt"
	"math"
	"time"
)

// ---- what visitors saw: samples and the figures built from them (internal/measure) ----

// Sample is one request made through the distribution the way a visitor's browser
// makes it. A visitor's experience is judged when the answer arrived (At), not when
// the request was sent.
type Sample struct {
	SentAt time.Time `json:"sentAt"`
	// At is when the answer arrived, when the request timed out, or, for an Unanswered
	// sample, when the probe stopped waiting for it: the visitor had waited at least
	// At − SentAt (a censored latency).
	At     time.Time `json:"at"`
	Path   string    `json:"path"`
	Status int       `json:"status"`           // 0: no HTTP answer (Error says why)
	Region string    `json:"region,omitempty"` // the region config.json named (2xx answers only)
	Cache  string    `json:"cache,omitempty"`  // X-Cache, to spot cache hits
	Pop    string    `json:"pop,omitempty"`    // X-Amz-Cf-Pop: the edge location that answered
	Error  string    `json:"error,omitempty"`  // no HTTP answer: ErrTimeout or the transport error
	// Unanswered: still in flight when the probe stopped. It names no region, but the
	// visitor waited at least At − SentAt: the figures count it as slow past the slow
	// limit, and as a timeout error once that wait reaches the request timeout
	// (measure.Censor).
	Unanswered bool `json:"unanswered,omitempty"`
}

// ErrTimeout is Sample.Error for a request the probe gave up on after its request
// timeout: a visitor would have given up too, so it is an error.
const ErrTimeout = "timeout"

// Latency is how long the visitor waited.
func (s Sample) Latency() time.Duration { return s.At.Sub(s.SentAt) }

// Answered: the sample has an outcome (an answer, a timeout or a transport error).
func (s Sample) Answered() bool { return !s.Unanswered }

// OK: a 2xx answer.
func (s Sample) OK() bool {
	return !s.Unanswered && s.Error == "" && s.Status >= 200 && s.Status < 300
}

// IsError: an answered sample a visitor saw fail: not 2xx, a timeout or no answer.
func (s Sample) IsError() bool { return !s.Unanswered && !s.OK() }

// Outcome names an error sample's outcome for counting: the status, "timeout" or
// "transport".
func (s Sample) Outcome() string {
	switch {
	case s.Error == ErrTimeout:
		return "timeout"
	case s.Error != "":
		return "transport"
	}
	return fmt.Sprint(s.Status)
}

// SampleLog is every sample of one probe mode, stored in the ledger at
// SamplesKey(execution, executionStartTime, mode): the report's figures and its
// picture are built from it. Times are milliseconds from Start, to keep a long log
// small.
type SampleLog struct {
	Execution string     `json:"execution"`
	Mode      string     `json:"mode"`
	Since     *time.Time `json:"since,omitempty"` // the block (failover) or the restore (recovery)
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	// ExecutionStartTime is the run's start ($$.Execution.StartTime): with Execution,
	// the run's folder in the ledger. Start is the probe's own.
	ExecutionStartTime Instant `json:"executionStartTime,omitzero"`
	// Want is the region the mode waits for; Old the one it expects to leave.
	Want string `json:"want"`
	Old  string `json:"old,omitempty"`
	// ConfigIntervalMs and PageIntervalMs are the sampling intervals of config.json and
	// of the page; RequestTimeoutMs is when the probe gives up on one request.
	ConfigIntervalMs float64 `json:"configIntervalMs"`
	PageIntervalMs   float64 `json:"pageIntervalMs"`
	RequestTimeoutMs float64 `json:"requestTimeoutMs"`
	// Skipped counts ticks not sent because MaxInFlight requests were still unanswered.
	Skipped int `json:"skipped"`
	// Ended says why the probe stopped: stable, timeout, error-budget, deadline, stopped.
	Ended string `json:"ended"`
	// AlarmWatch is how the stop alarms were watched meanwhile (failover, recovery).
	AlarmWatch *AlarmWatch `json:"alarmWatch,omitempty"`
	Samples    []LogSample `json:"samples"`
}

// AlarmWatch is how the probe watched the stop alarms while it waited. A stretch
// without a successful read runs from a failed read to the next good one (or to the
// end of the wait): meanwhile an alarm going off would not have been seen.
type AlarmWatch struct {
	Alarms      []string `json:"alarms"`
	Reads       int      `json:"reads"`
	FailedReads int      `json:"failedReads"`
	// UnwatchedSeconds sums the stretches; LongestUnwatchedSeconds is the longest.
	UnwatchedSeconds        float64 `json:"unwatchedSeconds"`
	LongestUnwatchedSeconds float64 `json:"longestUnwatchedSeconds"`
	// LimitSeconds is how long a stretch may last before the probe stops the drill.
	LimitSeconds float64 `json:"limitSeconds"`
	LastError    string  `json:"lastError,omitempty"`
}

// LogSample is a Sample in a SampleLog.
type LogSample struct {
	SentMs     float64 `json:"sentMs"`
	AtMs       float64 `json:"atMs"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	Region     string  `json:"region,omitempty"`
	Cache      string  `json:"cache,omitempty"`
	Pop        string  `json:"pop,omitempty"`
	Error      string  `json:"error,omitempty"`
	Unanswered bool    `json:"unanswered,omitempty"`
}

// Ends of a probe mode (SampleLog.Ended, Phases.Ended).
const (
	EndedStable      = "stable"       // the wanted region served stably (or steadily)
	EndedTimeout     = "timeout"      // failoverTimeoutSeconds (or the steady budget) ran out
	EndedErrorBudget = "error-budget" // visitors saw too many errors
	EndedDeadline    = "deadline"     // the Lambda invocation was about to end
	EndedStopped     = "stopped"      // the invocation was cancelled
)

// NewSampleLog packs samples (any order) into a log starting at start.
func NewSampleLog(start time.Time, samples []Sample) SampleLog {
	l := SampleLog{Start: start, Samples: make([]LogSample, len(samples))}
	ms := func(t time.Time) float64 { return float64(t.Sub(start).Microseconds()) / 1000 }
	for i, s := range samples {
		l.Samples[i] = LogSample{SentMs: ms(s.SentAt), AtMs: ms(s.At), Path: s.Path, Status: s.Status, Region: s.Region,
			Cache: s.Cache, Pop: s.Pop, Error: s.Error, Unanswered: s.Unanswered}
	}
	return l
}

// Unpack returns the log's samples with absolute times.
func (l SampleLog) Unpack() []Sample {
	out := make([]Sample, len(l.Samples))
	at := func(ms float64) time.Time { return l.Start.Add(time.Duration(math.Round(ms*1000)) * time.Microsecond) }
	for i, s := range l.Samples {
		out[i] = Sample{SentAt: at(s.SentMs), At: at(s.AtMs), Path: s.Path, Status: s.Status, Region: s.Region,
			Cache: s.Cache, Pop: s.Pop, Error: s.Error, Unanswered: s.Unanswered}
	}
	return out
}

// LogModes are the probe modes that keep a sample log, in flow order.
var LogModes = []string{ModeSteady, ModeFailover, ModeRecovery, ModeRecoveryCheck}

// Moment is a figure on the time axis: when the probe saw something, in seconds since
// the block (failover) or the restore (recovery), with its bound: LoSeconds is when
// the probe's sample before it was sent, HiSeconds when its sample at or after it was
// answered plus the longest wait around it; when the switch was mixed both are widened
// by Phases.SpreadSeconds, and LoSeconds never reaches before 0 (see the README,
// "What the figures mean").
type Moment struct {
	At        time.Time `json:"at"`
	Seconds   float64   `json:"seconds"`
	LoSeconds float64   `json:"loSeconds"`
	HiSeconds float64   `json:"hiSeconds"`
	// WidthSeconds is HiSeconds - LoSeconds (the switch's moments only).
	WidthSeconds float64 `json:"widthSeconds,omitempty"`
}

// Starved is how much a probe could not sample at its interval: gaps between its
// config.json sends longer than 1.5 intervals (a CPU-starved sender, skipped ticks),
// their excess over the interval in all and the longest. Every bound near a gap is
// widened by it.
type Starved struct {
	Gaps           int     `json:"gaps"`
	Seconds        float64 `json:"seconds"`
	LongestSeconds float64 `json:"longestSeconds"`
	SkippedTicks   int     `json:"skippedTicks,omitempty"`
}

// LateSwitch is a switch the drill saw only after it had stopped watching the
// failover: a block that took effect later than failoverTimeoutSeconds, seen by the
// failure path's recovery check. Seconds are from when the block was sent.
type LateSwitch struct {
	Region      string  `json:"region"`      // the region that served
	FromSeconds float64 `json:"fromSeconds"` // its first config.json answer
	ToSeconds   float64 `json:"toSeconds"`   // its last
	Seconds     float64 `json:"seconds"`     // from the first to the last
	Samples     int     `json:"samples"`
	// WatchEndedSeconds is when the drill stopped watching the failover.
	WatchEndedSeconds float64 `json:"watchEndedSeconds"`
	Mode              string  `json:"mode"` // the probe mode that saw it
}

// Run is the longest stretch of errors without a good answer between them.
type Run struct {
	From    Moment  `json:"from"`    // its first error
	Seconds float64 `json:"seconds"` // from its first error to the next good answer (or the last sample)
	// LoSeconds is the first to the last error; HiSeconds the good answer before it to
	// the good answer after it.
	LoSeconds float64 `json:"loSeconds"`
	HiSeconds float64 `json:"hiSeconds"`
	Samples   int     `json:"samples"`
}

// LatencyStats are the times visitors waited, nearest-rank percentiles. Censored of
// them are requests still unanswered at the end, counted at what they had waited: each
// figure is then at least the true one.
type LatencyStats struct {
	Samples  int     `json:"samples"`
	P50Ms    float64 `json:"p50Ms"`
	P95Ms    float64 `json:"p95Ms"`
	MaxMs    float64 `json:"maxMs"`
	Censored int     `json:"censored,omitempty"`
}

// VisitorStats is what visitors saw over a span: errors (an answer that was not 2xx,
// a timeout, no answer) and slow requests (a 2xx slower than maxLatencyP95Ms, or a
// request still unanswered after that long) are counted apart.
type VisitorStats struct {
	Samples int `json:"samples"` // answered samples
	// Unanswered are requests still in flight at the end, shorter than the request
	// timeout: censored, counted in Slow and Latency at what they had waited.
	Unanswered int `json:"unanswered"`
	Errors     int `json:"errors"`
	// ErrorRatePercent is time-weighted: the share of the span in which the latest
	// answer a visitor got was an error.
	ErrorRatePercent float64        `json:"errorRatePercent"`
	Outcomes         map[string]int `json:"outcomes,omitempty"` // errors by status, "timeout", "transport"
	FirstError       *Moment        `json:"firstError,omitempty"`
	LastError        *Moment        `json:"lastError,omitempty"`
	LongestErrorRun  *Run           `json:"longestErrorRun,omitempty"`
	Slow             int            `json:"slow"`
	Latency          LatencyStats   `json:"latency"`
	CacheHits        int            `json:"cacheHits"`
}

// Mixed is the stretch in which both origins answered: from the new origin's first
// answer to the old origin's last.
type Mixed struct {
	FromSeconds     float64 `json:"fromSeconds"`
	ToSeconds       float64 `json:"toSeconds"`
	OldSharePercent float64 `json:"oldSharePercent"` // of config.json samples in it
	Samples         int     `json:"samples"`
}

// Window is the share of config.json samples each origin served in one stable window.
type Window struct {
	FromSeconds     float64 `json:"fromSeconds"`
	Samples         int     `json:"samples"`
	NewPercent      float64 `json:"newPercent"`
	OldPercent      float64 `json:"oldPercent"`
	ErrorPercent    float64 `json:"errorPercent"`
	CacheHitPercent float64 `json:"cacheHitPercent,omitempty"`
}

// PhaseLatency is latency before the new origin's first answer, during the switch
// (until the stable time) and after it.
type PhaseLatency struct {
	Before LatencyStats `json:"before"`
	During LatencyStats `json:"during"`
	After  LatencyStats `json:"after"`
}

// Phases are the figures of one probe mode. For failover and recovery: when the new
// origin first answered, when the old one last did, when the switch became stable,
// the mixed stretch between, and what visitors saw.
type Phases struct {
	Mode  string    `json:"mode"`
	Since time.Time `json:"since"`
	From  string    `json:"from,omitempty"` // the old origin's region
	To    string    `json:"to"`             // the new origin's region
	Ended string    `json:"ended"`
	// FirstNew and LastOld are absent when never seen.
	FirstNew *Moment `json:"firstNew,omitempty"`
	LastOld  *Moment `json:"lastOld,omitempty"`
	// Stable is absent when the switch never became stable.
	Stable *Moment `json:"stable,omitempty"`
	Mixed  *Mixed  `json:"mixed,omitempty"`
	// SpreadSeconds is the mixed stretch, from the first new to the last old answer;
	// 0 for a clean switch. Every bound of a mixed switch spans the mixed window.
	SpreadSeconds float64 `json:"spreadSeconds"`
	// Starved is absent when the probe sampled at its interval throughout.
	Starved             *Starved `json:"starved,omitempty"`
	StableSharePercent  int      `json:"stableSharePercent"`
	StableWindowSeconds int      `json:"stableWindowSeconds"`
	ConfigIntervalMs    float64  `json:"configIntervalMs"`
	// WindowSamples is how many config.json samples one stable window holds at that
	// interval; UnseenSharePercent the old origin's share that could hide in one window
	// without a single sample showing it (95% confidence).
	WindowSamples      int     `json:"windowSamples"`
	UnseenSharePercent float64 `json:"unseenSharePercent"`
	// LastWindow is the last stable window of the log: what the probe saw when it stopped.
	LastWindow *Window      `json:"lastWindow,omitempty"`
	Visitors   VisitorStats `json:"visitors"`
	Latency    PhaseLatency `json:"latency"`
	Unanswered int          `json:"unanswered"`
	Skipped    int          `json:"skipped"`
}

// OriginSettings are how long the distribution's edge tries an origin before it fails
// over. For a custom origin (an S3 website endpoint is one) CloudFront makes up to
// ConnectionAttempts attempts, each a connection (ConnectionTimeout) and a wait for
// the response (ResponseTimeout): when the origin times out it "resets the response
// timeout and tries again" (AWS, 2025), so a primary that accepts connections but
// never answers holds a visitor for ConnectionAttempts × (ConnectionTimeout +
// ResponseTimeout) before the secondary is even asked; ResponseCompletionTimeout, when
// set, caps the wait for responses across those retries. The probe's request timeout
// is derived from them. The JSON names are those the readiness check reports for the
// distribution; absent, CloudFront's documented defaults apply.
type OriginSettings struct {
	ConnectionAttempts       int `json:"connectionAttempts"`
	ConnectionTimeoutSeconds int `json:"connectionTimeoutSeconds"`
	ResponseTimeoutSeconds   int `json:"responseTimeoutSeconds"`
	// ResponseCompletionTimeoutSeconds is the Origin's ResponseCompletionTimeout; 0 when
	// not set ("CloudFront doesn't enforce a maximum value").
	ResponseCompletionTimeoutSeconds int    `json:"responseCompletionTimeoutSeconds,omitempty"`
	Source                           string `json:"source,omitempty"`
}

// CloudFrontOriginDefaults: 3 attempts, each a 10 s connection timeout and a 30 s
// response timeout; no response completion timeout.
var CloudFrontOriginDefaults = OriginSettings{ConnectionAttempts: 3, ConnectionTimeoutSeconds: 10, ResponseTimeoutSeconds: 30, Source: "cloudfront-defaults"}

// Validate names every bad field (CloudFront's own ranges; the response timeout may be
// raised by quota beyond its 120 s console maximum; a response completion timeout must
// be at least the response timeout).
func (o OriginSettings) Validate() []string {
	var p []string
	p = appendRange(p, "origin.connectionAttempts", o.ConnectionAttempts, 1, 3)
	p = appendRange(p, "origin.connectionTimeoutSeconds", o.ConnectionTimeoutSeconds, 1, 10)
	p = appendRange(p, "origin.responseTimeoutSeconds", o.ResponseTimeoutSeconds, 1, 600)
	if c := o.ResponseCompletionTimeoutSeconds; c != 0 && (c < o.ResponseTimeoutSeconds || c > 3600) {
		p = append(p, fmt.Sprintf("origin.responseCompletionTimeoutSeconds: %d is outside 0 (not set) or %d (the response timeout) to 3600", c, max(o.ResponseTimeoutSeconds, 1)))
	}
	return p
}

// EdgeWait is the longest the edge may spend on the primary before it asks the
// secondary: every attempt's connection and response timeouts. A response completion
// timeout caps the waits for responses; whether CloudFront counts the connection
// attempts in it is not documented, so they are added to it: the probe must not give
// up on a request a visitor would still get an answer to.
func (o OriginSettings) EdgeWait() time.Duration {
	wait := o.ConnectionAttempts * (o.ConnectionTimeoutSeconds + o.ResponseTimeoutSeconds)
	if c := o.ResponseCompletionTimeoutSeconds; c > 0 {
		wait = min(wait, o.ConnectionAttempts*o.ConnectionTimeoutSeconds+c)
	}
	return time.Duration(wait) * time.Second
}
