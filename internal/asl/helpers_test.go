package asl

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testFn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"

// machine wraps states (the body of the States object) into a definition starting at "A".
func machine(states string) string {
	return `{"StartAt":"A","States":{` + states + `}}`
}

// task is a lambda:invoke Task state calling testFn with the whole effective input as Payload.
func task(name, extra string) string {
	s := `"` + name + `":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",` +
		`"Parameters":{"FunctionName":"` + testFn + `","Payload.$":"$"}`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func mustLoad(t *testing.T, def string) *Machine {
	t.Helper()
	m, err := Load(def, nil)
	if err != nil {
		t.Fatalf("Load: %v\ndefinition: %s", err, def)
	}
	return m
}

// clock is a fake clock; Sleep records the durations and advances the time.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 1, 10, 0, 0, 123_000_000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// opts returns Options with the fake clock, fn as testFn, and timeouts scaled 1s -> 1ms.
func opts(c *clock, fn TaskFunc) Options {
	return Options{
		Tasks: map[string]TaskFunc{testFn: fn},
		Sleep: c.Sleep,
		Now:   c.Now,
		WithTimeout: func(p context.Context, d time.Duration) (context.Context, context.CancelFunc) {
			return context.WithTimeout(p, d/1000)
		},
	}
}

func echo(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil }

func returns(out string) TaskFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(out), nil }
}

func assertJSON(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("output\n got: %s\nwant: %s", got, want)
	}
}

func assertStatus(t *testing.T, res Result, status, errName string) {
	t.Helper()
	if res.Status != status || res.Error != errName {
		t.Fatalf("status %s error %q (cause %q), want %s %q", res.Status, res.Error, res.Cause, status, errName)
	}
}

// eventsOf returns "Type:State" for the events of the given types (all when none given).
func eventsOf(res Result, types ...string) []string {
	var out []string
	for _, e := range res.Events {
		if len(types) == 0 || contains(types, e.Type) {
			out = append(out, e.Type+":"+e.State)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func assertErrContains(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
