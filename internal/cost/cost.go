// Package cost prices one drill: what it used of each billed service, times the
// published per-unit prices. The prices are one table, with the date they were read;
// the README states the same table.
package cost

import (
	"math"
	"slices"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
)

// PricesAsOf is when the prices below were read from AWS's public pricing pages
// (us-east-1, on-demand, without free tiers).
const PricesAsOf = "2026-11-29"

// Prices are the published per-unit prices, in USD, that a drill is billed by.
var Prices = struct {
	// StateTransition: Step Functions Standard Workflows, $0.025 per 1,000 state
	// transitions (US East (N. Virginia)); retries count as transitions.
	StateTransition float64
	// LambdaGBSecondArm: Lambda on Arm (arm64), $0.0000133334 per GB-second, first
	// 7.5 billion GB-seconds a month.
	LambdaGBSecondArm float64
	// LambdaRequest: Lambda, $0.20 per 1 million requests.
	LambdaRequest float64
	// CloudFrontHTTPSRequest: CloudFront HTTPS requests, $0.0100 per 10,000 (United
	// States, Mexico and Canada).
	CloudFrontHTTPSRequest float64
	// S3Put: S3 Standard PUT, COPY, POST, LIST requests, $0.005 per 1,000.
	S3Put float64
	// S3Get: S3 Standard GET, SELECT and all other requests, $0.0004 per 1,000.
	S3Get float64
}{
	StateTransition:        0.025 / 1000,
	LambdaGBSecondArm:      0.0000133334,
	LambdaRequest:          0.20 / 1e6,
	CloudFrontHTTPSRequest: 0.0100 / 10000,
	S3Put:                  0.005 / 1000,
	S3Get:                  0.0004 / 1000,
}

// Usage is what one drill used.
type Usage struct {
	StateTransitions int
	// Lambda is each function's invocations and summed duration.
	Lambda map[string]*Function
	// ProbeRequests and SeedRequests are the requests sent to the distribution.
	ProbeRequests, SeedRequests int
	// S3 requests by price tier; Counted false leaves them out (and says so).
	S3        drill.S3Count
	S3Counted bool
	Source    string // "measured" or "counted"
	// NotCounted are what the estimate leaves out, each with why.
	Notes []string
}

// Function is one function's invocations and their durations.
type Function struct {
	Invocations int
	Duration    time.Duration // summed; each invocation billed rounded up to 1 ms
	BilledMs    int64
}

// Invoke records one invocation that lasted d.
func (u *Usage) Invoke(function string, d time.Duration) {
	if u.Lambda == nil {
		u.Lambda = map[string]*Function{}
	}
	f := u.Lambda[function]
	if f == nil {
		f = &Function{}
		u.Lambda[function] = f
	}
	f.Invocations++
	f.Duration += d
	f.BilledMs += int64(math.Ceil(float64(d) / float64(time.Millisecond)))
}

// Estimate prices u.
func Estimate(u Usage) drill.Cost {
	c := drill.Cost{
		StateTransitions:     u.StateTransitions,
		DistributionRequests: drill.RequestCount{Probe: u.ProbeRequests, Seed: u.SeedRequests, Total: u.ProbeRequests + u.SeedRequests},
		S3Requests:           u.S3,
		PricesAsOf:           PricesAsOf,
		Source:               u.Source,
		Notes:                slices.Clone(u.Notes),
		Lambda:               []drill.FunctionUse{},
		Lines:                []drill.CostLine{},
	}
	line := func(item string, qty float64, unit string, price float64) {
		c.Lines = append(c.Lines, drill.CostLine{Item: item, Quantity: round(qty, 6), Unit: unit, UnitPrice: price, USD: round(qty*price, 8)})
	}
	line("Step Functions state transitions", float64(u.StateTransitions), "transitions", Prices.StateTransition)
	names := make([]string, 0, len(u.Lambda))
	for n := range u.Lambda {
		names = append(names, n)
	}
	slices.Sort(names)
	invocations, gbs := 0, 0.0
	for _, n := range names {
		f := u.Lambda[n]
		mb := drill.FunctionMemoryMB[n]
		g := float64(mb) / 1024 * float64(f.BilledMs) / 1000
		c.Lambda = append(c.Lambda, drill.FunctionUse{Function: n, MemoryMB: mb, Invocations: f.Invocations, BilledMs: f.BilledMs, GBSeconds: round(g, 4)})
		invocations += f.Invocations
		gbs += g
	}
	line("Lambda compute (arm64)", gbs, "GB-s", Prices.LambdaGBSecondArm)
	line("Lambda requests", float64(invocations), "requests", Prices.LambdaRequest)
	line("CloudFront HTTPS requests", float64(c.DistributionRequests.Total), "requests", Prices.CloudFrontHTTPSRequest)
	if u.S3Counted {
		line("S3 PUT, COPY, POST, LIST requests", float64(u.S3.Put), "requests", Prices.S3Put)
		line("S3 GET and other requests", float64(u.S3.Get), "requests", Prices.S3Get)
	}
	for _, l := range c.Lines {
		c.EstimatedUSD += l.USD
	}
	c.EstimatedUSD = round(c.EstimatedUSD, 6)
	return c
}

// TaskFunctions maps each Task state of the flow to the function it invokes.
var TaskFunctions = map[string]string{
	"Readiness":           drill.FuncReadiness,
	"Replication":         drill.FuncReadiness,
	"Preflight":           drill.FuncProbe,
	"AwaitFailover":       drill.FuncProbe,
	"AwaitRecovery":       drill.FuncProbe,
	"SeedCart":            drill.FuncSeedCart,
	"BlockBucket":         drill.FuncBlock,
	"Restore":             drill.FuncRestore,
	"ReleaseLock":         drill.FuncRestore,
	"RestoreAfterFailure": drill.FuncRestore,
	"RecoveryCheck":       drill.FuncProbe,
	"Report":              drill.FuncReport,
	"ReportAfterFailure":  drill.FuncReport,
}

// S3Tier is the price tier of an S3 operation: PUT, COPY, POST and LIST are "put",
// DELETEs are free (""), everything else is "get".
func S3Tier(operation string) string {
	switch {
	case operation == "PutObject", operation == "PutPublicAccessBlock", operation == "CopyObject",
		operation == "ListObjectsV2", operation == "ListObjects", operation == "PostObject":
		return "put"
	case len(operation) >= 6 && operation[:6] == "Delete":
		return ""
	}
	return "get"
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}
