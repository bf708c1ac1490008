package cloudfront

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// originResult is what the attempts at one origin produced.
type originResult struct {
	status  int // 0 when no response
	header  http.Header
	body    []byte
	outcome string // status as text, "unreachable", "timeout" or "error"
}

// completionClock is the response completion timeout's deadline, set when the first
// request reaches the origin (from the transport's goroutine, hence the lock).
type completionClock struct {
	limit    time.Duration
	mu       sync.Mutex
	deadline time.Time
}

// wait is how long the next response wait may last: ResponseTimeout, or less when the
// completion deadline comes first; starting the clock if it has not started.
func (c *completionClock) wait(responseTimeout time.Duration) time.Duration {
	if c.limit <= 0 {
		return responseTimeout
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.limit)
	}
	return max(min(responseTimeout, time.Until(c.deadline)), 0)
}

// expired: the completion deadline has passed.
func (c *completionClock) expired() bool {
	if c.limit <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.deadline.IsZero() && !time.Now().Before(c.deadline)
}

// fetchOrigin makes the edge's attempts at one origin: up to ConnectAttempts, each a
// connection and a response; a connection that fails or (GET, HEAD) a response that
// times out moves on to the next attempt. tried gets "<origin>:timeout" for every
// response that timed out and the final outcome.
func (e *Edge) fetchOrigin(r *http.Request, name, base string, body func() io.Reader, tried *[]string) originResult {
	retry := r.Method == http.MethodGet || r.Method == http.MethodHead
	clock := &completionClock{limit: e.opt.ResponseCompletionTimeout}
	var res originResult
	for i := 1; i <= max(e.opt.ConnectAttempts, 1); i++ {
		res = e.attempt(r, base, body(), clock)
		last := i == max(e.opt.ConnectAttempts, 1) || r.Context().Err() != nil
		switch {
		case res.outcome == "unreachable" && !last:
			continue
		case res.outcome == "timeout" && retry && !last && !clock.expired():
			*tried = append(*tried, name+":timeout")
			continue
		}
		break
	}
	*tried = append(*tried, name+":"+res.outcome)
	return res
}

// attempt is one connection to the origin and, once connected, one request: the wait
// for the headers and then for the body each bounded by the response timeout (or what
// is left of the completion timeout).
func (e *Edge) attempt(r *http.Request, base string, body io.Reader, clock *completionClock) originResult {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var timedOut atomic.Bool
	var mu sync.Mutex
	var timer *time.Timer
	arm := func() { // the response clock runs from the request written to the origin
		mu.Lock()
		defer mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		timer = time.AfterFunc(clock.wait(e.opt.ResponseTimeout), func() { timedOut.Store(true); cancel() })
	}
	disarm := func() {
		mu.Lock()
		defer mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
	}
	defer disarm()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { arm() }})
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.URL.RequestURI(), body)
	if err != nil {
		return originResult{outcome: "error"}
	}
	for k, v := range r.Header {
		req.Header[k] = slices.Clone(v)
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.Header.Set("Via", "1.1 sandbox.cloudfront.net (CloudFront)")
	req.Header.Set("X-Amz-Cf-Id", newID())

	res, err := e.transport.RoundTrip(req)
	if err != nil {
		var ce *connectError
		switch {
		case errors.As(err, &ce):
			return originResult{outcome: "unreachable"}
		case timedOut.Load() || isTimeout(err):
			return originResult{outcome: "timeout"}
		}
		return originResult{outcome: "error"}
	}
	defer res.Body.Close()
	arm() // the body has its own response timeout
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	disarm()
	if err != nil {
		if timedOut.Load() {
			return originResult{outcome: "timeout"}
		}
		return originResult{outcome: "error"}
	}
	return originResult{status: res.StatusCode, header: res.Header, body: data, outcome: strconv.Itoa(res.StatusCode)}
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		// ResponseHeaderTimeout's error is not exported.
		bytes.Contains([]byte(err.Error()), []byte("timeout awaiting response headers"))
}
