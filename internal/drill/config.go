// Package drill is the contract between the state machine and the functions: the
// execution input with its defaults and validation, the payload each step takes and
// returns, and the typed errors the state machine retries or catches.
package drill

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/measure/confidence"
)

// Config is the validated execution input. The state machine builds it by merging the
// execution input over the defaults substituted into the ASL at deploy time, so `{}`
// starts a real drill. JSON names are the input field names users type.
type Config struct {
	// Distribution is the CloudFront distribution: a bare domain (d111.cloudfront.net)
	// or an https URL. http is accepted only for loopback hosts (the local sandbox).
	Distribution string `json:"distribution"`
	// PrimaryBucket is the primary UI bucket the drill blocks.
	PrimaryBucket string `json:"primaryBucket"`
	// PrimaryRegion is where PrimaryBucket lives; its S3 control calls go there.
	PrimaryRegion string `json:"primaryRegion"`
	// SecondaryRegion is the region config.json must name once failover happened.
	SecondaryRegion string `json:"secondaryRegion"`
	// Items is how many distinct unicorns go into the synthetic user's cart (1..20).
	Items int `json:"items"`
	// ProbeIntervalMs is the probe's sampling interval.
	ProbeIntervalMs int `json:"probeIntervalMs"`
	// FailoverTimeoutSeconds bounds AwaitFailover and AwaitRecovery each.
	FailoverTimeoutSeconds int `json:"failoverTimeoutSeconds"`
	// SteadySamples is how many consecutive good samples prove a steady state, and how
	// many consecutive samples from the expected region confirm failover and recovery.
	SteadySamples int `json:"steadySamples"`
	// ErrorBudgetSeconds is the window of the error budget: the drill stops (and so
	// restores the bucket) once visitors spent ErrorBudgetPercent of the last
	// ErrorBudgetSeconds seeing errors, so a broken secondary cannot turn the drill into a
	// real outage until FailoverTimeoutSeconds.
	ErrorBudgetSeconds int `json:"errorBudgetSeconds"`
	// DistributionID is the CloudFront distribution's ID (E2QWRUHAPOMQZL), for the
	// readiness check that reads its configuration; "" skips that check, saying why,
	// and a skipped check stops a drill before the block (see AllowSkippedChecks).
	DistributionID string `json:"distributionId"`
	// AllowSkippedChecks lets a drill block the bucket although a readiness check was
	// skipped (it could not run, so it did not guard the block); without it such a
	// drill stops before the block, as one with a failed check does. The report
	// records it. It never makes a dry run ready: a dry run with a skipped check is
	// unverified.
	AllowSkippedChecks bool `json:"allowSkippedChecks"`
	// DryRun runs every readiness check, seeds and cleans the cart, takes and releases
	// the lock and proves each function's access, but never changes the bucket.
	DryRun bool `json:"dryRun"`
	// StopAlarms are CloudWatch alarm names, added to the deployment's: one already in
	// ALARM stops the drill before the block, one entering ALARM during AwaitFailover or
	// AwaitRecovery stops it through the restore path.
	StopAlarms []string `json:"stopAlarms"`
	// MaxReplicationLagSeconds is the longest the seeded cart may take to be readable
	// through the secondary API before the block; beyond it the drill stops.
	MaxReplicationLagSeconds int `json:"maxReplicationLagSeconds"`
	// ErrorBudgetPercent is the share of the budget window visitors may spend seeing
	// errors (time-weighted, judged when each answer arrives); 100 stops only after
	// errors for the whole window without a break.
	ErrorBudgetPercent int `json:"errorBudgetPercent"`

	// The database stage (opt-in). GlobalCluster is the users' Aurora global database
	// (its identifier); "" (the default) runs no database state. With it, after the
	// website's failover is stable, the drill switches the global database over to the
	// secondary region's cluster and back (SwitchoverGlobalCluster: no data loss, never
	// detached), measuring the users' writes throughout.
	// NoGlobalCluster ("-") says the same as "": it is what a deployment without the
	// stage substitutes, as a substitution cannot be empty.
	GlobalCluster string `json:"globalCluster"`
	// DatabaseWriteIntervalMs is the cadence of the sign-ups through each region's API
	// while a switch runs.
	DatabaseWriteIntervalMs int `json:"databaseWriteIntervalMs"`
	// DatabaseSwitchTimeoutSeconds bounds each switch: the new writer must be in place
	// and the switch over within it, or the drill fails and restore switches back.
	DatabaseSwitchTimeoutSeconds int `json:"databaseSwitchTimeoutSeconds"`

	// The limits the verdict applies to what visitors saw (internal/measure defines
	// each figure). Each is also CDK context, so a deployment sets its own defaults.

	// StableSharePercent is the share of config.json samples the new origin must serve,
	// in every StableWindowSeconds from the stable time on, for a switch to count as done.
	StableSharePercent int `json:"stableSharePercent"`
	// StableWindowSeconds is how long that share must hold.
	StableWindowSeconds int `json:"stableWindowSeconds"`
	// MaxErrorRatePercent bounds the time-weighted share of the drill, from the block to
	// the end of recovery, in which visitors saw errors.
	MaxErrorRatePercent int `json:"maxErrorRatePercent"`
	// MaxErrorRunSeconds bounds the longest stretch of errors without a good answer.
	MaxErrorRunSeconds int `json:"maxErrorRunSeconds"`
	// MaxLatencyP95Ms bounds the 95th percentile of the time visitors waited for an
	// answer from the block to the end of recovery; an answer slower than this counts
	// as slow.
	MaxLatencyP95Ms int `json:"maxLatencyP95Ms"`
}

