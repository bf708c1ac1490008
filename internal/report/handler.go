package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
)

// The report function's Lambda handler: it reads the probe's sample logs, builds the
// report (Build), writes report.json and report.html to the ledger and emits the
// metrics.

// Handler writes the report to the ledger.
type Handler struct {
	Ledger *ledger.Ledger
	Log    *slog.Logger
	Now    func() time.Time
	// Metrics, when set, receives the report's figures as a CloudWatch Embedded
	// Metric Format line (the Lambda's stdout).
	Metrics io.Writer
	// Executions, when set, is asked whether a drill ran during a dry run that did not
	// end ready (its verdict is then skipped); nil: the verdict stands.
	Executions ExecutionsAPI
}

// Handle builds the report, writes report.json and report.html in the run's folder
// in the ledger (the execution's name and start: drill.RunFolder) and returns it. A
// ledger error is returned (Transient ones are retried by the state machine).
func (h *Handler) Handle(ctx context.Context, in drill.ReportInput) (drill.Report, error) {
	var problems []string
	if in.Execution == "" {
		problems = append(problems, "execution: missing")
	}
	if in.StartedAt.IsZero() {
		problems = append(problems, "startedAt: missing ($$.Execution.StartTime: with the name, it names the run's folder in the ledger)")
	}
	if len(problems) > 0 {
		return drill.Report{}, &drill.InvalidInput{Problems: problems}
	}
	start := drill.At(in.StartedAt)
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	logs := h.readLogs(ctx, in.Execution, start, log)
	r := Build(in, logs, now)
	h.judgeConcurrency(ctx, &r, in.ExecutionArn, now)
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: encode: %w", in.Execution, err)
	}
	page, err := HTML(r, logs)
	if err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	if err := h.Ledger.PutReport(ctx, in.Execution, start, js, page); err != nil {
		return drill.Report{}, fmt.Errorf("report %s: %w", in.Execution, err)
	}
	log.Info("report written", "execution", in.Execution, "verdict", r.Verdict, "summary", r.Summary,
		"json", drill.ReportKey(in.Execution, start), "html", drill.ReportHTMLKey(in.Execution, start))
	if h.Metrics != nil {
		line, err := EMF(r, now)
		if err == nil {
			_, err = h.Metrics.Write(append(line, '\n'))
		}
		if err != nil { // metrics are a convenience: the report is written already
			log.Warn("metrics not written", "error", err)
		}
	}
	return r, nil
}

// readLogs reads every mode's sample log of the run from the ledger. A log that cannot
// be read is logged and left out: the report then uses the probe's summary and says so.
func (h *Handler) readLogs(ctx context.Context, execution string, start drill.Instant, log *slog.Logger) Logs {
	logs := Logs{}
	for _, mode := range drill.LogModes {
		l, err := h.Ledger.Samples(ctx, execution, start, mode)
		if err != nil {
			log.Warn("sample log unreadable; using the probe's summary", "mode", mode, "error", err)
			continue
		}
		if l != nil {
			logs[mode] = l
		}
	}
	return logs
}
