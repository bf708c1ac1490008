// Package loopback runs the sandbox's HTTP listeners on 127.0.0.1: each can be taken
// down (its port refuses connections) and brought back on the same address, which is
// how the sandbox models an origin that is unreachable.
package loopback

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is one loopback HTTP listener.
type Server struct {
	handler http.Handler
	addr    string

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener // closed directly: Server.Close misses a listener Serve has not registered yet
	closed bool
}

// Start listens on 127.0.0.1:0 and serves h.
func Start(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sv := &Server{handler: h, addr: ln.Addr().String()}
	sv.serve(ln)
	return sv, nil
}

// Addr is "127.0.0.1:port".
func (sv *Server) Addr() string { return sv.addr }

// URL is "http://127.0.0.1:port", without a trailing slash.
func (sv *Server) URL() string { return "http://" + sv.addr }

func (sv *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: sv.handler, ReadHeaderTimeout: 10 * time.Second}
	sv.srv, sv.ln = srv, ln
	go func() { _ = srv.Serve(ln) }()
}

// Down closes the listener and every open connection.
func (sv *Server) Down() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.srv != nil {
		_ = sv.srv.Close()
		_ = sv.ln.Close() // already closed, unless Serve had not registered it yet
		sv.srv, sv.ln = nil, nil
	}
}

// Up listens again on the same address; a no-op when up or closed.
func (sv *Server) Up() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.srv != nil || sv.closed {
		return nil
	}
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after close
		if ln, err = net.Listen("tcp", sv.addr); err == nil {
			sv.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops the server for good.
func (sv *Server) Close() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.closed = true
	if sv.srv == nil {
		return nil
	}
	err := sv.srv.Close()
	_ = sv.ln.Close() // already closed, unless Serve had not registered it yet
	sv.srv, sv.ln = nil, nil
	return err
}

// StatusRecorder remembers the status a handler wrote, for the stand-ins' request logs.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
