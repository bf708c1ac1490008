// Package cloudwatch is the sandbox's stand-in for Amazon CloudWatch's alarms, in the
// three protocols CloudWatch speaks: Smithy RPC v2 CBOR, as the pinned aws-sdk-go-v2
// client sends it (POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms,
// Smithy-Protocol: rpc-v2-cbor); awsJson1_0, as the AWS CLI (botocore) sends it
// (POST /, X-Amz-Target: GraniteServiceVersion20100801.DescribeAlarms,
// application/x-amz-json-1.0); and awsQuery, as older SDKs send it (a form with
// Action=DescribeAlarms, answered in XML). Each request is answered, errors included,
// in the protocol it came in.
//
// It models:
//   - metric and composite alarms by name with a state (OK, ALARM,
//     INSUFFICIENT_DATA), its reason and the moment it was last updated;
//   - a scheduled change (SetStateAt), so an alarm can go to ALARM at a given moment
//     of a drill;
//   - DescribeAlarms with AlarmNames and AlarmTypes: only existing alarms of the types
//     asked for are returned, and without AlarmTypes only metric alarms, as CloudWatch
//     does; errors in each protocol's error shape (CBOR and JSON with the
//     awsQuery-compatible X-Amzn-Query-Error header, an ErrorResponse document in
//     awsQuery);
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
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

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

// ServeHTTP answers DescribeAlarms in whichever protocol the request speaks.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", "sandbox-"+time.Now().Format("150405.000000"))
	proto := protocolOf(r)
	if proto == protoCBOR {
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	}
	if r.Method != http.MethodPost || proto == protoUnknown {
		writeError(w, proto, http.StatusBadRequest, "InvalidAction", "the sandbox implements only DescribeAlarms (RPC v2 CBOR, awsJson1_0 or awsQuery)")
		return
	}
	in, err := decodeRequest(r, proto)
	if err != nil {
		writeError(w, proto, http.StatusBadRequest, err.code, err.msg)
		return
	}
	metrics, composites, denied := s.describe(iam.Principal(r), in.names, in.types)
	if denied != "" {
		writeError(w, proto, http.StatusBadRequest, "AccessDenied", denied)
		return
	}
	writeAlarms(w, proto, metrics, composites)
}

// describedAlarm is one alarm DescribeAlarms answers, whatever the protocol.
type describedAlarm struct {
	name, arn, state, reason, rule string
	updated                        time.Time
}

// describe is DescribeAlarms' answer for principal p: the metric and composite alarms
// among names (every alarm when none) of the types asked for (metric alarms only when
// none), or the message of the AccessDenied it answers instead.
func (s *Service) describe(p string, names, types []string) (metrics, composites []describedAlarm, denied string) {
	if len(types) == 0 { // CloudWatch: without AlarmTypes, only metric alarms
		types = []string{MetricAlarm}
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
	for _, n := range names {
		rule, composite := s.isComposite(n)
		if composite && slices.Contains(types, CompositeAlarm) {
			// AWS: composite alarms only for a DescribeAlarms permission scoped to *.
			if s.Authorize != nil && !s.Authorize(p, action, "*") {
				return nil, nil, iam.DeniedMessage(p, action, s.ARN(n)) +
					" (composite alarms are returned only when cloudwatch:DescribeAlarms is allowed on *)"
			}
		} else if s.Authorize != nil && !s.Authorize(p, action, s.ARN(n)) {
			return nil, nil, iam.DeniedMessage(p, action, s.ARN(n))
		}
		state, reason, updated, ok := s.State(n, now)
		if !ok || composite && !slices.Contains(types, CompositeAlarm) || !composite && !slices.Contains(types, MetricAlarm) {
			continue
		}
		a := describedAlarm{name: n, arn: s.ARN(n), state: state, reason: reason, updated: updated, rule: rule}
		if composite {
			composites = append(composites, a)
		} else {
			metrics = append(metrics, a)
		}
	}
	return metrics, composites, ""
}