// LimitFields are the Config fields that are verdict limits, also settable as CDK context.
var LimitFields = []string{"stableSharePercent", "stableWindowSeconds", "maxErrorRatePercent", "maxErrorRunSeconds", "maxLatencyP95Ms"}

// Defaults are the values a field takes when neither the deployment nor the input sets it.
var Defaults = Config{
	PrimaryRegion:          "us-east-1",
	SecondaryRegion:        "us-west-1",
	Items:                  3,
	ProbeIntervalMs:        250,
	FailoverTimeoutSeconds: 600,
	SteadySamples:          3,
	ErrorBudgetSeconds:     60,
	// Defaults.DistributionID, DryRun, AllowSkippedChecks and StopAlarms are empty: no
	// ID, a real drill, every check must run, no alarms.
	MaxReplicationLagSeconds: 30,
	ErrorBudgetPercent:       10,
	// No GlobalCluster: no database stage.
	DatabaseWriteIntervalMs:      500,
	DatabaseSwitchTimeoutSeconds: 600,
	StableSharePercent:           99,
	StableWindowSeconds:          5,
	MaxErrorRatePercent:          1,
	MaxErrorRunSeconds:           5,
	MaxLatencyP95Ms:              3000,
}

// Limits of the numeric fields, checked by Validate.
const (
	MinItems, MaxItems                     = 1, 20
	MinProbeIntervalMs, MaxProbeIntervalMs = 10, 10_000
	MinTimeoutSeconds, MaxTimeoutSeconds   = 1, 840 // a probe Lambda runs at most 15 min
	MinSteadySamples, MaxSteadySamples     = 1, 50
	MaxStopAlarms                          = 10
	MinReplicationLag, MaxReplicationLag   = 1, 300 // the readiness Lambda runs 6 min
	MinStableShare, MaxStableShare         = 50, 100
	MinStableWindow, MaxStableWindow       = 1, 120
	MaxLatencyLimitMs                      = 900_000 // a probe Lambda's whole life
	MinWriteIntervalMs, MaxWriteIntervalMs = 100, 10_000
	// A switch-database Lambda runs at most 15 min: the switch, then the read-back.
	MinSwitchTimeout, MaxSwitchTimeout = 10, 720
)

// ProbeInterval is ProbeIntervalMs as a duration.
func (c Config) ProbeInterval() time.Duration {
	return time.Duration(c.ProbeIntervalMs) * time.Millisecond
}

// ErrorBudget is ErrorBudgetSeconds as a duration.
func (c Config) ErrorBudget() time.Duration {
	return time.Duration(c.ErrorBudgetSeconds) * time.Second
}

// StableWindow is StableWindowSeconds as a duration.
func (c Config) StableWindow() time.Duration {
	return time.Duration(c.StableWindowSeconds) * time.Second
}

// NoGlobalCluster is the deployed globalCluster of a deployment without the database
// stage: ParseConfig reads it as "".
const NoGlobalCluster = "-"

// DatabaseWriteInterval is DatabaseWriteIntervalMs as a duration.
func (c Config) DatabaseWriteInterval() time.Duration {
	return time.Duration(c.DatabaseWriteIntervalMs) * time.Millisecond
}

