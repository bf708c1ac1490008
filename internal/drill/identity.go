package drill

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RunID identifies one execution. Step Functions accepts an execution name again 90
// days after the last execution with that name closed, and the new execution gets the
// same ARN (state machine ARN + name), so the name and the ARN alone would let a new
// run pick up an old run's ticket or lock: the start time completes the identity.
type RunID struct {
	Execution    string  // the execution's name ($$.Execution.Name)
	ExecutionArn string  // $$.Execution.Id
	StartTime    Instant // $$.Execution.StartTime
}

// Same reports whether a and b are the same execution: same name, ARN and start time
// (to the millisecond, the precision every AWS source gives it in).
func (id RunID) Same(o RunID) bool {
	return id.Execution == o.Execution && id.ExecutionArn == o.ExecutionArn && id.StartTime.Equal(o.StartTime)
}

// Problems lists what is missing or inconsistent, each naming its field.
func (id RunID) Problems() []string {
	var p []string
	if id.Execution == "" {
		p = append(p, "execution: missing")
	}
	switch {
	case id.ExecutionArn == "":
		p = append(p, "executionArn: missing")
	case !strings.Contains(id.ExecutionArn, ":execution:") || !strings.HasSuffix(id.ExecutionArn, ":"+id.Execution):
		p = append(p, fmt.Sprintf("executionArn: %q is not the ARN of execution %q", id.ExecutionArn, id.Execution))
	}
	if id.StartTime.IsZero() {
		p = append(p, "startTime: missing")
	}
	return p
}

// String names the run for people: "drill-w23 (started 2025-06-01T12:00:00.123Z)".
func (id RunID) String() string {
	return id.Execution + " (started " + id.StartTime.String() + ")"
}

// Instant is a moment to the millisecond. It reads both forms AWS gives an execution's
// start in: $$.Execution.StartTime ("2025-06-01T12:00:00.123Z") and an EventBridge
// execution status change's detail.startDate (epoch milliseconds, 1748779200123). It
// is written as the first.
type Instant struct{ t time.Time }

// At is the Instant of t, rounded to the millisecond.
func At(t time.Time) Instant {
	if t.IsZero() {
		return Instant{}
	}
	return Instant{t.UTC().Round(time.Millisecond)}
}

// Time is the moment as a time.Time (zero when unset).
func (i Instant) Time() time.Time { return i.t }

// IsZero reports whether the moment is unset.
func (i Instant) IsZero() bool { return i.t.IsZero() }

// Equal compares to the millisecond.
func (i Instant) Equal(o Instant) bool { return i.t.Equal(o.t) }

// String is the ISO 8601 form with milliseconds, "" when unset.
func (i Instant) String() string {
	if i.t.IsZero() {
		return ""
	}
	return i.t.Format(instantLayout)
}

const instantLayout = "2006-01-02T15:04:05.000Z"

// MarshalJSON writes the ISO 8601 form, or null when unset.
func (i Instant) MarshalJSON() ([]byte, error) {
	if i.t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(i.String())
}

// UnmarshalJSON reads an RFC 3339 string or a number of epoch milliseconds; null and ""
// leave it unset.
func (i *Instant) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*i = Instant{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*i = Instant{}
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("instant %q: want RFC 3339 like 2025-06-01T12:00:00.123Z", s)
		}
		*i = At(t)
		return nil
	default:
		ms, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("instant %s: want an RFC 3339 string or epoch milliseconds", b)
		}
		*i = At(time.UnixMilli(ms))
		return nil
	}
}

// ParseInstant reads a start as a person passes it: RFC 3339
// (2025-06-01T12:00:00.123Z, as drill report prints it) or epoch milliseconds
// (1748779200123, as an EventBridge notification's startDate gives it).
func ParseInstant(s string) (Instant, error) {
	s = strings.TrimSpace(s)
	raw, _ := json.Marshal(s)
	if s != "" && strings.Trim(s, "0123456789") == "" {
		raw = []byte(s)
	}
	var i Instant
	if err := i.UnmarshalJSON(raw); err != nil {
		return Instant{}, err
	}
	if i.IsZero() {
		return Instant{}, fmt.Errorf("instant: empty")
	}
	return i, nil
}
