package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// BenchmarkDrillLocal runs the whole drill as `drill local` does, with its default
// delays, and reports the figures the README quotes:
//
//	wall-s         the execution's wall time
//	overhead-s     wall time beyond the delays the drill must wait for (target <= 1 s)
//	probe-err-s    |measured failover - sandbox truth| (target <= one probe interval, 0.25 s)
//	startup-s      sandbox start + deployment onto it
//	checks-s       the Readiness state (distribution, secondary origin, account Block
//	               Public Access, stop alarms), what readiness adds before Preflight
//	replication-s  the Replication state: waiting for the seeded cart to reach the
//	               secondary (the sandbox's replication lag is 200 ms)
//
// A propagation delay that is not a multiple of the probe interval shows the probe's
// quantisation honestly.
//
//	go test -run '^$' -bench DrillLocal -benchtime 3x ./internal/local/
func BenchmarkDrillLocal(b *testing.B) {
	for _, prop := range []time.Duration{time.Second, 1130 * time.Millisecond} {
		b.Run("propagation="+prop.String(), func(b *testing.B) {
			var wall, overhead, probeErr, startup, checks, replication float64
			for range b.N {
				t0 := time.Now()
				env, err := local.Start(sandbox.Config{PropagationDelay: prop}, nil)
				if err != nil {
					b.Fatal(err)
				}
				startup += time.Since(t0).Seconds()
				out, err := env.Run(context.Background(), local.RunOptions{})
				env.Close()
				if err != nil {
					b.Fatal(err)
				}
				rep := out.Report
				if rep.Verdict != drill.Pass {
					b.Fatalf("verdict %s: %v", rep.Verdict, rep.Reasons)
				}
				wall += rep.Timing.WallSeconds
				overhead += rep.Timing.OverheadSeconds
				probeErr = max(probeErr, rep.Sandbox.ProbeErrorSeconds)
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
			b.ReportMetric(probeErr, "probe-err-s")
			b.ReportMetric(startup/n, "startup-s")
			b.ReportMetric(checks/n, "checks-s")
			b.ReportMetric(replication/n, "replication-s")
			b.ReportMetric(0, "ns/op") // the time per op is wall-s; ns/op would repeat it
		})
	}
}
