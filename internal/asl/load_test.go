package asl

import (
	"reflect"
	"testing"
)

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want []string
	}{
		{"Map state", `{"StartAt":"Fan","States":{"Fan":{"Type":"Map","ItemProcessor":{},"End":true}}}`,
			[]string{`state "Fan": field "Type": "Map" is not supported`}},
		{"Parallel state", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}`,
			[]string{`state "P": field "Type": "Parallel" is not supported`}},
		{"HeartbeatSeconds", machine(task("X", `"HeartbeatSeconds":10,"End":true`)),
			[]string{`state "X": field "HeartbeatSeconds" is not supported`}},
		{"TimeoutSecondsPath", machine(task("X", `"TimeoutSecondsPath":"$.t","End":true`)),
			[]string{`state "X": field "TimeoutSecondsPath" is not supported`}},
		{"Credentials", machine(task("X", `"Credentials":{"RoleArn":"r"},"End":true`)),
			[]string{`state "X": field "Credentials" is not supported`}},
		{"JSONata Arguments", machine(task("X", `"Arguments":{},"End":true`)),
			[]string{`state "X": field "Arguments" is not supported`}},
		{"JSONata Output", machine(`"X":{"Type":"Pass","Output":{},"End":true}`),
			[]string{`state "X": field "Output" is not supported`}},
		{"variables Assign", machine(`"X":{"Type":"Pass","Assign":{"a":1},"End":true}`),
			[]string{`state "X": field "Assign" is not supported`}},
		{"top-level JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
			[]string{`QueryLanguage "JSONata" is not supported`}},
		{"state JSONata", `{"StartAt":"X","States":{"X":{"Type":"Succeed","QueryLanguage":"JSONata"}}}`,
			[]string{`state "X": QueryLanguage "JSONata" is not supported`}},
		{"unknown top-level field", `{"StartAt":"A","Foo":1,"States":{"A":{"Type":"Succeed"}}}`,
			[]string{`field "Foo" is not supported`}},
		{"other Resource", `{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{},"End":true}}}`,
			[]string{`state "X": Resource "arn:aws:states:::sqs:sendMessage" is not supported`}},
		{"waitForTaskToken", `{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{}},"End":true}}}`,
			[]string{`state "X": Resource "arn:aws:states:::lambda:invoke.waitForTaskToken" is not supported`}},
		{"invoke Qualifier", `{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{},"Qualifier":"1"},"End":true}}}`,
			[]string{`state "X": field "Parameters.Qualifier" is not supported`}},
		{"invoke without FunctionName", `{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"Payload":{}},"End":true}}}`,
			[]string{`state "X": field "Parameters.FunctionName" is missing`}},
		{"invoke without Payload", `{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"End":true}}}`,
			[]string{`state "X": field "Parameters.Payload" is missing`}},
		{"unknown intrinsic", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"h.$":"States.Hash($.a, 'SHA-1')"},"End":true}}}`,
			[]string{`state "X": field "Parameters.h.$": intrinsic "States.Hash" is not supported`}},
		{"nested unknown intrinsic", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"a":{"b.$":"States.Format('{}', States.Base64Encode($.x))"}},"End":true}}}`,
			[]string{`state "X": field "Parameters.a.b.$": intrinsic "States.Base64Encode" is not supported`}},
		{"intrinsic in ResultSelector", machine(task("X", `"ResultSelector":{"a.$":"States.StringSplit($.a, ',')"},"End":true`)),
			[]string{`state "X": field "ResultSelector.a.$": intrinsic "States.StringSplit" is not supported`}},
		{"deep JsonMerge", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"m.$":"States.JsonMerge($.a, $.b, true)"},"End":true}}}`,
			[]string{`state "X": field "Parameters.m.$"`, "only the shallow merge is supported"}},
		{"JsonMerge flag from a path", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"m.$":"States.JsonMerge($.a, $.b, $.deep)"},"End":true}}}`,
			[]string{`state "X": field "Parameters.m.$"`, "only the shallow merge is supported"}},
		{"Format arity", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"m.$":"States.Format('{} {}', $.a)"},"End":true}}}`,
			[]string{`state "X": field "Parameters.m.$"`, "has 2 {} but 1 arguments"}},
		{"intrinsic arity", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"m.$":"States.MathAdd(1)"},"End":true}}}`,
			[]string{`state "X": field "Parameters.m.$"`, "States.MathAdd takes 2 arguments"}},
		{"open escape", `{"StartAt":"X","States":{"X":{"Type":"Pass","Parameters":{"m.$":"States.Format('a\\n')"},"End":true}}}`,
			[]string{`state "X": field "Parameters.m.$"`, "open escape"}},
		{"wildcard path", machine(task("X", `"Parameters":{"FunctionName":"f","Payload":{"a.$":"$.items[*].id"}},"End":true`)),
			[]string{`state "X": field "Parameters.Payload.a.$"`, "[*] is not supported"}},
		{"filter in InputPath", machine(task("X", `"InputPath":"$.items[?(@.a == 1)]","End":true`)),
			[]string{`state "X": field "InputPath"`, "is not supported"}},
		{"recursive descent in OutputPath", machine(task("X", `"OutputPath":"$..id","End":true`)),
			[]string{`state "X": field "OutputPath"`, "recursive descent"}},
		{"wildcard name", machine(`"X":{"Type":"Pass","OutputPath":"$.a.*","End":true}`),
			[]string{`state "X": field "OutputPath"`, "not a plain name"}},
		{"ResultPath on the context", machine(`"X":{"Type":"Pass","ResultPath":"$$.Execution","End":true}`),
			[]string{`state "X": field "ResultPath"`, "context object"}},
		{"ResultPath index", machine(`"X":{"Type":"Pass","ResultPath":"$.a[0]","End":true}`),
			[]string{`state "X": field "ResultPath": array indexes`}},
		{"template value not a path", machine(`"X":{"Type":"Pass","Parameters":{"a.$":"hello"},"End":true}`),
			[]string{`state "X": field "Parameters.a.$"`, "neither a path"}},
		{"Choice operator", machine(`"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}`),
			[]string{`state "C": field "Choices[0].StringContains": Choice operator "StringContains" is not supported`}},
		{"Choice operand type", machine(`"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"D"}]},"D":{"Type":"Succeed"}`),
			[]string{`state "C": field "Choices[0].NumericEquals": must be a number`}},
		{"Choice nested rule with Next", machine(`"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true,"Next":"D"},"Next":"D"}]},"D":{"Type":"Succeed"}`),
			[]string{`state "C": field "Choices[0].Not.Next"`}},
		{"Choice rule without Next", machine(`"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true}],"Default":"D"},"D":{"Type":"Succeed"}`),
			[]string{`state "C": rule "Choices[0]" has no Next`}},
		{"Retry field", machine(task("X", `"Retry":[{"ErrorEquals":["E"],"Foo":1}],"End":true`)),
			[]string{`state "X": field "Retry[0].Foo" is not supported`}},
		{"Retry BackoffRate", machine(task("X", `"Retry":[{"ErrorEquals":["E"],"BackoffRate":0.5}],"End":true`)),
			[]string{`state "X": field "Retry[0].BackoffRate" must be a number >= 1.0`}},
		{"Catch JSONata Output", machine(task("X", `"Catch":[{"ErrorEquals":["E"],"Next":"X","Output":{}}],"End":true`)),
			[]string{`state "X": field "Catch[0].Output" is not supported`}},
		{"States.ALL not alone", machine(task("X", `"Catch":[{"ErrorEquals":["States.ALL","E"],"Next":"X"}],"End":true`)),
			[]string{`state "X": field "Catch[0].ErrorEquals": States.ALL must appear alone`}},
		{"States.ALL not last", machine(task("X", `"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["E"]}],"End":true`)),
			[]string{`state "X": field "Retry[0].ErrorEquals": States.ALL must appear alone, in the last Retry`}},
		{"StartAt missing", `{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}`,
			[]string{`StartAt "Nope" is not a state`}},
		{"Next missing", machine(`"A":{"Type":"Pass","Next":"Nope"}`),
			[]string{`state "A": field "Next" names "Nope", which is not a state`}},
		{"Catch Next missing", machine(task("A", `"Catch":[{"ErrorEquals":["E"],"Next":"Nope"}],"End":true`)),
			[]string{`state "A": field "Catch[0].Next" names "Nope"`}},
		{"Default missing", machine(`"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"B"}],"Default":"Nope"},"B":{"Type":"Succeed"}`),
			[]string{`state "A": field "Default" names "Nope"`}},
		{"Choice Next missing", machine(`"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"Nope"}]}`),
			[]string{`state "A": field "Choices[0].Next" names "Nope"`}},
		{"no Next", machine(`"A":{"Type":"Pass"}`),
			[]string{`state "A": is not terminal (no End: true) and has no Next`}},
		{"Next and End", machine(`"A":{"Type":"Pass","Next":"A","End":true}`),
			[]string{`state "A": has both Next and End`}},
		{"unreachable", machine(`"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}`),
			[]string{`state "B" is not reachable`}},
		{"Fail Cause and CausePath", machine(`"A":{"Type":"Fail","Cause":"x","CausePath":"$.c"}`),
			[]string{`state "A": has both Cause and CausePath`}},
		{"Fail with InputPath", machine(`"A":{"Type":"Fail","InputPath":"$.c"}`),
			[]string{`state "A": field "InputPath" is not supported`}},
		{"Wait with two durations", machine(`"A":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}`),
			[]string{`state "A": a Wait state needs exactly one`}},
		{"all problems at once", machine(`"A":{"Type":"Pass","HeartbeatSeconds":1,"Next":"B"},"B":{"Type":"Map","End":true}`),
			[]string{`state "A": field "HeartbeatSeconds" is not supported`, `state "B": field "Type": "Map" is not supported`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.def, nil)
			assertErrContains(t, err, tt.want...)
		})
	}
}

