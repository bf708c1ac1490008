package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// A path is a JSONPath reference path as Step Functions accepts it in the JSONPath dialect,
// restricted to what the runner supports: "$" (the state's data) or "$$" (the context object)
// followed by dotted names, ['quoted'] names and [index]. Wildcards, filters, slices,
// recursive descent and functions are refused when the definition is loaded.
type path struct {
	raw     string
	context bool // "$$"
	segs    []pathSeg
}

type pathSeg struct {
	name    string
	index   int
	isIndex bool
}

func (p path) String() string { return p.raw }

// parsePath parses a reference path, refusing anything beyond names and indexes.
func parsePath(s string) (path, error) {
	p := path{raw: s}
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		s = s[2:]
	case strings.HasPrefix(s, "$"):
		s = s[1:]
	default:
		return p, fmt.Errorf("path %q must start with $ or $$", p.raw)
	}
	for len(s) > 0 {
		switch s[0] {
		case '.':
			s = s[1:]
			if strings.HasPrefix(s, ".") {
				return p, fmt.Errorf("path %q: recursive descent (..) is not supported", p.raw)
			}
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			name := s[:end]
			if name == "" {
				return p, fmt.Errorf("path %q: empty name", p.raw)
			}
			if strings.ContainsAny(name, "*?@()'\"],:") || strings.TrimSpace(name) != name {
				return p, fmt.Errorf("path %q: %q is not a plain name (wildcards, filters and functions are not supported)", p.raw, name)
			}
			p.segs = append(p.segs, pathSeg{name: name})
			s = s[end:]
		case '[':
			s = s[1:]
			if len(s) > 0 && (s[0] == '\'' || s[0] == '"') {
				q := s[0]
				end := strings.IndexByte(s[1:], q)
				if end < 0 || len(s) < end+3 || s[end+2] != ']' {
					return p, fmt.Errorf("path %q: unterminated quoted name", p.raw)
				}
				p.segs = append(p.segs, pathSeg{name: s[1 : end+1]})
				s = s[end+3:]
				continue
			}
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return p, fmt.Errorf("path %q: unterminated [", p.raw)
			}
			idx := s[:end]
			n, err := strconv.Atoi(idx)
			if err != nil || n < 0 || strings.TrimSpace(idx) != idx || strings.HasPrefix(idx, "+") {
				return p, fmt.Errorf("path %q: [%s] is not supported (only [index] and ['name'])", p.raw, idx)
			}
			p.segs = append(p.segs, pathSeg{index: n, isIndex: true})
			s = s[end+1:]
		default:
			return p, fmt.Errorf("path %q: unexpected %q", p.raw, s[:1])
		}
	}
	return p, nil
}

// get resolves the path against data (or the context object); ok is false when it selects nothing.
func (p path) get(data, contextObj any) (any, bool) {
	v := data
	if p.context {
		v = contextObj
	}
	for _, seg := range p.segs {
		if seg.isIndex {
			a, ok := v.([]any)
			if !ok || seg.index >= len(a) {
				return nil, false
			}
			v = a[seg.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg.name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// set returns a copy of root with value placed at the path (ResultPath semantics): "$"
// replaces root, missing intermediate objects are created, objects along the way are copied
// (never mutated). It fails when an intermediate value exists and is not an object.
func (p path) set(root, value any) (any, error) {
	return setSegs(root, p.segs, value, p.raw)
}

func setSegs(cur any, segs []pathSeg, value any, raw string) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	m, ok := cur.(map[string]any)
	if !ok {
		if cur != nil {
			return nil, fmt.Errorf("unable to apply ResultPath %q: a value on the path is a %s, not an object", raw, typeName(cur))
		}
		// A missing intermediate field is created; a JSON null at the root is not an object.
		return nil, fmt.Errorf("unable to apply ResultPath %q: a value on the path is null, not an object", raw)
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	child, exists := m[segs[0].name]
	if !exists && len(segs) > 1 {
		child = map[string]any{}
	}
	nv, err := setSegs(child, segs[1:], value, raw)
	if err != nil {
		return nil, err
	}
	out[segs[0].name] = nv
	return out, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}
