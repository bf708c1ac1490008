package local_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestScenarioBounds measures, over repeated runs of every matrix scenario, how wide
// the drill's bound on each stable switch is and how often the independent visitor's
// stable time falls inside it; docs/stability.md publishes the table it prints. It
// takes long (the 120 s ramp alone four minutes a run), so it runs only when asked:
//
//	DRILL_BOUND_RUNS=10 go test -count=1 -timeout 90m -run TestScenarioBounds -v ./internal/local/
//
// DRILL_BOUND_RUNS is the runs per scenario; DRILL_BOUND_SLOW_RUNS those of the 120 s
// ramp (default: a third of them, at least 2). Every run makes TestScenarioMatrix's
// checks too.
func TestScenarioBounds(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("DRILL_BOUND_RUNS"))
	if runs <= 0 {
		t.Skip("a measurement, not a test: set DRILL_BOUND_RUNS (runs per scenario) to run it")
	}
	slow, _ := strconv.Atoi(os.Getenv("DRILL_BOUND_SLOW_RUNS"))
	if slow <= 0 {
		slow = max(runs/3, 2)
	}
	type tally struct {
		mu                   sync.Mutex
		runs                 int
		foW, rcW             []float64
		foIn, rcIn, foN, rcN int
		foMixed, rcMixed     int
		starvedRuns          int
		starvedMax           float64
	}
	tallies := make([]*tally, len(scenarios))
	slots := make(chan struct{}, 2)
	for i, sc := range scenarios {
		tallies[i] = &tally{}
		n := runs
		if strings.HasPrefix(sc.name, "120 s ramp") {
			n = slow
		}
		for r := range n {
			t.Run(fmt.Sprintf("%s/%d", sc.name, r), func(t *testing.T) {
				t.Parallel()
				take(slots, sc)
				defer give(slots, sc)
				f := runScenario(t, sc)
				tl := tallies[i]
				tl.mu.Lock()
				defer tl.mu.Unlock()
				tl.runs++
				if b := f.failover; b != nil {
					tl.foN++
					tl.foW = append(tl.foW, b.width)
					if b.inside {
						tl.foIn++
					}
					if b.mixed {
						tl.foMixed++
					}
				}
				if b := f.recovery; b != nil {
					tl.rcN++
					tl.rcW = append(tl.rcW, b.width)
					if b.inside {
						tl.rcIn++
					}
					if b.mixed {
						tl.rcMixed++
					}
				}
				if f.starved > 0 {
					tl.starvedRuns++
					tl.starvedMax = max(tl.starvedMax, f.starved)
				}
			})
		}
	}
	t.Cleanup(func() {
		var b strings.Builder
		b.WriteString("| scenario | runs | failover: bound width, median (max) | visitor inside | recovery: bound width, median (max) | visitor inside | starved runs (most) |\n|---|---|---|---|---|---|---|\n")
		for i, sc := range scenarios {
			tl := tallies[i]
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d (%.2f s) |\n", sc.name, tl.runs,
				widths(tl.foW), share(tl.foIn, tl.foN, tl.foMixed), widths(tl.rcW), share(tl.rcIn, tl.rcN, tl.rcMixed), tl.starvedRuns, tl.starvedMax)
		}
		fmt.Print(b.String())
	})
}

func widths(w []float64) string {
	if len(w) == 0 {
		return "–"
	}
	s := slices.Clone(w)
	slices.Sort(s)
	return fmt.Sprintf("%.3f s (%.3f s)", s[(len(s)-1)/2], s[len(s)-1])
}

func share(in, n, mixed int) string {
	if n == 0 {
		return "– (no stable switch)"
	}
	m := ""
	if mixed > 0 {
		m = fmt.Sprintf(", %d mixed", mixed)
	}
	return fmt.Sprintf("%d of %d%s", in, n, m)
}
