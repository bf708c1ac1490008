package local_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// BenchmarkDrillLocal runs the whole drill as `drill local` does, with its default
// limits (99% of config.json answers in 5 s windows), and reports the figures the
// README quotes:
//
//	wall-s           the execution's wall time
//	overhead-s       wall time beyond the delays the drill must wait for (target <= 1 s;
//	                 0 with flapping, whose wait is chance)
//	failover-s       the stable failover the drill reported
//	truth-s          the stable failover the independent visitor saw (same definition)
//	bound-s          the width of the drill's stated bound on it
//	probe-err-s      the largest |reported - truth| over the runs
//	within-bound     the share of runs whose truth lay within the stated bound
//	startup-s        sandbox start + deployment onto it
//	checks-s         the Readiness state (distribution, secondary origin, account Block
//	                 Public Access, stop alarms): what readiness adds before Preflight
//	replication-s    the Replication state: waiting for the seeded cart to reach the
//	                 secondary (the sandbox's replication lag is 200 ms)
//
// for a clean propagation of 1 s and for flapping propagation: 1 s, then 3 s in which
// each request sees the block with a probability rising from 40% to 100%.
//
//	go test -run '^$' -bench DrillLocal -benchtime 3x ./internal/local/
func BenchmarkDrillLocal(b *testing.B) {
	for _, bc := range []struct {
		name string
		sb   sandbox.Config
	}{
		{"propagation=1s", sandbox.Config{PropagationDelay: time.Second}},
		{"propagation=1s+flap=3s-from-40%", sandbox.Config{PropagationDelay: time.Second, PropagationFlap: 3 * time.Second, FlapFrom: 0.4}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var wall, overhead, failover, truth, bound, startup, probeErr, checks, replication float64
			within := 0
			for range b.N {
				t0 := time.Now()
				env, err := local.Start(bc.sb, nil)
				if err != nil {
					b.Fatal(err)
				}
				startup += time.Since(t0).Seconds()
				out, err := env.Run(context.Background(), local.RunOptions{Input: json.RawMessage(`{}`)})
				env.Close()
				if err != nil {
					b.Fatal(err)
				}
				rep := out.Report
				if rep.Verdict != drill.Pass || rep.Sandbox == nil || rep.Failover.Phases == nil || rep.Failover.Phases.Stable == nil {
					b.Fatalf("verdict %s: %v", rep.Verdict, rep.Reasons)
				}
				st := rep.Failover.Phases.Stable
				wall += out.Result.Stop.Sub(out.Result.Start).Seconds()
				if rep.Timing != nil { // none with flapping propagation: the wait is chance
					overhead += rep.Timing.OverheadSeconds
				}
				failover += rep.Failover.Seconds
				truth += rep.Sandbox.Truth.FailoverSeconds
				bound += st.HiSeconds - st.LoSeconds
				probeErr = math.Max(probeErr, rep.Sandbox.ProbeErrorSeconds)
				if rep.Sandbox.FailoverWithinBound {
					within++
				}
				for _, st := range rep.Steps {
					switch st.Name {
					case "Readiness":
						checks += st.End.Sub(st.Start).Seconds()
					case "Replication":
						replication += st.End.Sub(st.Start).Seconds()
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(wall/n, "wall-s")
			b.ReportMetric(overhead/n, "overhead-s")
			b.ReportMetric(failover/n, "failover-s")
			b.ReportMetric(truth/n, "truth-s")
			b.ReportMetric(bound/n, "bound-s")
			b.ReportMetric(probeErr, "probe-err-s")
			b.ReportMetric(float64(within)/n, "within-bound")
			b.ReportMetric(startup/n, "startup-s")
			b.ReportMetric(checks/n, "checks-s")
			b.ReportMetric(replication/n, "replication-s")
			b.ReportMetric(0, "ns/op") // the time per op is wall-s; ns/op would repeat it
		})
	}
}
