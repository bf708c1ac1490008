package asl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// A rule is a Choice rule: a comparison on Variable, or And/Or/Not of nested rules.
type rule struct {
	variable    path
	op          string // comparison operator without the "Path" suffix
	operand     any
	operandPath *path
	and, or     []*rule
	not         *rule
	next        string
}

// operandKind gives, per supported comparison operator, the kind of its literal operand.
var operandKind = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

// pathVariant reports whether op+"Path" is a supported operator.
func pathVariant(op string) bool {
	_, ok := operandKind[op]
	return ok && !strings.HasPrefix(op, "Is") && op != "StringMatches"
}

// compileRule compiles one Choice rule; where names it in errors (e.g. "Choices[0].And[1]").
func compileRule(raw map[string]any, where string, top bool) (*rule, error) {
	r := &rule{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ops []string
	for _, k := range keys {
		v := raw[k]
		switch k {
		case "Comment":
		case "Next":
			if !top {
				return nil, fmt.Errorf("field %q: Next is only allowed in a top-level Choice rule", where+".Next")
			}
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("field %q must be a state name", where+".Next")
			}
			r.next = s
		case "Variable":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("field %q must be a path", where+".Variable")
			}
			p, err := parsePath(s)
			if err != nil {
				return nil, fmt.Errorf("field %q: %v", where+".Variable", err)
			}
			r.variable = p
		case "And", "Or":
			ops = append(ops, k)
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("field %q must be a non-empty array of rules", where+"."+k)
			}
			for i, it := range list {
				m, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("field %q must be a rule object", fmt.Sprintf("%s.%s[%d]", where, k, i))
				}
				sub, err := compileRule(m, fmt.Sprintf("%s.%s[%d]", where, k, i), false)
				if err != nil {
					return nil, err
				}
				if k == "And" {
					r.and = append(r.and, sub)
				} else {
					r.or = append(r.or, sub)
				}
			}
		case "Not":
			ops = append(ops, k)
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("field %q must be a rule object", where+".Not")
			}
			sub, err := compileRule(m, where+".Not", false)
			if err != nil {
				return nil, err
			}
			r.not = sub
		default:
			ops = append(ops, k)
			base, isPath := k, false
			if strings.HasSuffix(k, "Path") && pathVariant(strings.TrimSuffix(k, "Path")) {
				base, isPath = strings.TrimSuffix(k, "Path"), true
			}
			kind, ok := operandKind[base]
			if !ok {
				return nil, fmt.Errorf("field %q: Choice operator %q is not supported", where+"."+k, k)
			}
			r.op = base
			if isPath {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("field %q must be a path", where+"."+k)
				}
				p, err := parsePath(s)
				if err != nil {
					return nil, fmt.Errorf("field %q: %v", where+"."+k, err)
				}
				r.operandPath = &p
				continue
			}
			if err := checkOperand(kind, v); err != nil {
				return nil, fmt.Errorf("field %q: %v", where+"."+k, err)
			}
			r.operand = v
		}
	}
	if len(ops) != 1 {
		return nil, fmt.Errorf("rule %q must have exactly one operator (a comparison, And, Or or Not), has %d", where, len(ops))
	}
	isCompare := r.op != ""
	if isCompare && r.variable.raw == "" {
		return nil, fmt.Errorf("rule %q: %s needs a Variable", where, ops[0])
	}
	if !isCompare && r.variable.raw != "" {
		return nil, fmt.Errorf("rule %q: Variable is not allowed with %s", where, ops[0])
	}
	if top && r.next == "" {
		return nil, fmt.Errorf("rule %q has no Next", where)
	}
	return r, nil
}

func checkOperand(kind string, v any) error {
	switch kind {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("must be a string")
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("must be a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("must be a boolean")
		}
	case "timestamp":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a timestamp string")
		}
		if _, ok := parseTimestamp(s); !ok {
			return fmt.Errorf("%q is not an RFC 3339 timestamp", s)
		}
	}
	return nil
}

func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// eval evaluates the rule; a Variable (or operand path) that selects nothing is a
// States.Runtime error, except for IsPresent.
func (r *rule) eval(e *env) (bool, error) {
	switch {
	case r.and != nil:
		for _, sub := range r.and {
			ok, err := sub.eval(e)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, sub := range r.or {
			ok, err := sub.eval(e)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(e)
		return !ok && err == nil, err
	}
	v, present := r.variable.get(e.data, e.context)
	if r.op == "IsPresent" {
		return present == r.operand.(bool), nil
	}
	if !present {
		return false, evalErrorf("invalid path %s: the choice state's condition path references an invalid value", r.variable.raw)
	}
	operand := r.operand
	if r.operandPath != nil {
		var ok bool
		if operand, ok = r.operandPath.get(e.data, e.context); !ok {
			return false, evalErrorf("invalid path %s: the choice state's comparison path references an invalid value", r.operandPath.raw)
		}
	}
	switch r.op {
	case "IsNull":
		return (v == nil) == operand.(bool), nil
	case "IsNumeric":
		_, ok := v.(json.Number)
		return ok == operand.(bool), nil
	case "IsString":
		_, ok := v.(string)
		return ok == operand.(bool), nil
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == operand.(bool), nil
	case "IsTimestamp":
		s, ok := v.(string)
		if ok {
			_, ok = parseTimestamp(s)
		}
		return ok == operand.(bool), nil
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	case "StringMatches":
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && wildcardMatch(b, a), nil
	}
	var c int
	switch {
	case strings.HasPrefix(r.op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = strings.Compare(a, b)
	case strings.HasPrefix(r.op, "Numeric"):
		a, ok1 := v.(json.Number)
		b, ok2 := operand.(json.Number)
		if !ok1 || !ok2 {
			return false, nil
		}
		fa, err1 := a.Float64()
		fb, err2 := b.Float64()
		if err1 != nil || err2 != nil {
			return false, nil
		}
		c = cmpFloat(fa, fb)
	case strings.HasPrefix(r.op, "Timestamp"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		ta, ok1 := parseTimestamp(a)
		tb, ok2 := parseTimestamp(b)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = ta.Compare(tb)
	}
	switch {
	case strings.HasSuffix(r.op, "LessThanEquals"):
		return c <= 0, nil
	case strings.HasSuffix(r.op, "GreaterThanEquals"):
		return c >= 0, nil
	case strings.HasSuffix(r.op, "LessThan"):
		return c < 0, nil
	case strings.HasSuffix(r.op, "GreaterThan"):
		return c > 0, nil
	default: // Equals
		return c == 0, nil
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wildcardMatch implements StringMatches: * matches any run of characters; \* and \\ escape.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		c    byte
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		switch {
		case pattern[i] == '\\' && i+1 < len(pattern):
			i++
			toks = append(toks, tok{c: pattern[i]})
		case pattern[i] == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{c: pattern[i]})
		}
	}
	// Classic greedy match with backtracking to the last star.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].c == s[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			starS++
			si = starS
			ti = starT + 1
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
