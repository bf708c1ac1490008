// Package sfn is the sandbox's stand-in for the AWS Step Functions API, so the sweeper
// and the operator's commands ask "is this execution still running?" with the real SDK
// client. The local runner (internal/asl) does the executing; the sandbox tells this
// stand-in about each execution it runs (Started, Ended).
//
// It models:
//   - DescribeExecution over the awsJson1_0 protocol (POST /, X-Amz-Target
//     AWSStepFunctions.DescribeExecution), answering status, start and stop dates (epoch
//     seconds with milliseconds), error and cause;
//   - ExecutionDoesNotExist for an ARN it never saw or has forgotten (Forget: Step
//     Functions keeps a closed execution's history for 90 days);
//   - a reused name: starting an execution whose ARN exists replaces it (the ARN is the
//     state machine's ARN and the name, so the old run is no longer describable);
//   - the execution's input in DescribeExecution, when the sandbox was told it
//     (SetInput);
//   - ListExecutions of a state machine, newest first, with statusFilter, maxResults
//     (default 100) and nextToken, as Step Functions pages them; a state machine the
//     stand-in does not know (neither created, CreateStateMachine, nor named by an
//     execution it was told about) answers StateMachineDoesNotExist, as AWS does, not
//     an empty list;
//   - GetExecutionHistory: the runner's events (Event) as the history events Step
//     Functions writes for a standard workflow (<Type>StateEntered and
//     StateExited with stateEnteredEventDetails / stateExitedEventDetails name,
//     TaskScheduled, TaskStarted, TaskSucceeded, TaskFailed with error and cause,
//     Execution{Started,Succeeded,Failed,Aborted,TimedOut}), ids from 1 with
//     previousEventId, timestamps, oldest first or reverseOrder, maxResults (default
//     100, at most 1000) and nextToken; a failed or interrupted state is never exited,
//     as on AWS; the execution's input in ExecutionStarted unless includeExecutionData
//     is false;
//   - IAM: states:DescribeExecution and states:GetExecutionHistory on the execution's
//     ARN, states:ListExecutions on the state machine's, for the signing principal
//     (Options.Authorize); a denied call answers AccessDeniedException.
//
// It does not model yet: StartExecution, StopExecution, execution output, redrives,
// throttling, signature verification; in the history: states' input and output
// and Tasks' parameters and output (an empty object or left out), direct Lambda ARN
// Tasks' LambdaFunction* events (every Task is written as lambda:invoke's Task*
// events), Map and Parallel events, the 25,000-event limit, and expiring tokens.
package sfn

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

// Execution statuses, as Step Functions names them.
const (
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	TimedOut  = "TIMED_OUT"
	Aborted   = "ABORTED"
)

// Execution is what the stand-in knows about one execution.
type Execution struct {
	Arn, StateMachineArn, Name string
	Status                     string
	Start, Stop                time.Time // Stop is zero while RUNNING
	Error, Cause               string
	Input                      string // "" when not told
	history                    []historyEvent
}

// Options configure a Service.
type Options struct {
	// Authorize reports whether a principal may do an IAM action on a resource; nil
	// allows everything.
	Authorize func(principal, action, resource string) bool
	// Logger receives a debug line per request; nil discards.
	Logger *slog.Logger
}

// Service is Step Functions' API for the executions the sandbox ran. Safe for
// concurrent use.
type Service struct {
	opt      Options
	log      *slog.Logger
	mu       sync.Mutex
	execs    map[string]Execution
	machines map[string]bool // state machine ARNs that exist
}

// New is a Service that knows no execution.
func New(opt Options) *Service {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{opt: opt, log: log, execs: map[string]Execution{}, machines: map[string]bool{}}
}

// CreateStateMachine makes a state machine exist, with no executions yet.
func (s *Service) CreateStateMachine(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.machines[arn] = true
}

// Started records a running execution; one with the same ARN is replaced.
func (s *Service) Started(arn, stateMachineArn, name string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.execs[arn] = Execution{Arn: arn, StateMachineArn: stateMachineArn, Name: name, Status: Running, Start: start}
	s.machines[stateMachineArn] = true
}

// Ended records how an execution ended. An unknown ARN is ignored.
func (s *Service) Ended(arn, status string, stop time.Time, errName, cause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[arn]
	if !ok {
		return
	}
	e.Status, e.Stop, e.Error, e.Cause = status, stop, errName, cause
	s.execs[arn] = e
}

// SetInput records an execution's input. An unknown ARN is ignored.
func (s *Service) SetInput(arn, input string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.execs[arn]; ok {
		e.Input = input
		s.execs[arn] = e
	}
}

// Forget drops an execution, as Step Functions does 90 days after it closed.
func (s *Service) Forget(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.execs, arn)
}

// Execution is what the stand-in knows about arn.
func (s *Service) Execution(arn string) (Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[arn]
	return e, ok
}

