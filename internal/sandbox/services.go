package sandbox

import (
	"time"

	"github.com/unishop/failover-drill/internal/asl"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox/sfn"
)

// Execution is what the Step Functions stand-in knows about one execution.
type Execution = sfn.Execution

// SetPolicies makes the replica enforce IAM: each principal (the access key id its
// clients sign with, a function's name for the drill's functions) may do only what its
// statements allow, on S3 and Step Functions. A principal without statements (the
// operator, tests) may do everything. Replaces any earlier policies.
func (s *Sandbox) SetPolicies(p map[string][]policy.Statement) { s.policies.Set(p) }

// SFNEndpoint is the Step Functions stand-in, "http://127.0.0.1:port".
func (s *Sandbox) SFNEndpoint() string { return s.sfnServer.URL() }

// CreateStateMachine makes a state machine exist in the Step Functions stand-in before
// any execution of it ran (ListExecutions of an unknown one answers
// StateMachineDoesNotExist).
func (s *Sandbox) CreateStateMachine(arn string) { s.sfn.CreateStateMachine(arn) }

// ExecutionStarted tells the Step Functions stand-in about a running execution (one
// with the same ARN, a reused name's, is replaced).
func (s *Sandbox) ExecutionStarted(arn, stateMachineArn, name string, start time.Time) {
	s.sfn.Started(arn, stateMachineArn, name, start)
}

// ExecutionInput records a started execution's input, which DescribeExecution returns.
func (s *Sandbox) ExecutionInput(arn, input string) { s.sfn.SetInput(arn, input) }

// ExecutionEvent records one event of the local runner in the execution's history
// (GetExecutionHistory); stateType is the Type of the event's state.
func (s *Sandbox) ExecutionEvent(arn string, ev asl.Event, stateType string) {
	s.sfn.Event(arn, ev, stateType)
}

// ExecutionEnded records how an execution ended (status SUCCEEDED, FAILED, TIMED_OUT
// or ABORTED).
func (s *Sandbox) ExecutionEnded(arn, status string, stop time.Time, errName, cause string) {
	s.sfn.Ended(arn, status, stop, errName, cause)
}

// ForgetExecution drops an execution's history, as Step Functions does 90 days after
// it closed: DescribeExecution then answers ExecutionDoesNotExist.
func (s *Sandbox) ForgetExecution(arn string) { s.sfn.Forget(arn) }

// DescribedExecution is what the Step Functions stand-in knows about arn.
func (s *Sandbox) DescribedExecution(arn string) (Execution, bool) { return s.sfn.Execution(arn) }

// SetConflicts makes S3 answer 409 ConditionalRequestConflict to the first conditional
// write or delete of every key (each retry then goes through), or stops it.
func (s *Sandbox) SetConflicts(on bool) { s.s3.SetConflicts(on) }

// Expire deletes bucket's objects under prefix older than age (0: all), as the
// ledger's lifecycle rule does to runs/, and returns their keys.
func (s *Sandbox) Expire(bucket, prefix string, age time.Duration) []string {
	return s.s3.Expire(bucket, prefix, age)
}

// PutObject stores an object directly, as a person with the console would.
func (s *Sandbox) PutObject(bucket, key string, data []byte, contentType string) {
	s.s3.PutObject(bucket, key, data, contentType)
}
