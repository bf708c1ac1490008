package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// CDK context keys: the deployment's configuration. Set them in cdk.json ("context") or
// on the command line: cdk deploy -c primaryBucket=... -c distributionDomain=...
const (
	CtxPrimaryBucket       = "primaryBucket"       // required: the primary UI bucket the drill blocks
	CtxDistributionDomain  = "distributionDomain"  // required: the CloudFront distribution (domain or https URL)
	CtxPrimaryRegion       = "primaryRegion"       // region of primaryBucket
	CtxSecondaryRegion     = "secondaryRegion"     // region config.json must name after failover
	CtxSchedule            = "schedule"            // optional: rate(...) or cron(...) for EventBridge Scheduler, at least 1 hour apart
	CtxNotifyEmail         = "notifyEmail"         // email subscribed to the results topic; this and/or alarmTopicArn is required
	CtxAlarmTopicArn       = "alarmTopicArn"       // an existing SNS topic every alarm also publishes to; this and/or notifyEmail is required
	CtxReportRetentionDays = "reportRetentionDays" // days the ledger keeps runs/ (reports, run tickets)
	// Readiness (see readiness.go).
	CtxDistributionID           = "distributionId"           // required: the distribution's ID, for GetDistributionConfig
	CtxStopAlarms               = "stopAlarms"               // optional: CloudWatch alarm names that stop a drill
	CtxMaxReplicationLagSeconds = "maxReplicationLagSeconds" // longest the seeded cart may take to replicate
	CtxReadinessSchedule        = "readinessSchedule"        // optional: rate(...) or cron(...) starting dry runs
	// The database stage (opt-in): the users' Aurora global database and its two member
	// clusters' identifiers. Without globalCluster no database state runs and no
	// function gets an RDS permission.
	CtxGlobalCluster    = "globalCluster"
	CtxPrimaryCluster   = "primaryCluster"   // the member cluster in primaryRegion (its identifier)
	CtxSecondaryCluster = "secondaryCluster" // the member cluster in secondaryRegion
	// The FailoverSeconds alarm's threshold (see dashboard.go).
	CtxFailoverTargetSeconds = "failoverTargetSeconds"
	// Taking over the ledger of an earlier deployment (see ledger.go).
	CtxLedgerBucket = "ledgerBucket" // optional: an existing ledger bucket (in the stack's region) the stack uses instead of creating one
	// The CI role (see cirole.go): created only with githubRepository.
	CtxGitHubRepository      = "githubRepository"      // optional: owner/name of the repository whose workflow runs the drill
	CtxGitHubRef             = "githubRef"             // the ref the workflow runs on (refs/heads/main)
	CtxGitHubOIDCProviderArn = "githubOidcProviderArn" // optional: the account's existing token.actions.githubusercontent.com provider; none creates one
)

// The verdict's limits are context too, under the drill's own input field names
// (drill.LimitFields): stableSharePercent, stableWindowSeconds, maxErrorRatePercent,
// maxErrorRunSeconds, maxLatencyP95Ms. They become the deployed defaults an
// execution's input may override.

// ContextKeys lists every key the app reads, in the order problems are reported.
var ContextKeys = append([]string{
	CtxPrimaryBucket, CtxDistributionDomain, CtxPrimaryRegion, CtxSecondaryRegion,
	CtxSchedule, CtxNotifyEmail, CtxAlarmTopicArn, CtxReportRetentionDays,
	CtxDistributionID, CtxStopAlarms, CtxMaxReplicationLagSeconds, CtxReadinessSchedule,
	CtxFailoverTargetSeconds, CtxLedgerBucket, CtxGitHubRepository, CtxGitHubRef, CtxGitHubOIDCProviderArn,
	CtxGlobalCluster, CtxPrimaryCluster, CtxSecondaryCluster,
}, drill.LimitFields...)

// Defaults of the optional keys (cdk.json repeats them so they are visible there).
const (
	DefaultReportRetentionDays         = 90
	MinRetentionDays, MaxRetentionDays = 1, 3650
	// DefaultFailoverTargetSeconds: a drill whose stable failover takes longer than this
	// raises the FailoverAboveTarget alarm. A minute: S3 Block Public Access reaches the
	// website endpoint within seconds, and CloudFront fails over per request.
	DefaultFailoverTargetSeconds = 60
	// DefaultGitHubRef: the CI role trusts the workflow on the default branch only.
	DefaultGitHubRef = "refs/heads/main"
)

