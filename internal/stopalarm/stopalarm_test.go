package stopalarm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/stopalarm"
)

// pages answers DescribeAlarms one alarm per page, metric or composite.
type pages struct {
	states map[string]types.StateValue
	comp   map[string]bool
	calls  int
	err    error
}

func (p *pages) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	p.calls++
	if p.err != nil {
		return nil, p.err
	}
	if len(in.AlarmTypes) != 2 {
		return nil, errors.New("want both alarm types asked for")
	}
	var found []string
	for _, n := range in.AlarmNames {
		if _, ok := p.states[n]; ok {
			found = append(found, n)
		}
	}
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	if i < len(found) {
		n := found[i]
		if p.comp[n] {
			out.CompositeAlarms = []types.CompositeAlarm{{AlarmName: aws.String(n), StateValue: p.states[n]}}
		} else {
			out.MetricAlarms = []types.MetricAlarm{{AlarmName: aws.String(n), StateValue: p.states[n]}}
		}
		if i+1 < len(found) {
			out.NextToken = aws.String(string(rune('0' + i + 1)))
		}
	}
	return out, nil
}

func TestDescribe(t *testing.T) {
	api := &pages{states: map[string]types.StateValue{"a": types.StateValueOk, "b": types.StateValueAlarm, "c": types.StateValueInsufficientData}, comp: map[string]bool{"b": true}}
	states, err := stopalarm.Describe(context.Background(), api, []string{"a", "b", "c", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		exists, alarm bool
	}{{true, false}, {true, true}, {true, false}, {false, false}}
	for i, s := range states {
		if s.Exists != want[i].exists || s.InAlarm() != want[i].alarm {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if api.calls != 3 {
		t.Errorf("%d calls, want 3 pages followed", api.calls)
	}
	api.err = &smithy.GenericAPIError{Code: "AccessDenied"}
	if _, err := stopalarm.Describe(context.Background(), api, []string{"a"}); !stopalarm.IsAccessDenied(err) {
		t.Errorf("err %v, want AccessDenied recognised", err)
	}
}