// DatabaseSwitchTimeout is DatabaseSwitchTimeoutSeconds as a duration.
func (c Config) DatabaseSwitchTimeout() time.Duration {
	return time.Duration(c.DatabaseSwitchTimeoutSeconds) * time.Second
}

// FailoverTimeout is FailoverTimeoutSeconds as a duration.
func (c Config) FailoverTimeout() time.Duration {
	return time.Duration(c.FailoverTimeoutSeconds) * time.Second
}

// DistributionURL is the distribution as a base URL without a trailing slash.
// Only meaningful on a validated Config.
func (c Config) DistributionURL() string {
	d := strings.TrimRight(c.Distribution, "/")
	if !strings.Contains(d, "://") {
		d = "https://" + d
	}
	return d
}

// ParseConfig decodes raw execution input, fills defaults for absent fields and
// validates the result. Every problem — unknown fields, wrong types, bad values — is
// reported in one *InvalidInput naming each bad field.
func ParseConfig(raw []byte) (Config, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Config{}, &InvalidInput{Problems: []string{"input: not a JSON object: " + err.Error()}}
	}
	c := Defaults
	v := reflect.ValueOf(&c).Elem()
	var problems []string
	bad := map[string]bool{}
	for name, value := range fields {
		i, ok := configFields[name]
		if !ok {
			problems = append(problems, name+": unknown field")
			continue
		}
		if err := json.Unmarshal(value, v.Field(i).Addr().Interface()); err != nil {
			problems = append(problems, fmt.Sprintf("%s: must be a %s, got %s", name, jsonKind(v.Field(i).Kind()), truncate(string(value), 40)))
			bad[name] = true
		}
	}
	if c.GlobalCluster == NoGlobalCluster {
		c.GlobalCluster = ""
	}
	if err := c.Validate(); err != nil {
		for _, p := range err.(*InvalidInput).Problems {
			if field, _, _ := strings.Cut(p, ":"); !bad[field] {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return Config{}, &InvalidInput{Problems: problems}
	}
	return c, nil
}

// configFields maps each input field name (json tag) to its index in Config.
var configFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "list of strings"
	}
	return "whole number"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	// CloudFront distribution IDs are upper-case letters and digits (E2QWRUHAPOMQZL).
	distributionID = regexp.MustCompile(`^[A-Z0-9]{6,32}$`)
	// An RDS identifier: a letter, then letters, digits and single hyphens, 1..63.
	globalClusterID = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,62}$`)
)

// Validate checks every field and reports all problems at once.
func (c Config) Validate() error {
	var p []string
	if msg := checkDistribution(c.Distribution); msg != "" {
		p = append(p, "distribution: "+msg)
	}
	if msg := checkBucket(c.PrimaryBucket); msg != "" {
		p = append(p, "primaryBucket: "+msg)
	}
	if !regionName.MatchString(c.PrimaryRegion) {
		p = append(p, fmt.Sprintf("primaryRegion: %q is not an AWS region name like us-east-1", c.PrimaryRegion))
	}
	if !regionName.MatchString(c.SecondaryRegion) {
		p = append(p, fmt.Sprintf("secondaryRegion: %q is not an AWS region name like us-west-1", c.SecondaryRegion))
	} else if c.SecondaryRegion == c.PrimaryRegion {
		p = append(p, "secondaryRegion: must differ from primaryRegion")
	}
	p = appendRange(p, "items", c.Items, MinItems, MaxItems)
	p = appendRange(p, "probeIntervalMs", c.ProbeIntervalMs, MinProbeIntervalMs, MaxProbeIntervalMs)
	p = appendRange(p, "failoverTimeoutSeconds", c.FailoverTimeoutSeconds, MinTimeoutSeconds, MaxTimeoutSeconds)
	p = appendRange(p, "steadySamples", c.SteadySamples, MinSteadySamples, MaxSteadySamples)
	p = appendRange(p, "errorBudgetSeconds", c.ErrorBudgetSeconds, MinTimeoutSeconds, MaxTimeoutSeconds)
	p = appendRange(p, "maxReplicationLagSeconds", c.MaxReplicationLagSeconds, MinReplicationLag, MaxReplicationLag)
	if c.DistributionID != "" && !distributionID.MatchString(c.DistributionID) {
		p = append(p, fmt.Sprintf("distributionId: %q is not a CloudFront distribution ID like E2QWRUHAPOMQZL", truncate(c.DistributionID, 40)))
	}
	p = append(p, checkAlarmNames(c.StopAlarms)...)
	if c.GlobalCluster != "" && (len(c.GlobalCluster) > 63 || !globalClusterID.MatchString(c.GlobalCluster)) {
		p = append(p, fmt.Sprintf("globalCluster: %q is not an Aurora global cluster identifier (a letter, then letters, digits and single hyphens, at most 63)", truncate(c.GlobalCluster, 70)))
	}
	p = appendRange(p, "databaseWriteIntervalMs", c.DatabaseWriteIntervalMs, MinWriteIntervalMs, MaxWriteIntervalMs)
	p = appendRange(p, "databaseSwitchTimeoutSeconds", c.DatabaseSwitchTimeoutSeconds, MinSwitchTimeout, MaxSwitchTimeout)
	p = appendRange(p, "errorBudgetPercent", c.ErrorBudgetPercent, 1, 100)
	p = appendRange(p, "stableSharePercent", c.StableSharePercent, MinStableShare, MaxStableShare)
	p = appendRange(p, "stableWindowSeconds", c.StableWindowSeconds, MinStableWindow, MaxStableWindow)
	p = appendRange(p, "maxErrorRatePercent", c.MaxErrorRatePercent, 0, 100)
	p = appendRange(p, "maxErrorRunSeconds", c.MaxErrorRunSeconds, 0, MaxTimeoutSeconds)
	p = appendRange(p, "maxLatencyP95Ms", c.MaxLatencyP95Ms, 1, MaxLatencyLimitMs)
	if c.StableSharePercent >= MinStableShare && c.StableSharePercent < 100 && c.StableWindowSeconds >= MinStableWindow {
		// The probe samples config.json at most every MinProbeIntervalMs: the window must
		// hold enough answers to show the share at all.
		need := confidence.WindowSamplesNeeded(c.StableSharePercent)
		if holds := c.StableWindowSeconds * 1000 / MinProbeIntervalMs; holds < need {
			p = append(p, fmt.Sprintf("stableWindowSeconds: %d s holds at most %d config.json samples (one every %d ms), too few to show %d%% (needs %d): raise it to %d or lower stableSharePercent",
				c.StableWindowSeconds, holds, MinProbeIntervalMs, c.StableSharePercent, need, (need*MinProbeIntervalMs+999)/1000))
		}
	}
	if len(p) > 0 {
		sort.Strings(p)
		return &InvalidInput{Problems: p}
	}
	return nil
}

func appendRange(p []string, field string, v, lo, hi int) []string {
	if v < lo || v > hi {
		return append(p, fmt.Sprintf("%s: %d is outside %d..%d", field, v, lo, hi))
	}
	return p
}

// checkAlarmNames applies CloudWatch's rules for alarm names (1..255 characters, no
// control characters) and a bound on how many the drill watches.
func checkAlarmNames(names []string) []string {
	var p []string
	if len(names) > MaxStopAlarms {
		p = append(p, fmt.Sprintf("stopAlarms: %d alarms, at most %d", len(names), MaxStopAlarms))
	}
	for i, n := range names {
		bad := len(n) == 0 || len(n) > 255
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				bad = true
			}
		}
		if bad {
			p = append(p, fmt.Sprintf("stopAlarms: item %d, %q, is not a CloudWatch alarm name (1..255 printable characters)", i, truncate(n, 40)))
		}
	}
	return p
}

// AllStopAlarms is the union of the deployment's and the input's stop alarms, sorted,
// without duplicates: an input adds alarms, it cannot switch the deployment's off.
func AllStopAlarms(deployed, input []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string(nil), deployed...), input...) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func checkBucket(b string) string {
	switch {
	case b == "":
		return "missing"
	case !bucketName.MatchString(b) || strings.Contains(b, ".."):
		return fmt.Sprintf("%q is not a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)", b)
	case net.ParseIP(b) != nil:
		return fmt.Sprintf("%q is formatted as an IP address", b)
	}
	return ""
}

func checkDistribution(d string) string {
	if d == "" {
		return "missing"
	}
	if !strings.Contains(d, "://") {
		if !domainName.MatchString(strings.TrimRight(d, "/")) {
			return fmt.Sprintf("%q is not a domain name such as d111111abcdef8.cloudfront.net", d)
		}
		return ""
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a URL", d)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q must be the distribution's root, without path, query or credentials", d)
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return "" // the local sandbox speaks plain HTTP on loopback only
		}
		return fmt.Sprintf("%q must use https (http is allowed for loopback only)", d)
	default:
		return fmt.Sprintf("%q must be an https URL or a bare domain", d)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
