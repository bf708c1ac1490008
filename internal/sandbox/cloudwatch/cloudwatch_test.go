package cloudwatch

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The stand-in alone, over raw HTTP and CBOR: what it answers, and a state change
// scheduled for a moment.
func TestDescribeAlarmsOverCBOR(t *testing.T) {
	s := New("us-east-1", "123456789012")
	s.Put("a", OK, "fine")
	at := time.Now().Add(time.Hour)
	s.SetStateAt("a", Alarm, "breaching", at)
	srv := httptest.NewServer(s)
	defer srv.Close()
	ask := func(path string, names ...string) (int, cbor.Value) {
		var l cbor.List
		for _, n := range names {
			l = append(l, cbor.String(n))
		}
		res, err := http.Post(srv.URL+path, "application/cbor", bytes.NewReader(cbor.Encode(cbor.Map{"AlarmNames": l})))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		v, err := cbor.Decode(b)
		if err != nil {
			t.Fatalf("answer is not CBOR: %v", err)
		}
		return res.StatusCode, v
	}
	status, v := ask(OperationPath, "a", "missing")
	alarms := v.(cbor.Map)["MetricAlarms"].(cbor.List)
	if status != 200 || len(alarms) != 1 || alarms[0].(cbor.Map)["StateValue"] != cbor.String(OK) {
		t.Fatalf("%d %v", status, v)
	}
	if st, _, _, _ := s.State("a", at.Add(time.Second)); st != Alarm {
		t.Errorf("state after the scheduled moment %s, want ALARM", st)
	}
	if status, v := ask("/service/X/operation/PutMetricAlarm"); status != 400 || v.(cbor.Map)["__type"] == nil {
		t.Errorf("another operation: %d %v", status, v)
	}
}

// AWS's rules, over raw CBOR: without AlarmTypes only metric alarms are returned; a
// composite alarm is returned only to a caller allowed DescribeAlarms on *, and one
// with a narrower grant (the alarm's own ARN) is denied.
func TestCompositeAlarmsNeedDescribeAlarmsOnStar(t *testing.T) {
	s := New("us-east-1", "123456789012")
	s.Put("metric", OK, "fine")
	s.PutComposite("composite", "ALARM(metric)", Alarm, "rule breaching")
	grants := map[string]string{"narrow": s.ARN("metric") + " " + s.ARN("composite"), "star": "*"}
	s.Authorize = func(principal, action, resource string) bool {
		if action != "cloudwatch:DescribeAlarms" {
			return false
		}
		for _, g := range bytes.Fields([]byte(grants[principal])) {
			if string(g) == "*" || string(g) == resource {
				return true
			}
		}
		return false
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ask := func(principal string, types ...string) (int, cbor.Map) {
		req := cbor.Map{"AlarmNames": cbor.List{cbor.String("metric"), cbor.String("composite")}}
		if len(types) > 0 {
			var l cbor.List
			for _, ty := range types {
				l = append(l, cbor.String(ty))
			}
			req["AlarmTypes"] = l
		}
		hr, _ := http.NewRequest(http.MethodPost, srv.URL+OperationPath, bytes.NewReader(cbor.Encode(req)))
		hr.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+principal+"/20250101/us-east-1/monitoring/aws4_request")
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		v, _ := cbor.Decode(b)
		m, _ := v.(cbor.Map)
		return res.StatusCode, m
	}
	count := func(m cbor.Map, key string) int { l, _ := m[key].(cbor.List); return len(l) }

	if status, m := ask("narrow"); status != 200 || count(m, "MetricAlarms") != 1 || count(m, "CompositeAlarms") != 0 {
		t.Errorf("no AlarmTypes: %d %v, want the metric alarm only", status, m)
	}
	if status, m := ask("narrow", MetricAlarm, CompositeAlarm); status != 400 || m["__type"] != cbor.String("com.amazonaws.cloudwatch#AccessDenied") {
		t.Errorf("composite under a narrow grant: %d %v, want AccessDenied", status, m)
	}
	status, m := ask("star", MetricAlarm, CompositeAlarm)
	if status != 200 || count(m, "MetricAlarms") != 1 || count(m, "CompositeAlarms") != 1 {
		t.Fatalf("composite under *: %d %v", status, m)
	}
	if c := m["CompositeAlarms"].(cbor.List)[0].(cbor.Map); c["StateValue"] != cbor.String(Alarm) || c["AlarmRule"] != cbor.String("ALARM(metric)") {
		t.Errorf("composite alarm %v", c)
	}
}
