package cloudfront

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
)

// Fleet is several edge servers behind one distribution address, sharing no state:
// each request reaches one of them at random, as a visitor's requests reach different
// servers of an edge location (and, across visitors, different locations).
type Fleet struct {
	edges []*Edge
}

// NewFleet starts n edges (n >= 1) with opt; edge i names itself LOCAL<i+1>-SANDBOX.
func NewFleet(opt Options, n int) *Fleet {
	f := &Fleet{}
	for i := range max(n, 1) {
		o := opt
		o.Pop = fmt.Sprintf("LOCAL%d-SANDBOX", i+1)
		f.edges = append(f.edges, NewEdge(o))
	}
	return f
}

// Edges are the fleet's servers.
func (f *Fleet) Edges() []*Edge { return slices.Clone(f.edges) }

// ServeHTTP hands the request to one edge server, at random.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.edges[rand.IntN(len(f.edges))].ServeHTTP(w, r)
}

// Log merges every edge server's log, oldest first.
func (f *Fleet) Log() []Record {
	var all []Record
	for _, e := range f.edges {
		all = append(all, e.Log()...)
	}
	slices.SortStableFunc(all, func(a, b Record) int { return a.At.Compare(b.At) })
	return all
}

// Dials is how many connection attempts the fleet made to addr.
func (f *Fleet) Dials(addr string) int {
	n := 0
	for _, e := range f.edges {
		n += e.Dials(addr)
	}
	return n
}

// Control is the distribution's control API: every server shares the configuration
// it describes (their options differ only in the name they give themselves).
func (f *Fleet) Control(d Description) http.Handler { return f.edges[0].Control(d) }

// Close drops every server's idle origin connections.
func (f *Fleet) Close() {
	for _, e := range f.edges {
		e.Close()
	}
}
