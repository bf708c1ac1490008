package cloudwatch

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The protocols a request may speak. CloudWatch's model lists all three
// (smithy-rpc-v2-cbor, json, query); each client picks the first it supports.
const (
	protoUnknown = iota
	protoCBOR    // aws-sdk-go-v2
	protoJSON    // botocore: the AWS CLI v1 and boto3
	protoQuery   // older SDKs
)

// targetPrefix is the awsJson1_0 X-Amz-Target's service part, and
// queryNamespace the awsQuery XML namespace (CloudWatch's model: targetPrefix,
// xmlNamespace).
const (
	targetPrefix   = "GraniteServiceVersion20100801."
	queryNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
)

// protocolOf tells the protocol from the request's shape, whatever the operation.
func protocolOf(r *http.Request) int {
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/"):
		return protoCBOR
	case r.Header.Get("X-Amz-Target") != "" || strings.HasPrefix(ct, "application/x-amz-json"):
		return protoJSON
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return protoQuery
	}
	return protoUnknown
}

// request is DescribeAlarms' input as the stand-in reads it.
type request struct{ names, types []string }

// requestError is a client error to answer with its code.
type requestError struct{ code, msg string }

// decodeRequest reads DescribeAlarms' AlarmNames and AlarmTypes in proto, or the
// error to answer: another operation, or a body that does not decode.
func decodeRequest(r *http.Request, proto int) (request, *requestError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return request{}, &requestError{"SerializationException", "reading the body: " + err.Error()}
	}
	notImplemented := func(op string) *requestError {
		return &requestError{"InvalidAction", "the sandbox implements only DescribeAlarms, not " + op}
	}
	switch proto {
	case protoCBOR:
		if r.URL.Path != OperationPath {
			return request{}, notImplemented(r.URL.Path)
		}
		if len(body) == 0 {
			return request{}, nil
		}
		v, err := cbor.Decode(body)
		if err != nil {
			return request{}, &requestError{"SerializationException", "malformed CBOR: " + err.Error()}
		}
		m, _ := v.(cbor.Map)
		return request{names: stringList(m["AlarmNames"]), types: stringList(m["AlarmTypes"])}, nil
	case protoJSON:
		if op := r.Header.Get("X-Amz-Target"); op != targetPrefix+"DescribeAlarms" {
			return request{}, notImplemented(op)
		}
		var in struct{ AlarmNames, AlarmTypes []string }
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return request{}, &requestError{"SerializationException", "malformed JSON: " + err.Error()}
			}
		}
		return request{names: in.AlarmNames, types: in.AlarmTypes}, nil
	default: // protoQuery
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return request{}, &requestError{"MalformedQueryString", err.Error()}
		}
		if op := form.Get("Action"); op != "DescribeAlarms" {
			return request{}, notImplemented(op)
		}
		return request{names: queryList(form, "AlarmNames"), types: queryList(form, "AlarmTypes")}, nil
	}
}

// queryList is an awsQuery list parameter (name.member.1, name.member.2, ...).
func queryList(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(name + ".member." + strconv.Itoa(i)); i++ {
		out = append(out, form.Get(name+".member."+strconv.Itoa(i)))
	}
	return out
}

