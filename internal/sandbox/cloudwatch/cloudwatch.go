// Package cloudwatch is the sandbox's stand-in for Amazon CloudWatch's alarms, as the
// pinned aws-sdk-go-v2 client speaks to it: Smithy RPC v2 CBOR
// (POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms,
// Smithy-Protocol: rpc-v2-cbor), no longer the awsQuery protocol.
//
// It models:
//   - metric and composite alarms by name with a state (OK, ALARM,
//     INSUFFICIENT_DATA), its reason and the moment it was last updated;
//   - a scheduled change (SetStateAt), so an alarm can go to ALARM at a given moment
//     of a drill;
//   - DescribeAlarms with AlarmNames and AlarmTypes: only existing alarms of the types
//     asked for are returned, and without AlarmTypes only metric alarms, as CloudWatch
//     does; errors in the protocol's CBOR error shape with the awsQuery-compatible
//     X-Amzn-Query-Error header;
//   - IAM: with Authorize (the sandbox's iam), a caller whose policy does not allow
//     cloudwatch:DescribeAlarms on a metric alarm's ARN is denied (AccessDenied); and
//     AWS's rule for composite alarms (DescribeAlarms, API reference): only a caller
//     whose cloudwatch:DescribeAlarms permission is scoped to * may read them, so a
//     composite alarm asked for under a narrower grant is denied (AccessDenied, as
//     users of narrow grants report it), never silently returned.
//
// It does not model yet: metrics and alarm evaluation (the state is set, not
// computed; a composite alarm's rule is not evaluated from its children), alarm
// history, pagination (every alarm asked for is answered in one page), DescribeAlarms
// filters other than AlarmNames and AlarmTypes, and any other operation.
package cloudwatch

import (
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

// Alarm states.
const (
	OK               = "OK"
	Alarm            = "ALARM"
	InsufficientData = "INSUFFICIENT_DATA"
)

// OperationPath is DescribeAlarms' path under the RPC v2 protocol.
const OperationPath = "/service/GraniteServiceVersion20100801/operation/DescribeAlarms"

type change struct {
	at            time.Time
	state, reason string
}

// Service holds one region's alarms. Safe for concurrent use.
type Service struct {
	region, account string
	// Authorize, when set, reports whether a principal (the SigV4 access key id) may
	// do an IAM action on a resource (the sandbox's IAM).
	Authorize func(principal, action, resource string) bool

	mu        sync.Mutex
	alarms    map[string][]change // name -> state history, oldest first
	composite map[string]string   // name -> alarm rule, for composite alarms
}

// Alarm types, as DescribeAlarms' AlarmTypes names them.
const (
	MetricAlarm    = "MetricAlarm"
	CompositeAlarm = "CompositeAlarm"
)

// New is a CloudWatch with no alarms.
func New(region, account string) *Service {
	return &Service{region: region, account: account, alarms: map[string][]change{}, composite: map[string]string{}}
}

// PutComposite creates (or resets) a composite alarm with rule in state with reason,
// now.
func (s *Service) PutComposite(name, rule, state, reason string) {
	s.Put(name, state, reason)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.composite[name] = rule
}

// isComposite reports whether name is a composite alarm, and its rule.
func (s *Service) isComposite(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rule, ok := s.composite[name]
	return rule, ok
}

// ARN is the alarm's ARN.
func (s *Service) ARN(name string) string {
	return "arn:aws:cloudwatch:" + s.region + ":" + s.account + ":alarm:" + name
}

// Put creates (or resets) a metric alarm in state with reason, now.
func (s *Service) Put(name, state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alarms[name] = []change{{at: time.Now(), state: state, reason: reason}}
	delete(s.composite, name)
}

// SetStateAt changes an existing alarm's state at moment at (now or later).
func (s *Service) SetStateAt(name, state, reason string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := append(s.alarms[name], change{at: at, state: state, reason: reason})
	sort.SliceStable(h, func(i, j int) bool { return h[i].at.Before(h[j].at) })
	s.alarms[name] = h
}

// State is the alarm's state at t; ok false if there is no such alarm.
func (s *Service) State(name string, t time.Time) (state, reason string, updated time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.alarms[name]
	if !ok {
		return "", "", time.Time{}, false
	}
	cur := h[0]
	for _, c := range h[1:] {
		if !c.at.After(t) {
			cur = c
		}
	}
	return cur.state, cur.reason, cur.at, true
}

// ServeHTTP answers DescribeAlarms.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", "sandbox-"+time.Now().Format("150405.000000"))
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	if r.Method != http.MethodPost || r.URL.Path != OperationPath {
		writeError(w, http.StatusBadRequest, "InvalidAction", "the sandbox implements only DescribeAlarms")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var names, types []string
	if err == nil && len(body) > 0 {
		var v cbor.Value
		if v, err = cbor.Decode(body); err == nil {
			if m, ok := v.(cbor.Map); ok {
				names, types = stringList(m["AlarmNames"]), stringList(m["AlarmTypes"])
			}
		}
	}
	if len(types) == 0 { // CloudWatch: without AlarmTypes, only metric alarms
		types = []string{MetricAlarm}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "malformed CBOR: "+err.Error())
		return
	}
	if len(names) == 0 { // every alarm, as CloudWatch answers without a filter
		s.mu.Lock()
		for n := range s.alarms {
			names = append(names, n)
		}
		s.mu.Unlock()
		slices.Sort(names)
	}
	now := time.Now()
	const action = "cloudwatch:DescribeAlarms"
	p := iam.Principal(r)
	metrics, composites := cbor.List{}, cbor.List{}
	for _, n := range names {
		rule, composite := s.isComposite(n)
		if composite && slices.Contains(types, CompositeAlarm) {
			// AWS: composite alarms only for a DescribeAlarms permission scoped to *.
			if s.Authorize != nil && !s.Authorize(p, action, "*") {
				writeError(w, http.StatusBadRequest, "AccessDenied", iam.DeniedMessage(p, action, s.ARN(n))+
					" (composite alarms are returned only when cloudwatch:DescribeAlarms is allowed on *)")
				return
			}
		} else if s.Authorize != nil && !s.Authorize(p, action, s.ARN(n)) {
			writeError(w, http.StatusBadRequest, "AccessDenied", iam.DeniedMessage(p, action, s.ARN(n)))
			return
		}
		state, reason, updated, ok := s.State(n, now)
		if !ok || composite && !slices.Contains(types, CompositeAlarm) || !composite && !slices.Contains(types, MetricAlarm) {
			continue
		}
		a := cbor.Map{
			"AlarmName":             cbor.String(n),
			"AlarmArn":              cbor.String(s.ARN(n)),
			"StateValue":            cbor.String(state),
			"StateReason":           cbor.String(reason),
			"StateUpdatedTimestamp": &cbor.Tag{ID: 1, Value: cbor.Float64(float64(updated.UnixMilli()) / 1000)},
			"ActionsEnabled":        cbor.Bool(true),
		}
		if composite {
			a["AlarmRule"] = cbor.String(rule)
			composites = append(composites, a)
		} else {
			metrics = append(metrics, a)
		}
	}
	out := cbor.Encode(cbor.Map{"MetricAlarms": metrics, "CompositeAlarms": composites})
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// writeError answers the RPC v2 CBOR error shape; CloudWatch is awsQuery-compatible, so
// the query error code also travels in X-Amzn-Query-Error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + code), "message": cbor.String(msg)}))
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
