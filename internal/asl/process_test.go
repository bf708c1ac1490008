package asl

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestInputOutputProcessing(t *testing.T) {
	tests := []struct {
		name   string
		states string
		fn     TaskFunc
		input  string
		want   string
	}{
		{"task default ResultPath replaces with the invoke result's Payload via ResultSelector",
			task("A", `"ResultSelector":{"p.$":"$.Payload","code.$":"$.StatusCode"},"End":true`), returns(`{"x":1}`),
			`{"in":true}`, `{"p":{"x":1},"code":200}`},
		{"InputPath then Parameters build the payload",
			task("A", `"InputPath":"$.order","Parameters":{"FunctionName":"`+testFn+`","Payload":{"id.$":"$.id","static":"s","nested":{"first.$":"$.items[0]","q.$":"$['odd key']"}}},"ResultSelector":{"got.$":"$.Payload"},"ResultPath":"$.result","End":true`),
			echo, `{"order":{"id":7,"items":["a","b"],"odd key":"k"},"keep":1}`,
			`{"order":{"id":7,"items":["a","b"],"odd key":"k"},"keep":1,"result":{"got":{"id":7,"static":"s","nested":{"first":"a","q":"k"}}}}`},
		{"ResultPath null discards the result",
			task("A", `"ResultPath":null,"End":true`), returns(`{"x":1}`), `{"in":1}`, `{"in":1}`},
		{"ResultPath creates intermediate objects and keeps siblings",
			task("A", `"ResultSelector":{"v.$":"$.Payload"},"ResultPath":"$.a.b.c","End":true`), returns(`2`),
			`{"a":{"keep":true}}`, `{"a":{"keep":true,"b":{"c":{"v":2}}}}`},
		{"ResultPath overwrites an existing field",
			task("A", `"ResultSelector":{"v.$":"$.Payload"},"ResultPath":"$.a","End":true`), returns(`"new"`),
			`{"a":"old","b":1}`, `{"a":{"v":"new"},"b":1}`},
		{"OutputPath selects from the combined output",
			task("A", `"ResultSelector":{"v.$":"$.Payload"},"ResultPath":"$.r","OutputPath":"$.r.v","End":true`), returns(`{"deep":true}`),
			`{}`, `{"deep":true}`},
		{"InputPath null gives an empty input",
			task("A", `"InputPath":null,"ResultSelector":{"sent.$":"$.Payload"},"End":true`), echo, `{"secret":1}`, `{"sent":{}}`},
		{"OutputPath null gives an empty output",
			task("A", `"OutputPath":null,"End":true`), echo, `{"a":1}`, `{}`},
		{"non-JSON function output is a string Payload",
			task("A", `"ResultSelector":{"p.$":"$.Payload"},"End":true`), returns(`not json`), `{}`, `{"p":"not json"}`},
		{"nil function output is null",
			task("A", `"ResultSelector":{"p.$":"$.Payload"},"End":true`), returns(``), `{}`, `{"p":null}`},
		{"Pass Result with ResultPath",
			`"A":{"Type":"Pass","Result":{"r":1},"ResultPath":"$.res","End":true}`, nil, `{"in":1}`, `{"in":1,"res":{"r":1}}`},
		{"Pass Parameters",
			`"A":{"Type":"Pass","Parameters":{"x.$":"$.a","lit.$":"States.Array(1, 'two', true, null)"},"End":true}`, nil,
			`{"a":[1]}`, `{"x":[1],"lit":[1,"two",true,null]}`},
		{"Pass passes its input through",
			`"A":{"Type":"Pass","InputPath":"$.a","ResultPath":"$.copy","End":true}`, nil, `{"a":{"b":1}}`, `{"a":{"b":1},"copy":{"b":1}}`},
		{"Succeed with InputPath and OutputPath",
			`"A":{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.b"}`, nil, `{"a":{"b":[1,2]}}`, `[1,2]`},
		{"direct Lambda ARN: the effective input is the event, the output the result",
			`"A":{"Type":"Task","Resource":"` + testFn + `","Parameters":{"x.$":"$.a"},"ResultPath":"$.r","End":true}`, echo,
			`{"a":5}`, `{"a":5,"r":{"x":5}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(tt.states))
			fn := tt.fn
			if fn == nil {
				fn = echo
			}
			res := m.Run(t.Context(), "run-1", json.RawMessage(tt.input), opts(newClock(), fn))
			assertStatus(t, res, StatusSucceeded, "")
			assertJSON(t, res.Output, tt.want)
		})
	}
}

func TestLambdaInvokeResultShape(t *testing.T) {
	m := mustLoad(t, machine(task("A", `"End":true`)))
	res := m.Run(t.Context(), "r", json.RawMessage(`{"q":1}`), opts(newClock(), returns(`{"ok":true}`)))
	assertStatus(t, res, StatusSucceeded, "")
	var got map[string]any
	if err := json.Unmarshal(res.Output, &got); err != nil {
		t.Fatal(err)
	}
	reqID, _ := got["SdkResponseMetadata"].(map[string]any)["RequestId"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(reqID) {
		t.Errorf("RequestId %q is not a UUID", reqID)
	}
	got["SdkResponseMetadata"] = map[string]any{"RequestId": "x"}
	b, _ := json.Marshal(got)
	assertJSON(t, b, `{"ExecutedVersion":"$LATEST","Payload":{"ok":true},"SdkHttpMetadata":{"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"x"},"StatusCode":200}`)
}

func TestContextObject(t *testing.T) {
	m := mustLoad(t, machine(`"A":{"Type":"Pass","Next":"B"},`+task("B", `"Parameters":{"FunctionName":"`+testFn+`","Payload":{"ctx.$":"$$","name.$":"$$.Execution.Name","input.$":"$$.Execution.Input.x"}},"ResultSelector":{"p.$":"$.Payload"},"End":true`)))
	c := newClock()
	o := opts(c, echo)
	o.StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:drill"
	res := m.Run(t.Context(), "exec-1", json.RawMessage(`{"x":[1]}`), o)
	assertStatus(t, res, StatusSucceeded, "")
	assertJSON(t, res.Output, `{"p":{
		"name":"exec-1","input":[1],
		"ctx":{
			"Execution":{"Id":"arn:aws:states:eu-west-1:123456789012:execution:drill:exec-1","Name":"exec-1","Input":{"x":[1]},
				"StartTime":"2026-03-01T10:00:00.123Z","RoleArn":"arn:aws:iam::123456789012:role/drill-role","RedriveCount":0},
			"State":{"Name":"B","EnteredTime":"2026-03-01T10:00:00.123Z","RetryCount":0},
			"StateMachine":{"Id":"arn:aws:states:eu-west-1:123456789012:stateMachine:drill","Name":"drill"}}}}`)

	t.Run("defaults", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","sm.$":"$$.StateMachine.Id"},"End":true}`))
		res := m.Run(t.Context(), "n", nil, opts(newClock(), echo))
		assertJSON(t, res.Output, `{"id":"arn:aws:states:local:000000000000:execution:local:n","sm":"arn:aws:states:local:000000000000:stateMachine:local"}`)
	})
}

func TestIntrinsics(t *testing.T) {
	input := `{"name":"Arnav","tmpl":"Hi {}!","n":3,"f":1.6,"obj":{"a":1,"b":{"c":2}},"over":{"b":{"d":3},"e":4},"arr":[1,2,3],"s":"{\"k\":[1,2]}","t":true}`
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"Format literal", `States.Format('Hello, {} ({} items, {})', $.name, $.n, $.t)`, `"Hello, Arnav (3 items, true)"`},
		{"Format escapes", `States.Format('\{{}\} it\'s \\ ok', $.n)`, `"{3} it's \\ ok"`},
		{"Format template from a path", `States.Format($.tmpl, $.name)`, `"Hi Arnav!"`},
		{"Format context object", `States.Format('{}/{}', $$.Execution.Name, $$.State.Name)`, `"run-1/A"`},
		{"StringToJson", `States.StringToJson($.s)`, `{"k":[1,2]}`},
		{"JsonToString", `States.JsonToString($.obj)`, `"{\"a\":1,\"b\":{\"c\":2}}"`},
		{"JsonMerge is shallow", `States.JsonMerge($.obj, $.over, false)`, `{"a":1,"b":{"d":3},"e":4}`},
		{"Array", `States.Array($.n, 'x', States.Array())`, `[3,"x",[]]`},
		{"ArrayLength", `States.ArrayLength($.arr)`, `3`},
		{"MathAdd", `States.MathAdd($.n, -5)`, `-2`},
		{"MathAdd rounds", `States.MathAdd($.f, 1)`, `3`},
		{"nested", `States.JsonToString(States.StringToJson(States.Format('[{}]', States.ArrayLength($.arr))))`, `"[3]"`},
		{"string literal with a comma and parenthesis", `States.Format('a, b) {}', $['name'])`, `"a, b) Arnav"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.expr)
			m := mustLoad(t, machine(`"A":{"Type":"Pass","Parameters":{"v.$":`+string(b)+`},"OutputPath":"$.v","End":true}`))
			res := m.Run(t.Context(), "run-1", json.RawMessage(input), opts(newClock(), echo))
			assertStatus(t, res, StatusSucceeded, "")
			assertJSON(t, res.Output, tt.want)
		})
	}

	t.Run("UUID", func(t *testing.T) {
		m := mustLoad(t, machine(`"A":{"Type":"Pass","Parameters":{"v.$":"States.UUID()"},"OutputPath":"$.v","End":true}`))
		res := m.Run(t.Context(), "run-1", nil, opts(newClock(), echo))
		var s string
		if err := json.Unmarshal(res.Output, &s); err != nil || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s) {
			t.Errorf("UUID() = %s", res.Output)
		}
	})
}

// Path and intrinsic failures are States.Runtime: the execution fails even though a Catch
// on States.ALL is present. A ResultPath that cannot be applied is
// States.ResultPathMatchFailure, which States.ALL does catch.
func TestProcessingFailures(t *testing.T) {
	catchAll := `"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Caught"}],`
	caught := `,"Caught":{"Type":"Pass","End":true}`
	tests := []struct {
		name      string
		states    string
		input     string
		wantError string
		wantCause string
	}{
		{"Parameters path not found",
			task("A", catchAll+`"Parameters":{"FunctionName":"`+testFn+`","Payload":{"x.$":"$.missing"}},"End":true`) + caught,
			`{"a":1}`, "States.Runtime", `The JsonPath argument for the field 'x.$' could not be found in the input '{"a":1}'`},
		{"InputPath not found", task("A", catchAll+`"InputPath":"$.nope","End":true`) + caught, `{}`, "States.Runtime", "Invalid path '$.nope'"},
		{"OutputPath not found", task("A", catchAll+`"OutputPath":"$.nope","End":true`) + caught, `{}`, "States.Runtime", "Invalid path '$.nope'"},
		{"ResultSelector path not found", task("A", catchAll+`"ResultSelector":{"x.$":"$.Nope"},"End":true`) + caught, `{}`, "States.Runtime", "ResultSelector"},
		{"intrinsic failure", task("A", catchAll+`"Parameters":{"FunctionName":"`+testFn+`","Payload":{"x.$":"States.StringToJson($.s)"}},"End":true`) + caught,
			`{"s":"{oops"}`, "States.Runtime", "is not valid JSON"},
		{"Format of an object", `"A":{"Type":"Pass","Parameters":{"x.$":"States.Format('{}', $)"},"End":true}`, `{}`, "States.Runtime", "only strings, numbers"},
		{"JsonMerge of a non-object", `"A":{"Type":"Pass","Parameters":{"x.$":"States.JsonMerge($.a, $, false)"},"End":true}`, `{"a":1}`, "States.Runtime", "both arguments must be objects"},
		{"MathAdd out of range", `"A":{"Type":"Pass","Parameters":{"x.$":"States.MathAdd($.a, 1)"},"End":true}`, `{"a":3000000000}`, "States.Runtime", "32-bit"},
		{"Pass ResultPath on a non-object", `"A":{"Type":"Pass","ResultPath":"$.a.b","End":true}`, `{"a":"str"}`, "States.Runtime", "not an object"},
		{"FunctionName.$ without a TaskFunc", `"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName.$":"$.fn","Payload":{}},"End":true}`,
			`{"fn":"nope"}`, "Lambda.ResourceNotFoundException", "Function not found: nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustLoad(t, machine(tt.states))
			res := m.Run(t.Context(), "run-1", json.RawMessage(tt.input), opts(newClock(), echo))
			assertStatus(t, res, StatusFailed, tt.wantError)
			assertErrContains(t, errorString(res.Cause), tt.wantCause)
			if got := eventsOf(res, StateCaught); len(got) != 0 {
				t.Errorf("caught: %v", got)
			}
		})
	}

	t.Run("ResultPath failure is caught by States.ALL", func(t *testing.T) {
		m := mustLoad(t, machine(task("A", catchAll+`"ResultPath":"$.a.b","End":true`)+caught))
		res := m.Run(t.Context(), "run-1", json.RawMessage(`{"a":"str"}`), opts(newClock(), echo))
		assertStatus(t, res, StatusSucceeded, "")
		var out struct{ Err struct{ Error string } }
		_ = json.Unmarshal(res.Output, &out)
		if out.Err.Error != "States.ResultPathMatchFailure" {
			t.Errorf("caught %s, want States.ResultPathMatchFailure", res.Output)
		}
	})
}

type errorString string

func (e errorString) Error() string { return string(e) }