// writeAlarms answers DescribeAlarms in proto.
func writeAlarms(w http.ResponseWriter, proto int, metrics, composites []describedAlarm) {
	var ct string
	var body []byte
	switch proto {
	case protoCBOR:
		ct, body = "application/cbor", cbor.Encode(cbor.Map{"MetricAlarms": cborAlarms(metrics), "CompositeAlarms": cborAlarms(composites)})
	case protoJSON:
		ct = "application/x-amz-json-1.0"
		body, _ = json.Marshal(map[string]any{"MetricAlarms": jsonAlarms(metrics), "CompositeAlarms": jsonAlarms(composites)})
	default:
		ct = "text/xml"
		body, _ = xml.Marshal(queryResponse{Xmlns: queryNamespace, Metrics: queryAlarms(metrics), Composites: queryAlarms(composites),
			RequestID: w.Header().Get("x-amzn-RequestId")})
		body = append([]byte(xml.Header), body...)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func cborAlarms(as []describedAlarm) cbor.List {
	out := cbor.List{}
	for _, a := range as {
		m := cbor.Map{
			"AlarmName":             cbor.String(a.name),
			"AlarmArn":              cbor.String(a.arn),
			"StateValue":            cbor.String(a.state),
			"StateReason":           cbor.String(a.reason),
			"StateUpdatedTimestamp": &cbor.Tag{ID: 1, Value: cbor.Float64(epochSeconds(a.updated))},
			"ActionsEnabled":        cbor.Bool(true),
		}
		if a.rule != "" {
			m["AlarmRule"] = cbor.String(a.rule)
		}
		out = append(out, m)
	}
	return out
}

func jsonAlarms(as []describedAlarm) []map[string]any {
	out := []map[string]any{}
	for _, a := range as {
		m := map[string]any{
			"AlarmName": a.name, "AlarmArn": a.arn, "StateValue": a.state, "StateReason": a.reason,
			"StateUpdatedTimestamp": epochSeconds(a.updated), // awsJson: epoch seconds
			"ActionsEnabled":        true,
		}
		if a.rule != "" {
			m["AlarmRule"] = a.rule
		}
		out = append(out, m)
	}
	return out
}

// queryResponse is DescribeAlarms' awsQuery answer.
type queryResponse struct {
	XMLName    xml.Name     `xml:"DescribeAlarmsResponse"`
	Xmlns      string       `xml:"xmlns,attr"`
	Metrics    []queryAlarm `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	Composites []queryAlarm `xml:"DescribeAlarmsResult>CompositeAlarms>member"`
	RequestID  string       `xml:"ResponseMetadata>RequestId"`
}

type queryAlarm struct {
	AlarmName             string `xml:"AlarmName"`
	AlarmArn              string `xml:"AlarmArn"`
	StateValue            string `xml:"StateValue"`
	StateReason           string `xml:"StateReason"`
	StateUpdatedTimestamp string `xml:"StateUpdatedTimestamp"` // awsQuery: ISO 8601
	ActionsEnabled        bool   `xml:"ActionsEnabled"`
	AlarmRule             string `xml:"AlarmRule,omitempty"`
}

func queryAlarms(as []describedAlarm) []queryAlarm {
	var out []queryAlarm
	for _, a := range as {
		out = append(out, queryAlarm{AlarmName: a.name, AlarmArn: a.arn, StateValue: a.state, StateReason: a.reason,
			StateUpdatedTimestamp: a.updated.UTC().Format("2006-01-02T15:04:05.000Z"), ActionsEnabled: true, AlarmRule: a.rule})
	}
	return out
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// queryError is awsQuery's error document.
type queryError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

// writeError answers an error in proto's error shape (CBOR when the protocol is
// unknown). CloudWatch is awsQuery-compatible, so under CBOR and JSON the query
// error code also travels in X-Amzn-Query-Error, which clients read first.
func writeError(w http.ResponseWriter, proto int, status int, code, msg string) {
	var ct string
	var body []byte
	switch proto {
	case protoJSON:
		ct = "application/x-amz-json-1.0"
		body, _ = json.Marshal(map[string]string{"__type": "com.amazonaws.cloudwatch#" + code, "message": msg})
		w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	case protoQuery:
		ct = "text/xml"
		body, _ = xml.Marshal(queryError{Xmlns: queryNamespace, Type: "Sender", Code: code, Message: msg, RequestID: w.Header().Get("x-amzn-RequestId")})
		body = append([]byte(xml.Header), body...)
	default:
		ct = "application/cbor"
		body = cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + code), "message": cbor.String(msg)})
		w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// stringList is a CBOR list of strings as a slice; anything else is nil.
func stringList(v cbor.Value) []string {
	l, ok := v.(cbor.List)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range l {
		if str, ok := e.(cbor.String); ok {
			out = append(out, string(str))
		}
	}
	return out
}
