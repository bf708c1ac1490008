package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The checks a person's input gets before anything starts: drill start and drill local
// check an execution input and name here, with the contract's own rules, and read a
// report back with ParseReport.

// MaxInputBytes is Step Functions' limit on an execution's input.
const MaxInputBytes = 256 * 1024

// CheckName applies Step Functions' rules for execution names: 1..80 characters, no
// whitespace, brackets, wildcards, control characters or any of "#%\^|~`$&,;:/.
func CheckName(name string) error {
	if n := len([]rune(name)); n < 1 || n > 80 {
		return fmt.Errorf("execution name %q: must be 1..80 characters", name)
	}
	for _, r := range name {
		if r <= 0x20 || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return fmt.Errorf("execution name %q: %q is not allowed (no whitespace, brackets, wildcards or \"#%%\\^|~`$&,;:/)", name, r)
		}
	}
	return nil
}

// Stand-ins for the two fields only the deployment supplies, so CheckInput can
// validate every field the input does set with the drill's own rules.
const (
	deployedDistribution = "d111111abcdef8.cloudfront.net"
	deployedBucket       = "deployed-primary-bucket"
)

// CheckInput validates an execution input as far as it can be without the deployment:
// it must be a JSON object, and every field it sets must be a known one with a valid
// value (drill.ParseConfig, the same rules Preflight applies). Fields it leaves out
// take the deployed defaults, which only the state machine knows.
func CheckInput(raw string) error {
	if len(raw) > MaxInputBytes {
		return fmt.Errorf("input is %d bytes; Step Functions accepts at most %d", len(raw), MaxInputBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil || fields == nil {
		return fmt.Errorf("must be a JSON object like {} or {\"items\":5}, got %s", inputKind(raw, err))
	}
	probe := maps.Clone(fields)
	if _, ok := probe["distribution"]; !ok {
		probe["distribution"] = json.RawMessage(`"` + deployedDistribution + `"`)
	}
	if _, ok := probe["primaryBucket"]; !ok {
		probe["primaryBucket"] = json.RawMessage(`"` + deployedBucket + `"`)
	}
	b, err := json.Marshal(probe)
	if err != nil {
		return err
	}
	_, err = ParseConfig(b) // an *InvalidInput naming every bad field
	return err
}

// inputKind names what raw holds instead of an object, for the error message.
func inputKind(raw string, err error) string {
	t := strings.TrimSpace(raw)
	var syntax *json.SyntaxError
	switch {
	case t == "":
		return "nothing"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON (%v at byte %d)", err, syntax.Offset)
	case err == nil: // null
		return "null"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t == "true" || t == "false":
		return "a boolean"
	default:
		return "a number (" + truncateRunes(t, 40) + ")"
	}
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// ParseReport decodes a report (report.json, or a SUCCEEDED execution's output).
// Unknown fields are accepted so an older CLI reads a newer report.
func ParseReport(raw []byte) (*Report, error) {
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("not a drill report: %w", err)
	}
	if !slices.Contains(Verdicts, rep.Verdict) {
		return nil, fmt.Errorf("not a drill report: verdict %q is not one of %s", rep.Verdict, strings.Join(Verdicts, ", "))
	}
	return &rep, nil
}
