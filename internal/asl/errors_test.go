package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Typed errors as the drill's handlers return them: the Go type name is the error name.
type FailoverTimeout struct{ Msg string }

func (e *FailoverTimeout) Error() string { return "failover timeout: " + e.Msg }

type Transient struct{}

func (Transient) Error() string { return "try again" }

// failing returns a TaskFunc that fails with errs in turn, then returns {"ok":true};
// calls counts the invocations and payloads records what each received.
func failing(calls *atomic.Int32, payloads *[]string, errs ...error) TaskFunc {
	return func(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
		n := int(calls.Add(1))
		if payloads != nil {
			*payloads = append(*payloads, string(p))
		}
		if n <= len(errs) {
			return nil, errs[n-1]
		}
		return json.RawMessage(`{"ok":true}`), nil
	}
}

func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func TestRetry(t *testing.T) {
	ft := &FailoverTimeout{"x"}
	tests := []struct {
		name       string
		retry      string
		errs       []error
		wantStatus string
		wantError  string
		wantSleeps []time.Duration
		wantCalls  int32
	}{
		{"defaults: 1s, x2, 3 attempts", `[{"ErrorEquals":["FailoverTimeout"]}]`,
			[]error{ft, ft, ft}, StatusSucceeded, "", secs(1, 2, 4), 4},
		{"exhausted", `[{"ErrorEquals":["FailoverTimeout"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":3}]`,
			[]error{ft, ft, ft}, StatusFailed, "FailoverTimeout", secs(2, 6), 3},
		{"MaxDelaySeconds caps the backoff", `[{"ErrorEquals":["FailoverTimeout"],"IntervalSeconds":1,"MaxAttempts":5,"BackoffRate":2,"MaxDelaySeconds":3}]`,
			[]error{ft, ft, ft, ft, ft}, StatusSucceeded, "", secs(1, 2, 3, 3, 3), 6},
		{"fractional BackoffRate", `[{"ErrorEquals":["FailoverTimeout"],"IntervalSeconds":3,"MaxAttempts":2,"BackoffRate":1.5}]`,
			[]error{ft, ft}, StatusSucceeded, "", secs(3, 4.5), 3},
		{"MaxAttempts 0 never retries, even when a later retrier matches", `[{"ErrorEquals":["FailoverTimeout"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}]`,
			[]error{ft}, StatusFailed, "FailoverTimeout", nil, 1},
		{"unmatched error is not retried", `[{"ErrorEquals":["Other"]}]`,
			[]error{ft}, StatusFailed, "FailoverTimeout", nil, 1},
		{"each retrier keeps its own count (docs example)",
			`[{"ErrorEquals":["ErrorA","ErrorB"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":2},{"ErrorEquals":["ErrorC"],"IntervalSeconds":5}]`,
			[]error{&TaskError{Name: "ErrorA"}, &TaskError{Name: "ErrorB"}, &TaskError{Name: "ErrorC"}, &TaskError{Name: "ErrorB"}},
			StatusFailed, "ErrorB", secs(1, 2, 5), 4},
		{"States.TaskFailed retries a function error", `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`,
			[]error{Transient{}}, StatusSucceeded, "", secs(1), 2},
		{"Lambda service errors via TaskError", `[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":2}]`,
			[]error{&TaskError{Name: "Lambda.TooManyRequestsException", Cause: "Rate Exceeded."}}, StatusSucceeded, "", secs(2), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(task("A", `"Retry":`+tt.retry+`,"End":true`)))
			c := newClock()
			var calls atomic.Int32
			res := m.Run(t.Context(), "r", nil, opts(c, failing(&calls, nil, tt.errs...)))
			assertStatus(t, res, tt.wantStatus, tt.wantError)
			if got := c.Sleeps(); !reflect.DeepEqual(got, tt.wantSleeps) {
				t.Errorf("sleeps %v, want %v", got, tt.wantSleeps)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
			var retries []time.Duration
			for _, e := range res.Events {
				if e.Type == TaskRetryScheduled {
					retries = append(retries, e.Duration)
				}
			}
			if !reflect.DeepEqual(retries, tt.wantSleeps) {
				t.Errorf("TaskRetryScheduled durations %v, want %v", retries, tt.wantSleeps)
			}
		})
	}
}

