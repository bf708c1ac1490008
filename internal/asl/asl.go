// Package asl is a local Step Functions runner: it executes an Amazon States Language
// definition (JSONPath dialect) in-process with Step Functions semantics, where Task
// states call Go functions instead of Lambda.
//
// It supports what the drill's flow uses and refuses the rest at Load, naming the state
// and the field, never silently: states Task (arn:aws:states:::lambda:invoke, or a
// direct Lambda function ARN), Pass, Choice, Wait, Succeed and Fail; InputPath,
// Parameters, ResultSelector, ResultPath and OutputPath; Retry and Catch; the context
// object; the intrinsics States.Format, StringToJson, JsonToString, JsonMerge (shallow),
// Array, ArrayLength, UUID and MathAdd.
//
// Error semantics follow the Step Functions documentation:
//   - States.ALL matches every error name except States.Runtime and
//     States.DataLimitExceeded (a state's input or output, a Task's payload or result
//     over MaxPayloadBytes), both terminal. A States.Runtime error
//     (a path that selects nothing in InputPath, Parameters, ResultSelector, OutputPath,
//     a Choice or Wait path, a failing intrinsic) is never retried or caught: it fails the
//     execution, whatever the Retry and Catch fields say.
//   - States.TaskFailed matches every error name except States.Timeout (and States.Runtime).
//   - States.ResultPathMatchFailure (a ResultPath that cannot be applied) is retried and
//     caught like a task error.
//   - A TaskFunc's returned error is named like aws-lambda-go names it (Options.ErrorName,
//     default the Go type name without pointer, so a wrapped error is "wrapError"), with
//     Cause {"errorMessage":...,"errorType":...}. A panic is reported as aws-lambda-go
//     reports one: errorType is the panic value's type name (panic("x") is "string") and
//     the Cause adds a stackTrace; it is a function error, matched by States.ALL and
//     States.TaskFailed. Return *TaskError to raise an exact name such as
//     "Lambda.TooManyRequestsException".
//   - Task TimeoutSeconds cancels the TaskFunc's context and raises States.Timeout at the
//     deadline; a TaskFunc that ignores its context is abandoned (its goroutine ends when
//     it returns). A cancelled Run context ends the execution ABORTED and the definition's
//     TimeoutSeconds TIMED_OUT; neither runs a Catch, as in Step Functions. A TaskFunc's
//     context carries only its Task's deadline (a Lambda's deadline is its own, never
//     the execution's), and is cancelled when the execution stops.
package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Machine is a loaded, validated state machine. It is immutable and safe for concurrent Runs.
type Machine struct {
	startAt   string
	timeout   time.Duration // 0: none
	states    map[string]*state
	order     []string
	functions []string // static FunctionName values / direct Lambda ARNs, sorted
}

// States returns the state names in definition order.
func (m *Machine) States() []string { return append([]string(nil), m.order...) }

// StateType is the Type of the state named name ("Task", "Choice", ...), "" for a
// name the machine does not have.
func (m *Machine) StateType(name string) string {
	if st, ok := m.states[name]; ok {
		return st.typ
	}
	return ""
}

// Functions returns the function keys Run will look up in Options.Tasks: every static
// FunctionName of a lambda:invoke Task and every direct Lambda ARN Resource, sorted.
func (m *Machine) Functions() []string { return append([]string(nil), m.functions...) }

const lambdaInvoke = "arn:aws:states:::lambda:invoke"

