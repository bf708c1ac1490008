package database

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// ShopAPI is the part of the shop client the stage uses: the users' write path
// (sign-up) and read path (log in).
type ShopAPI interface {
	SignUp(ctx context.Context, host string, u shop.User) (shop.User, error)
	Login(ctx context.Context, host, email string) (shop.User, error)
}

// writer signs up numbered synthetic users through each region's API every interval,
// and logs the seeded user in through the read region's API, without waiting for
// answers (a slow answer must not slow the cadence). Every attempt is kept.
type writer struct {
	shop     ShopAPI
	hosts    map[string]string // region → API host
	regions  []string          // where it writes, in order
	read     string            // the region whose log-ins are measured
	seed     string            // the user the reads log in
	prefix   string            // email local part before the number
	interval time.Duration
	now      func() time.Time

	mu     sync.Mutex
	writes []drill.WriteSample
	reads  []drill.WriteSample
	n      int
	wg     sync.WaitGroup
}

// run writes until ctx is done, then waits for the answers in flight (each bounded
// by the shop client's timeout).
func (w *writer) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			w.wg.Wait()
			return
		case <-t.C:
		}
	}
}

func (w *writer) tick(ctx context.Context) {
	// Answers in flight finish even after ctx is done: an acknowledged write must be
	// counted, or a lost-write check would miss it.
	actx := context.WithoutCancel(ctx)
	w.mu.Lock()
	w.n++
	n := w.n
	w.mu.Unlock()
	for _, region := range w.regions {
		email := fmt.Sprintf("%s-%s-%05d@%s", w.prefix, region, n, drill.SyntheticDomain)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			s := drill.WriteSample{Region: region, N: n, Email: email, SentAt: w.now().UTC()}
			_, err := w.shop.SignUp(actx, w.hosts[region], shop.User{Email: email, FirstName: "Drill", LastName: "Database"})
			s.At, s.OK = w.now().UTC(), err == nil
			if err != nil {
				s.Error = errorKind(err)
			}
			w.mu.Lock()
			w.writes = append(w.writes, s)
			w.mu.Unlock()
		}()
	}
	if w.seed != "" {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			s := drill.WriteSample{Region: w.read, N: n, Email: w.seed, SentAt: w.now().UTC()}
			_, err := w.shop.Login(actx, w.hosts[w.read], w.seed)
			s.At, s.OK = w.now().UTC(), err == nil
			if err != nil {
				s.Error = errorKind(err)
			}
			w.mu.Lock()
			w.reads = append(w.reads, s)
			w.mu.Unlock()
		}()
	}
}

// samples are the writes and reads so far, each in send order.
func (w *writer) samples() (writes, reads []drill.WriteSample) {
	w.mu.Lock()
	defer w.mu.Unlock()
	writes, reads = append([]drill.WriteSample(nil), w.writes...), append([]drill.WriteSample(nil), w.reads...)
	for _, s := range [][]drill.WriteSample{writes, reads} {
		sort.SliceStable(s, func(i, j int) bool { return s[i].SentAt.Before(s[j].SentAt) })
	}
	return writes, reads
}

// acked reports whether region's API has acknowledged a write sent at or after t.
func (w *writer) acked(region string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.writes {
		if s.Region == region && s.OK && !s.SentAt.Before(t) {
			return true
		}
	}
	return false
}

