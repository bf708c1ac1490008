package drill_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// A database switch's result rides in the execution's state twice (over and back)
// beside everything else, under Step Functions' 256 KiB: at its largest (many status
// changes, every kind of refusal, the most lost writes it names, the longest emails)
// it stays within 16 KiB. Every sample is in the ledger instead.
func TestDatabaseResultStaysSmall(t *testing.T) {
	v := 1.0
	res := drill.DatabaseResult{Mode: drill.DatabaseOver, GlobalCluster: strings.Repeat("g", 63), From: "ap-southeast-2", To: "ap-northeast-3",
		SentAt: time.Now(), AcceptedAt: time.Now(), DoneAt: &time.Time{}, SwitchSeconds: &v, SwitchMinSeconds: &v,
		Writes: drill.WriteFigures{Sent: map[string]int{"ap-southeast-2": 1e6, "ap-northeast-3": 1e6}, Acknowledged: map[string]int{"ap-southeast-2": 1e6, "ap-northeast-3": 1e6},
			LastFromAck: &v, FirstToAck: &v, OutageSeconds: &v, OutageMin: &v, OutageMax: &v, Errors: map[string]int{},
			SamplesKey: "runs/" + strings.Repeat("e", 80) + "/20260101T000000.000Z/writes-over.json"},
		ReadBack: drill.ReadBack{Region: "ap-northeast-3", Checked: 1e6, Lost: 1e6}}
	for i := range drill.MaxDatabaseStates { // a switch that flapped between statuses all along
		res.States = append(res.States, drill.DatabaseState{Status: "switching-over", At: float64(i), Writer: "ap-southeast-2"})
	}
	for i := range 12 {
		res.Writes.Errors[fmt.Sprintf("transient: %s %d", strings.Repeat("x", 80), i)] = 1e6
	}
	for range drill.MaxMissingNamed {
		res.ReadBack.Missing = append(res.ReadBack.Missing, strings.Repeat("m", 64)+"@"+drill.SyntheticDomain)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 16<<10 {
		t.Errorf("a database result is %d bytes, want at most 16 KiB", len(b))
	}
	t.Logf("largest database result: %d bytes", len(b))
}
