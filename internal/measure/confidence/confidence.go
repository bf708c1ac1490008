// Package confidence is the statistics behind the stable share: how many answers a
// window must hold to show, with 95% confidence, that the new origin serves a share of
// requests. It imports nothing of the drill, so the drill's input validation and the
// measurement share one definition.
package confidence

import "math"

// Confidence is the confidence with which a window that passes shows the new origin's
// share is at least StableShare.
const Confidence = 0.95

// MaxOther is the most answers not from the new origin a window of n answers may hold
// and still show, with Confidence, that the new origin serves at least share percent:
// the largest k whose one-sided Clopper-Pearson upper bound on the other share is at
// most 100-share percent. -1: no k (the window is too small to show it). A share of
// 100 allows none, without the statistics (no window could prove it).
func MaxOther(n, share int) int { return MaxOtherAt(n, share, 1-Confidence) }

// MaxOtherAt is MaxOther at error rate alpha (confidence 1-alpha): a test that looks
// many times spends a share of its error rate at each look.
func MaxOtherAt(n, share int, alpha float64) int {
	if share >= 100 {
		return 0
	}
	limit := float64(100-share) / 100
	best := -1
	for k := 0; k <= n; k++ {
		if upperBound(k, n, alpha) > limit {
			break
		}
		best = k
	}
	return best
}

// upperBound is the one-sided upper confidence bound on a share seen k times in n:
// the p at which seeing k or fewer has probability alpha.
func upperBound(k, n int, alpha float64) float64 {
	if k >= n {
		return 1
	}
	lo, hi := float64(k)/float64(n), 1.0
	for range 50 {
		mid := (lo + hi) / 2
		if binomCDF(k, n, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// binomCDF is P(X <= k) for X ~ Binomial(n, p), summed in log space.
func binomCDF(k, n int, p float64) float64 {
	if p <= 0 {
		return 1
	}
	if p >= 1 {
		if k >= n {
			return 1
		}
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	var sum float64
	lc := 0.0 // log C(n, i)
	for i := 0; i <= k; i++ {
		if i > 0 {
			lc += math.Log(float64(n-i+1)) - math.Log(float64(i))
		}
		sum += math.Exp(lc + float64(i)*lp + float64(n-i)*lq)
	}
	return sum
}

// WindowSamplesNeeded is the fewest answers a window must hold to show, with
// Confidence, that the new origin serves at least share percent: the probe must
// sample at least this often per stable window.
func WindowSamplesNeeded(share int) int { return SamplesNeededAt(share, 1-Confidence) }

// SamplesNeededAt is WindowSamplesNeeded at error rate alpha.
func SamplesNeededAt(share int, alpha float64) int {
	if share >= 100 {
		return 1
	}
	// 1 - share/100 >= 1 - alpha^(1/n)  <=>  n >= ln(alpha) / ln(share/100)
	n := int(math.Ceil(math.Log(alpha) / math.Log(float64(share)/100)))
	for MaxOtherAt(n, share, alpha) < 0 {
		n++
	}
	return n
}
