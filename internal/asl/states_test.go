package asl

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestFail(t *testing.T) {
	input := `{"error":{"Error":"FailoverTimeout","Cause":"{\"errorMessage\":\"x\"}"},"n":3,"obj":{}}`
	tests := []struct {
		name      string
		state     string
		wantError string
		wantCause string
	}{
		{"literal", `{"Type":"Fail","Error":"DrillFailed","Cause":"because"}`, "DrillFailed", "because"},
		{"ErrorPath and CausePath", `{"Type":"Fail","ErrorPath":"$.error.Error","CausePath":"$.error.Cause"}`, "FailoverTimeout", `{"errorMessage":"x"}`},
		{"CausePath intrinsic", `{"Type":"Fail","Error":"E","CausePath":"States.Format('{} retries', $.n)"}`, "E", "3 retries"},
		{"neither", `{"Type":"Fail"}`, "", ""},
		{"ErrorPath not found is States.Runtime", `{"Type":"Fail","ErrorPath":"$.nope"}`, "States.Runtime", ""},
		{"CausePath not a string is States.Runtime", `{"Type":"Fail","Error":"E","CausePath":"$.obj"}`, "States.Runtime", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(`"A":`+tt.state))
			res := m.Run(t.Context(), "r", json.RawMessage(input), opts(newClock(), echo))
			assertStatus(t, res, StatusFailed, tt.wantError)
			if tt.wantError != "States.Runtime" && res.Cause != tt.wantCause {
				t.Errorf("cause %q, want %q", res.Cause, tt.wantCause)
			}
			if last := res.Events[len(res.Events)-1]; last.Type != ExecutionFailed || last.Error != tt.wantError {
				t.Errorf("last event %+v", last)
			}
		})
	}
}

func TestChoice(t *testing.T) {
	input := `{"s":"pass","n":5,"f":2.5,"b":true,"z":null,"ts":"2026-03-01T10:00:00Z","other":"pass","limit":5,"later":"2026-03-02T00:00:00+01:00","file":"report-2026.json"}`
	tests := []struct {
		name string
		rule string
		want string // "Yes", "No" (Default) or an error name
	}{
		{"StringEquals", `"Variable":"$.s","StringEquals":"pass"`, "Yes"},
		{"StringEquals other", `"Variable":"$.s","StringEquals":"fail"`, "No"},
		{"StringEquals on a number is false", `"Variable":"$.n","StringEquals":"5"`, "No"},
		{"StringEqualsPath", `"Variable":"$.s","StringEqualsPath":"$.other"`, "Yes"},
		{"StringLessThan", `"Variable":"$.s","StringLessThan":"pat"`, "Yes"},
		{"StringLessThan equal is false", `"Variable":"$.s","StringLessThan":"pass"`, "No"},
		{"StringGreaterThanEquals", `"Variable":"$.s","StringGreaterThanEquals":"pass"`, "Yes"},
		{"StringMatches", `"Variable":"$.file","StringMatches":"report-*.json"`, "Yes"},
		{"StringMatches escaped star", `"Variable":"$.file","StringMatches":"report-\\*"`, "No"},
		{"NumericEquals", `"Variable":"$.n","NumericEquals":5`, "Yes"},
		{"NumericEquals float", `"Variable":"$.f","NumericEquals":2.50`, "Yes"},
		{"NumericEqualsPath", `"Variable":"$.n","NumericEqualsPath":"$.limit"`, "Yes"},
		{"NumericLessThan", `"Variable":"$.n","NumericLessThan":5`, "No"},
		{"NumericLessThanEquals", `"Variable":"$.n","NumericLessThanEquals":5`, "Yes"},
		{"NumericGreaterThan", `"Variable":"$.f","NumericGreaterThan":2`, "Yes"},
		{"NumericGreaterThanEqualsPath", `"Variable":"$.f","NumericGreaterThanEqualsPath":"$.limit"`, "No"},
		{"NumericLessThan on a string is false", `"Variable":"$.s","NumericLessThan":100`, "No"},
		{"BooleanEquals", `"Variable":"$.b","BooleanEquals":true`, "Yes"},
		{"BooleanEqualsPath", `"Variable":"$.b","BooleanEqualsPath":"$.z"`, "No"},
		{"IsPresent", `"Variable":"$.z","IsPresent":true`, "Yes"},
		{"IsPresent false on a missing field", `"Variable":"$.missing","IsPresent":false`, "Yes"},
		{"IsNull", `"Variable":"$.z","IsNull":true`, "Yes"},
		{"IsString", `"Variable":"$.n","IsString":true`, "No"},
		{"IsNumeric", `"Variable":"$.f","IsNumeric":true`, "Yes"},
		{"IsBoolean", `"Variable":"$.b","IsBoolean":true`, "Yes"},
		{"IsTimestamp", `"Variable":"$.ts","IsTimestamp":true`, "Yes"},
		{"IsTimestamp on a plain string", `"Variable":"$.s","IsTimestamp":true`, "No"},
		{"TimestampEquals", `"Variable":"$.ts","TimestampEquals":"2026-03-01T11:00:00+01:00"`, "Yes"},
		{"TimestampLessThan", `"Variable":"$.ts","TimestampLessThan":"2026-03-01T10:00:01Z"`, "Yes"},
		{"TimestampGreaterThanPath", `"Variable":"$.ts","TimestampGreaterThanPath":"$.later"`, "No"},
		{"TimestampLessThanEqualsPath", `"Variable":"$.ts","TimestampLessThanEqualsPath":"$.later"`, "Yes"},
		{"And", `"And":[{"Variable":"$.s","StringEquals":"pass"},{"Variable":"$.n","NumericGreaterThan":1}]`, "Yes"},
		{"And short", `"And":[{"Variable":"$.s","StringEquals":"fail"},{"Variable":"$.n","NumericGreaterThan":1}]`, "No"},
		{"Or", `"Or":[{"Variable":"$.s","StringEquals":"fail"},{"Variable":"$.b","BooleanEquals":true}]`, "Yes"},
		{"Not", `"Not":{"Variable":"$.s","StringEquals":"pass"}`, "No"},
		{"Not IsPresent guards a missing field", `"And":[{"Variable":"$.missing","IsPresent":true},{"Variable":"$.missing","StringEquals":"x"}]`, "No"},
		{"missing Variable is States.Runtime", `"Variable":"$.missing","StringEquals":"x"`, "States.Runtime"},
		{"missing comparison path is States.Runtime", `"Variable":"$.s","StringEqualsPath":"$.missing"`, "States.Runtime"},
		{"context object", `"Variable":"$$.Execution.Name","StringEquals":"r"`, "Yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(`"A":{"Type":"Choice","Choices":[{`+tt.rule+`,"Next":"Yes"}],"Default":"No"},"Yes":{"Type":"Succeed"},"No":{"Type":"Succeed"}`))
			res := m.Run(t.Context(), "r", json.RawMessage(input), opts(newClock(), echo))
			if tt.want == "Yes" || tt.want == "No" {
				assertStatus(t, res, StatusSucceeded, "")
				if got := eventsOf(res, StateEntered); got[len(got)-1] != "StateEntered:"+tt.want {
					t.Errorf("went to %v, want %s", got, tt.want)
				}
				return
			}
			assertStatus(t, res, StatusFailed, tt.want)
		})
	}

	t.Run("no match and no Default", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Choice","Choices":[{"Variable":"$.s","StringEquals":"x","Next":"B"}]},"B":{"Type":"Succeed"}`))
		assertStatus(t, m.Run(t.Context(), "r", json.RawMessage(input), opts(newClock(), echo)), StatusFailed, "States.NoChoiceMatched")
	})
	t.Run("first matching rule wins; InputPath and OutputPath apply", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Choices":[{"Variable":"$.v","NumericGreaterThan":1,"Next":"B"},{"Variable":"$.v","NumericGreaterThan":0,"Next":"C"}]},"B":{"Type":"Succeed"},"C":{"Type":"Succeed"}`))
		res := m.Run(t.Context(), "r", json.RawMessage(`{"in":{"v":2}}`), opts(newClock(), echo))
		assertJSON(t, res.Output, `2`)
		if got := eventsOf(res, StateEntered); !reflect.DeepEqual(got, []string{"StateEntered:A", "StateEntered:B"}) {
			t.Errorf("path %v", got)
		}
	})
}