// Config is the deployment's configuration, read from CDK context and validated.
type Config struct {
	PrimaryBucket      string
	DistributionDomain string
	PrimaryRegion      string
	SecondaryRegion    string
	Schedule           string // "" means no schedule
	NotifyEmail        string // "" means no email subscription
	// AlarmTopicArn is an existing standard SNS topic in the stack's region (the team's
	// PagerDuty or Chatbot topic) that every alarm publishes to as well; "" means none.
	// At least one of NotifyEmail and AlarmTopicArn is set.
	AlarmTopicArn       string
	ReportRetentionDays int
	DistributionID      string   // required: without it the distribution check could never run
	StopAlarms          []string // alarms in the stack's region; the functions may read only these
	// MaxReplicationLagSeconds is the deployed default of the input field.
	MaxReplicationLagSeconds int
	ReadinessSchedule        string // "" means no continuous readiness
	// FailoverTargetSeconds is the alarm threshold on the stable failover
	// (1..drill.MaxTimeoutSeconds, the longest a failover may be waited for).
	FailoverTargetSeconds int
	// Limits are the verdict's deployed limits (drill.Defaults' unless set).
	Limits drill.Limits
	// LedgerBucket is an existing ledger to take over; "" creates one.
	LedgerBucket string
	// GlobalCluster, PrimaryCluster and SecondaryCluster name the users' Aurora global
	// database and its members (the database stage); "" for none.
	GlobalCluster, PrimaryCluster, SecondaryCluster string
	// GitHubRepository (owner/name) creates the CI role its workflow assumes on GitHubRef;
	// GitHubOIDCProviderArn names the account's provider ("" creates one).
	GitHubRepository, GitHubRef, GitHubOIDCProviderArn string
}

// ContextError lists every bad context value, each problem starting with its key.
type ContextError struct{ Problems []string }

func (e *ContextError) Error() string {
	return "invalid CDK context (set values in cdk.json or with -c key=value): " +
		strings.Join(e.Problems, "; ")
}