// errorKind names a refusal by what the database or the shop said: MySQL's error
// number when the message carries one, else the HTTP status, else the error.
func errorKind(err error) string {
	msg := err.Error()
	for _, k := range []struct{ code, name string }{
		{"ERROR 1290", "1290 read-only"}, {"ERROR 2003", "2003 cannot connect"}, {"ERROR 1062", "1062 duplicate"},
	} {
		if strings.Contains(msg, k.code) {
			return k.name
		}
	}
	if st := shop.StatusOf(err); st != 0 {
		return fmt.Sprintf("HTTP %d", st)
	}
	var tr *drill.Transient
	if errors.As(err, &tr) {
		return "transient: " + truncate(tr.Msg, 80)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return truncate(msg, 80)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// figures are the writes' and reads' figures of a switch from → to sent at sentAt
// and seen done at doneAt (nil: never). The write outage runs from the last write
// From acknowledged before its first refusal after sentAt, to the first write To
// acknowledged after its own first refusal after sentAt: so a region whose client
// reached the old writer through the global endpoint before the switch (both regions
// acknowledging) is measured from when that stopped.
func figures(writes, reads []drill.WriteSample, from, to, read string, sentAt time.Time, doneAt *time.Time, interval time.Duration) (drill.WriteFigures, drill.ReadFigures) {
	secs := func(t time.Time) *float64 { v := drill.Seconds(t.Sub(sentAt)); return &v }
	f := drill.WriteFigures{IntervalMs: int(interval / time.Millisecond), Sent: map[string]int{}, Acknowledged: map[string]int{}, Errors: map[string]int{}}
	for _, s := range writes {
		f.Sent[s.Region]++
		if s.OK {
			f.Acknowledged[s.Region]++
			continue
		}
		f.Errors[s.Error]++
		if doneAt != nil && s.SentAt.After(*doneAt) && s.Error == "1290 read-only" {
			f.StaleWrites++
		}
	}
	if len(f.Errors) == 0 {
		f.Errors = nil
	}
	fromRefused := firstRefusal(writes, from, sentAt)
	var lastFrom *drill.WriteSample
	for i := range writes {
		s := &writes[i]
		if s.Region == from && s.OK && (fromRefused == nil || s.SentAt.Before(fromRefused.SentAt)) && (lastFrom == nil || s.SentAt.After(lastFrom.SentAt)) {
			lastFrom = s
		}
	}
	toRefused := firstRefusal(writes, to, sentAt)
	var firstTo *drill.WriteSample
	for i := range writes {
		s := &writes[i]
		after := sentAt
		if toRefused != nil {
			after = toRefused.SentAt
		}
		if s.Region == to && s.OK && s.SentAt.After(after) && (firstTo == nil || s.SentAt.Before(firstTo.SentAt)) {
			firstTo = s
		}
	}
	if lastFrom != nil {
		f.LastFromAck = secs(lastFrom.SentAt)
	}
	if firstTo != nil {
		f.FirstToAck = secs(firstTo.At)
	}
	if lastFrom != nil && firstTo != nil {
		// From stopped accepting between the last write it acknowledged (at its send at
		// the earliest) and the answer to its first refusal; To started between the send
		// of the last write it refused before firstTo and firstTo's answer.
		stopLo, stopHi := lastFrom.SentAt, lastFrom.At
		if fromRefused != nil {
			stopHi = fromRefused.At
		}
		startLo, startHi := prevSend(writes, to, firstTo.SentAt), firstTo.At
		lo, hi := max(startLo.Sub(stopHi), 0), max(startHi.Sub(stopLo), 0)
		mid := (lo + hi) / 2
		f.OutageSeconds, f.OutageMin, f.OutageMax = ptr(drill.Seconds(mid)), ptr(drill.Seconds(lo)), ptr(drill.Seconds(hi))
	}
	r := drill.ReadFigures{Region: read}
	var failedSince *time.Time
	for i := range reads {
		s := reads[i]
		r.Sent++
		if s.OK {
			r.OK++
			failedSince = nil
			continue
		}
		if failedSince == nil {
			failedSince = &s.SentAt
		}
		r.LongestFailedSeconds = max(r.LongestFailedSeconds, drill.Seconds(s.At.Sub(*failedSince)))
	}
	return f, r
}

// firstRefusal is region's first refused write sent at or after t, nil if none.
func firstRefusal(writes []drill.WriteSample, region string, t time.Time) *drill.WriteSample {
	var first *drill.WriteSample
	for i := range writes {
		s := &writes[i]
		if s.Region == region && !s.OK && !s.SentAt.Before(t) && (first == nil || s.SentAt.Before(first.SentAt)) {
			first = s
		}
	}
	return first
}

// prevSend is the send time of region's last refused write sent before t (t itself
// when there is none).
func prevSend(writes []drill.WriteSample, region string, t time.Time) time.Time {
	best := t
	for _, s := range writes {
		if s.Region == region && !s.OK && s.SentAt.Before(t) && (best.Equal(t) || s.SentAt.After(best)) {
			best = s.SentAt
		}
	}
	return best
}

func ptr[T any](v T) *T { return &v }

// readBack logs every acknowledged write's user in through host and returns the
// emails not found: lost writes. A log-in that fails for another reason than "not
// found" (400) is tried again, so an outage of the read path is not counted as loss.
func readBack(ctx context.Context, api ShopAPI, host string, emails []string, sleep func(context.Context, time.Duration) error) (missing []string, err error) {
	for _, email := range emails {
		var lerr error
		for attempt := range 3 {
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(attempt)*500*time.Millisecond); err != nil {
					return missing, err
				}
			}
			if _, lerr = api.Login(ctx, host, email); lerr == nil || shop.StatusOf(lerr) == 400 {
				break
			}
		}
		switch {
		case lerr == nil:
		case shop.StatusOf(lerr) == 400:
			missing = append(missing, email)
		default:
			return missing, fmt.Errorf("read back %s through %s: %w", email, host, lerr)
		}
	}
	return missing, nil
}

// ackedEmails are the acknowledged writes' emails.
func ackedEmails(writes []drill.WriteSample) []string {
	var out []string
	for _, s := range writes {
		if s.OK {
			out = append(out, s.Email)
		}
	}
	return out
}