func TestRetryCountAndEvents(t *testing.T) {
	m := mustLoad(t, machine(task("A", `"Parameters":{"FunctionName":"`+testFn+`","Payload":{"n.$":"$$.State.RetryCount"}},"Retry":[{"ErrorEquals":["Transient"]}],"End":true`)))
	var calls atomic.Int32
	var payloads []string
	res := m.Run(t.Context(), "r", nil, opts(newClock(), failing(&calls, &payloads, Transient{}, Transient{})))
	assertStatus(t, res, StatusSucceeded, "")
	if want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}; !reflect.DeepEqual(payloads, want) {
		t.Errorf("payloads %v, want %v", payloads, want)
	}
	var got []string
	for _, e := range res.Events {
		got = append(got, fmt.Sprintf("%s:%s:%d", e.Type, e.Error, e.Attempt))
	}
	want := []string{"ExecutionStarted::0", "StateEntered::0",
		"TaskFailed:Transient:1", "TaskRetryScheduled:Transient:2",
		"TaskFailed:Transient:2", "TaskRetryScheduled:Transient:3",
		"TaskSucceeded::0", "StateExited::0", "ExecutionSucceeded::0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
}

// A result over 256 KiB fails the execution with States.DataLimitExceeded, which no
// Retry and no Catch (not even States.ALL) handles; sizes are reported on the events.
func TestDataLimitExceeded(t *testing.T) {
	m := mustLoad(t, machine(task("A", `"ResultPath":"$.a",`+
		`"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true`)+
		`,"Caught":{"Type":"Succeed"}`))
	for _, tc := range []struct {
		name   string
		size   int
		status string
	}{
		{"just under", MaxPayloadBytes - 1000, StatusSucceeded},
		{"over", MaxPayloadBytes + 1, StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			o := opts(newClock(), nil)
			o.Tasks = map[string]TaskFunc{testFn: func(context.Context, json.RawMessage) (json.RawMessage, error) {
				calls++
				return json.RawMessage(`"` + strings.Repeat("x", tc.size-2) + `"`), nil
			}}
			res := m.Run(t.Context(), "r", nil, o)
			if res.Status != tc.status || calls != 1 {
				t.Fatalf("status %s error %s after %d calls, want %s after 1", res.Status, res.Error, calls, tc.status)
			}
			var result int
			for _, e := range res.Events {
				if e.Type == TaskSucceeded {
					result = e.Bytes
				}
			}
			if result != tc.size {
				t.Errorf("TaskSucceeded.Bytes %d, want %d", result, tc.size)
			}
			if tc.status == StatusFailed && (res.Error != "States.DataLimitExceeded" || !strings.Contains(res.Cause, "262145 bytes")) {
				t.Errorf("error %s cause %q", res.Error, res.Cause)
			}
		})
	}
}

func TestRetryFullJitter(t *testing.T) {
	m := mustLoad(t, machine(task("A", `"Retry":[{"ErrorEquals":["Transient"],"IntervalSeconds":4,"MaxAttempts":3,"JitterStrategy":"FULL"}],"End":true`)))
	c := newClock()
	var calls atomic.Int32
	res := m.Run(t.Context(), "r", nil, opts(c, failing(&calls, nil, Transient{}, Transient{}, Transient{})))
	assertStatus(t, res, StatusSucceeded, "")
	for i, d := range c.Sleeps() {
		if max := secs(4, 8, 16)[i]; d < 0 || d > max {
			t.Errorf("retry %d slept %v, want within [0, %v]", i+1, d, max)
		}
	}
}

