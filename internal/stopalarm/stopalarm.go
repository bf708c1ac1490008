// Package stopalarm reads the drill's stop alarms (CloudWatch DescribeAlarms), the way
// AWS FIS watches an experiment's stop conditions. The readiness check and the probe
// share it.
package stopalarm

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/unishop/failover-drill/internal/pab"
)

// API is the CloudWatch call the drill makes.
type API interface {
	DescribeAlarms(ctx context.Context, params *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

var _ API = (*cloudwatch.Client)(nil)

// State is one alarm as read.
type State struct {
	Name      string
	Exists    bool
	Value     string // OK | ALARM | INSUFFICIENT_DATA
	Reason    string
	UpdatedAt time.Time
}

// InAlarm reports whether the alarm is in ALARM.
func (s State) InAlarm() bool { return s.Exists && s.Value == string(types.StateValueAlarm) }

// maxNames is DescribeAlarms' limit on AlarmNames per call.
const maxNames = 100

// Describe reads every named alarm, metric and composite, following pagination. An
// alarm CloudWatch does not return does not exist (Exists false). Errors keep the
// SDK's error inside (AccessDenied, throttling) for the caller to classify.
func Describe(ctx context.Context, api API, names []string) ([]State, error) {
	found := map[string]State{}
	for start := 0; start < len(names); start += maxNames {
		batch := names[start:min(start+maxNames, len(names))]
		var token *string
		for {
			out, err := api.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{
				AlarmNames: batch,
				AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm},
				NextToken:  token,
			})
			if err != nil {
				return nil, fmt.Errorf("describe alarms %v: %w", batch, err)
			}
			for _, a := range out.MetricAlarms {
				found[aws.ToString(a.AlarmName)] = State{Name: aws.ToString(a.AlarmName), Exists: true, Value: string(a.StateValue),
					Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)}
			}
			for _, a := range out.CompositeAlarms {
				found[aws.ToString(a.AlarmName)] = State{Name: aws.ToString(a.AlarmName), Exists: true, Value: string(a.StateValue),
					Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)}
			}
			if token = out.NextToken; token == nil || *token == "" {
				break
			}
		}
	}
	states := make([]State, len(names))
	for i, n := range names {
		if s, ok := found[n]; ok {
			states[i] = s
		} else {
			states[i] = State{Name: n}
		}
	}
	return states, nil
}

// IsAccessDenied: IAM refused the read (the role may read only the deployed alarms).
func IsAccessDenied(err error) bool {
	return pab.HasCode(err, "AccessDenied", "AccessDeniedException")
}
