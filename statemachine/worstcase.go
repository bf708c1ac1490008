package statemachine

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Bound is how long an execution of the flow can run at most, read off the
// definition, and along which path.
type Bound struct {
	Total time.Duration
	Path  []string        // the states of the longest path, in order
	State []time.Duration // each one's worst case
}

// WorstCase is the longest an execution can run if every Task state takes its full
// TimeoutSeconds on every attempt its Retry fields allow, with every retry's full
// backoff, along the slowest path through Next, Default, Choices and Catch. A Task's
// worst case is (1 + the sum of its retriers' MaxAttempts) x TimeoutSeconds + the sum
// of the retry intervals (IntervalSeconds x BackoffRate^n, capped by MaxDelaySeconds;
// Step Functions' defaults: 1 s, 3 attempts, rate 2). Pass, Choice, Succeed and Fail
// take no time. The definition's TimeoutSeconds must be at least this, or the execution
// could time out with the bucket blocked while every state is still within its own
// bounds (a test holds the file to it).
func WorstCase(definition string) (Bound, error) {
	var def struct {
		StartAt        string
		TimeoutSeconds float64
		States         map[string]struct {
			Type           string
			Next           string
			Default        string
			End            bool
			TimeoutSeconds *float64
			Choices        []struct{ Next string }
			Catch          []struct{ Next string }
			Retry          []struct {
				MaxAttempts     *float64
				IntervalSeconds *float64
				BackoffRate     *float64
				MaxDelaySeconds *float64
			}
		}
	}
	if err := json.Unmarshal([]byte(definition), &def); err != nil {
		return Bound{}, fmt.Errorf("worst case: %w", err)
	}
	cost := func(name string) (time.Duration, error) {
		st := def.States[name]
		if st.Type != "Task" {
			return 0, nil
		}
		if st.TimeoutSeconds == nil {
			return 0, fmt.Errorf("worst case: Task %s has no TimeoutSeconds (Step Functions' default is 99999999 s)", name)
		}
		attempts, delay := 1.0, 0.0
		for _, r := range st.Retry {
			max, interval, rate := or(r.MaxAttempts, 3), or(r.IntervalSeconds, 1), or(r.BackoffRate, 2)
			attempts += max
			for n := 0.0; n < max; n++ {
				d := interval * math.Pow(rate, n)
				if r.MaxDelaySeconds != nil && d > *r.MaxDelaySeconds {
					d = *r.MaxDelaySeconds
				}
				delay += d
			}
		}
		return time.Duration((attempts**st.TimeoutSeconds + delay) * float64(time.Second)), nil
	}
	// Longest path in the state graph (a DAG: the flow never loops back), memoized.
	memo := map[string]Bound{}
	visiting := map[string]bool{}
	var longest func(name string) (Bound, error)
	longest = func(name string) (Bound, error) {
		if b, ok := memo[name]; ok {
			return b, nil
		}
		st, ok := def.States[name]
		if !ok {
			return Bound{}, fmt.Errorf("worst case: no state %q", name)
		}
		if visiting[name] {
			return Bound{}, fmt.Errorf("worst case: the flow loops through %s; no bound", name)
		}
		visiting[name] = true
		defer delete(visiting, name)
		own, err := cost(name)
		if err != nil {
			return Bound{}, err
		}
		var nexts []string
		for _, n := range []string{st.Next, st.Default} {
			if n != "" {
				nexts = append(nexts, n)
			}
		}
		for _, c := range st.Choices {
			nexts = append(nexts, c.Next)
		}
		for _, c := range st.Catch {
			nexts = append(nexts, c.Next)
		}
		var best Bound
		for _, n := range nexts {
			b, err := longest(n)
			if err != nil {
				return Bound{}, err
			}
			if b.Total > best.Total || best.Path == nil {
				best = b
			}
		}
		b := Bound{Total: own + best.Total, Path: append([]string{name}, best.Path...), State: append([]time.Duration{own}, best.State...)}
		memo[name] = b
		return b, nil
	}
	return longest(def.StartAt)
}

// TimeoutSeconds is the definition's execution timeout.
func TimeoutSeconds(definition string) (time.Duration, error) {
	var def struct{ TimeoutSeconds float64 }
	if err := json.Unmarshal([]byte(definition), &def); err != nil {
		return 0, err
	}
	return time.Duration(def.TimeoutSeconds * float64(time.Second)), nil
}

func or(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