var (
	// EventBridge Scheduler: rate(value unit) and cron with six fields
	// (minutes hours day-of-month month day-of-week year).
	rateExpr  = regexp.MustCompile(`^rate\(\s*([1-9]\d{0,8})\s+(minute|minutes|hour|hours|day|days)\s*\)$`)
	cronExpr  = regexp.MustCompile(`^cron\(([^()]+)\)$`)
	emailAddr = regexp.MustCompile(`^[^@\s]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$`)
	// S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens.
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// GitHub owner/name.
	githubRepo      = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)
	oidcProviderARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	// arn:<partition>:sns:<region>:<account>:<topic name>: 1-256 letters, digits, - and _.
	snsTopicARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:([a-z]{2}(-[a-z]+)+-[0-9]+):([0-9]{12}):([A-Za-z0-9_-]{1,256})$`)
)

// ConfigFromContext reads and validates the configuration. get returns a context value
// or nil when the key is absent (construct.Node().TryGetContext, or a map in tests).
// Every problem is reported at once, each naming its context key. No jsii needed.
// It is long because it is a flat list, a few lines per context key (read, check its
// range, name its key in the problem), with no branch that spans keys: a reader looks
// for a key and finds its lines together.
func ConfigFromContext(get func(key string) any) (Config, error) {
	var p []string
	str := func(key, def string) string {
		v := get(key)
		switch v := v.(type) {
		case nil:
			return def
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
			return def
		default:
			p = append(p, fmt.Sprintf("%s: must be a string, got %v", key, v))
			return ""
		}
	}
	c := Config{
		PrimaryBucket:      str(CtxPrimaryBucket, ""),
		DistributionDomain: str(CtxDistributionDomain, ""),
		PrimaryRegion:      str(CtxPrimaryRegion, drill.Defaults.PrimaryRegion),
		SecondaryRegion:    str(CtxSecondaryRegion, drill.Defaults.SecondaryRegion),
		Schedule:           str(CtxSchedule, ""),
		NotifyEmail:        str(CtxNotifyEmail, ""),
		AlarmTopicArn:      str(CtxAlarmTopicArn, ""),
	}
	days, msg := intValue(get(CtxReportRetentionDays), DefaultReportRetentionDays)
	if msg == "" && (days < MinRetentionDays || days > MaxRetentionDays) {
		msg = fmt.Sprintf("%d is outside %d..%d", days, MinRetentionDays, MaxRetentionDays)
	}
	if msg != "" {
		p = append(p, CtxReportRetentionDays+": "+msg)
	}
	c.ReportRetentionDays = days
	target, msg := intValue(get(CtxFailoverTargetSeconds), DefaultFailoverTargetSeconds)
	if msg == "" && (target < 1 || target > drill.MaxTimeoutSeconds) {
		msg = fmt.Sprintf("%d is outside 1..%d (the longest a drill waits for a failover)", target, drill.MaxTimeoutSeconds)
	}
	if msg != "" {
		p = append(p, CtxFailoverTargetSeconds+": "+msg)
	}
	c.FailoverTargetSeconds = target
	c.DistributionID = str(CtxDistributionID, "")
	if c.DistributionID == "" {
		// Without it the distribution check, and the secondary-origin and replication
		// checks that follow from it, could never run: every drill would stop before
		// the block (or need allowSkippedChecks) and every dry run be unverified.
		where := "the distribution"
		if c.DistributionDomain != "" {
			where = c.DistributionDomain
		}
		p = append(p, fmt.Sprintf("%s: missing: the ID of %s (E2QWRUHAPOMQZL-like), which the readiness check reads: "+
			"the CloudFront console lists it beside the domain name (the lab's \"Setup CloudFront\" step created it), or "+
			"aws cloudfront list-distributions --query \"DistributionList.Items[?DomainName=='%s'].Id\" --output text",
			CtxDistributionID, where, distributionHost(c.DistributionDomain)))
	}
	c.ReadinessSchedule = str(CtxReadinessSchedule, "")
	var alarmProblems []string
	c.StopAlarms, alarmProblems = stringList(get(CtxStopAlarms), CtxStopAlarms)
	p = append(p, alarmProblems...)
	lag, msg := intValue(get(CtxMaxReplicationLagSeconds), drill.Defaults.MaxReplicationLagSeconds)
	if msg == "" && (lag < drill.MinReplicationLag || lag > drill.MaxReplicationLag) {
		msg = fmt.Sprintf("%d is outside %d..%d", lag, drill.MinReplicationLag, drill.MaxReplicationLag)
	}
	if msg != "" {
		p = append(p, CtxMaxReplicationLagSeconds+": "+msg)
	}
	c.MaxReplicationLagSeconds = lag
	if c.ReadinessSchedule != "" {
		// The drill schedule's rules, at most hourly included: each dry run signs up a
		// synthetic user in the shop and writes to the ledger.
		if msg := checkSchedule(c.ReadinessSchedule); msg != "" {
			p = append(p, CtxReadinessSchedule+": "+msg)
		}
	}

	d := drill.Defaults
	for key, dst := range map[string]*int{
		"stableSharePercent": &d.StableSharePercent, "stableWindowSeconds": &d.StableWindowSeconds,
		"maxErrorRatePercent": &d.MaxErrorRatePercent, "maxErrorRunSeconds": &d.MaxErrorRunSeconds,
		"maxLatencyP95Ms": &d.MaxLatencyP95Ms,
	} {
		v, msg := intValue(get(key), *dst)
		if msg != "" {
			p = append(p, key+": "+msg)
			continue
		}
		*dst = v
	}
	c.Limits = drill.Limits{StableSharePercent: d.StableSharePercent, StableWindowSeconds: d.StableWindowSeconds,
		MaxErrorRatePercent: d.MaxErrorRatePercent, MaxErrorRunSeconds: d.MaxErrorRunSeconds, MaxLatencyP95Ms: d.MaxLatencyP95Ms}

	p = append(p, c.targetProblems()...)
	if c.Schedule != "" {
		if msg := checkSchedule(c.Schedule); msg != "" {
			p = append(p, CtxSchedule+": "+msg)
		}
	}
	if c.Schedule != "" && c.ReadinessSchedule != "" {
		if collide, closest := gridsCollide(c.Schedule, c.ReadinessSchedule); collide {
			p = append(p, fmt.Sprintf("%s: %q starts dry runs within %v of the drills of %s %q (their grids, the dry runs' moved by %v, come that close): "+
				"a dry run meeting a drill proves nothing; use a rate whose grid stays %v away, or a cron at another minute",
				CtxReadinessSchedule, c.ReadinessSchedule, closest, CtxSchedule, c.Schedule, ReadinessOffset, ScheduleGap))
		}
	}
	if c.NotifyEmail != "" && !emailAddr.MatchString(c.NotifyEmail) {
		p = append(p, fmt.Sprintf("%s: %q is not an email address", CtxNotifyEmail, c.NotifyEmail))
	}
	if c.AlarmTopicArn != "" && !snsTopicARN.MatchString(c.AlarmTopicArn) {
		p = append(p, fmt.Sprintf("%s: %q is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)", CtxAlarmTopicArn, c.AlarmTopicArn))
	}
	c.GlobalCluster, c.PrimaryCluster, c.SecondaryCluster = str(CtxGlobalCluster, ""), str(CtxPrimaryCluster, ""), str(CtxSecondaryCluster, "")
	p = append(p, c.databaseProblems()...)
	c.LedgerBucket = str(CtxLedgerBucket, "")
	if c.LedgerBucket != "" && !bucketName.MatchString(c.LedgerBucket) {
		p = append(p, fmt.Sprintf("%s: %q is not an S3 bucket name (the LedgerBucketName output of the earlier deployment)", CtxLedgerBucket, c.LedgerBucket))
	}
	c.GitHubRepository = str(CtxGitHubRepository, "")
	c.GitHubRef = str(CtxGitHubRef, DefaultGitHubRef)
	c.GitHubOIDCProviderArn = str(CtxGitHubOIDCProviderArn, "")
	if c.GitHubRepository != "" && !githubRepo.MatchString(c.GitHubRepository) {
		p = append(p, fmt.Sprintf("%s: %q is not a GitHub repository (owner/name)", CtxGitHubRepository, c.GitHubRepository))
	}
	if !strings.HasPrefix(c.GitHubRef, "refs/") || strings.ContainsAny(c.GitHubRef, "*? ") {
		p = append(p, fmt.Sprintf("%s: %q is not a full ref without wildcards (refs/heads/main)", CtxGitHubRef, c.GitHubRef))
	}
	if c.GitHubOIDCProviderArn != "" && !oidcProviderARN.MatchString(c.GitHubOIDCProviderArn) {
		p = append(p, fmt.Sprintf("%s: %q is not the ARN of GitHub's OIDC provider (arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com)", CtxGitHubOIDCProviderArn, c.GitHubOIDCProviderArn))
	}
	if c.NotifyEmail == "" && c.AlarmTopicArn == "" {
		// Every alarm that says the bucket may still be blocked publishes to the topic:
		// with no subscriber, the promise's "a person is told at once" is told to no one.
		p = append(p, fmt.Sprintf("%s: no one would be told when an alarm fires (the bucket may still be blocked): set %s to an address that confirms "+
			"AWS's subscription email, and/or %s to an existing SNS topic in the stack's region that reaches a person (the team's PagerDuty or Chatbot topic)",
			CtxNotifyEmail, CtxNotifyEmail, CtxAlarmTopicArn))
	}
	if len(p) > 0 {
		sort.Strings(p)
		return Config{}, &ContextError{Problems: dedupe(p)}
	}
	return c, nil
}

// clusterID is an RDS cluster identifier: a letter, then letters, digits and single
// hyphens, at most 63.
var clusterID = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,62}$`)

