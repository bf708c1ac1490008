// Package readiness is the readiness function's logic: before the drill changes
// anything, read what would keep the lab from failing over and back, and say for each
// check pass, fail or skipped, with the evidence and what a person can do.
//
// Mode "checks" (before Preflight) reads the distribution's configuration, fetches the
// secondary origin directly, reads the account-level Block Public Access and the stop
// alarms, concurrently. Mode "replication" (after SeedCart) waits for the seeded cart
// to be readable through the secondary API, bounded by maxReplicationLagSeconds, and
// extends the first result. A failed check makes the result not ready, and so does a
// skipped one in a drill without allowSkippedChecks; the state machine then stops the
// drill before BlockBucket. A dry run with a skipped check goes on and is unverified.
// Only unexpected errors (throttling, a 5xx, a bad payload) are returned as errors.
package readiness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
	"github.com/unishop/failover-drill/internal/stopalarm"
)

// Handler runs the checks. Every client is required except Log and Now.
type Handler struct {
	CloudFront DistributionAPI
	S3Control  AccountPABAPI
	Alarms     stopalarm.API
	// HTTP fetches the secondary origin directly and, through Shop, its API.
	HTTP *http.Client
	Shop *shop.Client
	// AccountID returns the account whose Block Public Access is read: on AWS the
	// account of the function's own ARN (Lambda context), in local mode the sandbox's.
	AccountID func(ctx context.Context) string
	// DeployedStopAlarms are the deployment's stop alarms (context stopAlarms); the
	// input's are added to them.
	DeployedStopAlarms []string
	// Database is the RDS client in a region, for the database stage's checks (nil:
	// they are skipped, saying why).
	Database func(region string) database.API
	// ReplicationPoll is the pause between cart reads in replication mode (default 250 ms).
	ReplicationPoll time.Duration
	Log             *slog.Logger
	Now             func() time.Time
}

// Handle runs one mode.
func (h *Handler) Handle(ctx context.Context, in drill.ReadinessInput) (drill.ReadinessResult, error) {
	started := h.now()
	cfg, err := h.validate(in)
	if err != nil {
		return drill.ReadinessResult{}, err
	}
	var res drill.ReadinessResult
	switch in.Mode {
	case drill.ModeChecks:
		res, err = h.checks(ctx, cfg)
	case drill.ModeReplication:
		res, err = h.replication(ctx, cfg, in)
	}
	if err != nil {
		return drill.ReadinessResult{}, err
	}
	res.DryRun = cfg.DryRun
	res.StartedAt, res.FinishedAt = started.UTC(), h.now().UTC()
	finish(&res, cfg)
	h.log().Info("readiness", "mode", in.Mode, "ready", res.Ready, "proceed", res.Proceed, "skipped", res.Skipped, "summary", res.Summary)
	return res, nil
}

func (h *Handler) validate(in drill.ReadinessInput) (drill.Config, error) {
	cfg, err := drill.ParseConfig(in.Config)
	var problems []string
	var inv *drill.InvalidInput
	if errors.As(err, &inv) {
		problems = append(problems, inv.Problems...)
	} else if err != nil {
		return cfg, err
	}
	switch in.Mode {
	case drill.ModeChecks:
	case drill.ModeReplication:
		if in.Seed == nil || in.Seed.User.UUID == "" || len(in.Seed.Cart) == 0 || in.Seed.APIHost == "" {
			problems = append(problems, "seed: missing or incomplete (seed-cart's result: user, cart, apiHost)")
		}
		if in.Previous == nil {
			problems = append(problems, "previous: missing (the checks mode's result)")
		}
	default:
		problems = append(problems, fmt.Sprintf("mode: %q is not %s or %s", in.Mode, drill.ModeChecks, drill.ModeReplication))
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return cfg, &drill.InvalidInput{Problems: problems}
	}
	return cfg, nil
}

