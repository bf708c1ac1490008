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