// databaseProblems: the database stage needs all three names or none, each an RDS
// identifier, the members distinct.
func (c Config) databaseProblems() []string {
	vals := map[string]string{CtxGlobalCluster: c.GlobalCluster, CtxPrimaryCluster: c.PrimaryCluster, CtxSecondaryCluster: c.SecondaryCluster}
	set := 0
	for _, v := range vals {
		if v != "" {
			set++
		}
	}
	if set == 0 {
		return nil
	}
	var p []string
	for _, k := range []string{CtxGlobalCluster, CtxPrimaryCluster, CtxSecondaryCluster} {
		switch v := vals[k]; {
		case v == "":
			p = append(p, fmt.Sprintf("%s: missing: the database stage needs %s, %s and %s together (aws rds describe-global-clusters lists them)", k, CtxGlobalCluster, CtxPrimaryCluster, CtxSecondaryCluster))
		case len(v) > 63 || !clusterID.MatchString(v):
			p = append(p, fmt.Sprintf("%s: %q is not an RDS identifier (a letter, then letters, digits and single hyphens, at most 63)", k, v))
		}
	}
	if c.PrimaryCluster != "" && c.PrimaryCluster == c.SecondaryCluster {
		p = append(p, CtxSecondaryCluster+": must differ from "+CtxPrimaryCluster)
	}
	return p
}

// drillConfig is the drill's configuration with this deployment's limits.
func (c Config) drillConfig() drill.Config {
	dc := drill.Defaults
	dc.StableSharePercent, dc.StableWindowSeconds = c.Limits.StableSharePercent, c.Limits.StableWindowSeconds
	dc.MaxErrorRatePercent, dc.MaxErrorRunSeconds = c.Limits.MaxErrorRatePercent, c.Limits.MaxErrorRunSeconds
	dc.MaxLatencyP95Ms = c.Limits.MaxLatencyP95Ms
	return dc
}

