package main

import (
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// The visitor's truth is held to the drill's bound only when the drill measured a
// stable switch: a drill that measured none has no bound, and says so.
func TestTruthNote(t *testing.T) {
	stable := &drill.Phases{Stable: &drill.Moment{At: time.Unix(27, 0), Seconds: 27.164}}
	never := &drill.Phases{}
	for _, tc := range []struct {
		name         string
		drill, truth *drill.Phases
		want         string
	}{
		{"both stable", stable, stable, "(truth 27.164 s, within bound: true)"},
		{"the drill saw none", never, stable, "(truth 27.164 s; the drill measured no stable switch, so no bound to hold it to)"},
		{"no phases at all", nil, stable, "no bound to hold it to"},
		{"neither saw it", never, never, ""},
	} {
		got := truthNote(tc.drill, tc.truth, true)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if tc.drill == nil || tc.drill.Stable == nil {
			if strings.Contains(got, "within bound") {
				t.Errorf("%s: %q holds a truth to a bound the drill never had", tc.name, got)
			}
		}
	}
}
