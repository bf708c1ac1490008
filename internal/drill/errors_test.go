package drill_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/statemachine"
)

func TestClassifyKeepsTypeAndContext(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantName string
		wantMsg  string
	}{
		{name: "wrapped transient", err: fmt.Errorf("block b: %w", &drill.Transient{Msg: "503 SlowDown"}), wantName: "Transient", wantMsg: "transient: block b: 503 SlowDown"},
		{name: "wrapped invalid input", err: fmt.Errorf("x: %w", &drill.InvalidInput{Problems: []string{"items: bad"}}), wantName: "InvalidInput"},
		{name: "bare lock held", err: &drill.LockHeld{Bucket: "b", Holder: "h"}, wantName: "LockHeld"},
		{name: "wrapped failover timeout", err: fmt.Errorf("probe: %w", &drill.FailoverTimeout{Msg: "no secondary"}), wantName: "FailoverTimeout", wantMsg: "failover timeout: probe: no secondary"},
		{name: "unknown error passes through", err: errors.New("boom"), wantName: "errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drill.Classify(tt.err)
			if name := drill.ErrorName(got); name != tt.wantName {
				t.Errorf("ErrorName = %q, want %q", name, tt.wantName)
			}
			if tt.wantMsg != "" && got.Error() != tt.wantMsg {
				t.Errorf("message = %q, want %q", got.Error(), tt.wantMsg)
			}
		})
	}
	if drill.Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

// The ASL's ErrorEquals names must be errors the functions can return (or Step
// Functions' and Lambda's own), and the errors the flow depends on must appear.
func TestASLErrorNamesAreDrillErrors(t *testing.T) {
	re := regexp.MustCompile(`"ErrorEquals":\s*\[([^\]]*)\]`)
	name := regexp.MustCompile(`"([^"]+)"`)
	var used []string
	for _, m := range re.FindAllStringSubmatch(statemachine.Definition, -1) {
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			used = append(used, n[1])
		}
	}
	if len(used) == 0 {
		t.Fatal("no ErrorEquals found in the ASL")
	}
	lambdaErrors := regexp.MustCompile(`^(States|Lambda)\.[A-Za-z]+$`)
	for _, n := range used {
		if !lambdaErrors.MatchString(n) && !slices.Contains(drill.ErrorNames, n) {
			t.Errorf("ASL catches or retries %q, which no drill error type is called", n)
		}
	}
	for _, must := range []string{"Transient", "InvalidInput", "RestoreMismatch"} {
		if !slices.Contains(used, must) {
			t.Errorf("ASL never names %q", must)
		}
	}
}

// Every ${Placeholder} in the ASL is in drill.Placeholders and vice versa: infra/ and
// the local runner substitute exactly that list.
func TestPlaceholdersMatchASL(t *testing.T) {
	re := regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`)
	found := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(statemachine.Definition, -1) {
		found[m[1]] = true
	}
	for _, p := range drill.Placeholders {
		if !found[p] {
			t.Errorf("placeholder %q is listed but not in the ASL", p)
		}
		delete(found, p)
	}
	for p := range found {
		t.Errorf("ASL placeholder %q is not in drill.Placeholders", p)
	}
}
