package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
)

// TestTruthOnlyBesideAMeasuredSwitch: the sandbox's truth is printed next to a failover
// the drill measured, never next to one it did not (where "within bound: false" would
// judge a figure that was never given).
func TestTruthOnlyBesideAMeasuredSwitch(t *testing.T) {
	rep := &drill.Report{Verdict: drill.Fail, Sandbox: &drill.SandboxFacts{}}
	rep.Sandbox.Truth.FailoverSeconds = 27.164
	rep.Failover.Phases = &drill.Phases{Mode: drill.ModeFailover, To: "us-west-1"}
	rep.Failover.NotMeasured = "the failover never became stable"
	var buf bytes.Buffer
	printReport(&buf, rep)
	if strings.Contains(buf.String(), "truth") {
		t.Errorf("truth printed beside an unmeasured failover:\n%s", buf.String())
	}
	rep.Failover.NotMeasured = ""
	rep.Failover.Seconds = 27.1
	rep.Failover.Phases.Stable = &drill.Moment{}
	buf.Reset()
	printReport(&buf, rep)
	if !strings.Contains(buf.String(), "(truth ") {
		t.Errorf("no truth beside a measured failover:\n%s", buf.String())
	}
}
