package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// sampler sends requests on a fixed tick grid without waiting for earlier answers (open
// loop): a slow origin makes answers late, never requests. Each answer is recorded, and
// handed to onAnswer, the moment it arrives.
type sampler struct {
	h           *Handler
	client      *http.Client
	base        string
	every       time.Duration // config.json
	page        time.Duration // the page
	next        atomic.Int64  // the config.json interval from the next tick on (setEvery)
	timeout     time.Duration // per request
	maxInFlight int

	ctx    context.Context // cancelled by stop: what is in flight then ends Unanswered
	cancel context.CancelFunc
	ticks  sync.WaitGroup
	reqs   sync.WaitGroup

	mu       sync.Mutex
	samples  []drill.Sample // in the order answers arrived
	inFlight map[int]time.Time
	nextID   int
	skipped  int
	host     string // API host named by the latest config.json from the wanted region
	want     string
	onAnswer func(s drill.Sample) // called with mu held
}

func newSampler(h *Handler, base, want string, every, page time.Duration, timeout time.Duration) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{
		h: h, client: h.samplingClient(), base: base, want: want, every: every, page: max(page, every),
		timeout: timeout, maxInFlight: MaxInFlight, ctx: ctx, cancel: cancel, inFlight: map[int]time.Time{},
	}
	s.next.Store(int64(every))
	return s
}

// setEvery changes the config.json interval from the next tick on (the stability
// decision's confirming rate); the page keeps its own.
func (s *sampler) setEvery(d time.Duration) { s.next.Store(int64(d)) }

// start ticks from start + a random phase of one interval, so the grid has no fixed
// relation to the moment the fault was applied, until stop. Each tick is one interval
// (setEvery) after the one before; the page goes with the first config.json due at or
// after its own interval.
func (s *sampler) start(start time.Time) {
	phase := time.Duration(rand.Int64N(int64(s.every)))
	s.ticks.Add(1)
	go func() {
		defer s.ticks.Done()
		due := start.Add(phase)
		pageDue := due
		for {
			if err := s.h.sleep(s.ctx, due.Sub(s.h.now())); err != nil || s.ctx.Err() != nil {
				return
			}
			every := time.Duration(s.next.Load())
			if late := s.h.now().Sub(due); late >= every {
				// The probe itself fell behind (a paused Lambda, a starved CPU): skip the
				// missed slots rather than burst; they are counted, not hidden.
				missed := int(late / every)
				s.mu.Lock()
				s.skipped += missed
				s.mu.Unlock()
				due = due.Add(time.Duration(missed) * every)
			}
			s.send(PathConfig)
			if !due.Before(pageDue) {
				s.send(PathIndex)
				for !due.Before(pageDue) {
					pageDue = pageDue.Add(s.page)
				}
			}
			due = due.Add(every)
		}
	}()
}

// send starts one request unless MaxInFlight are unanswered.
func (s *sampler) send(path string) {
	s.mu.Lock()
	if len(s.inFlight) >= s.maxInFlight {
		s.skipped++
		s.mu.Unlock()
		return
	}
	id := s.nextID
	s.nextID++
	sent := s.h.now()
	s.inFlight[id] = sent
	s.mu.Unlock()
	s.reqs.Add(1)
	go func() {
		defer s.reqs.Done()
		smp, host := s.fetch(path, sent)
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.inFlight, id)
		if !smp.Unanswered {
			smp.At = s.h.now() // stamped under the lock: arrival order is At order
		}
		s.samples = append(s.samples, smp)
		if host != "" && smp.Region == s.want {
			s.host = host
		}
		if s.onAnswer != nil && !smp.Unanswered {
			s.onAnswer(smp)
		}
	}()
}

// fetch makes one cache-busted GET, as a visitor's browser would, and never retries:
// a failure is what a visitor would have seen.
func (s *sampler) fetch(path string, sent time.Time) (drill.Sample, string) {
	smp := drill.Sample{SentAt: sent, Path: path}
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path+"?drill-probe="+shop.Nonce(), nil)
	if err != nil {
		smp.Error = err.Error()
		return smp, ""
	}
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", s.h.userAgent())
	resp, err := s.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		smp.Cache = resp.Header.Get("X-Cache")
		smp.Pop = resp.Header.Get("X-Amz-Cf-Pop")
		if err != nil {
			err = errors.New("reading the body: " + err.Error())
		} else {
			smp.Status = resp.StatusCode
		}
	}
	switch {
	case err == nil:
	case s.ctx.Err() != nil:
		// The probe stopped (its deadline, or done): the request has no outcome.
		smp.Unanswered, smp.At = true, s.h.now()
		return smp, ""
	case ctx.Err() != nil:
		smp.Status, smp.Error = 0, drill.ErrTimeout
		return smp, ""
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		smp.Status, smp.Error = 0, err.Error()
		return smp, ""
	}
	var site shop.SiteConfig
	if path == PathConfig && smp.OK() && json.Unmarshal(body, &site) == nil {
		smp.Region = site.Region
		return smp, strings.TrimRight(strings.TrimSpace(site.Host), "/")
	}
	return smp, ""
}

// stop ends ticking and gives up on every request in flight (recorded Unanswered).
func (s *sampler) stop() {
	s.cancel()
	s.ticks.Wait()
	s.reqs.Wait()
}

// oldestInFlight is the send time of the oldest unanswered request (zero: none).
// Call with mu held.
func (s *sampler) oldestInFlight() time.Time {
	var oldest time.Time
	for _, t := range s.inFlight {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest
}

// snapshot copies what was recorded.
func (s *sampler) snapshot() ([]drill.Sample, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]drill.Sample(nil), s.samples...), s.skipped, s.host
}
