// Package report judges a drill from the state machine's document and renders the
// result as JSON and HTML for the ledger.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/pab"
)

// Step names, in flow order, as the state machine names the states.
const (
	StepPreflight     = "Preflight"
	StepSeedCart      = "SeedCart"
	StepBlockBucket   = "BlockBucket"
	StepAwaitFailover = "AwaitFailover"
	StepRestore       = "Restore"
	StepAwaitRecovery = "AwaitRecovery"
)

// Step statuses.
const (
	StatusSucceeded = "succeeded"
	StatusCaught    = "caught" // ran on the failure path (RestoreAfterFailure)
)

// maxSummary bounds the one-line summary (it becomes the Fail state's cause).
const maxSummary = 1000

// Build judges the drill. It never fails: missing steps and an unparseable config are
// reported as what they are, and make the verdict fail.
//
// The verdict is pass only if there was no error, the distribution served the
// secondary region after the block, the cart was intact there, the bucket was
// restored to exactly its prior configuration, and the primary served again.
func Build(in drill.ReportInput, now time.Time) drill.Report {
	st := in.State
	var r drill.Report
	r.Execution = in.Execution
	r.StartedAt = in.StartedAt
	r.FinishedAt = now.UTC()
	r.Reasons = []string{}
	fail := func(format string, args ...any) { r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...)) }

	cfg, cfgErr := drill.ParseConfig(st.Config)
	if cfgErr != nil {
		// Report what is there: a lenient decode fills what it can.
		cfg = drill.Config{}
		_ = json.Unmarshal(st.Config, &cfg)
	}
	r.Target.Distribution = cfg.Distribution
	r.Target.PrimaryBucket = cfg.PrimaryBucket
	r.Target.PrimaryRegion = cfg.PrimaryRegion
	r.Target.SecondaryRegion = cfg.SecondaryRegion
	r.DryRun = cfg.DryRun
	addReadiness(&r, st)
	if cfg.DryRun {
		judgeDryRun(&r, st)
		return r
	}
	if st.Error != nil && st.Error.Error == drill.ErrorName(&drill.NotReady{}) {
		// Stopped before anything changed: the failed checks are the reasons; the
		// drill's other parts were never meant to run.
		r.Error = st.Error
		if st.Restore != nil { // the failure path's restore: nothing to restore, bucket as it was
			r.Restore.MatchesPrior, r.Restore.Prior, r.Restore.ReadBack = st.Restore.Payload.MatchesPrior, st.Restore.Payload.Prior, st.Restore.Payload.ReadBack
		}
		r.Reasons = append(r.Reasons, notReadyReasons(&r)...)
		if len(r.Reasons) == 0 {
			r.Reasons = append(r.Reasons, "not ready: "+oneLine(st.Error.Cause, 600))
		}
		if st.RestoreError != nil {
			r.Reasons = append(r.Reasons, "restore failed: "+oneLine(st.RestoreError.Error+": "+st.RestoreError.Cause, 300))
		}
		r.Steps = steps(st)
		r.Verdict = drill.Fail
		r.Summary = oneLine("fail: "+strings.Join(r.Reasons, "; "), maxSummary)
		return r
	}

	if st.Error != nil {
		r.Error = st.Error
		fail("error: %s", oneLine(st.Error.Error+": "+st.Error.Cause, 300))
	} else if cfgErr != nil {
		fail("config: %s", oneLine(cfgErr.Error(), 300))
	}
	if st.RestoreError != nil {
		r.RestoreError = st.RestoreError
		fail("restore failed: %s", oneLine(st.RestoreError.Error+": "+st.RestoreError.Cause, 300))
		if r.Error == nil {
			r.Error = st.RestoreError
		}
	}

	// Failover.
	var block *drill.BlockResult
	if st.Block != nil {
		block = &st.Block.Payload
		if !block.BlockedAt.IsZero() {
			r.Failover.BlockedAt = ptr(block.BlockedAt)
		}
	}
	if st.Failover != nil {
		fo := st.Failover.Payload
		r.Failover.Seconds = fo.Seconds
		r.Failover.ServedRegion = fo.ServedRegion
		r.Failover.FirstSecondaryAt = fo.FirstExpectedAt
		if fo.Cart != nil {
			r.Cart.Intact = fo.Cart.Intact
			r.Cart.Expected = fo.Cart.Expected
			r.Cart.Got = fo.Cart.Got
		}
	}
	if r.Cart.Expected == nil && st.Seed != nil {
		r.Cart.Expected = st.Seed.Payload.Cart
	}
	switch {
	case block == nil:
		fail("block: the bucket was never blocked")
	case st.Failover == nil:
		fail("failover: not observed")
	case r.Failover.ServedRegion == "" || r.Failover.FirstSecondaryAt == nil:
		fail("failover: the distribution never served the secondary region %s", orUnknown(cfg.SecondaryRegion))
	case cfg.SecondaryRegion != "" && r.Failover.ServedRegion != cfg.SecondaryRegion:
		fail("failover: served by %s, want the secondary region %s", r.Failover.ServedRegion, cfg.SecondaryRegion)
	}

	// Cart continuity.
	switch {
	case st.Failover == nil || st.Failover.Payload.Cart == nil:
		fail("cart: not checked through the secondary API")
	case !r.Cart.Intact:
		msg := fmt.Sprintf("cart: not intact after failover (expected %d unicorns, got %d)", len(r.Cart.Expected), len(r.Cart.Got))
		if e := st.Failover.Payload.Cart.Error; e != "" {
			msg += ": " + oneLine(e, 200)
		}
		fail("%s", msg)
	}

	// Restore.
	if st.Restore != nil {
		rs := st.Restore.Payload
		r.Restore.MatchesPrior = rs.MatchesPrior
		r.Restore.Prior = rs.Prior
		r.Restore.ReadBack = rs.ReadBack
		r.Recovery.RestoredAt = rs.RestoredAt
		switch {
		case rs.Skipped != "" && !rs.AlreadyRestored:
			fail("restore: skipped: %s", oneLine(rs.Skipped, 200))
		case block != nil && rs.NothingToRestore:
			fail("restore: found nothing to restore although the bucket was blocked")
		case !rs.MatchesPrior:
			fail("restore: the bucket reads back %s, its prior configuration was %s", pab.String(rs.ReadBack), pab.String(rs.Prior))
		}
	} else if block != nil {
		fail("restore: did not run after the bucket was blocked")
	}

	// Recovery.
	if st.Recovery != nil {
		rc := st.Recovery.Payload
		r.Recovery.Seconds = rc.Seconds
		r.Recovery.ServedRegion = rc.ServedRegion
		r.Recovery.FirstPrimaryAt = rc.FirstExpectedAt
	}
	switch {
	case st.Recovery == nil:
		fail("recovery: not observed")
	case r.Recovery.ServedRegion == "" || r.Recovery.FirstPrimaryAt == nil:
		fail("recovery: the distribution never served the primary region %s again", orUnknown(cfg.PrimaryRegion))
	case cfg.PrimaryRegion != "" && r.Recovery.ServedRegion != cfg.PrimaryRegion:
		fail("recovery: served by %s, want the primary region %s", r.Recovery.ServedRegion, cfg.PrimaryRegion)
	}

	for _, p := range []*drill.Step[drill.ProbeResult]{st.Preflight, st.Failover, st.Recovery} {
		if p != nil {
			r.UserVisibleErrors += p.Payload.UserVisibleErrors
		}
	}
	r.Steps = steps(st)

	if len(r.Reasons) == 0 {
		r.Verdict = drill.Pass
		r.Summary = fmt.Sprintf("pass: failover %.1fs to %s, recovery %.1fs, %d user-visible errors, cart intact, bucket restored exactly",
			r.Failover.Seconds, r.Failover.ServedRegion, r.Recovery.Seconds, r.UserVisibleErrors)
	} else {
		r.Verdict = drill.Fail
		r.Summary = oneLine("fail: "+strings.Join(r.Reasons, "; "), maxSummary)
	}
	return r
}

