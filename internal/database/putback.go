package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// PutBack is restore's part for the database: it makes the writer the run recorded
// the writer again, or says why it cannot.
type PutBack struct {
	RDS func(region string) API
	// PollEvery is how often a switch in progress is looked at (0: DefaultPollEvery).
	PollEvery time.Duration
	Log       *slog.Logger
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error
}

// Outcome is what PutBack found and did.
type Outcome struct {
	// Writer is the writer's region at the last look; Back: it is the recorded one,
	// with no switch in progress, at a look made once no switch of the run could
	// start any more.
	Writer string
	Back   bool
	// SentBack: this call sent a switch back (recorded first with sent).
	SentBack bool
	// Waited is how long it waited for switches in progress, or for the moment after
	// which no switch of the run can start.
	Waited time.Duration
}

// resend is how long after a switch back was sent another may be sent, when the
// looks still find the run's target the writer and nothing in progress (RDS shows a
// switch it accepted within seconds).
const resend = 30 * time.Second

// Restore puts d's writer back. notBefore is the last moment a switch the run sent
// can start (its SwitchSentAt plus Settle): a look before it that finds the recorded
// writer does not count, since the run's switch may still start; Restore waits for it.
// sent is called, and must succeed, before each switch back is sent: it records
// BackSentAt in the run ticket. Restore returns within budget:
//
//   - no switch of the run sent, and the writer is the recorded one: Back, nothing done;
//   - a switch in progress: waits for it to end, then looks again;
//   - the run's target is the writer (and the run sent a switch): sends a switch back
//     and waits for it;
//   - the writer is anywhere the run never sent it: *drill.DatabaseChangedDuringDrill,
//     nothing undone;
//   - budget spent first: *drill.DatabaseSwitching (the lock stays; the next
//     restore finishes).
func (p *PutBack) Restore(ctx context.Context, d drill.DatabaseTicket, notBefore time.Time, budget time.Duration, sent func(at time.Time) error) (Outcome, error) {
	start := p.now()
	deadline := start.Add(budget)
	api := p.RDS(d.TargetRegion)
	log := p.log().With("globalCluster", d.GlobalCluster, "priorWriter", d.PriorWriter)
	var out Outcome
	var look Look
	for {
		var err error
		look, err = Describe(ctx, api, d.GlobalCluster)
		var tr *drill.Transient
		switch {
		case errors.As(err, &tr):
			log.Warn("describe failed, looking again", "error", err)
		case err != nil:
			return out, err
		default:
			out.Writer = RegionOf(look.Writer())
			done, err := p.step(ctx, log, d, look, notBefore, &out, sent)
			if err != nil || done {
				out.Waited = p.now().Sub(start)
				return out, err
			}
		}
		if !p.now().Add(p.pollEvery()).Before(deadline) {
			break
		}
		if err := p.sleep(ctx, p.pollEvery()); err != nil {
			return out, err
		}
	}
	out.Waited = p.now().Sub(start)
	return out, &drill.DatabaseSwitching{GlobalCluster: d.GlobalCluster, Status: look.Status, Writer: RegionOf(look.Writer()), Want: d.PriorRegion}
}

// step decides on one look: done, or look again after a pause.
func (p *PutBack) step(ctx context.Context, log *slog.Logger, d drill.DatabaseTicket, look Look, notBefore time.Time, out *Outcome, sent func(time.Time) error) (bool, error) {
	writer := look.Writer()
	switch {
	case look.Status != "":
		log.Info("a switch is in progress: waiting for it to end", "status", look.Status, "from", look.From, "to", look.To)
		return false, nil
	case writer == d.PriorWriter && d.Switched() && p.now().Before(notBefore):
		log.Info("the recorded writer is the writer, but a switch of the run may still start: looking again after", "notBefore", notBefore)
		return false, nil
	case writer == d.PriorWriter:
		out.Back = true
		return true, nil
	case writer == d.Target && d.Switched():
		if d.BackSentAt != nil && p.now().Sub(*d.BackSentAt) < resend {
			return false, nil // the switch back was just sent: RDS shows it shortly
		}
		now := p.now().UTC()
		if err := sent(now); err != nil {
			return false, err
		}
		d.BackSentAt = &now
		if err := Switchover(ctx, p.RDS(d.TargetRegion), d.GlobalCluster, d.PriorWriter); err != nil && !errors.Is(err, errInProgress) {
			return false, err
		}
		out.SentBack = true
		log.Warn("switched the global database back to the recorded writer", "from", writer)
		return false, nil
	}
	return true, &drill.DatabaseChangedDuringDrill{GlobalCluster: d.GlobalCluster, Prior: d.PriorWriter, Found: orUnknown(writer)}
}

func orUnknown(s string) string {
	if s == "" {
		return "no single writer"
	}
	return s
}

func (p *PutBack) pollEvery() time.Duration { return orDefault(p.PollEvery, DefaultPollEvery) }
func (p *PutBack) now() time.Time           { return nowOf(p.Now) }
func (p *PutBack) log() *slog.Logger        { return logOf(p.Log) }
func (p *PutBack) sleep(ctx context.Context, d time.Duration) error {
	return sleepOf(p.Sleep)(ctx, d)
}

// String says what an outcome is, for logs and the operator.
func (o Outcome) String() string {
	if o.Back {
		return fmt.Sprintf("writer back in %s", o.Writer)
	}
	return fmt.Sprintf("writer in %s", o.Writer)
}
