package asl

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// An expr is the value of a "key.$" field in a payload template (Parameters, ResultSelector)
// or of Fail's ErrorPath/CausePath: a path or an intrinsic function call.
type expr interface {
	eval(e *env) (any, error)
	String() string
}

// env is what an expr sees: the data it applies to and the context object ($$).
type env struct {
	data, context any
}

// evalError is a failure while evaluating a path or an intrinsic at run time. Step Functions
// reports these as States.Runtime (the ASL spec names States.ParameterPathFailure and
// States.IntrinsicFailure, but the service raises States.Runtime for both).
type evalError struct{ msg string }

func (e *evalError) Error() string { return e.msg }

func evalErrorf(format string, args ...any) error { return &evalError{fmt.Sprintf(format, args...)} }

type pathExpr struct{ p path }

func (x pathExpr) String() string { return x.p.raw }

func (x pathExpr) eval(e *env) (any, error) {
	v, ok := x.p.get(e.data, e.context)
	if !ok {
		return nil, evalErrorf("the JsonPath %s could not be found in the input %s", x.p.raw, compact(e.data))
	}
	return v, nil
}

type litExpr struct {
	v   any
	raw string // a string literal as written, intrinsic escapes intact (for States.Format)
	str bool
}

func (x litExpr) String() string {
	if x.str {
		return "'" + x.raw + "'"
	}
	return compact(x.v)
}

func (x litExpr) eval(*env) (any, error) { return x.v, nil }

type callExpr struct {
	fn   string
	args []expr
	raw  string
}

func (x callExpr) String() string { return x.raw }

// intrinsics lists the supported intrinsic functions with their arity (max -1 = any).
var intrinsics = map[string][2]int{
	"States.Format":       {1, -1},
	"States.StringToJson": {1, 1},
	"States.JsonToString": {1, 1},
	"States.JsonMerge":    {3, 3},
	"States.Array":        {0, -1},
	"States.ArrayLength":  {1, 1},
	"States.UUID":         {0, 0},
	"States.MathAdd":      {2, 2},
}

// parseExpr parses the value of a ".$" field: a path, or an intrinsic call.
func parseExpr(s string) (expr, error) {
	switch {
	case strings.HasPrefix(s, "$"):
		p, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		return pathExpr{p}, nil
	case strings.HasPrefix(s, "States."):
		ps := &exprParser{s: s}
		c, err := ps.call()
		if err != nil {
			return nil, err
		}
		ps.space()
		if ps.i != len(ps.s) {
			return nil, fmt.Errorf("intrinsic %q: unexpected %q after the call", s, s[ps.i:])
		}
		return c, nil
	default:
		return nil, fmt.Errorf("%q is neither a path ($...) nor an intrinsic function (States.*)", s)
	}
}

type exprParser struct {
	s string
	i int
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *exprParser) call() (expr, error) {
	start := p.i
	j := p.i
	for j < len(p.s) && (isIdent(p.s[j]) || p.s[j] == '.') {
		j++
	}
	name := p.s[p.i:j]
	p.i = j
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, fmt.Errorf("intrinsic %q: expected ( after %s", p.s, name)
	}
	arity, ok := intrinsics[name]
	if !ok {
		return nil, fmt.Errorf("intrinsic %q is not supported (supported: %s)", name, supportedIntrinsics())
	}
	p.i++
	var args []expr
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.space()
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("intrinsic %q: missing )", p.s)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("intrinsic %q: expected , or ) at %q", p.s, p.s[p.i:])
			}
			p.i++
		}
	}
	if len(args) < arity[0] || (arity[1] >= 0 && len(args) > arity[1]) {
		return nil, fmt.Errorf("intrinsic %s takes %s, got %d", name, arityText(arity), len(args))
	}
	c := callExpr{fn: name, args: args, raw: p.s[start:p.i]}
	if err := checkCall(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkCall refuses at load time what can be known to fail or to be unsupported.
func checkCall(c callExpr) error {
	switch c.fn {
	case "States.JsonMerge":
		// Only the shallow merge is supported: the third argument must be the literal false.
		if l, ok := c.args[2].(litExpr); !ok || l.v != false {
			return fmt.Errorf("intrinsic States.JsonMerge: only the shallow merge is supported; the third argument must be the literal false, got %s", c.args[2])
		}
	case "States.Format":
		if l, ok := c.args[0].(litExpr); ok {
			if !l.str {
				return fmt.Errorf("intrinsic States.Format: the first argument must be a string")
			}
			n, err := formatHoles(l.raw)
			if err != nil {
				return fmt.Errorf("intrinsic States.Format: %v", err)
			}
			if n != len(c.args)-1 {
				return fmt.Errorf("intrinsic States.Format: the template has %d {} but %d arguments follow it", n, len(c.args)-1)
			}
		}
	}
	return nil
}

func (p *exprParser) arg() (expr, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("intrinsic %q: missing argument", p.s)
	}
	rest := p.s[p.i:]
	switch c := p.s[p.i]; {
	case c == '\'':
		return p.stringLit()
	case c == '$':
		j, inQuote := p.i, byte(0)
		for ; j < len(p.s); j++ {
			ch := p.s[j]
			if inQuote != 0 {
				if ch == inQuote {
					inQuote = 0
				}
				continue
			}
			if ch == '\'' || ch == '"' {
				inQuote = ch
				continue
			}
			if ch == ',' || ch == ')' || ch == ' ' {
				break
			}
		}
		pp, err := parsePath(p.s[p.i:j])
		if err != nil {
			return nil, err
		}
		p.i = j
		return pathExpr{pp}, nil
	case strings.HasPrefix(rest, "States."):
		return p.call()
	case c == '-' || (c >= '0' && c <= '9'):
		j := p.i + 1
		for j < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[j]) >= 0 {
			j++
		}
		num := p.s[p.i:j]
		if _, err := strconv.ParseFloat(num, 64); err != nil || !json.Valid([]byte(num)) {
			return nil, fmt.Errorf("intrinsic %q: %q is not a number", p.s, num)
		}
		p.i = j
		return litExpr{v: json.Number(num)}, nil
	}
	for _, kw := range []struct {
		word string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(rest, kw.word) && (len(rest) == len(kw.word) || !isIdent(rest[len(kw.word)])) {
			p.i += len(kw.word)
			return litExpr{v: kw.v}, nil
		}
	}
	return nil, fmt.Errorf("intrinsic %q: unexpected argument at %q", p.s, rest)
}

