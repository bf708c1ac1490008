package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/statemachine"
)

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("drill local", args, stdout, stderr)
	fs := flag.NewFlagSet("drill local", flag.ContinueOnError)
	var sf sandboxFlags
	sf.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the report as JSON on stdout (timeline and logs go to stderr); any other ending prints one JSON object too")
	input := fs.String("input", "{}", "execution input, as for start-execution (fields override the local deployment's defaults)")
	outDir := fs.String("out", "drill-reports", "directory the report is written to (<out>/<execution>/report.json and .html)")
	name := fs.String("name", "", "execution name (default local-<time>)")
	svgFile := fs.String("svg", "", "also write the timeline picture (SVG) to this file")
	c.logFlags(fs, "print every function's structured logs on stderr, as text")
	coldStart := fs.Duration("cold-start", 0, "start every Lambda handler this late, as a cold start on AWS: nothing samples between the block and the failover probe's first request (the report's coverage)")
	withDB := fs.Bool("database", false, `run the database stage: switch the replica's Aurora global database over to the secondary region and back, measuring sign-ups (the input's "globalCluster", set to `+local.GlobalClusterInput()+`)`)
	alarmAt := fs.String("alarm-at", "", `make the stop alarm go to ALARM: a state name ("AwaitFailover", optionally "+2s") or a duration after the start ("0s": already in ALARM)`)
	if code, ok := c.parse(fs, args, "[flags]"); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return c.usage("unexpected argument %q", fs.Arg(0))
	}
	sc, err := sf.config()
	if err != nil {
		return c.usage("%v", err)
	}
	// The input is checked with the drill's own rules before anything starts, as
	// drill start does: the sandbox supplies the distribution and the bucket.
	if err := drill.CheckInput(*input); err != nil {
		return c.usage("--input: %v", err)
	}
	if *withDB {
		with, err := withGlobalCluster(*input, local.GlobalClusterInput())
		if err != nil {
			return c.usage("-database: %v", err)
		}
		*input = with
	}
	if *name != "" {
		if err := drill.CheckName(*name); err != nil {
			return c.usage("--name: %v", err)
		}
	}
	trigger, err := parseAlarmAt(*alarmAt)
	if err != nil {
		return c.usage("%v", err)
	}
	if *coldStart < 0 {
		return c.usage("-cold-start: %s is negative", *coldStart)
	}
	// A picture or report that cannot be written is known now, not after a whole drill.
	if err := fileDirExists("-svg", *svgFile); err != nil {
		return c.usage("%v", err)
	}
	if fi, err := os.Stat(*outDir); err == nil && !fi.IsDir() {
		return c.usage("-out %s: not a directory", *outDir)
	}
	timeline := stdout
	if c.json {
		timeline = stderr
	}
	log := c.logger()

	began := time.Now()
	env, err := local.Start(sc, log)
	if err != nil {
		return c.fail(1, "Sandbox", err)
	}
	defer env.Close()
	sf.apply(env.Sandbox)
	fmt.Fprintf(timeline, "sandbox up: distribution %s, primary bucket %s (%s), secondary %s\n",
		env.Sandbox.DistributionURL(), env.Sandbox.Primary().Bucket, env.Sandbox.Primary().Name, env.Sandbox.Secondary().Name)

	tl := newTimeline(timeline)
	// Ctrl-C (or SIGTERM) stops the execution: say so at once, since the safety net's
	// restore still takes a moment before the command ends.
	notice := context.AfterFunc(ctx, func() {
		tl.say("interrupt received: stopping the execution (it ends ABORTED); the safety net then restores the bucket, wait for it")
	})
	out, err := env.Run(ctx, local.RunOptions{Name: *name, Input: json.RawMessage(*input), OnEvent: tl.event, StopAlarm: trigger, ColdStart: *coldStart})
	notice()
	if err != nil {
		return c.fail(1, "Run", err)
	}
	rep := out.Report
	dir := filepath.Join(*outDir, out.Name)
	if err := writeReport(dir, rep, out.Logs); err != nil {
		return c.fail(1, "Report", err)
	}
	if *svgFile != "" {
		if err := os.WriteFile(*svgFile, []byte(report.Timeline(*rep, out.Logs)), 0o644); err != nil {
			return c.fail(1, "Report", err)
		}
	}
	printSummary(timeline, out, rep, dir, time.Since(began))
	if c.json {
		c.writeJSONOnce(rep)
	}
	return verdictExit(rep.Verdict)
}

// parseAlarmAt reads -alarm-at: "", a duration, or a state name with an optional
// "+duration".
func parseAlarmAt(v string) (*local.AlarmTrigger, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return &local.AlarmTrigger{After: d}, nil
	}
	state, after, _ := strings.Cut(v, "+")
	t := &local.AlarmTrigger{State: state}
	if after != "" {
		d, err := time.ParseDuration(after)
		if err != nil {
			return nil, fmt.Errorf("-alarm-at %q: %q is not a duration", v, after)
		}
		t.After = d
	}
	states := stateNames()
	if !slices.Contains(states, state) {
		return nil, fmt.Errorf("-alarm-at %q: want a duration (3s) or one of the flow's states, optionally +duration (AwaitFailover, AwaitFailover+1s): %s",
			v, strings.Join(states, ", "))
	}
	if t.After < 0 {
		return nil, fmt.Errorf("-alarm-at %q: %s is negative", v, t.After)
	}
	return t, nil
}

// stateNames are the states of the flow's definition, sorted: the ones -alarm-at can
// name. A name no state has would never fire, and the drill would pass without the
// alarm it was asked to test.
func stateNames() []string {
	var def struct{ States map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		panic("the embedded state machine is not JSON: " + err.Error()) // a test reads it
	}
	return slices.Sorted(maps.Keys(def.States))
}

func writeReport(dir string, rep *drill.Report, logs report.Logs) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	html, err := report.HTML(*rep, logs)
	if err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), html, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	// Every probe's samples, as the ledger keeps them: any figure can be recomputed.
	for mode, l := range logs {
		if l == nil {
			continue
		}
		js, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode %s samples: %w", mode, err)
		}
		if err := os.WriteFile(filepath.Join(dir, drill.SamplesFile(mode)), js, 0o644); err != nil {
			return fmt.Errorf("write %s samples: %w", mode, err)
		}
	}
	return nil
}

// withGlobalCluster sets the input's globalCluster to id, unless it names another.
func withGlobalCluster(input, id string) (string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(input), &fields); err != nil {
		return "", err
	}
	if v, ok := fields["globalCluster"]; ok && string(v) != `""` && string(v) != `"`+id+`"` {
		return "", fmt.Errorf("the input names globalCluster %s; the replica's is %q", v, id)
	}
	fields["globalCluster"] = json.RawMessage(`"` + id + `"`)
	b, err := json.Marshal(fields)
	return string(b), err
}
