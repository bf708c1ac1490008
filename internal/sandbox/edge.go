package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// hopHeaders are not forwarded either way.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host"}

// connectError is an origin the stand-in could not connect to after every attempt.
type connectError struct {
	addr     string
	attempts int
	err      error
}

func (e *connectError) Error() string {
	return fmt.Sprintf("origin %s: no connection after %d attempts: %v", e.addr, e.attempts, e.err)
}

func (e *connectError) Unwrap() error { return e.err }

// newOriginTransport is the stand-in's own transport: each connection attempt is
// bounded by OriginConnectTimeout and made OriginConnectAttempts times; no keep-alive,
// so every request connects afresh (an origin taken down is noticed at once).
func (s *Sandbox) newOriginTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: s.cfg.OriginConnectTimeout}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var last error
			for i := 1; i <= s.cfg.OriginConnectAttempts; i++ {
				s.mu.Lock()
				s.dials[addr]++
				s.mu.Unlock()
				conn, err := dialer.DialContext(ctx, network, addr)
				if err == nil {
					return conn, nil
				}
				last = err
				if ctx.Err() != nil {
					break
				}
			}
			return nil, &connectError{addr: addr, attempts: s.cfg.OriginConnectAttempts, err: last}
		},
		DisableKeepAlives:     true,
		DisableCompression:    true,
		ResponseHeaderTimeout: s.cfg.OriginResponseTimeout,
	}
}

// originResult is what one origin attempt produced.
type originResult struct {
	status  int // 0 when no response
	header  http.Header
	body    []byte
	outcome string // status as text, "unreachable", "timeout" or "error"
}

// fetchOrigin sends the request to one origin and reads the whole response.
func (s *Sandbox) fetchOrigin(r *http.Request, base string, body io.Reader) originResult {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
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
	if body != nil && body == r.Body {
		req.ContentLength = r.ContentLength // streamed as received (-1: chunked)
	}
	req.Header.Set("Via", "1.1 sandbox.cloudfront.net (CloudFront)")
	req.Header.Set("X-Amz-Cf-Id", newRequestID())

	res, err := s.transport.RoundTrip(req)
	if err != nil {
		var ce *connectError
		switch {
		case errors.As(err, &ce):
			return originResult{outcome: "unreachable"}
		case isTimeout(err):
			return originResult{outcome: "timeout"}
		}
		return originResult{outcome: "error"}
	}
	defer res.Body.Close()
	var timedOut atomic.Bool
	timer := time.AfterFunc(s.cfg.OriginResponseTimeout, func() { timedOut.Store(true); cancel() })
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	timer.Stop()
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

// serveEdge is the CloudFront stand-in: one origin group, primary first; GET, HEAD and
// OPTIONS fail over to the secondary on a FailoverCodes status, on an unreachable
// origin or on a response timeout; other methods go to the primary only. Nothing is
// cached (the lab's CachingDisabled policy).
func (s *Sandbox) serveEdge(w http.ResponseWriter, r *http.Request) {
	failover := r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
	origins := []struct{ name, base string }{{"primary", s.primary.websiteURL}}
	var reqBody []byte
	if failover {
		origins = append(origins, struct{ name, base string }{"secondary", s.secondary.websiteURL})
		// Buffered so the secondary can be sent the same request.
		reqBody, _ = io.ReadAll(io.LimitReader(r.Body, maxBody))
	}
	var tried []string
	var last originResult
	for i, o := range origins {
		var body io.Reader
		if failover {
			if len(reqBody) > 0 {
				body = bytes.NewReader(reqBody)
			}
		} else {
			body = r.Body
		}
		last = s.fetchOrigin(r, o.base, body)
		tried = append(tried, o.name+":"+last.outcome)
		if last.status == 0 {
			continue
		}
		isLast := i == len(origins)-1
		if isLast || !slices.Contains(s.cfg.FailoverCodes, last.status) {
			s.writeEdge(w, r, o.name, last.status, last.header, last.body, tried)
			return
		}
	}
	status := http.StatusBadGateway
	if last.outcome == "timeout" {
		status = http.StatusGatewayTimeout
	}
	page := fmt.Sprintf("<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n"+
		"<H1>%d ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n"+
		"CloudFront attempted to establish a connection with the origin, but either the attempt failed or the origin closed the connection.\n"+
		"</BODY></HTML>\n", status)
	h := http.Header{"Content-Type": {"text/html"}}
	s.writeEdge(w, r, "", status, h, []byte(page), tried)
}

func (s *Sandbox) writeEdge(w http.ResponseWriter, r *http.Request, origin string, status int, header http.Header, body []byte, tried []string) {
	h := w.Header()
	for k, v := range header {
		h[k] = slices.Clone(v)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	if r.Method != http.MethodHead || h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if status >= 400 {
		h.Set("X-Cache", "Error from cloudfront")
	} else {
		h.Set("X-Cache", "Miss from cloudfront")
	}
	h.Set("Via", "1.1 sandbox.cloudfront.net (CloudFront)")
	h.Set("X-Amz-Cf-Pop", "LOCAL1-SANDBOX")
	h.Set("X-Amz-Cf-Id", newRequestID())

	rec := EdgeRecord{At: time.Now(), Method: r.Method, Path: r.URL.Path, Origin: origin, Status: status, Tried: tried}
	s.mu.Lock()
	s.edgeLog = append(s.edgeLog, rec)
	s.mu.Unlock()
	s.log.Debug("edge", "method", r.Method, "uri", r.URL.RequestURI(), "origin", origin, "status", status, "tried", tried)

	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