// steps lists the steps present in the state, in flow order.
func steps(st drill.State) []drill.StepRecord {
	out := []drill.StepRecord{}
	add := func(name string, t drill.Timing, status string) {
		out = append(out, drill.StepRecord{Name: name, Start: t.StartedAt, End: t.FinishedAt, Status: status})
	}
	if st.Readiness != nil {
		add(StepReadiness, st.Readiness.Payload.Timing, StatusSucceeded)
	}
	if st.Preflight != nil {
		add(StepPreflight, st.Preflight.Payload.Timing, StatusSucceeded)
	}
	if st.Seed != nil {
		add(StepSeedCart, st.Seed.Payload.Timing, StatusSucceeded)
	}
	if st.Block != nil {
		add(StepBlockBucket, st.Block.Payload.Timing, StatusSucceeded)
	}
	if st.Failover != nil {
		add(StepAwaitFailover, st.Failover.Payload.Timing, StatusSucceeded)
	}
	if st.Restore != nil {
		status := StatusSucceeded
		if st.Error != nil {
			status = StatusCaught
		}
		add(StepRestore, st.Restore.Payload.Timing, status)
	}
	if st.Recovery != nil {
		add(StepAwaitRecovery, st.Recovery.Payload.Timing, StatusSucceeded)
	}
	return out
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// Handler writes the report to the ledger.
type Handler struct {
	Ledger *ledger.Ledger
	Log    *slog.Logger
	Now    func() time.Time
	// Metrics, when set, receives the report's figures as a CloudWatch Embedded
	// Metric Format line (the Lambda's stdout).
	Metrics io.Writer
}

// Handle builds the report, writes report.json and report.html under the execution
// in the ledger and returns it. A ledger error is returned (Transient ones are retried
// by the state machine).
func (h *Handler) Handle(ctx context.Context, in drill.ReportInput) (drill.Report, error) {
	if in.Execution == "" {
		return drill.Report{}, &drill.InvalidInput{Problems: []string{"execution: missing"}}
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	r := Build(in, now)
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: encode: %w", in.Execution, err)
	}
	page, err := HTML(r)
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	if err := h.Ledger.PutReport(ctx, in.Execution, js, page); err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("report written", "execution", in.Execution, "verdict", r.Verdict, "summary", r.Summary,
		"json", drill.ReportKey(in.Execution), "html", drill.ReportHTMLKey(in.Execution))
	if h.Metrics != nil {
		line, err := EMF(r, now)
		if err == nil {
			_, err = h.Metrics.Write(append(line, '\n'))
		}
		if err != nil { // metrics are a convenience: the report is written already
			log.Warn("metrics not written", "error", err)
		}
	}
	return r, nil
}
