// Package remote drives a drill deployed on AWS: it starts an execution of the state
// machine, follows it until it ends, and reads a run's report from the ledger bucket.
// It holds no flags and prints nothing; cmd/drill does both.
package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
)

// StartAPI is the Step Functions call that starts a drill.
type StartAPI interface {
	StartExecution(ctx context.Context, params *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// DescribeAPI is the Step Functions call that follows a drill.
type DescribeAPI interface {
	DescribeExecution(ctx context.Context, params *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// GetObjectAPI is the S3 call that reads the ledger.
type GetObjectAPI interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var (
	_ StartAPI     = (*sfn.Client)(nil)
	_ DescribeAPI  = (*sfn.Client)(nil)
	_ GetObjectAPI = (*s3.Client)(nil)
)

// MaxInputBytes is Step Functions' limit on an execution's input.
const MaxInputBytes = 256 * 1024

// stateMachineARN matches arn:<partition>:states:<region>:<account>:stateMachine:<name>,
// optionally qualified by a version or an alias, which StartExecution also accepts.
var stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:stateMachine:[^:\s]{1,80}(?::[A-Za-z0-9_-]{1,80})?$`)

// StateMachineRegion checks the shape of a state machine ARN and returns its region,
// the region the Step Functions calls must go to.
func StateMachineRegion(arn string) (string, error) {
	m := stateMachineARN.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>; the stack output StateMachineArn)", arn)
	}
	return m[1], nil
}

// CheckName applies Step Functions' rules for execution names: 1..80 characters, no
// whitespace, brackets, wildcards, control characters or any of "#%\^|~`$&,;:/.
func CheckName(name string) error {
	if n := len([]rune(name)); n < 1 || n > 80 {
		return fmt.Errorf("execution name %q: must be 1..80 characters", name)
	}
	for _, r := range name {
		if r <= 0x20 || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return fmt.Errorf("execution name %q: %q is not allowed (no whitespace, brackets, wildcards or \"#%%\\^|~`$&,;:/)", name, r)
		}
	}
	return nil
}

// Stand-ins for the two fields only the deployment supplies, so CheckInput can
// validate every field the input does set with the drill's own rules.
const (
	deployedDistribution = "d111111abcdef8.cloudfront.net"
	deployedBucket       = "deployed-primary-bucket"
)

// CheckInput validates an execution input as far as it can be without the deployment:
// it must be a JSON object, and every field it sets must be a known one with a valid
// value (drill.ParseConfig, the same rules Preflight applies). Fields it leaves out
// take the deployed defaults, which only the state machine knows.
func CheckInput(raw string) error {
	if len(raw) > MaxInputBytes {
		return fmt.Errorf("input is %d bytes; Step Functions accepts at most %d", len(raw), MaxInputBytes)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil || fields == nil {
		return fmt.Errorf("must be a JSON object like {} or {\"items\":5}, got %s", jsonKind(raw, err))
	}
	probe := maps.Clone(fields)
	if _, ok := probe["distribution"]; !ok {
		probe["distribution"] = json.RawMessage(`"` + deployedDistribution + `"`)
	}
	if _, ok := probe["primaryBucket"]; !ok {
		probe["primaryBucket"] = json.RawMessage(`"` + deployedBucket + `"`)
	}
	b, err := json.Marshal(probe)
	if err != nil {
		return err
	}
	_, err = drill.ParseConfig(b) // a *drill.InvalidInput naming every bad field
	return err
}

// jsonKind names what raw holds instead of an object, for the error message.
func jsonKind(raw string, err error) string {
	t := strings.TrimSpace(raw)
	var syntax *json.SyntaxError
	switch {
	case t == "":
		return "nothing"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON (%v at byte %d)", err, syntax.Offset)
	case err == nil: // null
		return "null"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t == "true" || t == "false":
		return "a boolean"
	default:
		return "a number (" + truncateRunes(t, 40) + ")"
	}
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Start starts an execution and returns its ARN. An empty name lets Step Functions
// pick one (a UUID).
func Start(ctx context.Context, api StartAPI, stateMachineARN, input, name string) (string, error) {
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(stateMachineARN), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := api.StartExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("start execution of %s: %w", stateMachineARN, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Execution is what DescribeExecution last said about an execution.
type Execution struct {
	ARN    string
	Name   string
	Start  time.Time // with Name, the run's folder in the ledger (drill.RunFolder)
	Status types.ExecutionStatus
	Output string // the report JSON when SUCCEEDED
	Error  string // FAILED, TIMED_OUT, ABORTED
	Cause  string
}

// Running reports whether the execution has not reached a final status yet.
// PENDING_REDRIVE is a redriven execution about to run again.
func (e Execution) Running() bool {
	return e.Status == types.ExecutionStatusRunning || e.Status == types.ExecutionStatusPendingRedrive
}

// Wait polls DescribeExecution every poll interval until the execution leaves RUNNING
// and returns its final state. onPoll, if not nil, sees every answer. When ctx ends
// first, Wait returns the last state seen and an error wrapping ctx.Err(); the
// execution itself keeps running.
func Wait(ctx context.Context, api DescribeAPI, executionARN string, poll time.Duration, onPoll func(Execution)) (Execution, error) {
	last := Execution{ARN: executionARN, Status: types.ExecutionStatusRunning}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		out, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("stopped waiting: %w", ctx.Err())
			}
			return last, fmt.Errorf("describe execution %s: %w", executionARN, err)
		}
		last = Execution{
			ARN: executionARN, Name: aws.ToString(out.Name), Start: aws.ToTime(out.StartDate), Status: out.Status,
			Output: aws.ToString(out.Output), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
		}
		if onPoll != nil {
			onPoll(last)
		}
		if !last.Running() {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("stopped waiting: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// ParseReport decodes a report (report.json, or a SUCCEEDED execution's output).
// Unknown fields are accepted so an older CLI reads a newer report.
func ParseReport(raw []byte) (*drill.Report, error) {
	var rep drill.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("not a drill report: %w", err)
	}
	if !slices.Contains(drill.Verdicts, rep.Verdict) {
		return nil, fmt.Errorf("not a drill report: verdict %q is not one of %s", rep.Verdict, strings.Join(drill.Verdicts, ", "))
	}
	return &rep, nil
}

// NotFoundError is a ledger object (or the ledger bucket) that does not exist.
type NotFoundError struct {
	Bucket, Key string
	Code        string // NoSuchKey, NoSuchBucket, NotFound
}

func (e *NotFoundError) Error() string {
	if e.Code == "NoSuchBucket" {
		return fmt.Sprintf("bucket %s does not exist (reading %s; is it the stack output LedgerBucketName, in this region?)", e.Bucket, e.Key)
	}
	return fmt.Sprintf("no s3://%s/%s in the ledger (%s): is the execution name right, and has the run reached its report?", e.Bucket, e.Key, e.Code)
}

// GetObject reads a whole ledger object. A missing object or bucket is a *NotFoundError.
func GetObject(ctx context.Context, api GetObjectAPI, bucket, key string) ([]byte, error) {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch code := ae.ErrorCode(); code {
			case "NoSuchKey", "NoSuchBucket", "NotFound":
				return nil, &NotFoundError{Bucket: bucket, Key: key, Code: code}
			case "AccessDenied":
				return nil, fmt.Errorf("read s3://%s/%s: access denied (without s3:ListBucket on the bucket a missing object also reads as AccessDenied): %w", bucket, key, err)
			}
		}
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}
