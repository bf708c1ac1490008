package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/drill"
)

// timeline prints one line per state as the execution runs. It is safe for concurrent
// use: the interrupt notice comes from another goroutine.
type timeline struct {
	mu     sync.Mutex
	w      io.Writer
	start  time.Time
	caught map[string]bool // states whose error a Catch took: their exit is not "ok"
}

func newTimeline(w io.Writer) *timeline { return &timeline{w: w, caught: map[string]bool{}} }

// say prints a line at once, between the execution's lines.
func (t *timeline) say(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format+"\n", args...)
}

func (t *timeline) event(ev asl.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = ev.At
	}
	at := ev.At.Sub(t.start).Seconds()
	switch ev.Type {
	case asl.ExecutionStarted:
		fmt.Fprintf(t.w, "%8.3fs  execution started\n", at)
	case asl.StateEntered:
		delete(t.caught, ev.State)
	case asl.StateExited:
		switch {
		case t.caught[ev.State]:
			// Its catch line said it: the state failed, it did not succeed.
		case ev.Error == "":
			fmt.Fprintf(t.w, "%8.3fs  %-20s ok      %7.3fs\n", at, ev.State, ev.Duration.Seconds())
		case ev.Error == asl.StatusAborted || ev.Error == asl.StatusTimedOut:
			// Interrupted: never "ok".
			fmt.Fprintf(t.w, "%8.3fs  %-20s %-7s %7.3fs (interrupted)\n", at, ev.State, strings.ToLower(strings.ReplaceAll(ev.Error, "_", " ")), ev.Duration.Seconds())
		}
		// A failed state is reported by the execution's end.
	case asl.TaskRetryScheduled:
		fmt.Fprintf(t.w, "%8.3fs  %-20s retry   attempt %d after %s: %s\n", at, ev.State, ev.Attempt, ev.Error, oneLine(drill.CauseMessage(ev.Cause)))
	case asl.StateCaught:
		// The error's name only: its message is printed once, in full, with the verdict.
		t.caught[ev.State] = true
		fmt.Fprintf(t.w, "%8.3fs  %-20s caught  %s (the error in full is below)\n", at, ev.State, ev.Error)
	case asl.ExecutionSucceeded, asl.ExecutionFailed, asl.ExecutionTimedOut, asl.ExecutionAborted:
		line := fmt.Sprintf("%8.3fs  execution %s", at, strings.ToLower(strings.TrimPrefix(ev.Type, "Execution")))
		if ev.Error != "" {
			line += "  " + ev.Error
		}
		fmt.Fprintln(t.w, line)
	}
}

// oneLine folds a message's line breaks; it never cuts.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