// ServeHTTP is the API endpoint.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	s.log.Debug("sfn", "target", target)
	op, ok := strings.CutPrefix(target, "AWSStepFunctions.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "the sandbox answers POST with an X-Amz-Target of AWSStepFunctions.<operation>")
		return
	}
	var body struct {
		historyRequest
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	switch op {
	case "DescribeExecution":
		s.describe(w, r, body.ExecutionArn)
	case "ListExecutions":
		s.list(w, r, body.StateMachineArn, body.StatusFilter, body.MaxResults, body.NextToken)
	case "GetExecutionHistory":
		s.history(w, r, body.historyRequest)
	default:
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "the sandbox does not implement "+op)
	}
}

func (s *Service) describe(w http.ResponseWriter, r *http.Request, arn string) {
	if !s.allowed(w, r, "states:DescribeExecution", arn) {
		return
	}
	e, ok := s.Execution(arn)
	if !ok {
		writeError(w, http.StatusBadRequest, "ExecutionDoesNotExist", fmt.Sprintf("Execution Does Not Exist: '%s'", arn))
		return
	}
	out := map[string]any{
		"executionArn": e.Arn, "stateMachineArn": e.StateMachineArn, "name": e.Name,
		"status": e.Status, "startDate": epoch(e.Start),
	}
	if !e.Stop.IsZero() {
		out["stopDate"] = epoch(e.Stop)
	}
	if e.Error != "" {
		out["error"] = e.Error
	}
	if e.Cause != "" {
		out["cause"] = e.Cause
	}
	if e.Input != "" {
		out["input"] = e.Input
		out["inputDetails"] = map[string]bool{"included": true}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// list answers ListExecutions: the state machine's executions, newest first.
func (s *Service) list(w http.ResponseWriter, r *http.Request, smArn, status string, maxResults int, token string) {
	if !strings.Contains(smArn, ":stateMachine:") {
		writeError(w, http.StatusBadRequest, "InvalidArn", fmt.Sprintf("Invalid Arn: '%s'", smArn))
		return
	}
	principal := iam.Principal(r)
	const action = "states:ListExecutions"
	if s.opt.Authorize != nil && !s.opt.Authorize(principal, action, smArn) {
		writeError(w, http.StatusBadRequest, "AccessDeniedException", iam.DeniedMessage(principal, action, smArn))
		return
	}
	if maxResults <= 0 || maxResults > 1000 {
		maxResults = 100
	}
	var execs []Execution
	s.mu.Lock()
	if !s.machines[smArn] {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "StateMachineDoesNotExist", fmt.Sprintf("State Machine Does Not Exist: '%s'", smArn))
		return
	}
	for _, e := range s.execs {
		if e.StateMachineArn == smArn && (status == "" || e.Status == status) {
			execs = append(execs, e)
		}
	}
	s.mu.Unlock()
	sort.Slice(execs, func(i, j int) bool {
		if !execs[i].Start.Equal(execs[j].Start) {
			return execs[i].Start.After(execs[j].Start)
		}
		return execs[i].Arn < execs[j].Arn
	})
	from := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(execs) {
			writeError(w, http.StatusBadRequest, "InvalidToken", "Invalid Token: '"+token+"'")
			return
		}
		from = n
	}
	to := min(from+maxResults, len(execs))
	items := []map[string]any{}
	for _, e := range execs[from:to] {
		item := map[string]any{"executionArn": e.Arn, "stateMachineArn": e.StateMachineArn, "name": e.Name, "status": e.Status, "startDate": epoch(e.Start)}
		if !e.Stop.IsZero() {
			item["stopDate"] = epoch(e.Stop)
		}
		items = append(items, item)
	}
	out := map[string]any{"executions": items}
	if to < len(execs) {
		out["nextToken"] = strconv.Itoa(to)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// epoch is a timestamp as awsJson1_0 sends one: epoch seconds, milliseconds as the
// fraction.
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, int64(math.Abs(float64(ms%1000)))))
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + typ, "message": msg})
}

// allowed answers an execution ARN that is not one (InvalidArn) or a caller whose policy
// does not grant action on it (AccessDeniedException), as Step Functions does, and says
// whether the call may go on.
func (s *Service) allowed(w http.ResponseWriter, r *http.Request, action, arn string) bool {
	if !strings.Contains(arn, ":execution:") {
		writeError(w, http.StatusBadRequest, "InvalidArn", fmt.Sprintf("Invalid Arn: '%s'", arn))
		return false
	}
	principal := iam.Principal(r)
	if s.opt.Authorize != nil && !s.opt.Authorize(principal, action, arn) {
		writeError(w, http.StatusBadRequest, "AccessDeniedException", iam.DeniedMessage(principal, action, arn))
		return false
	}
	return true
}
