package report

import (
	"encoding/json"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// MetricsNamespace is the CloudWatch namespace of the drill's metrics.
const MetricsNamespace = "FailoverDrill"

// MetricRestoreFailed is 1 when the drill's restore did not finish (the state holds a
// restoreError: the bucket may still be blocked), else 0. An alarm watches it.
const MetricRestoreFailed = "RestoreFailed"

// MetricPrimaryNotServing is 1 when the drill blocked the bucket and the primary was
// not seen serving stably after the restore (Report.PrimaryNotServing), else 0. An
// alarm watches it.
const MetricPrimaryNotServing = "PrimaryNotServingAfterDrill"

// MetricFailoverSeconds and MetricRecoverySeconds are the stable failover and recovery
// of a drill that measured them; the dashboard graphs them and an alarm watches the
// first.
const (
	MetricFailoverSeconds = "FailoverSeconds"
	MetricRecoverySeconds = "RecoverySeconds"
)

// MetricDatabaseLostWrites is the database stage's lost writes (acknowledged sign-ups
// not found afterwards); an alarm watches it. The stage also reports
// DatabaseSwitchSeconds, DatabaseSwitchWriteOutageSeconds and their Back forms.
const MetricDatabaseLostWrites = "DatabaseLostWrites"

// EMF renders the report's figures as one CloudWatch Embedded Metric Format log line:
// written to the Lambda's stdout, CloudWatch turns it into metrics (no PutMetricData
// permission needed), so failover time can be graphed and alarmed on across drills.
// A figure the drill did not measure is left out rather than reported as zero:
// FailoverSeconds and RecoverySeconds only when the switch became stable.
func EMF(r drill.Report, at time.Time) ([]byte, error) {
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	doc := map[string]any{"Bucket": r.Target.PrimaryBucket, "Execution": r.Execution}
	var metrics []metric
	add := func(name, unit string, v float64) {
		metrics = append(metrics, metric{name, unit})
		doc[name] = v
	}
	passed := 0.0
	if r.Verdict == drill.Pass {
		passed = 1
	}
	switch {
	case r.DryRun && r.Verdict == drill.SkippedBusy:
		// A drill disturbed it: no readiness figure either way (the NotReady alarm
		// treats missing data as not breaching), but the skip is counted.
		add("DryRunSkipped", "Count", 1)
	case r.DryRun:
		// Continuous readiness: the stack's NotReady alarm watches this metric;
		// not-ready and unverified are both 0.
		ready := 0.0
		if r.Verdict == drill.Ready {
			ready = 1
		}
		add("DryRunReady", "Count", ready)
	default:
		add("DrillPassed", "Count", passed)
	}
	restoreFailed := 0.0
	if r.RestoreError != nil {
		restoreFailed = 1
	}
	add(MetricRestoreFailed, "Count", restoreFailed)
	notServing := 0.0
	if r.PrimaryNotServing {
		notServing = 1
	}
	add(MetricPrimaryNotServing, "Count", notServing)
	if r.Replication.Measured {
		add("ReplicationSeconds", "Seconds", r.Replication.Seconds)
	}
	if n, ok := r.Errors(); ok {
		add("UserVisibleErrors", "Count", float64(n))
	}
	if r.Failover.Stable {
		add(MetricFailoverSeconds, "Seconds", r.Failover.Seconds)
	}
	if r.Recovery.Stable {
		add(MetricRecoverySeconds, "Seconds", r.Recovery.Seconds)
	}
	if v := r.Visitors; v != nil {
		add("ErrorRatePercent", "Percent", v.ErrorRatePercent)
		add("SlowAnswers", "Count", float64(v.Slow))
		if v.Latency.Samples > 0 {
			add("LatencyP95Ms", "Milliseconds", v.Latency.P95Ms)
		}
	}
	if d := r.Database; d != nil {
		add(MetricDatabaseLostWrites, "Count", float64(d.LostWrites))
		for _, res := range []*drill.DatabaseResult{d.Over, d.Back} {
			if res == nil {
				continue
			}
			name := "DatabaseSwitch"
			if res.Mode == drill.DatabaseBack {
				name = "DatabaseSwitchBack"
			}
			if res.SwitchSeconds != nil {
				add(name+"Seconds", "Seconds", *res.SwitchSeconds)
			}
			if res.Writes.OutageSeconds != nil {
				add(name+"WriteOutageSeconds", "Seconds", *res.Writes.OutageSeconds)
			}
		}
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  MetricsNamespace,
			"Dimensions": [][]string{{"Bucket"}},
			"Metrics":    metrics,
		}},
	}
	return json.Marshal(doc)
}
