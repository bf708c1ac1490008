package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The errors below are the ones the state machine branches on. aws-lambda-go reports a
// returned error's Go type name as the Lambda error type, and Step Functions matches
// that name against ErrorEquals, so each type name IS the ASL error name. A handler
// must return these values unwrapped (see Classify); a test checks the ASL names exist.

// InvalidInput: the execution input or a payload is malformed. Nothing was changed.
type InvalidInput struct{ Problems []string }

func (e *InvalidInput) Error() string {
	return "invalid input: " + strings.Join(e.Problems, "; ")
}

// Transient: throttling, a 5xx, a timeout or a dropped connection; safe to retry.
type Transient struct{ Msg string }

func (e *Transient) Error() string { return "transient: " + e.Msg }

// SteadyStateFailed: before the fault, the shop was not healthy on its primary.
type SteadyStateFailed struct{ Msg string }

func (e *SteadyStateFailed) Error() string { return "steady state not met: " + e.Msg }

// SeedFailed: the shop refused to create or read back the synthetic user's cart.
type SeedFailed struct{ Msg string }

func (e *SeedFailed) Error() string { return "seeding the cart failed: " + e.Msg }

// LockHeld: another drill holds the target bucket's lock; nothing was changed.
type LockHeld struct{ Bucket, Holder string }

func (e *LockHeld) Error() string {
	return fmt.Sprintf("bucket %s is locked by drill %s", e.Bucket, e.Holder)
}

// FailoverTimeout: the distribution never served the secondary within the timeout.
type FailoverTimeout struct{ Msg string }

func (e *FailoverTimeout) Error() string { return "failover timeout: " + e.Msg }

// RecoveryTimeout: after restore, the distribution never served the primary again.
type RecoveryTimeout struct{ Msg string }

func (e *RecoveryTimeout) Error() string { return "recovery timeout: " + e.Msg }

// RestoreMismatch: after restoring, the bucket's configuration read back differently.
type RestoreMismatch struct{ Bucket, Want, Got string }

func (e *RestoreMismatch) Error() string {
	return fmt.Sprintf("bucket %s: restored public access block reads back %s, want %s", e.Bucket, e.Got, e.Want)
}

// RunClosed: block-bucket was invoked for an execution whose restore has already
// started or finished (a late or retried invocation). Nothing was changed.
type RunClosed struct{ Execution, Status string }

func (e *RunClosed) Error() string {
	return fmt.Sprintf("execution %s is already %s; refusing to block", e.Execution, e.Status)
}

// NotReady: a readiness check failed; nothing was changed. The state machine raises it
// itself (the NotReady Pass state) so the report still gets every check; the type
// gives the name its one definition.
type NotReady struct{ Summary string }

func (e *NotReady) Error() string { return "not ready: " + e.Summary }

// Unverified: a dry run found nothing failing, but a readiness check was skipped, so
// the lab's readiness is not proven. Only the state machine raises it (the Unverified
// Fail state, cause: the report's summary naming the skipped checks).
type Unverified struct{ Summary string }

func (e *Unverified) Error() string { return "unverified: " + e.Summary }

// StopAlarm: a stop alarm was in ALARM while the probe waited; the drill stops and
// restores, as a FIS experiment does on a stop condition.
type StopAlarm struct{ Alarm, During, Reason string }

