package local

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// DefaultVisitorInterval is how often the independent visitor requests config.json.
const DefaultVisitorInterval = 10 * time.Millisecond

// visitorTimeout is the visitor's patience: CloudFront's longest default wait for the
// primary (3 attempts × (10 s connection + 30 s response)) and then some, as the
// probe's.
const visitorTimeout = 125 * time.Second

// visitor is the sandbox's truth: an independent visitor that requests config.json
// through the distribution every interval, without waiting for earlier answers, and
// notes what it got and when the answer arrived. It shares no code with the probe.
type visitor struct {
	url      string
	interval time.Duration
	client   *http.Client
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	samples []drill.Sample
}

// visit starts a visitor (interval 0: DefaultVisitorInterval; negative: none).
func (e *Env) visit(interval time.Duration) *visitor {
	if interval < 0 {
		return nil
	}
	if interval == 0 {
		interval = DefaultVisitorInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	v := &visitor{url: e.Sandbox.DistributionURL() + "/config.json", interval: interval,
		client: &http.Client{Transport: t}, ctx: ctx, cancel: cancel}
	v.wg.Add(1)
	go v.run()
	return v
}

func (v *visitor) run() {
	defer v.wg.Done()
	tick := time.NewTicker(v.interval)
	defer tick.Stop()
	for {
		v.wg.Add(1)
		go v.request()
		select {
		case <-v.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (v *visitor) request() {
	defer v.wg.Done()
	s := drill.Sample{SentAt: time.Now(), Path: "/config.json"}
	ctx, cancel := context.WithTimeout(v.ctx, visitorTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.url+"?visitor="+shop.Nonce(), nil)
	resp, err := v.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		s.Status = resp.StatusCode
		s.Pop = resp.Header.Get("X-Amz-Cf-Pop")
	}
	switch {
	case err == nil:
		var conf struct{ Region string }
		// Only a 2xx answer counts as served; an error page names no region.
		if s.Status >= 200 && s.Status < 300 && json.Unmarshal(body, &conf) == nil {
			s.Region = conf.Region
		}
	case v.ctx.Err() != nil:
		s.Unanswered = true
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.Status, s.Error = 0, drill.ErrTimeout
	default:
		s.Status, s.Error = 0, err.Error()
	}
	v.mu.Lock()
	s.At = time.Now()
	v.samples = append(v.samples, s)
	v.mu.Unlock()
}

// stop ends the visits and returns every sample, in the order answers arrived.
func (v *visitor) stop() []drill.Sample {
	if v == nil {
		return nil
	}
	v.cancel()
	v.wg.Wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.samples
}