// targetProblems reuses the drill's own validation of the target and the limits (the
// state machine validates the same fields again at run time), renaming the target's
// fields to context keys (the limits' keys are their field names).
func (c Config) targetProblems() []string {
	dc := c.drillConfig()
	dc.Distribution = c.DistributionDomain
	dc.PrimaryBucket = c.PrimaryBucket
	dc.PrimaryRegion = c.PrimaryRegion
	dc.SecondaryRegion = c.SecondaryRegion
	dc.DistributionID = c.DistributionID
	dc.StopAlarms = c.StopAlarms
	var p []string
	if err := dc.Validate(); err != nil {
		var inv *drill.InvalidInput
		if !errors.As(err, &inv) {
			return []string{"target: " + err.Error()}
		}
		rename := map[string]string{
			"distribution":    CtxDistributionDomain,
			"primaryBucket":   CtxPrimaryBucket,
			"primaryRegion":   CtxPrimaryRegion,
			"secondaryRegion": CtxSecondaryRegion,
			"distributionId":  CtxDistributionID,
			"stopAlarms":      CtxStopAlarms,
		}
		for _, prob := range inv.Problems {
			field, rest, _ := strings.Cut(prob, ":")
			if key, ok := rename[field]; ok {
				field = key
			}
			p = append(p, field+":"+rest)
		}
	}
	// The drill accepts http on loopback for the local sandbox; a deployed probe cannot
	// reach loopback, so AWS mode wants https or a bare domain.
	if strings.HasPrefix(strings.ToLower(c.DistributionDomain), "http://") {
		p = append(p, fmt.Sprintf("%s: %q must use https or be a bare domain", CtxDistributionDomain, c.DistributionDomain))
	}
	return p
}

// stringList accepts a JSON list of strings (cdk.json) or a comma-separated string
// (-c stopAlarms=a,b).
func stringList(v any, key string) ([]string, []string) {
	var out []string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, []string{fmt.Sprintf("%s: item %d must be a string, got %v", key, i, e)}
			}
			out = append(out, s)
		}
	default:
		return nil, []string{fmt.Sprintf("%s: must be a list of alarm names or a comma-separated string, got %v", key, v)}
	}
	return out, nil
}

// MinScheduleInterval is the shortest time between two scheduled drills: each one takes
// the primary region off the internet for minutes, and a drill takes up to
// statemachine.WorstCase to end.
const MinScheduleInterval = time.Hour

func checkSchedule(s string) string {
	if rateExpr.MatchString(s) {
		if d, _ := rateInterval(s); d < MinScheduleInterval {
			return fmt.Sprintf("%q runs a drill every %v; drills must be at least %v apart", s, d, MinScheduleInterval)
		}
		if _, err := SchedulerExpression(s, 0); err != nil {
			return err.Error()
		}
		return ""
	}
	if m := cronExpr.FindStringSubmatch(s); m != nil {
		fields := strings.Fields(m[1])
		if n := len(fields); n != 6 {
			return fmt.Sprintf("%q has %d fields; EventBridge Scheduler cron needs 6 (minutes hours day-of-month month day-of-week year), e.g. cron(0 6 ? * MON *)", s, n)
		}
		// One minute of the hour at most: runs are then at least an hour apart.
		if n, err := strconv.Atoi(fields[0]); err != nil || n < 0 || n > 59 {
			return fmt.Sprintf("%q may run more than once an hour: its minutes field must be one number 0..59 (drills must be at least %v apart)", s, MinScheduleInterval)
		}
		return ""
	}
	return fmt.Sprintf("%q is not a schedule expression like rate(7 days) or cron(0 6 ? * MON *)", s)
}

// rateInterval is the interval of a rate(value unit) expression; false if s is not one.
func rateInterval(s string) (time.Duration, bool) {
	m := rateExpr.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, true
}

// intValue accepts a JSON number (cdk.json) or a decimal string (-c key=value).
func intValue(v any, def int) (int, string) {
	switch v := v.(type) {
	case nil:
		return def, ""
	case float64:
		if v != math.Trunc(v) || math.IsInf(v, 0) || math.Abs(v) > 1e9 {
			return 0, fmt.Sprintf("%v is not a whole number", v)
		}
		return int(v), ""
	case int:
		return v, ""
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return def, ""
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Sprintf("%q is not a whole number", v)
		}
		return n, ""
	default:
		return 0, fmt.Sprintf("must be a whole number, got %v", v)
	}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// distributionHost is a distributionDomain value as CloudFront lists the domain.
func distributionHost(d string) string {
	d = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://"), "/")
	if d == "" {
		return "<distributionDomain>"
	}
	return d
}

// AlarmTopicRegion is the region in an alarmTopicArn ("" if it is not one).
func AlarmTopicRegion(arn string) string {
	if m := snsTopicARN.FindStringSubmatch(arn); m != nil {
		return m[2]
	}
	return ""
}
