package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// sandboxFlags are the replica's knobs, shared by both commands.
type sandboxFlags struct {
	propagation, replication, connectTimeout, responseTimeout time.Duration
	completionTimeout                                         time.Duration
	flap, dbSwitchover                                        time.Duration
	flapFrom                                                  float64
	outage                                                    string
	primaryLatency, secondaryLatency                          time.Duration
	secondaryFail, edges, connectAttempts                     int
	prior                                                     string
	failoverCodes                                             string
	cacheConfigJSON, secondaryDown                            bool
	accountBlock                                              bool
}

func (s *sandboxFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&s.propagation, "propagation", time.Second, "how long a Block Public Access change takes to reach the website endpoint")
	fs.DurationVar(&s.flap, "flap", 0, "after -propagation, how long the change flaps: each request sees it with a probability rising from -flap-from to 1")
	fs.Float64Var(&s.flapFrom, "flap-from", 0, "the probability that a request sees the change when the flap starts (0 to below 1)")
	fs.StringVar(&s.outage, "primary-outage", "forbidden", `how the blocked primary answers: "forbidden" (403, as Block Public Access does), "hang" (never answers) or "blackhole" (connections time out)`)
	fs.DurationVar(&s.primaryLatency, "primary-latency", 0, "delay every answer of the primary website")
	fs.DurationVar(&s.secondaryLatency, "secondary-latency", 0, "delay every answer of the secondary website")
	fs.IntVar(&s.secondaryFail, "secondary-fail", 0, "percent of the secondary website's answers that are 503 SlowDown")
	fs.IntVar(&s.edges, "edges", 1, "CloudFront edge servers, sharing no state, each request reaching one at random")
	fs.DurationVar(&s.replication, "replication-lag", 200*time.Millisecond, "replication lag of the shop's data between regions")
	fs.DurationVar(&s.dbSwitchover, "db-switchover", 2*time.Second, "how long a switchover of the users' Aurora global database takes (writes fail in both regions meanwhile)")
	fs.DurationVar(&s.connectTimeout, "connect-timeout", 500*time.Millisecond, "CloudFront stand-in's origin connection timeout")
	fs.IntVar(&s.connectAttempts, "connect-attempts", 3, "CloudFront stand-in's origin connection attempts (1..3)")
	fs.DurationVar(&s.responseTimeout, "response-timeout", 5*time.Second, "CloudFront stand-in's origin response timeout (a GET that times out is tried again, up to -connect-attempts in all)")
	fs.DurationVar(&s.completionTimeout, "response-completion-timeout", 0, "CloudFront stand-in's origin response completion timeout, across every attempt (0: not set, no cap)")
	fs.StringVar(&s.prior, "prior", "none", `the primary bucket's starting Block Public Access: "none", "partial" (BlockPublicAcls+IgnorePublicAcls) or a JSON object`)
	fs.StringVar(&s.failoverCodes, "failover-codes", "", "the origin group's failover status codes, comma-separated (default all eight, as the lab ticks; CDK's default is 500,502,503,504)")
	fs.BoolVar(&s.cacheConfigJSON, "cache-config-json", false, "give /config.json a cache behaviour with the managed CachingOptimized policy (query string not in the cache key, one day TTL)")
	fs.BoolVar(&s.secondaryDown, "secondary-down", false, "take the secondary region's website endpoint down (its port refuses connections)")
	fs.BoolVar(&s.accountBlock, "account-block", false, "turn on account-level Block Public Access (all four settings, S3 Control)")
}

// apply changes a started sandbox the way the flags ask.
func (s *sandboxFlags) apply(sb *sandbox.Sandbox) {
	if s.secondaryDown {
		sb.SetOriginDown(sb.Secondary().Name, true)
	}
}

// problems names every flag whose value the sandbox cannot honour. Zero means "the
// default" inside sandbox.Config, so a 0 given on the command line would be replaced
// silently; it is refused here instead, where the doc does not give 0 a meaning.
func (s *sandboxFlags) problems() []string {
	var p []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			p = append(p, fmt.Sprintf(format, args...))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-propagation", s.propagation}, {"-flap", s.flap}, {"-primary-latency", s.primaryLatency}, {"-secondary-latency", s.secondaryLatency},
		{"-replication-lag", s.replication}, {"-response-completion-timeout", s.completionTimeout}, {"-db-switchover", s.dbSwitchover}} {
		bad(d.v < 0, "%s: %s is negative", d.name, d.v)
	}
	bad(s.connectTimeout <= 0, "-connect-timeout: %s must be above 0 (CloudFront's is 1..10 s)", s.connectTimeout)
	bad(s.responseTimeout <= 0, "-response-timeout: %s must be above 0 (CloudFront's is 1..120 s)", s.responseTimeout)
	bad(s.connectAttempts < 1 || s.connectAttempts > 3, "-connect-attempts: %d is outside 1..3", s.connectAttempts)
	bad(s.flapFrom < 0 || s.flapFrom >= 1, "-flap-from: %g is outside 0 to below 1", s.flapFrom)
	bad(s.secondaryFail < 0 || s.secondaryFail > 100, "-secondary-fail: %d is outside 0..100", s.secondaryFail)
	bad(s.edges < 1 || s.edges > maxEdges, "-edges: %d is outside 1..%d", s.edges, maxEdges)
	bad(!slices.Contains([]string{"forbidden", "hang", "blackhole"}, s.outage), "-primary-outage: %q is not forbidden, hang or blackhole", s.outage)
	return p
}

// maxEdges bounds -edges: each edge server is a listener and its own cache.
const maxEdges = 64

func (s *sandboxFlags) config() (sandbox.Config, error) {
	if p := s.problems(); len(p) > 0 {
		return sandbox.Config{}, errors.New(strings.Join(p, "; "))
	}
	cfg := sandbox.Config{PropagationDelay: s.propagation, ReplicationLag: s.replication, OriginConnectTimeout: s.connectTimeout,
		OriginConnectAttempts: s.connectAttempts, OriginResponseTimeout: s.responseTimeout, OriginResponseCompletionTimeout: s.completionTimeout,
		PropagationFlap: s.flap, FlapFrom: s.flapFrom, PrimaryOutage: s.outage, PrimaryLatency: s.primaryLatency,
		SecondaryLatency: s.secondaryLatency, SecondaryFailPercent: s.secondaryFail, EdgeServers: s.edges,
		CacheConfigJSON: s.cacheConfigJSON, DBSwitchoverTime: s.dbSwitchover}
	if s.accountBlock {
		all := drill.BlockAll
		cfg.AccountPAB = &all
	}
	for _, f := range strings.FieldsFunc(s.failoverCodes, func(r rune) bool { return r == ',' || r == ' ' }) {
		code, err := strconv.Atoi(f)
		if err != nil || !slices.Contains(sandbox.AllFailoverCodes, code) {
			return cfg, fmt.Errorf("-failover-codes: %q is not one of %v", f, sandbox.AllFailoverCodes)
		}
		cfg.FailoverCodes = append(cfg.FailoverCodes, code)
	}
	switch s.prior {
	case "none", "":
	case "partial":
		cfg.PrimaryPAB = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}
	default:
		var p drill.PublicAccessBlock
		dec := json.NewDecoder(strings.NewReader(s.prior))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return cfg, fmt.Errorf("-prior: want none, partial or a JSON object like {\"blockPublicAcls\":true}: %v", err)
		}
		cfg.PrimaryPAB = &p
	}
	return cfg, nil
}