var lambdaARN = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$`)

type state struct {
	name, typ  string
	next       string
	end        bool
	inputPath  ioPath
	outputPath ioPath
	resultPath ioPath
	parameters tnode
	selector   tnode
	result     any
	hasResult  bool

	// Task
	resource   string
	direct     bool   // a direct Lambda ARN: the effective input is the payload, the output the result
	function   string // static FunctionName ("" when FunctionName.$ is used)
	timeout    time.Duration
	retriers   []*retrier
	catchers   []*catcher
	timeoutSec int64

	// Choice
	choices []*rule
	dflt    string

	// Wait
	seconds       int64
	hasSeconds    bool
	secondsPath   *path
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *path

	// Fail
	errorName, cause string
	errorExpr        expr
	causeExpr        expr
}

// ioPath is InputPath, OutputPath or ResultPath: absent means "$", null is explicit.
type ioPath struct {
	null bool
	p    path
}

type retrier struct {
	errors      []string
	interval    float64 // seconds
	maxAttempts int
	backoff     float64
	maxDelay    float64 // seconds, 0 = none
	fullJitter  bool
}

type catcher struct {
	errors     []string
	next       string
	resultPath ioPath
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Load parses the definition, replaces every ${Name} placeholder from subs (each value is
// inserted JSON-escaped), and validates it. Whatever the runner does not support is refused
// here with an error naming the state and the field; all problems found are reported together.
func Load(definition string, subs map[string]string) (*Machine, error) {
	var missing []string
	used := map[string]bool{}
	substituted := placeholder.ReplaceAllStringFunc(definition, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := subs[name]
		if !ok {
			if !used[name] {
				missing = append(missing, name)
			}
			used[name] = true
			return m
		}
		used[name] = true
		return escapeJSON(v)
	})
	var problems []error
	if len(missing) > 0 {
		problems = append(problems, fmt.Errorf("no substitution for placeholder(s) %s", quoteList(missing)))
	}
	var unused []string
	for k := range subs {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		problems = append(problems, fmt.Errorf("substitution(s) %s match no ${...} placeholder in the definition", quoteList(unused)))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	m, problems := compile([]byte(substituted))
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return m, nil
}

func escapeJSON(s string) string {
	b := encode(s)
	return string(b[1 : len(b)-1])
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func compile(def []byte) (*Machine, []error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(def, &top); err != nil {
		return nil, []error{fmt.Errorf("definition is not a JSON object: %v", err)}
	}
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	m := &Machine{states: map[string]*state{}}
	for _, k := range sortedKeys(top) {
		switch k {
		case "Comment", "Version":
		case "StartAt":
			if err := json.Unmarshal(top[k], &m.startAt); err != nil || m.startAt == "" {
				add("StartAt must be a state name")
			}
		case "TimeoutSeconds":
			n, err := positiveInt(top[k])
			if err != nil {
				add("TimeoutSeconds %v", err)
			}
			m.timeout = time.Duration(n) * time.Second
		case "QueryLanguage":
			if err := checkQueryLanguage(top[k]); err != nil {
				add("%v", err)
			}
		case "States":
		default:
			add("field %q is not supported", k)
		}
	}
	rawStates, ok := top["States"]
	if !ok {
		add("States is missing")
		return nil, problems
	}
	names, raws, err := orderedObject(rawStates)
	if err != nil {
		add("States: %v", err)
		return nil, problems
	}
	if len(names) == 0 {
		add("States is empty")
	}
	m.order = names
	funcs := map[string]bool{}
	for i, name := range names {
		st, errs := compileState(name, raws[i])
		for _, e := range errs {
			add("state %q: %v", name, e)
		}
		if st != nil {
			m.states[name] = st
			if st.function != "" {
				funcs[st.function] = true
			}
		}
	}
	for f := range funcs {
		m.functions = append(m.functions, f)
	}
	sort.Strings(m.functions)
	if len(problems) > 0 {
		return nil, problems
	}

	// Structure: every transition target exists, StartAt exists, every state is reachable.
	exists := func(n string) bool { _, ok := m.states[n]; return ok }
	if m.startAt != "" && !exists(m.startAt) {
		add("StartAt %q is not a state", m.startAt)
	}
	for _, name := range m.order {
		for _, t := range m.states[name].targets() {
			if !exists(t.to) {
				add("state %q: field %q names %q, which is not a state", name, t.field, t.to)
			}
		}
	}
	if len(problems) == 0 {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			for _, t := range m.states[n].targets() {
				visit(t.to)
			}
		}
		visit(m.startAt)
		for _, name := range m.order {
			if !seen[name] {
				add("state %q is not reachable from StartAt %q", name, m.startAt)
			}
		}
	}
	return m, problems
}

type transition struct{ field, to string }

func (s *state) targets() []transition {
	var out []transition
	if s.next != "" {
		out = append(out, transition{"Next", s.next})
	}
	for i, c := range s.catchers {
		out = append(out, transition{fmt.Sprintf("Catch[%d].Next", i), c.next})
	}
	for i, r := range s.choices {
		out = append(out, transition{fmt.Sprintf("Choices[%d].Next", i), r.next})
	}
	if s.dflt != "" {
		out = append(out, transition{"Default", s.dflt})
	}
	return out
}

// allowed lists, per supported state type, the fields the runner implements.
var allowed = map[string]map[string]bool{
	"Task":    set("Resource", "Parameters", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "TimeoutSeconds", "Retry", "Catch", "Next", "End"),
	"Pass":    set("Result", "Parameters", "ResultPath", "InputPath", "OutputPath", "Next", "End"),
	"Choice":  set("Choices", "Default", "InputPath", "OutputPath"),
	"Wait":    set("Seconds", "SecondsPath", "Timestamp", "TimestampPath", "InputPath", "OutputPath", "Next", "End"),
	"Succeed": set("InputPath", "OutputPath"),
	"Fail":    set("Error", "ErrorPath", "Cause", "CausePath"),
}

func set(names ...string) map[string]bool {
	m := map[string]bool{"Type": true, "Comment": true, "QueryLanguage": true}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// compileState checks one state's definition and compiles it: its fields against the
// ones the runner implements for its type, then each concern in its own step (paths
// and templates, transitions, and the type's own fields). Every problem is reported,
// not just the first.
func compileState(name string, raw json.RawMessage) (*state, []error) {
	v, err := decode(raw)
	if err != nil {
		return nil, []error{fmt.Errorf("not valid JSON: %v", err)}
	}
	f, ok := v.(map[string]any)
	if !ok {
		return nil, []error{fmt.Errorf("must be an object")}
	}
	c := &stateCompiler{f: f, st: &state{name: name}}
	c.st.typ, _ = f["Type"].(string)
	fields, ok := allowed[c.st.typ]
	if !ok {
		return nil, []error{fmt.Errorf("field \"Type\": %q is not supported (supported: Task, Pass, Choice, Wait, Succeed, Fail)", c.st.typ)}
	}
	for _, k := range sortedKeys(f) {
		if !fields[k] {
			c.add("field %q is not supported", k)
		}
	}
	if q, ok := f["QueryLanguage"]; ok && q != "JSONPath" {
		c.add("QueryLanguage %s is not supported (only \"JSONPath\")", compact(q))
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	c.dataFlow()
	c.transition()
	switch c.st.typ {
	case "Task":
		compileTask(c.st, f, c.add)
	case "Choice":
		c.choice()
	case "Wait":
		c.wait()
	case "Fail":
		c.fail()
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	return c.st, nil
}

// stateCompiler compiles one state's fields into st, collecting every problem.
type stateCompiler struct {
	f        map[string]any
	st       *state
	problems []error
}

func (c *stateCompiler) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Errorf(format, args...))
}

// str is a string field; ok is false when it is absent or not a string (reported).
func (c *stateCompiler) str(field string) (string, bool) {
	v, ok := c.f[field]
	if !ok {
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		c.add("field %q must be a string", field)
	}
	return s, isStr
}

// pathField is an InputPath, OutputPath or ResultPath: "$" when absent.
func (c *stateCompiler) pathField(field string, allowNull, allowContext bool) ioPath {
	v, ok := c.f[field]
	if !ok {
		return ioPath{p: path{raw: "$"}}
	}
	if v == nil {
		if !allowNull {
			c.add("field %q must not be null", field)
		}
		return ioPath{null: true}
	}
	s, isStr := v.(string)
	if !isStr {
		c.add("field %q must be a path", field)
		return ioPath{}
	}
	p, err := parsePath(s)
	if err != nil {
		c.add("field %q: %v", field, err)
		return ioPath{}
	}
	if p.context && !allowContext {
		c.add("field %q: a ResultPath cannot refer to the context object ($$)", field)
	}
	return ioPath{p: p}
}

// dataFlow compiles what moves data through the state: its paths, Parameters,
// ResultSelector and Result.
func (c *stateCompiler) dataFlow() {
	st, f := c.st, c.f
	var err error
	st.inputPath = c.pathField("InputPath", true, true)
	st.outputPath = c.pathField("OutputPath", true, true)
	st.resultPath = c.pathField("ResultPath", true, false)
	if !st.resultPath.null {
		c.problems = append(c.problems, checkResultPath("ResultPath", st.resultPath.p)...)
	}
	if p, ok := f["Parameters"]; ok {
		if st.parameters, err = compileTemplate(p, "Parameters"); err != nil {
			c.add("%v", err)
		}
	}
	if p, ok := f["ResultSelector"]; ok {
		if _, isObj := p.(map[string]any); !isObj {
			c.add("field \"ResultSelector\" must be an object")
		} else if st.selector, err = compileTemplate(p, "ResultSelector"); err != nil {
			c.add("%v", err)
		}
	}
	st.result, st.hasResult = f["Result"]
}

// transition compiles Next or End, for the types that have one of them.
func (c *stateCompiler) transition() {
	switch c.st.typ {
	case "Task", "Pass", "Wait":
	default:
		return
	}
	next, hasNext := c.str("Next")
	end, hasEnd := c.f["End"]
	switch {
	case hasNext && hasEnd:
		c.add("has both Next and End")
	case hasEnd:
		if end != true {
			c.add("field \"End\" must be true (a non-terminal state needs Next)")
		}
		c.st.end = true
	case hasNext:
		c.st.next = next
	default:
		c.add("is not terminal (no End: true) and has no Next")
	}
}

// choice compiles a Choice state's rules and Default.
func (c *stateCompiler) choice() {
	list, ok := c.f["Choices"].([]any)
	if !ok || len(list) == 0 {
		c.add("field \"Choices\" must be a non-empty array")
	}
	for i, it := range list {
		where := fmt.Sprintf("Choices[%d]", i)
		rm, ok := it.(map[string]any)
		if !ok {
			c.add("field %q must be a rule object", where)
			continue
		}
		r, err := compileRule(rm, where, true)
		if err != nil {
			c.add("%v", err)
			continue
		}
		c.st.choices = append(c.st.choices, r)
	}
	c.st.dflt, _ = c.str("Default")
}

// wait compiles a Wait state's one of Seconds, SecondsPath, Timestamp, TimestampPath.
func (c *stateCompiler) wait() {
	st, n := c.st, 0
	if v, ok := c.f["Seconds"]; ok {
		n++
		num, isNum := v.(json.Number)
		i, err := num.Int64()
		if !isNum || err != nil || i < 0 {
			c.add("field \"Seconds\" must be a non-negative integer")
		}
		st.seconds, st.hasSeconds = i, true
	}
	if s, ok := c.str("Timestamp"); ok {
		n++
		t, valid := parseTimestamp(s)
		if !valid {
			c.add("field \"Timestamp\": %q is not an RFC 3339 timestamp", s)
		}
		st.timestamp, st.hasTimestamp = t, true
	}
	for _, field := range []string{"SecondsPath", "TimestampPath"} {
		if s, ok := c.str(field); ok {
			n++
			p, err := parsePath(s)
			if err != nil {
				c.add("field %q: %v", field, err)
			}
			if field == "SecondsPath" {
				st.secondsPath = &p
			} else {
				st.timestampPath = &p
			}
		}
	}
	if n != 1 {
		c.add("a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
	}
}

// fail compiles a Fail state's Error and Cause, each literal or a path.
func (c *stateCompiler) fail() {
	for _, pair := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
		lit, hasLit := c.str(pair[0])
		dyn, hasDyn := c.str(pair[1])
		if hasLit && hasDyn {
			c.add("has both %s and %s", pair[0], pair[1])
		}
		var x expr
		if hasDyn {
			var err error
			if x, err = parseExpr(dyn); err != nil {
				c.add("field %q: %v", pair[1], err)
			}
		}
		if pair[0] == "Error" {
			c.st.errorName, c.st.errorExpr = lit, x
		} else {
			c.st.cause, c.st.causeExpr = lit, x
		}
	}
}

// checkResultPath refuses what a ResultPath cannot do here: indexes.
func checkResultPath(field string, p path) []error {
	for _, s := range p.segs {
		if s.isIndex {
			return []error{fmt.Errorf("field %q: array indexes in a ResultPath are not supported", field)}
		}
	}
	return nil
}

func compileTask(st *state, f map[string]any, add func(string, ...any)) {
	res, _ := f["Resource"].(string)
	switch {
	case res == lambdaInvoke:
		st.resource = res
		params, _ := f["Parameters"].(map[string]any)
		if params == nil {
			add("field \"Parameters\" must be an object with FunctionName and Payload for %s", lambdaInvoke)
			break
		}
		for _, k := range sortedKeys(params) {
			switch k {
			case "FunctionName", "FunctionName.$", "Payload", "Payload.$":
			default:
				add("field %q is not supported (only FunctionName and Payload)", "Parameters."+k)
			}
		}
		_, fn := params["FunctionName"]
		_, fnDyn := params["FunctionName.$"]
		if !fn && !fnDyn {
			add("field \"Parameters.FunctionName\" is missing")
		}
		if fn {
			s, ok := params["FunctionName"].(string)
			if !ok || s == "" {
				add("field \"Parameters.FunctionName\" must be a non-empty string")
			}
			st.function = s
		}
		_, pl := params["Payload"]
		_, plDyn := params["Payload.$"]
		if !pl && !plDyn {
			add("field \"Parameters.Payload\" is missing")
		}
	case lambdaARN.MatchString(res):
		st.resource, st.direct, st.function = res, true, res
	default:
		add("Resource %q is not supported (only %s or a Lambda function ARN)", res, lambdaInvoke)
	}
	st.timeoutSec = 99999999 // the Step Functions default
	if v, ok := f["TimeoutSeconds"]; ok {
		n, err := positiveInt(encode(v))
		if err != nil {
			add("field \"TimeoutSeconds\" %v", err)
		}
		st.timeoutSec = n
	}
	st.timeout = time.Duration(st.timeoutSec) * time.Second

	if v, ok := f["Retry"]; ok {
		list, isList := v.([]any)
		if !isList {
			add("field \"Retry\" must be an array")
		}
		for i, it := range list {
			r, err := compileRetrier(it, i, i == len(list)-1)
			if err != nil {
				add("%v", err)
				continue
			}
			st.retriers = append(st.retriers, r)
		}
	}
	if v, ok := f["Catch"]; ok {
		list, isList := v.([]any)
		if !isList {
			add("field \"Catch\" must be an array")
		}
		for i, it := range list {
			c, err := compileCatcher(it, i, i == len(list)-1)
			if err != nil {
				add("%v", err)
				continue
			}
			st.catchers = append(st.catchers, c)
		}
	}
}

func errorEquals(m map[string]any, where string, last bool) ([]string, error) {
	list, ok := m["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("field %q must be a non-empty array of error names", where+".ErrorEquals")
	}
	var out []string
	for _, it := range list {
		s, ok := it.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("field %q must contain error names (strings)", where+".ErrorEquals")
		}
		if s == "States.ALL" && (len(list) != 1 || !last) {
			return nil, fmt.Errorf("field %q: States.ALL must appear alone, in the last %s", where+".ErrorEquals", strings.Split(where, "[")[0])
		}
		out = append(out, s)
	}
	return out, nil
}

func compileRetrier(v any, i int, last bool) (*retrier, error) {
	where := fmt.Sprintf("Retry[%d]", i)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("field %q must be an object", where)
	}
	r := &retrier{interval: 1, maxAttempts: 3, backoff: 2}
	var err error
	if r.errors, err = errorEquals(m, where, last); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(m) {
		field := where + "." + k
		switch k {
		case "ErrorEquals", "Comment":
		case "IntervalSeconds", "MaxDelaySeconds":
			n, err := positiveInt(encode(m[k]))
			if err != nil {
				return nil, fmt.Errorf("field %q %v", field, err)
			}
			if k == "IntervalSeconds" {
				r.interval = float64(n)
			} else {
				r.maxDelay = float64(n)
			}
		case "MaxAttempts":
			n, ok := m[k].(json.Number)
			i, err := n.Int64()
			if !ok || err != nil || i < 0 || i > 99999999 {
				return nil, fmt.Errorf("field %q must be an integer from 0 to 99999999", field)
			}
			r.maxAttempts = int(i)
		case "BackoffRate":
			n, ok := m[k].(json.Number)
			f, err := n.Float64()
			if !ok || err != nil || f < 1 {
				return nil, fmt.Errorf("field %q must be a number >= 1.0", field)
			}
			r.backoff = f
		case "JitterStrategy":
			switch m[k] {
			case "FULL":
				r.fullJitter = true
			case "NONE":
			default:
				return nil, fmt.Errorf("field %q must be FULL or NONE", field)
			}
		default:
			return nil, fmt.Errorf("field %q is not supported", field)
		}
	}
	return r, nil
}

func compileCatcher(v any, i int, last bool) (*catcher, error) {
	where := fmt.Sprintf("Catch[%d]", i)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("field %q must be an object", where)
	}
	c := &catcher{resultPath: ioPath{p: path{raw: "$"}}}
	var err error
	if c.errors, err = errorEquals(m, where, last); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(m) {
		field := where + "." + k
		switch k {
		case "ErrorEquals", "Comment":
		case "Next":
			if c.next, _ = m[k].(string); c.next == "" {
				return nil, fmt.Errorf("field %q must be a state name", field)
			}
		case "ResultPath":
			if m[k] == nil {
				c.resultPath = ioPath{null: true}
				continue
			}
			s, ok := m[k].(string)
			if !ok {
				return nil, fmt.Errorf("field %q must be a path", field)
			}
			p, err := parsePath(s)
			if err != nil {
				return nil, fmt.Errorf("field %q: %v", field, err)
			}
			if p.context {
				return nil, fmt.Errorf("field %q: a ResultPath cannot refer to the context object ($$)", field)
			}
			if errs := checkResultPath(field, p); len(errs) > 0 {
				return nil, errs[0]
			}
			c.resultPath = ioPath{p: p}
		default:
			return nil, fmt.Errorf("field %q is not supported", field)
		}
	}
	if c.next == "" {
		return nil, fmt.Errorf("field %q is missing", where+".Next")
	}
	return c, nil
}

func checkQueryLanguage(raw json.RawMessage) error {
	var q string
	if err := json.Unmarshal(raw, &q); err != nil || q != "JSONPath" {
		return fmt.Errorf("QueryLanguage %s is not supported (only \"JSONPath\")", bytes.TrimSpace(raw))
	}
	return nil
}

func positiveInt(raw []byte) (int64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("must be a positive integer")
	}
	i, err := n.Int64()
	if err != nil || i < 1 || i > 99999999 {
		return 0, fmt.Errorf("must be a positive integer (at most 99999999)")
	}
	return i, nil
}

// orderedObject returns an object's keys in document order with their raw values,
// refusing duplicate keys.
func orderedObject(raw json.RawMessage) ([]string, []json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("must be an object")
	}
	var names []string
	var vals []json.RawMessage
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		k := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, err
		}
		if seen[k] {
			return nil, nil, fmt.Errorf("state %q is defined twice", k)
		}
		seen[k] = true
		names = append(names, k)
		vals = append(vals, v)
	}
	return names, vals, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
