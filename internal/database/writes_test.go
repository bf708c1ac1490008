package database

import (
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// stream is a synthetic run of sign-ups every 100 ms in both regions, each answered
// in 10 ms: east acknowledges until eastStops, west from westStarts; east's refusals
// after the switch are read-only (1290), both regions' during it cannot connect.
func stream(sent time.Time, eastStops, westStarts, eastFrom, done time.Duration, westBefore bool) []drill.WriteSample {
	var out []drill.WriteSample
	for i := range 60 {
		at := time.Duration(i) * 100 * time.Millisecond
		for _, region := range []string{"us-east-1", "us-west-1"} {
			s := drill.WriteSample{Region: region, N: i, SentAt: sent.Add(at), At: sent.Add(at + 10*time.Millisecond)}
			switch {
			case region == "us-east-1" && at < eastStops:
				s.OK = true
			case region == "us-east-1" && eastFrom > 0 && at >= eastFrom:
				s.OK = true // the global endpoint's cache expired: east reaches the new writer
			case region == "us-west-1" && at >= westStarts:
				s.OK = true
			case region == "us-west-1" && westBefore && at < eastStops:
				s.OK = true // the global endpoint: west reaches the old writer before the switch
			case at >= done:
				s.Error = "1290 read-only"
			case at >= eastStops:
				s.Error = "2003 cannot connect"
			default:
				s.Error = "1290 read-only"
			}
			out = append(out, s)
		}
	}
	return out
}

func TestWriteOutage(t *testing.T) {
	sent := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                 string
		writes               []drill.WriteSample
		wantLo, wantHi, want float64
		stale                int
	}{
		// East stopped between its last ack's send (1.9 s) and its first refusal's
		// answer (2.01 s); west started between its last refusal's send (3.9 s) and its
		// first ack's answer (4.01 s): 1.89..2.11 s, the truth (2.0 s) inside. The
		// stale writes are east's 1290s sent after the switch was seen done (4.1..5.9 s).
		{"each region writes to its own cluster", stream(sent, 2*time.Second, 4*time.Second, 0, 4*time.Second, false), 1.89, 2.11, 2, 19},
		// West reached the old writer too before the switch: its outage counts from its
		// first refusal, not from the start.
		{"the global writer endpoint", stream(sent, 2*time.Second, 4*time.Second, 5*time.Second, 4*time.Second, true), 1.89, 2.11, 2, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := sent.Add(4 * time.Second)
			f, _ := figures(tc.writes, nil, "us-east-1", "us-west-1", "us-west-1", sent, &done, 100*time.Millisecond)
			if f.OutageSeconds == nil {
				t.Fatalf("no outage: %+v", f)
			}
			if *f.OutageMin != tc.wantLo || *f.OutageMax != tc.wantHi || *f.OutageSeconds != tc.want {
				t.Errorf("outage %.3f (%.3f..%.3f), want %.3f (%.3f..%.3f)", *f.OutageSeconds, *f.OutageMin, *f.OutageMax, tc.want, tc.wantLo, tc.wantHi)
			}
			if f.StaleWrites != tc.stale {
				t.Errorf("stale writes %d, want %d", f.StaleWrites, tc.stale)
			}
		})
	}
}