func TestLoadSubstitutions(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"b":"${Bucket}","r":"${Region}"},"End":true}}}`
	tests := []struct {
		name string
		subs map[string]string
		want []string // error substrings; none: Load succeeds
	}{
		{"all set", map[string]string{"Bucket": "b1", "Region": "eu-west-1"}, nil},
		{"missing value", map[string]string{"Bucket": "b1"}, []string{`no substitution for placeholder(s) "Region"`}},
		{"unused key", map[string]string{"Bucket": "b1", "Region": "r", "Extra": "x", "Another": "y"},
			[]string{`substitution(s) "Another", "Extra" match no ${...} placeholder`}},
		{"both", map[string]string{"Bucket": "b1", "Extra": "x"}, []string{`"Region"`, `"Extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(def, tt.subs)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			assertErrContains(t, err, tt.want...)
		})
	}

	t.Run("values are JSON-escaped", func(t *testing.T) {
		m, err := Load(def, map[string]string{"Bucket": `a"b\c`, "Region": "r"})
		if err != nil {
			t.Fatal(err)
		}
		c := newClock()
		res := m.Run(t.Context(), "x", nil, opts(c, echo))
		assertJSON(t, res.Output, `{"b":"a\"b\\c","r":"r"}`)
	})
}

func TestStatesInDefinitionOrder(t *testing.T) {
	m := mustLoad(t, `{"StartAt":"Z","States":{"Z":{"Type":"Pass","Next":"A"},"A":{"Type":"Pass","Next":"M"},"M":{"Type":"Succeed"}}}`)
	if got, want := m.States(), []string{"Z", "A", "M"}; !reflect.DeepEqual(got, want) {
		t.Errorf("States() = %v, want %v", got, want)
	}
}
