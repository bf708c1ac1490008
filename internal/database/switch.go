package database

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
)

// Handler is switch-database: one switch of the global database (the over or back
// mode) and what users' writes lived meanwhile.
type Handler struct {
	// RDS is the RDS client in a region; the stage calls RDS in the secondary region,
	// which a primary region's outage leaves reachable.
	RDS    func(region string) API
	Ledger *ledger.Ledger
	Shop   ShopAPI
	// PollEvery is how often the switch is looked at (0: DefaultPollEvery).
	PollEvery time.Duration
	// Tail is how long writes go on after the new writer is in place and has
	// acknowledged a write, so writes still reaching the demoted node (cached DNS) are
	// seen (0: DefaultTail).
	Tail  time.Duration
	Log   *slog.Logger
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Defaults of the Handler.
const (
	DefaultPollEvery = 2 * time.Second
	// DefaultTail covers Aurora's DNS TTL (5 s) twice.
	DefaultTail = 10 * time.Second
	// LeadWrites is how many write intervals run before the switch is sent: the baseline
	// (the writer acknowledges, the other region refuses read-only).
	LeadWrites = 3
	// recordAttempts bounds the retries of a conditional write that lost a race.
	recordAttempts = 5
)

// Handle runs one mode.
func (h *Handler) Handle(ctx context.Context, in drill.DatabaseInput) (drill.DatabaseResult, error) {
	started := h.now().UTC()
	cfg, err := drill.ParseConfig(in.Config)
	if err != nil {
		return drill.DatabaseResult{}, err
	}
	var problems []string
	problems = append(problems, in.ID().Problems()...)
	if cfg.GlobalCluster == "" {
		problems = append(problems, "config.globalCluster: missing: the database stage needs the global cluster's identifier")
	}
	if in.Mode != drill.DatabaseOver && in.Mode != drill.DatabaseBack {
		problems = append(problems, fmt.Sprintf("mode: %q is not %q or %q", in.Mode, drill.DatabaseOver, drill.DatabaseBack))
	}
	if in.PrimaryAPI == "" || in.SecondaryAPI == "" {
		problems = append(problems, "primaryApi, secondaryApi: both regions' API hosts are required")
	}
	if len(problems) > 0 {
		return drill.DatabaseResult{}, &drill.InvalidInput{Problems: problems}
	}
	api := h.RDS(cfg.SecondaryRegion)
	look, err := Describe(ctx, api, cfg.GlobalCluster)
	if err != nil {
		return drill.DatabaseResult{}, err
	}
	run, err := h.record(ctx, in, cfg, look, false)
	if err != nil {
		return drill.DatabaseResult{}, err
	}
	d := *run.Database
	from, to, target := d.PriorRegion, d.TargetRegion, d.Target
	if in.Mode == drill.DatabaseBack {
		from, to, target = d.TargetRegion, d.PriorRegion, d.PriorWriter
	}
	log := h.log().With("execution", in.Execution, "mode", in.Mode, "globalCluster", cfg.GlobalCluster, "from", from, "to", to)
	res := drill.DatabaseResult{Mode: in.Mode, GlobalCluster: cfg.GlobalCluster, From: from, To: to}

	w := &writer{shop: h.Shop, hosts: map[string]string{cfg.PrimaryRegion: in.PrimaryAPI, cfg.SecondaryRegion: in.SecondaryAPI},
		regions: []string{cfg.PrimaryRegion, cfg.SecondaryRegion}, read: cfg.SecondaryRegion, seed: in.SeedEmail,
		prefix: emailPrefix(in.ID(), in.Mode), interval: cfg.DatabaseWriteInterval(), now: h.now}
	wctx, stopWrites := context.WithCancel(ctx)
	writing := make(chan struct{})
	go func() { defer close(writing); w.run(wctx) }()
	stop := func() { stopWrites(); <-writing }
	defer stop()
	if err := h.sleep(ctx, LeadWrites*cfg.DatabaseWriteInterval()); err != nil {
		return res, err
	}

	// Send the switch, unless one of this run's is already in progress or done.
	look, err = Describe(ctx, api, cfg.GlobalCluster)
	if err != nil {
		return res, err
	}
	// Over: the target may be the writer (or on its way) only by this run's own
	// switch, sent by an earlier invocation; without its record it is someone else's.
	ours := in.Mode == drill.DatabaseBack || d.SwitchSentAt != nil
	switch {
	case look.Writer() == target && look.Status == "" && ours:
		res.Reinvoked = true
	case look.Status != "" && look.To == target && ours:
		res.Reinvoked = true
	case look.Writer() == target || (look.Status != "" && look.To == target):
		return res, &drill.DatabaseChangedDuringDrill{GlobalCluster: cfg.GlobalCluster, Prior: d.PriorWriter, Found: look.Writer()}
	case look.Status != "":
		return res, fmt.Errorf("global cluster %s: a switch from %s to %s is in progress that is not this run's", cfg.GlobalCluster, look.From, look.To)
	case look.Writer() != d.PriorWriter && in.Mode == drill.DatabaseOver:
		return res, &drill.DatabaseChangedDuringDrill{GlobalCluster: cfg.GlobalCluster, Prior: d.PriorWriter, Found: look.Writer()}
	}
	if res.Reinvoked {
		log.Info("a switch of this run is already in progress or done: not sent again")
		res.SentAt = h.now().UTC()
		if in.Mode == drill.DatabaseOver && d.SwitchSentAt != nil {
			res.SentAt = *d.SwitchSentAt
		} else if in.Mode == drill.DatabaseBack && d.BackSentAt != nil {
			res.SentAt = *d.BackSentAt
		}
	} else {
		if run, err = h.record(ctx, in, cfg, look, true); err != nil {
			return res, err
		}
		sent := *run.Database.SwitchSentAt
		if in.Mode == drill.DatabaseBack {
			sent = *run.Database.BackSentAt
		}
		res.SentAt = sent
		if err := Switchover(ctx, api, cfg.GlobalCluster, target); err != nil && !errors.Is(err, errInProgress) {
			return res, err
		}
		log.Info("switchover sent", "target", target)
	}
	res.AcceptedAt = h.now().UTC()

	// Watch until the target is the writer with no switch in progress, the new
	// writer's region has acknowledged a write, and the tail has passed.
	deadline := res.SentAt.Add(cfg.DatabaseSwitchTimeout())
	var lastStatus *drill.DatabaseState
	for {
		at := h.now().UTC()
		look, err := Describe(ctx, api, cfg.GlobalCluster)
		if err != nil {
			var tr *drill.Transient
			if !errors.As(err, &tr) {
				return res, err
			}
			log.Warn("describe failed, looking again", "error", err)
		} else {
			st := drill.DatabaseState{Status: look.Status, At: drill.Seconds(at.Sub(res.SentAt)), Writer: RegionOf(look.Writer())}
			if lastStatus == nil || lastStatus.Status != st.Status || lastStatus.Writer != st.Writer {
				// At most drill.MaxDatabaseStates: past it the last one is the latest seen.
				if len(res.States) < drill.MaxDatabaseStates {
					res.States = append(res.States, st)
				} else {
					res.States[len(res.States)-1] = st
				}
				lastStatus = &res.States[len(res.States)-1]
			}
			if res.DoneAt == nil && look.Writer() == target && look.Status == "" {
				res.DoneAt = &at
				res.SwitchSeconds = ptr(drill.Seconds(at.Sub(res.SentAt)))
				log.Info("switch done", "seconds", *res.SwitchSeconds)
				if in.Mode == drill.DatabaseOver {
					if err := h.mark(ctx, in.ID(), func(d *drill.DatabaseTicket) { d.SwitchDoneAt = &at }); err != nil {
						return res, err
					}
				}
			} else if res.DoneAt == nil {
				res.SwitchMinSeconds = ptr(drill.Seconds(at.Sub(res.SentAt)))
			}
		}
		if res.DoneAt != nil && w.acked(to, *res.DoneAt) && at.Sub(*res.DoneAt) >= h.tail() {
			break
		}
		if at.After(deadline) {
			res.TimedOut = true
			break
		}
		if err := h.sleep(ctx, h.pollEvery()); err != nil {
			return res, err
		}
	}
	stop()
	writes, reads := w.samples()
	res.Writes, res.Reads = figures(writes, reads, from, to, cfg.SecondaryRegion, res.SentAt, res.DoneAt, cfg.DatabaseWriteInterval())
	key, perr := h.Ledger.PutWrites(ctx, drill.WriteLog{Execution: in.Execution, ExecutionStartTime: in.StartTime, Mode: in.Mode, Writes: writes, Reads: reads})
	res.Writes.SamplesKey = key
	if perr != nil {
		res.Writes.SamplesKey, res.Writes.SamplesError = "", perr.Error()
	}
	if res.TimedOut {
		res.Timing = drill.Timing{StartedAt: started, FinishedAt: h.now().UTC()}
		return res, &drill.DatabaseSwitchTimeout{Msg: fmt.Sprintf("global cluster %s: %s was not the writer with the switch over within %d s (last seen: writer %s, switch %s)",
			cfg.GlobalCluster, to, cfg.DatabaseSwitchTimeoutSeconds, lastWriter(res.States), lastState(res.States))}
	}

	// Lost writes: every acknowledged sign-up (the over mode's too, in the back mode)
	// must be there through the new writer's region.
	emails := ackedEmails(writes)
	if in.Mode == drill.DatabaseBack {
		// The over mode read its own writes back already; reading them again through the
		// original writer's region is a second check, not a condition: a log that cannot
		// be read (never written, or no access) is said, not fatal.
		over, err := h.Ledger.Writes(ctx, in.Execution, in.StartTime, drill.DatabaseOver)
		switch {
		case err != nil:
			res.ReadBack.Note = "the over switch's writes were not read back again: " + err.Error()
		case over == nil:
			res.ReadBack.Note = "the over switch's writes were not read back again: its log is not in the ledger"
		default:
			emails = append(ackedEmails(over.Writes), emails...)
		}
	}
	host := in.SecondaryAPI
	if to == cfg.PrimaryRegion {
		host = in.PrimaryAPI
	}
	missing, err := readBack(ctx, h.Shop, host, emails, h.sleep)
	if err != nil {
		return res, err
	}
	res.ReadBack.Region, res.ReadBack.Checked, res.ReadBack.Lost = to, len(emails), len(missing)
	res.ReadBack.Missing = missing[:min(len(missing), drill.MaxMissingNamed)]
	if in.Mode == drill.DatabaseBack {
		now := h.now().UTC()
		if err := h.mark(ctx, in.ID(), func(d *drill.DatabaseTicket) { d.RestoredAt = &now }); err != nil {
			return res, err
		}
	}
	res.Timing = drill.Timing{StartedAt: started, FinishedAt: h.now().UTC()}
	log.Info("database switch measured", "switchSeconds", res.SwitchSeconds, "outageSeconds", res.Writes.OutageSeconds, "acknowledged", len(emails), "missing", len(missing))
	return res, nil
}

// record writes the run's database record into the run ticket and the lock, while
// the run is held: the first time the writer (from look) and the target; with send,
// the moment the mode's switch is about to be sent. A run restore has begun on (not
// held) gets RunClosed: nothing is sent after restore began.
func (h *Handler) record(ctx context.Context, in drill.DatabaseInput, cfg drill.Config, look Look, send bool) (drill.Ticket, error) {
	for range recordAttempts {
		run, etag, err := h.Ledger.RunTicketVersion(ctx, in.ID())
		if err != nil {
			return drill.Ticket{}, err
		}
		if run == nil || run.Status != drill.TicketHeld || run.DryRun {
			status := "without a ticket"
			if run != nil {
				status = run.Status
			}
			return drill.Ticket{}, &drill.RunClosed{Execution: in.Execution, Status: status}
		}
		changed := false
		if run.Database == nil {
			d, err := newRecord(cfg, look)
			if err != nil {
				return drill.Ticket{}, err
			}
			run.Database, changed = &d, true
		} else if run.Database.GlobalCluster != cfg.GlobalCluster {
			return drill.Ticket{}, &drill.InvalidInput{Problems: []string{fmt.Sprintf("config.globalCluster: %q, but the run recorded %q", cfg.GlobalCluster, run.Database.GlobalCluster)}}
		}
		if send {
			now := h.now().UTC()
			if in.Mode == drill.DatabaseOver {
				run.Database.SwitchSentAt = &now
			} else {
				run.Database.BackSentAt = &now
			}
			changed = true
		}
		if !changed {
			return *run, nil
		}
		if _, err := h.Ledger.ReplaceRunTicket(ctx, *run, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return drill.Ticket{}, err
		}
		if err := h.copyToLock(ctx, *run); err != nil {
			return drill.Ticket{}, err
		}
		return *run, nil
	}
	return drill.Ticket{}, &drill.Transient{Msg: fmt.Sprintf("database record %s: run ticket kept changing", in.Execution)}
}

// newRecord is the run's record of the global database as look found it, which must
// be the healthy starting point: one writer, in the primary region, a member in the
// secondary region, no switch in progress.
func newRecord(cfg drill.Config, look Look) (drill.DatabaseTicket, error) {
	w, target := look.Writer(), look.Member(cfg.SecondaryRegion)
	switch {
	case w == "":
		return drill.DatabaseTicket{}, fmt.Errorf("global cluster %s has %d writers, want exactly 1", cfg.GlobalCluster, len(look.Writers))
	case RegionOf(w) != cfg.PrimaryRegion:
		return drill.DatabaseTicket{}, fmt.Errorf("global cluster %s: the writer %s is not in primaryRegion %s", cfg.GlobalCluster, w, cfg.PrimaryRegion)
	case target == "":
		return drill.DatabaseTicket{}, fmt.Errorf("global cluster %s has no member in secondaryRegion %s", cfg.GlobalCluster, cfg.SecondaryRegion)
	case look.Status != "":
		return drill.DatabaseTicket{}, fmt.Errorf("global cluster %s: a switch is in progress (%s from %s to %s)", cfg.GlobalCluster, look.Status, look.From, look.To)
	}
	return drill.DatabaseTicket{GlobalCluster: cfg.GlobalCluster, PriorWriter: w, PriorRegion: cfg.PrimaryRegion, Target: target, TargetRegion: cfg.SecondaryRegion}, nil
}

// copyToLock puts run's database record into the lock, which the run holds.
func (h *Handler) copyToLock(ctx context.Context, run drill.Ticket) error {
	for range recordAttempts {
		lock, etag, err := h.Ledger.LockVersion(ctx, run.Bucket)
		if err != nil {
			return err
		}
		if lock == nil || lock.Execution != run.Execution || !lock.StartTime.Equal(run.StartTime) {
			return fmt.Errorf("database record %s: the lock on %s is not this run's", run.Execution, run.Bucket)
		}
		lock.Database = run.Database
		if _, err := h.Ledger.ReplaceLock(ctx, *lock, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return &drill.Transient{Msg: fmt.Sprintf("database record %s: lock kept changing", run.Execution)}
}

// mark records what a mode saw in the run ticket's database record, while the run is
// held (once restore has begun, it records its own looks).
func (h *Handler) mark(ctx context.Context, id drill.RunID, set func(*drill.DatabaseTicket)) error {
	for range recordAttempts {
		run, etag, err := h.Ledger.RunTicketVersion(ctx, id)
		if err != nil {
			return err
		}
		if run == nil || run.Database == nil || run.Status != drill.TicketHeld {
			return nil
		}
		set(run.Database)
		if _, err := h.Ledger.ReplaceRunTicket(ctx, *run, etag); errors.Is(err, ledger.ErrChanged) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return &drill.Transient{Msg: "database record: run ticket kept changing"}
}

// emailPrefix numbers nothing yet: the run and the mode, so two runs' or two modes'
// users never collide, and a reader can tell which run wrote a user.
func emailPrefix(id drill.RunID, mode string) string {
	sum := sha256.Sum256([]byte(id.Execution + "|" + id.StartTime.String()))
	return "drill-db-" + hex.EncodeToString(sum[:4]) + "-" + mode
}

func lastWriter(states []drill.DatabaseState) string {
	if len(states) == 0 {
		return "unknown"
	}
	return states[len(states)-1].Writer
}

func lastState(states []drill.DatabaseState) string {
	if len(states) == 0 || states[len(states)-1].Status == "" {
		return "none"
	}
	return states[len(states)-1].Status
}

func (h *Handler) pollEvery() time.Duration { return orDefault(h.PollEvery, DefaultPollEvery) }
func (h *Handler) tail() time.Duration      { return orDefault(h.Tail, DefaultTail) }
func (h *Handler) now() time.Time           { return nowOf(h.Now) }
func (h *Handler) log() *slog.Logger        { return logOf(h.Log) }
func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	return sleepOf(h.Sleep)(ctx, d)
}

// The Handler's and PutBack's optional fields and their defaults.

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func nowOf(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

func logOf(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

func sleepOf(sleep func(context.Context, time.Duration) error) func(context.Context, time.Duration) error {
	if sleep != nil {
		return sleep
	}
	return clock.Sleep
}