// checks runs the four checks that need nothing seeded, concurrently.
func (h *Handler) checks(ctx context.Context, cfg drill.Config) (drill.ReadinessResult, error) {
	res := drill.ReadinessResult{Origin: drill.CloudFrontOriginDefaults}
	alarms := drill.AllStopAlarms(h.DeployedStopAlarms, cfg.StopAlarms)
	res.StopAlarms = alarms
	if res.StopAlarms == nil {
		res.StopAlarms = []string{}
	}

	var (
		wg                     sync.WaitGroup
		dist, acct, alarm      drill.Check
		found                  distribution
		distErr, acctErr, aErr error
	)
	wg.Add(3)
	go func() { defer wg.Done(); dist, found, distErr = h.distribution(ctx, cfg) }()
	go func() { defer wg.Done(); acct, acctErr = h.accountPAB(ctx) }()
	go func() { defer wg.Done(); alarm, aErr = h.stopAlarms(ctx, alarms) }()
	wg.Wait()
	for _, err := range []error{distErr, acctErr, aErr} {
		if err != nil { // the first, unjoined, so its drill type names the Lambda error
			return res, err
		}
	}
	if found.origin != nil {
		res.Origin = *found.origin
	}
	sec, api, err := h.secondaryOrigin(ctx, cfg, found)
	if err != nil {
		return res, err
	}
	res.SecondaryAPI = api
	res.Checks = []drill.Check{dist, sec, acct, alarm}
	if cfg.GlobalCluster != "" {
		res.Checks = append(res.Checks, h.database(ctx, cfg))
	}
	return res, nil
}

// finish sets Ready, Proceed, Skipped and the summary a person reads in the console:
// what stops the drill first, then every check's status. A skipped check is never
// counted as a pass: it stops a drill (unless allowSkippedChecks) and leaves a dry run
// unverified.
func finish(res *drill.ReadinessResult, cfg drill.Config) {
	var failed, skipped, all []string
	res.Skipped = []string{}
	for _, c := range res.Checks {
		all = append(all, c.Name+"="+c.Status)
		switch c.Status {
		case drill.CheckFail:
			failed = append(failed, describe(c))
		case drill.CheckSkipped:
			res.Skipped = append(res.Skipped, c.Name)
			skipped = append(skipped, describe(c))
		}
	}
	res.AllowSkippedChecks = cfg.AllowSkippedChecks
	res.Ready = len(failed) == 0 && len(skipped) == 0
	res.Proceed = len(failed) == 0 && (len(skipped) == 0 || cfg.DryRun || cfg.AllowSkippedChecks)
	checks := "; checks " + strings.Join(all, ", ")
	switch {
	case res.Ready:
		res.Summary = "ready: every check passed" + checks
	case len(failed) > 0:
		res.Summary = "not ready, nothing was changed: " + strings.Join(failed, "; ")
		if len(skipped) > 0 {
			res.Summary += "; skipped as well: " + strings.Join(skipped, "; ")
		}
		res.Summary += checks
	case !res.Proceed:
		it, them := "it", "them"
		if len(skipped) == 1 {
			them = "it"
		} else {
			it = "they"
		}
		res.Summary = fmt.Sprintf("not ready, nothing was changed: %s skipped, so %s would not guard the block: %s; "+
			"make %s run, or set allowSkippedChecks to true in the input to drill without %s",
			plural(len(skipped), "check was", "checks were"), it, strings.Join(skipped, "; "), them, them) + checks
	case cfg.DryRun:
		res.Summary = "unverified: nothing failed, but " + plural(len(skipped), "check was", "checks were") + " skipped: " + strings.Join(skipped, "; ") + checks
	default:
		res.Summary = "going on with allowSkippedChecks although " + plural(len(skipped), "check was", "checks were") + " skipped: " + strings.Join(skipped, "; ") + checks
	}
}

// describe is "name: reason (do: action)".
func describe(c drill.Check) string {
	msg := c.Name + ": " + c.Reason
	if c.Action != "" {
		msg += " (do: " + c.Action + ")"
	}
	return msg
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func pass(name string, evidence ...string) drill.Check {
	return drill.Check{Name: name, Status: drill.CheckPass, Evidence: nonNil(evidence)}
}

func fail(name, reason, action string, evidence ...string) drill.Check {
	return drill.Check{Name: name, Status: drill.CheckFail, Reason: reason, Action: action, Evidence: nonNil(evidence)}
}

func skip(name, reason, action string, evidence ...string) drill.Check {
	return drill.Check{Name: name, Status: drill.CheckSkipped, Reason: reason, Action: action, Evidence: nonNil(evidence)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
