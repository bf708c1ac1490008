// Package iam is the replica's IAM: it knows which principal signed a request and
// whether that principal's policy allows an action on a resource. The sandbox hands
// each stand-in Policies.Allowed as a function, so a stand-in answers its service's
// AccessDenied for anything the caller's deployed policy does not allow.
//
// It models: identity from the SigV4 Authorization header (the access key id of
// Credential=<id>/<date>/<region>/<service>/aws4_request names the principal: the
// sandbox clients of each function use the function's name), identity-based Allow
// statements with IAM's wildcards in actions and resources.
//
// It does not model yet: signature verification (a request is whoever it says it
// is), Deny statements, conditions, resource (bucket) policies, permission
// boundaries and SCPs. A principal with no policy is an administrator (the operator,
// tests): it may do everything.
package iam

import (
	"net/http"
	"strings"
	"sync"

	"github.com/unishop/failover-drill/internal/policy"
)

// Policies maps a principal (an access key id) to its statements. Safe for
// concurrent use.
type Policies struct {
	mu sync.RWMutex
	m  map[string][]policy.Statement
}

// Set replaces every principal's statements.
func (p *Policies) Set(m map[string][]policy.Statement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m = m
}

// Allowed reports whether principal may do action on resource: a principal without a
// policy may do everything; one with a policy only what a statement allows.
func (p *Policies) Allowed(principal, action, resource string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	sts, ok := p.m[principal]
	if !ok {
		return true
	}
	for _, st := range sts {
		if anyMatch(st.Actions, action, true) && anyMatch(st.Resources, resource, false) {
			if Observe != nil {
				Observe(principal, st.Sid, action)
			}
			return true
		}
	}
	return false
}

// Observe, when set, is told every call a statement allowed: a test that runs every
// code path can then name the statements nothing used (a grant the code does not need).
// Set it before any sandbox starts; it must be safe for concurrent use.
var Observe func(principal, sid, action string)

func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, value = strings.ToLower(p), strings.ToLower(value)
		}
		if Match(p, value) {
			return true
		}
	}
	return false
}

// Match reports whether value matches an IAM pattern, where * matches any run of
// characters (/ and : included) and ? any one character.
func Match(pattern, value string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(value); i >= 0; i-- {
				if Match(pattern[1:], value[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(value) == 0 {
				return false
			}
		default:
			if len(value) == 0 || value[0] != pattern[0] {
				return false
			}
		}
		pattern, value = pattern[1:], value[1:]
	}
	return len(value) == 0
}

// Principal is the access key id a SigV4-signed request names, "" if unsigned.
func Principal(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// DeniedMessage is the message AWS gives an identity-based denial.
func DeniedMessage(principal, action, resource string) string {
	return "User: arn:aws:sts::000000000000:assumed-role/" + principal + "/" + principal +
		" is not authorized to perform: " + action + " on resource: \"" + resource +
		"\" because no identity-based policy allows the " + action + " action"
}