func (e *StopAlarm) Error() string {
	msg := fmt.Sprintf("stop alarm %s is in ALARM during %s: stopping the drill and restoring", e.Alarm, e.During)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// StopAlarmsUnreadable: while the probe waited, the stop alarms could not be read for
// longer than its bound: a stop condition nobody can see is not taken for one that is
// OK, so the drill stops and restores, as for a stop alarm in ALARM.
type StopAlarmsUnreadable struct {
	Alarms                []string
	During                string
	Seconds, LimitSeconds float64
	Err                   string
}

func (e *StopAlarmsUnreadable) Error() string {
	return fmt.Sprintf("stop alarms %s unreadable for %.1f s during %s (limit %.0f s): stopping the drill and restoring; last error: %s",
		strings.Join(e.Alarms, ", "), e.Seconds, e.During, e.LimitSeconds, e.Err)
}

// BucketChangedDuringDrill: at restore, the bucket held neither the drill's block nor
// the prior configuration it recorded: someone (a person, a security tool) changed it
// during the drill. Restore keeps their settings, records the run (and its lock) as
// changed, so nothing of the drill writes the bucket for it again, keeps the lock (so
// the sweeper and the operator see it until a person releases it) and fails with
// this, which the report names and an alarm catches, instead of silently putting an
// old configuration back over theirs.
type BucketChangedDuringDrill struct{ Bucket, Prior, Found string }

func (e *BucketChangedDuringDrill) Error() string {
	return fmt.Sprintf("bucket %s was changed during the drill: it holds %s, neither the drill's block nor the prior %s; "+
		"kept as it is and never written again by this run, lock kept: set what the bucket must hold by hand, then release the lock (drill unlock)", e.Bucket, e.Found, e.Prior)
}

// DatabaseSwitching: a switch of the global database is still in progress (or was
// just sent back) and did not finish within this invocation's time: the writer is not
// back yet. The run keeps its lock; whoever restores next (a retry, the safety net,
// the sweeper) waits for the switch and finishes. An alarm catches it if none does.
type DatabaseSwitching struct{ GlobalCluster, Status, Writer, Want string }

func (e *DatabaseSwitching) Error() string {
	return fmt.Sprintf("global database %s: the writer is %s (switch: %s), want %s: still switching back, lock kept; the next restore finishes",
		e.GlobalCluster, e.Writer, orNone(e.Status), e.Want)
}

// DatabaseChangedDuringDrill: the writer of the global database moved in a way the run
// did not ask for (to the secondary before the run sent a switch, or to a member it
// never named): someone else switched it. Restore never undoes another's switch: it
// keeps the lock and fails with this, which pages, as for a bucket changed during the
// drill.
type DatabaseChangedDuringDrill struct{ GlobalCluster, Prior, Found string }

func (e *DatabaseChangedDuringDrill) Error() string {
	return fmt.Sprintf("global database %s was switched during the drill by someone else: its writer is %s, the run recorded %s and sent no switch there; "+
		"kept as it is, lock kept: switch it where it must be by hand, then release the lock (drill unlock)", e.GlobalCluster, e.Found, e.Prior)
}

// DatabaseSwitchTimeout: the stage's switch did not put the new writer in place
// within databaseSwitchTimeoutSeconds (the flow then restores, switching back).
type DatabaseSwitchTimeout struct{ Msg string }

func (e *DatabaseSwitchTimeout) Error() string { return "database switch timed out: " + e.Msg }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// RestoreFailed is the error an execution ends with when its restore could not finish
// (RestoreAfterFailure ran out of retries): the primary bucket may still be blocked.
// Only the state machine raises it (a Fail state), so it is a name, not a type.
const RestoreFailed = "RestoreFailed"

// ErrorNames lists every typed error name, for the test that ties them to the ASL.
var ErrorNames = []string{
	ErrorName(&InvalidInput{}), ErrorName(&Transient{}), ErrorName(&SteadyStateFailed{}),
	ErrorName(&SeedFailed{}), ErrorName(&LockHeld{}), ErrorName(&FailoverTimeout{}),
	ErrorName(&RecoveryTimeout{}), ErrorName(&RestoreMismatch{}), ErrorName(&RunClosed{}),
	ErrorName(&NotReady{}), ErrorName(&StopAlarm{}), ErrorName(&Unverified{}), ErrorName(&StopAlarmsUnreadable{}),
	ErrorName(&BucketChangedDuringDrill{}),
	ErrorName(&DatabaseSwitching{}), ErrorName(&DatabaseChangedDuringDrill{}), ErrorName(&DatabaseSwitchTimeout{}),
}

// ErrorName is the Lambda error type aws-lambda-go reports for err: its Go type name,
// without the pointer. The local runner uses it so local and AWS runs agree.
func ErrorName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Classify returns the typed drill error inside err, if there is one, so the Lambda
// error type is that name and not "wrapError". Its message keeps err's full context.
// An unknown error is returned as it is (it fails the step; the ASL does not retry it).
func Classify(err error) error {
	if err == nil {
		return nil
	}
	for _, target := range []any{
		new(*InvalidInput), new(*Transient), new(*SteadyStateFailed), new(*SeedFailed),
		new(*LockHeld), new(*FailoverTimeout), new(*RecoveryTimeout), new(*RestoreMismatch),
		new(*RunClosed), new(*BucketChangedDuringDrill), new(*NotReady), new(*StopAlarm), new(*StopAlarmsUnreadable),
		new(*DatabaseSwitching), new(*DatabaseChangedDuringDrill), new(*DatabaseSwitchTimeout),
	} {
		if errors.As(err, target) {
			return withContext(reflect.ValueOf(target).Elem().Interface().(error), err)
		}
	}
	return err
}

// withContext copies typed's value and puts the outer context in front of its message,
// so "block b: " survives while the type stays the same:
// fmt.Errorf("block b: %w", &Transient{"503"}) becomes &Transient{"block b: 503"}.
func withContext(typed, outer error) error {
	prefix, ok := strings.CutSuffix(outer.Error(), typed.Error())
	if !ok || prefix == "" {
		return typed
	}
	switch t := typed.(type) {
	case *Transient:
		return &Transient{Msg: prefix + t.Msg}
	case *SteadyStateFailed:
		return &SteadyStateFailed{Msg: prefix + t.Msg}
	case *SeedFailed:
		return &SeedFailed{Msg: prefix + t.Msg}
	case *FailoverTimeout:
		return &FailoverTimeout{Msg: prefix + t.Msg}
	case *RecoveryTimeout:
		return &RecoveryTimeout{Msg: prefix + t.Msg}
	case *DatabaseSwitchTimeout:
		return &DatabaseSwitchTimeout{Msg: prefix + t.Msg}
	default:
		return typed // the other types carry structured fields that say it all
	}
}

// CauseMessage is the message inside a Step Functions error cause. A Lambda function's
// error reaches a Catch as the cause {"errorMessage": ..., "errorType": ...} (with a
// stackTrace after a panic): a person wants the message, once, not the envelope. Any
// other cause (a States.* error's text) is returned as it is.
func CauseMessage(cause string) string {
	t := strings.TrimSpace(cause)
	if !strings.HasPrefix(t, "{") {
		return cause
	}
	var env struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    string  `json:"errorType"`
	}
	if err := json.Unmarshal([]byte(t), &env); err != nil || env.ErrorMessage == nil {
		return cause
	}
	return *env.ErrorMessage
}

// Unwrapped is e with its cause's message taken out of the Lambda error envelope.
func (e *ErrorInfo) Unwrapped() *ErrorInfo {
	if e == nil {
		return nil
	}
	return &ErrorInfo{Error: e.Error, Cause: CauseMessage(e.Cause)}
}