func TestWait(t *testing.T) {
	// The fake clock starts at 2026-03-01T10:00:00.123Z.
	tests := []struct {
		name  string
		state string
		want  []time.Duration
	}{
		{"Seconds", `"Seconds":90`, []time.Duration{90 * time.Second}},
		{"SecondsPath", `"SecondsPath":"$.s"`, []time.Duration{7 * time.Second}},
		{"Timestamp", `"Timestamp":"2026-03-01T10:01:00.123Z"`, []time.Duration{time.Minute}},
		{"TimestampPath", `"TimestampPath":"$.ts"`, []time.Duration{2*time.Second - 123*time.Millisecond}},
		{"Timestamp in the past does not wait", `"Timestamp":"2020-01-01T00:00:00Z"`, nil},
		{"Seconds 0", `"Seconds":0`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(`"A":{"Type":"Wait",`+tt.state+`,"End":true}`))
			c := newClock()
			res := m.Run(t.Context(), "r", json.RawMessage(`{"s":7,"ts":"2026-03-01T10:00:02Z"}`), opts(c, echo))
			assertStatus(t, res, StatusSucceeded, "")
			assertJSON(t, res.Output, `{"s":7,"ts":"2026-03-01T10:00:02Z"}`)
			if got := c.Sleeps(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("slept %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("SecondsPath not a number is States.Runtime", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Wait","SecondsPath":"$.s","End":true}`))
		assertStatus(t, m.Run(t.Context(), "r", json.RawMessage(`{"s":"7"}`), opts(newClock(), echo)), StatusFailed, "States.Runtime")
	})
}

func TestOnEvent(t *testing.T) {
	m := mustLoad(t, machine(`"A":{"Type":"Wait","Seconds":5,"Next":"B"},"B":{"Type":"Succeed"}`))
	c := newClock()
	o := opts(c, echo)
	var live []Event
	o.OnEvent = func(e Event) { live = append(live, e) }
	res := m.Run(t.Context(), "r", nil, o)
	if !reflect.DeepEqual(live, res.Events) {
		t.Errorf("OnEvent saw %v, Result has %v", live, res.Events)
	}
	if got := eventsOf(res); !reflect.DeepEqual(got, []string{"ExecutionStarted:", "StateEntered:A", "StateExited:A", "StateEntered:B", "StateExited:B", "ExecutionSucceeded:"}) {
		t.Errorf("events %v", got)
	}
	if res.Events[2].Duration != 5*time.Second || res.Stop.Sub(res.Start) != 5*time.Second {
		t.Errorf("durations: state %v, execution %v", res.Events[2].Duration, res.Stop.Sub(res.Start))
	}
}