func TestCatch(t *testing.T) {
	tests := []struct {
		name     string
		catch    string
		err      error
		wantNext string
		want     string // output of the Next state (a Pass that ends)
	}{
		{"ResultPath keeps the input and adds the error", `[{"ErrorEquals":["FailoverTimeout"],"ResultPath":"$.error","Next":"B"}]`,
			&FailoverTimeout{"no"}, "B", `{"in":1,"error":{"Error":"FailoverTimeout","Cause":"{\"errorMessage\":\"failover timeout: no\",\"errorType\":\"FailoverTimeout\"}"}}`},
		{"default ResultPath replaces the input", `[{"ErrorEquals":["FailoverTimeout"],"Next":"B"}]`,
			&FailoverTimeout{"no"}, "B", `{"Error":"FailoverTimeout","Cause":"{\"errorMessage\":\"failover timeout: no\",\"errorType\":\"FailoverTimeout\"}"}`},
		{"ResultPath null discards the error", `[{"ErrorEquals":["FailoverTimeout"],"ResultPath":null,"Next":"B"}]`,
			&FailoverTimeout{"no"}, "B", `{"in":1}`},
		{"first matching catcher wins", `[{"ErrorEquals":["Nope"],"Next":"B"},{"ErrorEquals":["Transient"],"ResultPath":"$.e","Next":"C"},{"ErrorEquals":["States.ALL"],"Next":"B"}]`,
			Transient{}, "C", `{"in":1,"e":{"Error":"Transient","Cause":"{\"errorMessage\":\"try again\",\"errorType\":\"Transient\"}"}}`},
		{"TaskError cause is verbatim", `[{"ErrorEquals":["Lambda.ServiceException"],"Next":"B"}]`,
			&TaskError{Name: "Lambda.ServiceException", Cause: "boom"}, "B", `{"Error":"Lambda.ServiceException","Cause":"boom"}`},
		{"a wrapped error is named by its outer type, as in Lambda", `[{"ErrorEquals":["wrapError"],"Next":"B"}]`,
			fmt.Errorf("ctx: %w", &FailoverTimeout{"x"}), "B", `{"Error":"wrapError","Cause":"{\"errorMessage\":\"ctx: failover timeout: x\",\"errorType\":\"wrapError\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(task("A", `"Catch":`+tt.catch+`,"Next":"C"`)+`,"B":{"Type":"Pass","End":true},"C":{"Type":"Pass","End":true}`))
			var calls atomic.Int32
			res := m.Run(t.Context(), "r", json.RawMessage(`{"in":1}`), opts(newClock(), failing(&calls, nil, tt.err)))
			assertStatus(t, res, StatusSucceeded, "")
			assertJSON(t, res.Output, tt.want)
			want := []string{"StateEntered:A", "TaskFailed:A", "StateCaught:A", "StateExited:A", "StateEntered:" + tt.wantNext}
			if got := eventsOf(res, StateEntered, StateExited, TaskFailed, StateCaught)[:5]; !reflect.DeepEqual(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
		})
	}

	t.Run("custom ErrorName", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"Catch":[{"ErrorEquals":["Mapped"],"Next":"B"}],"End":true`)+`,"B":{"Type":"Pass","End":true}`))
		o := opts(newClock(), failing(new(atomic.Int32), nil, errors.New("x")))
		o.ErrorName = func(error) string { return "Mapped" }
		assertStatus(t, m.Run(t.Context(), "r", nil, o), StatusSucceeded, "")
	})
}