// stringLit reads a '...' literal. Escapes: \' \{ \} \\; any other backslash is an error.
func (p *exprParser) stringLit() (expr, error) {
	p.i++ // opening quote
	start := p.i
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\\':
			if p.i+1 >= len(p.s) || strings.IndexByte(`'{}\`, p.s[p.i+1]) < 0 {
				return nil, fmt.Errorf("intrinsic %q: open escape \\ in a string literal (only \\' \\{ \\} \\\\ are allowed)", p.s)
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case '\'':
			raw := p.s[start:p.i]
			p.i++
			return litExpr{v: b.String(), raw: raw, str: true}, nil
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return nil, fmt.Errorf("intrinsic %q: unterminated string literal", p.s)
}

func isIdent(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return fmt.Sprintf("at least %d arguments", a[0])
	case a[0] == a[1]:
		return fmt.Sprintf("%d arguments", a[0])
	default:
		return fmt.Sprintf("%d to %d arguments", a[0], a[1])
	}
}

func supportedIntrinsics() string {
	names := make([]string, 0, len(intrinsics))
	for n := range intrinsics {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// formatHoles counts the {} in a States.Format template (escapes intact).
func formatHoles(tmpl string) (int, error) {
	n := 0
	for i := 0; i < len(tmpl); i++ {
		switch tmpl[i] {
		case '\\':
			i++
		case '{':
			if i+1 >= len(tmpl) || tmpl[i+1] != '}' {
				return 0, fmt.Errorf("unescaped { in template %q", tmpl)
			}
			n++
			i++
		case '}':
			return 0, fmt.Errorf("unescaped } in template %q", tmpl)
		}
	}
	return n, nil
}

func (x callExpr) eval(e *env) (any, error) {
	args := make([]any, len(x.args))
	for i, a := range x.args {
		v, err := a.eval(e)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	fail := func(format string, a ...any) error {
		return evalErrorf("%s: %s", x.raw, fmt.Sprintf(format, a...))
	}
	switch x.fn {
	case "States.Format":
		tmpl, ok := args[0].(string)
		if !ok {
			return nil, fail("the template must be a string, got %s", typeName(args[0]))
		}
		if l, ok := x.args[0].(litExpr); ok {
			tmpl = l.raw // keep the escapes so \{ is a brace and {} a hole
		}
		var b strings.Builder
		next := 1
		for i := 0; i < len(tmpl); i++ {
			c := tmpl[i]
			switch {
			case c == '\\' && i+1 < len(tmpl):
				b.WriteByte(tmpl[i+1])
				i++
			case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
				if next >= len(args) {
					return nil, fail("the template has more {} than arguments")
				}
				switch v := args[next].(type) {
				case string:
					b.WriteString(v)
				case json.Number:
					b.WriteString(v.String())
				case bool:
					b.WriteString(strconv.FormatBool(v))
				case nil:
					b.WriteString("null")
				default:
					return nil, fail("argument %d is a %s; only strings, numbers, booleans and null can be formatted", next, typeName(v))
				}
				next++
				i++
			default:
				b.WriteByte(c)
			}
		}
		if next != len(args) {
			return nil, fail("the template has %d {} but %d arguments follow it", next-1, len(args)-1)
		}
		return b.String(), nil
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, fail("the argument must be a string, got %s", typeName(args[0]))
		}
		v, err := decode([]byte(s))
		if err != nil {
			return nil, fail("the argument is not valid JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return compact(args[0]), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, fail("both arguments must be objects, got %s and %s", typeName(args[0]), typeName(args[1]))
		}
		out := make(map[string]any, len(a)+len(b))
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b { // shallow: a key of the second object replaces the first's value whole
			out[k] = v
		}
		return out, nil
	case "States.Array":
		return append([]any{}, args...), nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, fail("the argument must be an array, got %s", typeName(args[0]))
		}
		return json.Number(strconv.Itoa(len(a))), nil
	case "States.UUID":
		return newUUID(), nil
	case "States.MathAdd":
		var sum int64
		for i, a := range args {
			n, ok := a.(json.Number)
			if !ok {
				return nil, fail("argument %d must be a number, got %s", i+1, typeName(a))
			}
			f, err := n.Float64()
			if err != nil {
				return nil, fail("argument %d: %v", i+1, err)
			}
			// Step Functions rounds non-integers to the nearest integer; values must fit an int32.
			r := math.Round(f)
			if r < math.MinInt32 || r > math.MaxInt32 {
				return nil, fail("argument %d (%s) is outside the 32-bit integer range", i+1, n)
			}
			sum += int64(r)
		}
		return json.Number(strconv.FormatInt(sum, 10)), nil
	}
	return nil, fail("unsupported intrinsic") // unreachable: refused at Load
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// decode parses JSON keeping numbers exact (json.Number).
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b[d.InputOffset():])) > 0 {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// encode renders v as compact JSON without HTML escaping, as Step Functions does.
func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func compact(v any) string { return string(encode(v)) }

// A tnode is a node of a payload template (Parameters, ResultSelector): a JSON value
// whose object keys ending in ".$" are replaced by the value of their path or intrinsic.
type tnode interface {
	build(e *env) (any, error)
}

type tlit struct{ v any }

func (t tlit) build(*env) (any, error) { return t.v, nil }

type tfield struct {
	key  string // without ".$"
	raw  string // as written
	expr expr   // for ".$" keys
	val  tnode
}

type tobject struct{ fields []tfield }

func (t tobject) build(e *env) (any, error) {
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		if f.expr != nil {
			v, err := f.expr.eval(e)
			if err != nil {
				if _, isPath := f.expr.(pathExpr); isPath {
					// Step Functions' wording for this States.Runtime error.
					return nil, evalErrorf("The JsonPath argument for the field '%s' could not be found in the input '%s'", f.raw, compact(e.data))
				}
				return nil, evalErrorf("the field '%s': %v", f.raw, err)
			}
			out[f.key] = v
			continue
		}
		v, err := f.val.build(e)
		if err != nil {
			return nil, err
		}
		out[f.key] = v
	}
	return out, nil
}

type tarray struct{ items []tnode }

func (t tarray) build(e *env) (any, error) {
	out := make([]any, len(t.items))
	for i, it := range t.items {
		v, err := it.build(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// compileTemplate compiles a payload template; field names the template in errors
// (e.g. "Parameters"). Objects inside arrays are templates too.
func compileTemplate(v any, field string) (tnode, error) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		obj := tobject{}
		seen := map[string]string{}
		for _, k := range keys {
			f := tfield{key: k, raw: k}
			name := field + "." + k
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				s, ok := t[k].(string)
				if !ok {
					return nil, fmt.Errorf("field %q: the value of a .$ field must be a string (a path or an intrinsic)", name)
				}
				x, err := parseExpr(s)
				if err != nil {
					return nil, fmt.Errorf("field %q: %v", name, err)
				}
				f.expr = x
			} else {
				n, err := compileTemplate(t[k], name)
				if err != nil {
					return nil, err
				}
				f.val = n
			}
			if other, dup := seen[f.key]; dup {
				return nil, fmt.Errorf("field %q: %q and %q produce the same key", field, other, k)
			}
			seen[f.key] = k
			obj.fields = append(obj.fields, f)
		}
		return obj, nil
	case []any:
		arr := tarray{}
		for i, it := range t {
			n, err := compileTemplate(it, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			arr.items = append(arr.items, n)
		}
		return arr, nil
	default:
		return tlit{v}, nil
	}
}
