package probe

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

func testRecorder() *recorder { return newRecorder(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func TestRecorderCounts(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		samples     []drill.Sample
		errors      int
		hits        int
		transitions int
	}{
		{name: "healthy", errors: 0, transitions: 1, samples: []drill.Sample{
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
		}},
		{name: "transport error and 5xx are user-visible", errors: 2, transitions: 4, samples: []drill.Sample{
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
			{Path: PathConfig, Error: "connection reset by peer"},
			{Path: PathConfig, Status: 502},
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
		}},
		{name: "3xx and 4xx are user-visible, every error kept", errors: 3, transitions: 4, samples: []drill.Sample{
			{Path: PathIndex, Status: 200},
			{Path: PathIndex, Status: 403},
			{Path: PathIndex, Status: 403},
			{Path: PathIndex, Status: 304},
		}},
		{name: "cache hits counted on any path", hits: 2, transitions: 2, samples: []drill.Sample{
			{Path: PathConfig, Status: 200, Region: "us-east-1", Cache: "Hit from cloudfront"},
			{Path: PathIndex, Status: 200, Cache: "RefreshHit from cloudfront"},
			{Path: PathIndex, Status: 200, Cache: "Miss from cloudfront"},
		}},
		{name: "paths compared with their own previous sample", transitions: 3, samples: []drill.Sample{
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
			{Path: PathIndex, Status: 200},
			{Path: PathConfig, Status: 200, Region: "us-east-1"},
			{Path: PathIndex, Status: 200},
			{Path: PathConfig, Status: 200, Region: "us-west-1"},
			{Path: PathIndex, Status: 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecorder()
			for i, s := range tt.samples {
				s.At = t0.Add(time.Duration(i) * time.Second)
				r.add(s)
			}
			res := r.result(drill.ModeSteady, t0)
			if res.Samples != len(tt.samples) || res.UserVisibleErrors != tt.errors || res.CacheHits != tt.hits || len(res.Transitions) != tt.transitions {
				t.Errorf("samples %d errors %d hits %d transitions %d; want %d %d %d %d",
					res.Samples, res.UserVisibleErrors, res.CacheHits, len(res.Transitions), len(tt.samples), tt.errors, tt.hits, tt.transitions)
			}
		})
	}
}

func TestTransitionsCap(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		n    int
	}{
		{name: "under the cap", n: drill.MaxTransitions - 1},
		{name: "at the cap", n: drill.MaxTransitions},
		{name: "over the cap", n: drill.MaxTransitions + 1},
		{name: "far over the cap", n: 10*drill.MaxTransitions + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecorder()
			for i := range tt.n {
				r.add(drill.Sample{At: t0.Add(time.Duration(i) * time.Millisecond), Path: PathConfig, Status: 403})
			}
			tr := r.result(drill.ModeFailover, t0).Transitions
			if want := min(tt.n, drill.MaxTransitions); len(tr) != want {
				t.Fatalf("%d transitions, want %d", len(tr), want)
			}
			if !tr[0].At.Equal(t0) || !tr[len(tr)-1].At.Equal(t0.Add(time.Duration(tt.n-1)*time.Millisecond)) {
				t.Errorf("first %v last %v: the first and the latest must survive", tr[0].At, tr[len(tr)-1].At)
			}
			for i := 1; i < len(tr); i++ {
				if !tr[i].At.After(tr[i-1].At) {
					t.Fatalf("transitions out of order at %d", i)
				}
			}
			if r.errors != tt.n {
				t.Errorf("errors %d, want %d (the cap bounds the list, not the count)", r.errors, tt.n)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{name: "empty", p: 50, want: 0},
		{name: "one", values: []float64{7}, p: 95, want: 7},
		{name: "median of 4", values: []float64{4, 1, 3, 2}, p: 50, want: 2},
		{name: "p95 of 20", values: []float64{20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, p: 95, want: 19},
		{name: "p95 of 100", values: seq(100), p: 95, want: 95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.values, tt.p); got != tt.want {
				t.Errorf("percentile = %v, want %v", got, tt.want)
			}
		})
	}
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(n - i)
	}
	return s
}