// blocking is a TaskFunc that waits for its context, as a well-behaved handler does.
func blocking(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestErrorMatching(t *testing.T) {
	panicking := func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("boom") }
	tests := []struct {
		name        string
		errorEquals string
		fn          TaskFunc
		state       string // overrides the Task's extra fields
		wantCaught  bool
		wantError   string
	}{
		{"States.ALL catches a function error", "States.ALL", failing(new(atomic.Int32), nil, Transient{}), "", true, "Transient"},
		{"States.ALL catches States.Timeout", "States.ALL", blocking, "", true, "States.Timeout"},
		{"States.TaskFailed catches a function error", "States.TaskFailed", failing(new(atomic.Int32), nil, Transient{}), "", true, "Transient"},
		{"States.TaskFailed does not catch States.Timeout", "States.TaskFailed", blocking, "", false, "States.Timeout"},
		{"States.Timeout catches a timeout", "States.Timeout", blocking, "", true, "States.Timeout"},
		{"exact name", "Transient", failing(new(atomic.Int32), nil, Transient{}), "", true, "Transient"},
		{"other name", "FailoverTimeout", failing(new(atomic.Int32), nil, Transient{}), "", false, "Transient"},
		{"States.ALL does not catch States.Runtime", "States.ALL", echo,
			`"Parameters":{"FunctionName":"` + testFn + `","Payload":{"x.$":"$.missing"}},`, false, "States.Runtime"},
		{"naming States.Runtime does not catch it either", "States.Runtime", echo,
			`"Parameters":{"FunctionName":"` + testFn + `","Payload":{"x.$":"$.missing"}},`, false, "States.Runtime"},
		{"a panic is named like aws-lambda-go names it", "string", panicking, "", true, "string"},
		{"States.TaskFailed catches a panic", "States.TaskFailed", panicking, "", true, "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the cases about timeouts have one (1 s, scaled to 1 ms): a function
			// error must never race a deadline shorter than the scheduler's latency on
			// busy cores, where it once lost ("caught States.Timeout, want Transient").
			timeout := ""
			if tt.wantError == "States.Timeout" {
				timeout = `"TimeoutSeconds":1,`
			}
			m := mustLoad(t, machine(task("A", tt.state+timeout+`"Catch":[{"ErrorEquals":["`+tt.errorEquals+`"],"Next":"B"}],"End":true`)+`,"B":{"Type":"Pass","End":true}`))
			res := m.Run(t.Context(), "r", nil, opts(newClock(), tt.fn))
			if tt.wantCaught {
				assertStatus(t, res, StatusSucceeded, "")
				var out struct{ Error, Cause string }
				_ = json.Unmarshal(res.Output, &out)
				if out.Error != tt.wantError {
					t.Errorf("caught %q, want %q", out.Error, tt.wantError)
				}
				return
			}
			assertStatus(t, res, StatusFailed, tt.wantError)
		})
	}

	t.Run("States.ALL retry does not retry States.Runtime", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"OutputPath":"$.missing","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true`)))
		c := newClock()
		var calls atomic.Int32
		res := m.Run(t.Context(), "r", nil, opts(c, failing(&calls, nil)))
		assertStatus(t, res, StatusFailed, "States.Runtime")
		if calls.Load() != 1 || len(c.Sleeps()) != 0 {
			t.Errorf("%d calls, sleeps %v; want 1 call and no retry", calls.Load(), c.Sleeps())
		}
	})

	t.Run("panic cause", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"End":true`)))
		res := m.Run(t.Context(), "r", nil, opts(newClock(), panicking))
		assertStatus(t, res, StatusFailed, "string")
		var cause struct {
			Message    string           `json:"errorMessage"`
			Type       string           `json:"errorType"`
			StackTrace []map[string]any `json:"stackTrace"`
		}
		if err := json.Unmarshal([]byte(res.Cause), &cause); err != nil || cause.Message != "boom" || cause.Type != "string" || len(cause.StackTrace) == 0 {
			t.Errorf("cause %s", res.Cause)
		}
	})
}

func TestTaskTimeout(t *testing.T) {
	t.Run("the TaskFunc's context is cancelled", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"TimeoutSeconds":5,"End":true`)))
		ctxErr := make(chan error, 1)
		fn := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			<-ctx.Done()
			ctxErr <- ctx.Err()
			return nil, ctx.Err()
		}
		res := m.Run(t.Context(), "r", nil, opts(newClock(), fn))
		assertStatus(t, res, StatusFailed, "States.Timeout")
		select {
		case err := <-ctxErr:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("TaskFunc saw %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the TaskFunc's context was never cancelled")
		}
	})
	t.Run("a TaskFunc that ignores its context still times out", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"TimeoutSeconds":1,"Retry":[{"ErrorEquals":["States.Timeout"],"MaxAttempts":1}],"End":true`)))
		release := make(chan struct{})
		defer close(release)
		var calls atomic.Int32
		fn := func(context.Context, json.RawMessage) (json.RawMessage, error) {
			calls.Add(1)
			<-release
			return nil, nil
		}
		c := newClock()
		res := m.Run(t.Context(), "r", nil, opts(c, fn))
		assertStatus(t, res, StatusFailed, "States.Timeout")
		if calls.Load() != 2 || !reflect.DeepEqual(c.Sleeps(), secs(1)) {
			t.Errorf("%d calls, sleeps %v; want a timeout retried once", calls.Load(), c.Sleeps())
		}
	})
}

func TestAbortAndTimeout(t *testing.T) {
	t.Run("cancelled ctx aborts, no Catch runs", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"}],"End":true`)+`,"B":{"Type":"Pass","End":true}`))
		ctx, cancel := context.WithCancel(t.Context())
		fn := func(tctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			cancel() // StopExecution while the task runs
			<-tctx.Done()
			return nil, tctx.Err()
		}
		res := m.Run(ctx, "r", nil, opts(newClock(), fn))
		assertStatus(t, res, StatusAborted, "")
		if got := eventsOf(res); !reflect.DeepEqual(got, []string{"ExecutionStarted:", "StateEntered:A", "StateExited:A", "ExecutionAborted:"}) {
			t.Errorf("events %v", got)
		}
		if exit := res.Events[2]; exit.Error != StatusAborted {
			t.Errorf("the interrupted state's exit %+v, want it marked ABORTED", exit)
		}
	})
	t.Run("cancelled during a retry delay", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", `"Retry":[{"ErrorEquals":["States.ALL"]}],"End":true`)))
		ctx, cancel := context.WithCancel(t.Context())
		o := opts(newClock(), failing(new(atomic.Int32), nil, Transient{}))
		o.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
		assertStatus(t, m.Run(ctx, "r", nil, o), StatusAborted, "")
	})
	t.Run("TimeoutSeconds of the execution", func(t *testing.T) {
		m := mustLoad(t, `{"StartAt":"A","TimeoutSeconds":2,"States":{"A":{"Type":"Wait","Seconds":3600,"End":true}}}`)
		o := opts(newClock(), echo)
		o.Sleep = func(ctx context.Context, d time.Duration) error { <-ctx.Done(); return ctx.Err() }
		res := m.Run(t.Context(), "r", nil, o)
		assertStatus(t, res, StatusTimedOut, "States.Timeout")
		if last := res.Events[len(res.Events)-1]; last.Type != ExecutionTimedOut {
			t.Errorf("last event %v", last)
		}
	})
	t.Run("ExecutionTimeout replaces TimeoutSeconds; the running state's exit says TIMED_OUT, never a success", func(t *testing.T) {
		m := mustLoad(t, `{"StartAt":"A","TimeoutSeconds":3600,"States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
			"Parameters":{"FunctionName":"`+testFn+`","Payload":{}},"TimeoutSeconds":100,"End":true}}}`)
		// The execution's timeout runs out once the task is running: an event, not 50 ms
		// of wall time, which a starved CPU could spend before the state even started.
		// The task goroutine outlives the execution (a Lambda keeps running), so what it
		// saw is handed over on a channel.
		var deadline time.Duration
		running := make(chan struct{})
		fn := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
			dl, _ := ctx.Deadline()
			deadline = time.Until(dl)
			close(running)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		o := opts(newClock(), fn)
		var asked []time.Duration // the timeouts the runner asked for, in order
		o.WithTimeout = func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
			asked = append(asked, d)
			if len(asked) > 1 { // a Task's own TimeoutSeconds
				return context.WithTimeout(ctx, d)
			}
			ctx, cancel := context.WithCancel(ctx)
			go func() {
				select {
				case <-running:
					cancel()
				case <-ctx.Done():
				}
			}()
			return ctx, cancel
		}
		o.ExecutionTimeout = 50 * time.Millisecond
		res := m.Run(t.Context(), "r", nil, o)
		<-running
		assertStatus(t, res, StatusTimedOut, "States.Timeout")
		if len(asked) != 2 || asked[0] != o.ExecutionTimeout || asked[1] != 100*time.Second {
			t.Errorf("timeouts asked for %v, want the execution's %v (not its TimeoutSeconds), then the Task's 100 s", asked, o.ExecutionTimeout)
		}
		if !strings.Contains(res.Cause, "TimeoutSeconds (0)") {
			t.Errorf("cause %q", res.Cause)
		}
		// The Task's deadline is its own 100 s, not the execution's 50 ms: a Lambda's
		// deadline does not shrink with its execution's.
		if deadline < 90*time.Second {
			t.Errorf("the task saw a deadline in %v", deadline)
		}
		var exit Event
		for _, ev := range res.Events {
			if ev.Type == StateExited {
				exit = ev
			}
		}
		if exit.State != "A" || exit.Error != StatusTimedOut {
			t.Errorf("exit %+v, want A exited with TIMED_OUT", exit)
		}
		if first := res.Events[0]; first.Type != ExecutionStarted || !first.At.Equal(res.Start) || res.Start.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("ExecutionStarted at %v, start %v: want the start, to the millisecond", first.At, res.Start)
		}
	})
	t.Run("ExecutionARN", func(t *testing.T) {
		if got := ExecutionARN("arn:aws:states:us-east-1:123456789012:stateMachine:sm", "x"); got != "arn:aws:states:us-east-1:123456789012:execution:sm:x" {
			t.Errorf("ExecutionARN = %s", got)
		}
	})
	t.Run("missing TaskFunc is refused before anything runs", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Pass","Next":"B"},`+task("B", `"End":true`)))
		o := opts(newClock(), echo)
		o.Tasks = map[string]TaskFunc{"other": echo}
		res := m.Run(t.Context(), "r", nil, o)
		assertStatus(t, res, StatusFailed, "Lambda.ResourceNotFoundException")
		if !strings.Contains(res.Cause, testFn) || len(eventsOf(res, StateEntered)) != 0 {
			t.Errorf("cause %q, events %v", res.Cause, eventsOf(res))
		}
	})
	t.Run("invalid input", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Succeed"}`))
		assertStatus(t, m.Run(t.Context(), "r", json.RawMessage(`{`), opts(newClock(), echo)), StatusFailed, "States.Runtime")
	})
}
