package local_test

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/sandbox"
	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

// TestMain holds the functions' grants to what their code calls, from the other side
// than the replica's enforcement: every call a function makes in these tests must be
// granted (a missing grant fails the test that makes it), and, when the whole package
// ran, every action of every statement must have allowed at least one call. A grant
// nothing here uses is one the stack gives without a reason.
func TestMain(m *testing.M) {
	var mu sync.Mutex
	used := map[string]bool{}
	iam.Observe = func(principal, sid, action string) {
		mu.Lock()
		used[useKey(principal, sid, action)] = true
		mu.Unlock()
	}
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if unused := unusedGrants(used); len(unused) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: granted but never used by any code path of these tests (remove the grant, or test the path that needs it):\n  %s\n", strings.Join(unused, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

func useKey(principal, sid, action string) string {
	return principal + " " + sid + " " + strings.ToLower(action)
}

// unusedGrants lists each function's statement actions that allowed no call.
func unusedGrants(used map[string]bool) []string {
	var out []string
	// The resources do not matter here, only which statement allowed which action.
	all := local.Policies(sandbox.Config{PrimaryBucket: "b", LedgerBucket: "l"}, "arn:aws:states:us-east-1:111122223333:stateMachine:m")
	for fn, sts := range all {
		for _, st := range sts {
			for _, a := range st.Actions {
				if !used[useKey(fn, st.Sid, a)] {
					out = append(out, fmt.Sprintf("%s: %s %s", fn, st.Sid, a))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
