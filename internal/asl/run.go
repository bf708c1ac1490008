package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"time"

	realclock "github.com/unishop/failover-drill/internal/clock"
)

// TaskFunc is the Go stand-in for a Lambda function: it receives the Payload and returns
// the function's output JSON (nil is JSON null).
type TaskFunc func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Options configures one Run.
type Options struct {
	// Tasks maps a function to its Go implementation. Key: the FunctionName value after
	// substitution (e.g. an ARN), or the Resource for a direct Lambda ARN Task.
	Tasks map[string]TaskFunc
	// Sleep waits for Wait states and Retry delays; default: a real sleep honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for events, the context object and Wait timestamps; default time.Now.
	Now func() time.Time
	// OnEvent, when set, is called synchronously for each event (a live timeline).
	OnEvent func(Event)
	// ErrorName gives the Lambda error type of an error a TaskFunc returns; default: the
	// Go type name without pointer, as aws-lambda-go reports it.
	ErrorName func(error) string
	// StateMachineArn is $$.StateMachine.Id; default
	// arn:aws:states:local:000000000000:stateMachine:local.
	StateMachineArn string
	// WithTimeout derives the contexts that enforce the execution's and each Task's
	// TimeoutSeconds; default context.WithTimeout. Tests can scale time with it.
	WithTimeout func(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// ExecutionTimeout, when positive, replaces the definition's TimeoutSeconds (tests
	// that need an execution to time out).
	ExecutionTimeout time.Duration
}

// Event is one entry of the execution's timeline.
type Event struct {
	At          time.Time
	Type, State string
	Error       string
	Cause       string
	Attempt     int           // TaskFailed: the attempt that failed (1-based); TaskRetryScheduled: the attempt to come
	Duration    time.Duration // StateExited: time in the state; TaskRetryScheduled: the delay; Execution*: total
	// Bytes is the size of the state's input (StateEntered), of its output
	// (StateExited, when it has one) or of a Task's result (TaskSucceeded), as the
	// UTF-8 JSON Step Functions measures against MaxPayloadBytes.
	Bytes int
}

// Event types.
const (
	ExecutionStarted   = "ExecutionStarted"
	StateEntered       = "StateEntered"
	StateExited        = "StateExited" // also when the state failed (Error set)
	TaskFailed         = "TaskFailed"
	TaskSucceeded      = "TaskSucceeded" // a Task's function returned; Bytes is its result's size
	TaskRetryScheduled = "TaskRetryScheduled"
	StateCaught        = "StateCaught" // a Catch matched; State is the state that failed
	ExecutionSucceeded = "ExecutionSucceeded"
	ExecutionFailed    = "ExecutionFailed"
	ExecutionTimedOut  = "ExecutionTimedOut"
	ExecutionAborted   = "ExecutionAborted"
)

// Execution statuses.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// Result is the outcome of a Run.
type Result struct {
	Status       string // SUCCEEDED | FAILED | TIMED_OUT | ABORTED
	Output       json.RawMessage
	Error, Cause string
	Events       []Event
	Start, Stop  time.Time
}

type stateKey struct{}

// StateName is the name of the Task state a TaskFunc was called for ("" outside a
// Run). Lambda has no such thing; it lets local fault injection and cross-checks aim
// at one state when several states call the same function.
func StateName(ctx context.Context) string {
	name, _ := ctx.Value(stateKey{}).(string)
	return name
}

// TaskError lets a TaskFunc report an error with an exact name and cause, as the Lambda
// service or the integration would (e.g. "Lambda.TooManyRequestsException"), bypassing
// ErrorName and the {"errorMessage","errorType"} cause. NoCause reports an error
// without any cause at all, as Step Functions may (its API marks the cause of a
// failure's event details, e.g. LambdaFunctionTimedOutEventDetails, "Required: No"):
// a Catch's ResultPath then gets {"Error": Name} with no "Cause" field.
type TaskError struct {
	Name, Cause string
	NoCause     bool
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// Error names the runner raises.
const (
	errRuntime          = "States.Runtime"
	errTimeout          = "States.Timeout"
	errNoChoice         = "States.NoChoiceMatched"
	errResultPath       = "States.ResultPathMatchFailure"
	errResourceNotFound = "Lambda.ResourceNotFoundException"
	errDataLimit        = "States.DataLimitExceeded"
	maxHistoryEvents    = 25000 // the Step Functions execution history limit
)

// MaxPayloadBytes is Step Functions' limit on a state's input and output, a Task's
// payload and result, and the execution's input and output: 256 KiB of UTF-8 JSON.
// Beyond it the execution fails with States.DataLimitExceeded, which no Retry or
// Catch handles (States.ALL does not match it).
const MaxPayloadBytes = 256 * 1024

// dataLimit is the terminal failure of a payload over MaxPayloadBytes.
func dataLimit(st *state, what string, n int) *failure {
	return &failure{name: errDataLimit, terminal: true,
		cause: fmt.Sprintf("The state/task '%s' %s has a size of %d bytes, exceeding the maximum number of bytes service limit of %d bytes.", st.name, what, n, MaxPayloadBytes)}
}

// failure is an error raised in a state; terminal ones (States.Runtime) skip Retry and Catch.
type failure struct {
	name, cause string
	noCause     bool // the error output has no "Cause" field (TaskError.NoCause)
	terminal    bool
}

func runtimeFailure(st *state, format string, args ...any) *failure {
	return &failure{name: errRuntime, cause: fmt.Sprintf("An error occurred while executing the state '%s': ", st.name) + fmt.Sprintf(format, args...), terminal: true}
}

// errStopped: the execution's context ended (ABORTED or TIMED_OUT).
var errStopped = &failure{name: "stopped", terminal: true}

type run struct {
	m       *Machine
	opts    Options
	parent  context.Context
	ctx     context.Context // the execution's: parent + TimeoutSeconds
	res     Result
	exec    map[string]any // $$.Execution
	machine map[string]any // $$.StateMachine
}

// Run executes the machine. A cancelled ctx ends it ABORTED (like StopExecution); the
// definition's TimeoutSeconds ends it TIMED_OUT. A static function without an entry in
// opts.Tasks is refused before anything runs (FAILED, Lambda.ResourceNotFoundException).
func (m *Machine) Run(ctx context.Context, name string, input json.RawMessage, opts Options) Result {
	if opts.Sleep == nil {
		opts.Sleep = realclock.Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ErrorName == nil {
		opts.ErrorName = goTypeName
	}
	if opts.WithTimeout == nil {
		opts.WithTimeout = context.WithTimeout
	}
	if opts.StateMachineArn == "" {
		opts.StateMachineArn = "arn:aws:states:local:000000000000:stateMachine:local"
	}
	if name == "" {
		name = newUUID()
	}
	r := &run{m: m, opts: opts, parent: ctx}
	// Step Functions keeps an execution's start to the millisecond ($$.Execution.StartTime).
	r.res.Start = opts.Now().Truncate(time.Millisecond)

	smName, execID, roleARN := names(opts.StateMachineArn, name)
	r.machine = map[string]any{"Id": opts.StateMachineArn, "Name": smName}
	if len(strings.TrimSpace(string(input))) == 0 {
		input = json.RawMessage("{}")
	}
	data, err := decode(input)
	r.exec = map[string]any{
		"Id": execID, "Name": name, "Input": data, "RoleArn": roleARN,
		"StartTime": timestamp(r.res.Start), "RedriveCount": json.Number("0"),
	}
	r.emitAt(Event{Type: ExecutionStarted}, r.res.Start)
	if err != nil {
		return r.fail("States.Runtime", fmt.Sprintf("the execution input is not valid JSON: %v", err))
	}
	var missing []string
	for _, f := range m.functions {
		if opts.Tasks[f] == nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return r.fail(errResourceNotFound, fmt.Sprintf("no TaskFunc in Options.Tasks for %s; nothing was run", quoteList(missing)))
	}

	r.ctx = ctx
	timeout := m.timeout
	if opts.ExecutionTimeout > 0 {
		timeout = opts.ExecutionTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		r.ctx, cancel = opts.WithTimeout(ctx, timeout)
		defer cancel()
	}

	cur := m.startAt
	for {
		if r.ctx.Err() != nil {
			return r.stopped()
		}
		if len(r.res.Events) > maxHistoryEvents {
			return r.fail(errRuntime, fmt.Sprintf("the execution history exceeded %d events", maxHistoryEvents))
		}
		st := m.states[cur]
		entered := opts.Now()
		inBytes := len(encode(data))
		r.emit(Event{Type: StateEntered, State: st.name, Bytes: inBytes})
		if inBytes > MaxPayloadBytes {
			f := dataLimit(st, "input", inBytes)
			r.emit(Event{Type: StateExited, State: st.name, Error: f.name, Cause: f.cause})
			return r.fail(f.name, f.cause)
		}
		out, next, f := r.step(st, data, entered)
		if f == errStopped || (f != nil && r.ctx.Err() != nil) {
			// The state did not finish: its exit says why, never a success.
			r.emit(Event{Type: StateExited, State: st.name, Duration: opts.Now().Sub(entered), Error: r.stopStatus()})
			return r.stopped()
		}
		ev := Event{Type: StateExited, State: st.name, Duration: opts.Now().Sub(entered)}
		if f == nil && st.typ != "Fail" {
			if ev.Bytes = len(encode(out)); ev.Bytes > MaxPayloadBytes {
				f = dataLimit(st, "output", ev.Bytes)
			}
		}
		if f != nil {
			ev.Error, ev.Cause = f.name, f.cause
		}
		r.emit(ev)
		if f != nil {
			return r.fail(f.name, f.cause)
		}
		if next == "" {
			r.res.Status = StatusSucceeded
			r.res.Output = encode(out)
			r.finish(Event{Type: ExecutionSucceeded})
			return r.res
		}
		cur, data = next, out
	}
}

func (r *run) emit(e Event) { r.emitAt(e, r.opts.Now()) }

// emitAt records e as of at. ExecutionStarted is at the execution's start, the moment
// $$.Execution.StartTime names.
func (r *run) emitAt(e Event, at time.Time) {
	e.At = at
	r.res.Events = append(r.res.Events, e)
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}

func (r *run) finish(e Event) {
	r.res.Stop = r.opts.Now()
	e.Error, e.Cause = r.res.Error, r.res.Cause
	e.Duration = r.res.Stop.Sub(r.res.Start)
	r.emit(e)
}

func (r *run) fail(name, cause string) Result {
	r.res.Status, r.res.Error, r.res.Cause = StatusFailed, name, cause
	r.finish(Event{Type: ExecutionFailed})
	return r.res
}

// stopStatus is how a stopped execution ends: ABORTED when its caller stopped it,
// TIMED_OUT when its TimeoutSeconds ran out.
func (r *run) stopStatus() string {
	if r.parent.Err() != nil {
		return StatusAborted
	}
	return StatusTimedOut
}

func (r *run) stopped() Result {
	if r.parent.Err() != nil {
		r.res.Status = StatusAborted
		if c := context.Cause(r.parent); c != nil && c != context.Canceled {
			r.res.Cause = c.Error()
		}
		r.finish(Event{Type: ExecutionAborted})
		return r.res
	}
	r.res.Status, r.res.Error = StatusTimedOut, errTimeout
	timeout := r.m.timeout
	if r.opts.ExecutionTimeout > 0 {
		timeout = r.opts.ExecutionTimeout
	}
	r.res.Cause = fmt.Sprintf("the execution ran longer than its TimeoutSeconds (%d)", int64(timeout/time.Second))
	r.finish(Event{Type: ExecutionTimedOut})
	return r.res
}

// contextObject is $$ for a state (attempt is $$.State.RetryCount).
func (r *run) contextObject(st *state, entered time.Time, retryCount int) map[string]any {
	return map[string]any{
		"Execution":    r.exec,
		"StateMachine": r.machine,
		"State": map[string]any{
			"Name": st.name, "EnteredTime": timestamp(entered), "RetryCount": json.Number(fmt.Sprint(retryCount)),
		},
	}
}

// step runs one state: it returns the state's output and the next state ("" to end).
func (r *run) step(st *state, raw any, entered time.Time) (any, string, *failure) {
	switch st.typ {
	case "Task":
		return r.task(st, raw, entered)
	case "Fail":
		e := &env{data: raw, context: r.contextObject(st, entered, 0)}
		name, cause := st.errorName, st.cause
		for _, x := range []struct {
			field string
			expr  expr
			dst   *string
		}{{"ErrorPath", st.errorExpr, &name}, {"CausePath", st.causeExpr, &cause}} {
			if x.expr == nil {
				continue
			}
			v, err := x.expr.eval(e)
			if err != nil {
				return nil, "", runtimeFailure(st, "%s: %v", x.field, err)
			}
			s, ok := v.(string)
			if !ok {
				return nil, "", runtimeFailure(st, "%s %s selects a %s, not a string", x.field, x.expr, typeName(v))
			}
			*x.dst = s
		}
		return nil, "", &failure{name: name, cause: cause, terminal: true}
	}

	e := &env{context: r.contextObject(st, entered, 0)}
	eff, f := r.applyInput(st, raw, e)
	if f != nil {
		return nil, "", f
	}
	e.data = eff
	next := st.next
	var out any
	switch st.typ {
	case "Pass":
		result := eff // InputPath and Parameters already applied
		if st.hasResult {
			result = st.result
		}
		var err error
		if out, err = applyResultPath(st.resultPath, raw, result); err != nil {
			return nil, "", runtimeFailure(st, "%v", err) // a Pass state has no Catch
		}
	case "Choice":
		next = ""
		for _, rule := range st.choices {
			ok, err := rule.eval(e)
			if err != nil {
				return nil, "", runtimeFailure(st, "%v", err)
			}
			if ok {
				next = rule.next
				break
			}
		}
		if next == "" {
			if st.dflt == "" {
				return nil, "", &failure{name: errNoChoice, cause: fmt.Sprintf("No Choice Rules matched and no Default in state '%s'", st.name), terminal: true}
			}
			next = st.dflt
		}
		out = eff
	case "Wait":
		var d time.Duration
		switch {
		case st.hasSeconds:
			d = time.Duration(st.seconds) * time.Second
		case st.hasTimestamp:
			d = st.timestamp.Sub(r.opts.Now())
		case st.secondsPath != nil:
			v, ok := st.secondsPath.get(eff, e.context)
			n, isNum := v.(json.Number)
			i, err := n.Int64()
			if !ok || !isNum || err != nil || i < 0 {
				return nil, "", runtimeFailure(st, "SecondsPath %s must select a non-negative integer", st.secondsPath.raw)
			}
			d = time.Duration(i) * time.Second
		case st.timestampPath != nil:
			v, ok := st.timestampPath.get(eff, e.context)
			s, _ := v.(string)
			t, valid := parseTimestamp(s)
			if !ok || !valid {
				return nil, "", runtimeFailure(st, "TimestampPath %s must select an RFC 3339 timestamp", st.timestampPath.raw)
			}
			d = t.Sub(r.opts.Now())
		}
		if d > 0 {
			if err := r.opts.Sleep(r.ctx, d); err != nil || r.ctx.Err() != nil {
				return nil, "", errStopped
			}
		}
		out = eff
	case "Succeed":
		out = eff
		next = ""
	}
	if st.typ == "Succeed" || st.typ == "Choice" || st.typ == "Wait" || st.typ == "Pass" {
		var f *failure
		if out, f = r.applyOutput(st, out, e); f != nil {
			return nil, "", f
		}
	}
	return out, next, nil
}

// applyInput applies InputPath then Parameters (Task, Pass), giving the effective input.
func (r *run) applyInput(st *state, raw any, e *env) (any, *failure) {
	eff := raw
	if st.inputPath.null {
		eff = map[string]any{}
	} else {
		v, ok := st.inputPath.p.get(raw, e.context)
		if !ok {
			return nil, runtimeFailure(st, "Invalid path '%s' : No results for path: %s", st.inputPath.p.raw, st.inputPath.p.raw)
		}
		eff = v
	}
	if st.parameters != nil && (st.typ == "Task" || st.typ == "Pass") {
		pe := &env{data: eff, context: e.context}
		v, err := st.parameters.build(pe)
		if err != nil {
			return nil, runtimeFailure(st, "Parameters: %v", err)
		}
		eff = v
	}
	return eff, nil
}

func (r *run) applyOutput(st *state, v any, e *env) (any, *failure) {
	if st.outputPath.null {
		return map[string]any{}, nil
	}
	out, ok := st.outputPath.p.get(v, e.context)
	if !ok {
		return nil, runtimeFailure(st, "Invalid path '%s' : No results for path: %s", st.outputPath.p.raw, st.outputPath.p.raw)
	}
	return out, nil
}

func applyResultPath(rp ioPath, raw, result any) (any, error) {
	if rp.null {
		return raw, nil
	}
	return rp.p.set(raw, result)
}

// task runs a Task state with its Retry and Catch.
func (r *run) task(st *state, raw any, entered time.Time) (any, string, *failure) {
	counts := make([]int, len(st.retriers))
	for attempt := 1; ; attempt++ {
		out, f := r.taskAttempt(st, raw, entered, attempt-1)
		if f == nil {
			return out, st.next, nil
		}
		if f == errStopped || r.ctx.Err() != nil {
			return nil, "", errStopped
		}
		if f.terminal {
			return nil, "", f
		}
		r.emit(Event{Type: TaskFailed, State: st.name, Error: f.name, Cause: f.cause, Attempt: attempt})
		// The first retrier whose ErrorEquals matches decides; once it is exhausted the
		// error goes to the catchers (later retriers are not consulted).
		retried := false
		for i, rt := range st.retriers {
			if !matches(rt.errors, f.name) {
				continue
			}
			if counts[i] < rt.maxAttempts {
				counts[i]++
				d := rt.delay(counts[i])
				r.emit(Event{Type: TaskRetryScheduled, State: st.name, Error: f.name, Cause: f.cause, Attempt: attempt + 1, Duration: d})
				if err := r.opts.Sleep(r.ctx, d); err != nil || r.ctx.Err() != nil {
					return nil, "", errStopped
				}
				retried = true
			}
			break
		}
		if retried {
			continue
		}
		for _, c := range st.catchers {
			if !matches(c.errors, f.name) {
				continue
			}
			errOut := map[string]any{"Error": f.name, "Cause": f.cause}
			if f.noCause {
				delete(errOut, "Cause")
			}
			out, err := applyResultPath(c.resultPath, raw, errOut)
			if err != nil {
				return nil, "", &failure{name: errResultPath, cause: fmt.Sprintf("state '%s', catcher for %s: %v", st.name, f.name, err), terminal: true}
			}
			r.emit(Event{Type: StateCaught, State: st.name, Error: f.name, Cause: f.cause, Attempt: attempt})
			return out, c.next, nil
		}
		f.terminal = true
		return nil, "", f
	}
}

// delay is the wait before retry number n (1-based) of this retrier.
func (rt *retrier) delay(n int) time.Duration {
	secs := rt.interval * math.Pow(rt.backoff, float64(n-1))
	if rt.maxDelay > 0 && secs > rt.maxDelay {
		secs = rt.maxDelay
	}
	if rt.fullJitter {
		secs = rand.Float64() * secs
	}
	return time.Duration(secs * float64(time.Second))
}

// matches reports whether an error name is in ErrorEquals. States.ALL matches everything
// and States.TaskFailed everything but States.Timeout; States.Runtime never gets here
// (it is terminal: the docs say States.ALL cannot catch it and it is not retriable).
func matches(list []string, name string) bool {
	for _, e := range list {
		switch {
		case e == name, e == "States.ALL":
			return true
		case e == "States.TaskFailed" && name != errTimeout:
			return true
		}
	}
	return false
}

// taskAttempt runs one attempt of a Task: input processing, the call, output processing.
func (r *run) taskAttempt(st *state, raw any, entered time.Time, retryCount int) (any, *failure) {
	e := &env{context: r.contextObject(st, entered, retryCount)}
	eff, f := r.applyInput(st, raw, e)
	if f != nil {
		return nil, f
	}
	fnKey, payload := st.function, eff
	if !st.direct {
		params, _ := eff.(map[string]any)
		if fn, ok := params["FunctionName"].(string); ok {
			fnKey = fn
		} else {
			return nil, runtimeFailure(st, "Parameters.FunctionName must be a string, got %s", typeName(params["FunctionName"]))
		}
		payload = params["Payload"]
	}
	fn := r.opts.Tasks[fnKey]
	if fn == nil {
		return nil, &failure{name: errResourceNotFound, cause: fmt.Sprintf("Function not found: %s (no TaskFunc in Options.Tasks)", fnKey)}
	}
	in := encode(payload)
	if len(in) > MaxPayloadBytes {
		return nil, dataLimit(st, "payload", len(in))
	}
	output, f := r.call(st, fn, in)
	if f != nil {
		return nil, f
	}
	r.emit(Event{Type: TaskSucceeded, State: st.name, Bytes: len(output)})
	if len(output) > MaxPayloadBytes {
		return nil, dataLimit(st, "result", len(output))
	}
	outVal, err := decode(output)
	if err != nil {
		outVal = string(output) // not JSON: Step Functions passes the bytes as a string
	}
	result := outVal
	if !st.direct {
		result = map[string]any{
			"ExecutedVersion":     "$LATEST",
			"Payload":             outVal,
			"SdkHttpMetadata":     map[string]any{"HttpStatusCode": json.Number("200")},
			"SdkResponseMetadata": map[string]any{"RequestId": newUUID()},
			"StatusCode":          json.Number("200"),
		}
	}
	if st.selector != nil {
		v, err := st.selector.build(&env{data: result, context: e.context})
		if err != nil {
			return nil, runtimeFailure(st, "ResultSelector: %v", err)
		}
		result = v
	}
	out, err := applyResultPath(st.resultPath, raw, result)
	if err != nil {
		return nil, &failure{name: errResultPath, cause: fmt.Sprintf("state '%s': %v", st.name, err)}
	}
	return r.applyOutput(st, out, e)
}

type callResult struct {
	out   json.RawMessage
	err   error
	panic *panicValue
	// late: the function returned after its Task's deadline. Judged when it returns,
	// not when the runner gets round to reading its result: on busy cores that can be
	// well after, and an error the function returned in time is its own, not
	// States.Timeout.
	late bool
}

type panicValue struct {
	value any
	stack []map[string]any
}

// call invokes the TaskFunc under the Task's TimeoutSeconds. A returned error becomes
// Error = ErrorName(err), Cause = {"errorMessage","errorType"} (what aws-lambda-go sends and
// Step Functions reports). A panic is reported as aws-lambda-go reports one: errorType is the
// type name of the panic value (panic("x") gives "string", a nil dereference "errorString"),
// the Cause adds the stackTrace; it matches States.ALL and States.TaskFailed.
//
// The TaskFunc's deadline is its Task's TimeoutSeconds alone: a Lambda's deadline is its
// own, not the execution's. Its context is still cancelled when the execution stops.
func (r *run) call(st *state, fn TaskFunc, payload json.RawMessage) (json.RawMessage, *failure) {
	tctx, cancel := r.opts.WithTimeout(context.WithoutCancel(r.ctx), st.timeout)
	defer cancel()
	stop := context.AfterFunc(r.ctx, cancel)
	defer stop()
	done := make(chan callResult, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- callResult{panic: &panicValue{value: v, stack: stackTrace()}}
			}
		}()
		out, err := fn(context.WithValue(tctx, stateKey{}, st.name), payload)
		done <- callResult{out: out, err: err, late: tctx.Err() != nil}
	}()
	var res callResult
	select {
	case res = <-done:
	case <-tctx.Done():
		select {
		case res = <-done: // it returned meanwhile: its result says whether in time
		default:
			res = callResult{err: tctx.Err(), late: true}
		}
	}
	if r.ctx.Err() != nil {
		return nil, errStopped
	}
	if res.err == nil && res.panic == nil {
		if len(res.out) == 0 {
			res.out = json.RawMessage("null")
		}
		return res.out, nil
	}
	if res.late && res.panic == nil {
		return nil, &failure{name: errTimeout, cause: fmt.Sprintf("the task did not finish within TimeoutSeconds (%d)", st.timeoutSec)}
	}
	if res.panic != nil {
		v := res.panic.value
		name := ""
		if err, ok := v.(error); ok {
			name = r.opts.ErrorName(err)
		} else {
			name = reflectName(v)
		}
		cause := encode(map[string]any{"errorMessage": fmt.Sprint(v), "errorType": name, "stackTrace": res.panic.stack})
		return nil, &failure{name: name, cause: string(cause)}
	}
	var te *TaskError
	if errors.As(res.err, &te) {
		return nil, &failure{name: te.Name, cause: te.Cause, noCause: te.NoCause}
	}
	name := r.opts.ErrorName(res.err)
	cause := encode(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{res.err.Error(), name})
	return nil, &failure{name: name, cause: string(cause)}
}

func goTypeName(err error) string { return reflectName(err) }

func reflectName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func stackTrace() []map[string]any {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(4, pcs) // skip Callers, stackTrace, the deferred func, gopanic
	frames := runtime.CallersFrames(pcs[:n])
	var out []map[string]any
	for {
		f, more := frames.Next()
		out = append(out, map[string]any{"path": f.File, "line": json.Number(fmt.Sprint(f.Line)), "label": f.Function})
		if !more {
			break
		}
	}
	return out
}

// timestamp formats a time as Step Functions does in the context object.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ExecutionARN is $$.Execution.Id of the execution name of the state machine smARN.
func ExecutionARN(smARN, name string) string {
	_, id, _ := names(smARN, name)
	return id
}

// names derives the state machine name, the execution ARN and a role ARN from the
// state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>).
func names(smARN, execName string) (smName, execID, roleARN string) {
	parts := strings.Split(smARN, ":")
	if len(parts) >= 7 && parts[5] == "stateMachine" {
		smName = parts[6]
		execID = strings.Join(append(append([]string{}, parts[:5]...), "execution", smName, execName), ":")
		roleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s-role", parts[1], parts[4], smName)
		return smName, execID, roleARN
	}
	smName = smARN
	return smName, "arn:aws:states:local:000000000000:execution:" + smName + ":" + execName, "arn:aws:iam::000000000000:role/" + smName + "-role"
}
