// Command drill runs the failover drill.
//
//	drill local    run a whole drill against a built-in replica of the lab, offline
//	drill sandbox  start only the replica and print its URLs
//	drill public-access  show, block or restore a sandbox bucket's Block Public Access
//	drill start    start the deployed drill on AWS; with --wait the exit code is the verdict
//	drill report   read a run's report from the ledger bucket
//	drill history  list past drills (local reports or the ledger), their summary and trend
//	drill status   every lock in the ledger, its execution's state, its bucket against the prior
//	drill restore  put a locked bucket back from its lock (the restore function's checks), release the lock
//	drill unlock   release a lock by hand, after a confirmation naming the bucket
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/history"
	"github.com/unishop/failover-drill/internal/local"
	"github.com/unishop/failover-drill/internal/remote"
	"github.com/unishop/failover-drill/internal/report"
	"github.com/unishop/failover-drill/internal/sandbox"
)

const usage = `usage: drill <command> [flags]

commands:
  local    run a complete failover drill against a local replica of the lab
  sandbox  start only the local replica and print its URLs (Ctrl-C stops it)
  public-access  show, block or put back a sandbox bucket's Block Public Access
  start    start the deployed drill on AWS (--wait: exit 0 only on pass or ready)
  report   print a run's report from the ledger bucket (--html FILE saves report.html)
  history  list past drills with a summary (local reports folder, or --ledger); --html writes an index page

operator's way out (README, "Runbook"):
  status   every lock in the ledger, its execution's state, the bucket against the prior
  restore  put a locked bucket back from its lock, with the restore function's checks
  unlock   release a lock by hand, after a confirmation naming the bucket

Run "drill <command> -h" for the command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// Notify installs a handler even when the process was started with SIGINT ignored
	// (a non-interactive shell's background job), so Ctrl-C and kill -INT still stop a
	// drill cleanly (os/signal: "it will no longer be ignored").
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The AWS SDK's own warnings only under -v: the commands say what is missing.
	sdkVerbose = newCLI("", os.Args[2:], io.Discard, io.Discard).verbose
	var code int
	switch os.Args[1] {
	case "local":
		code = runLocal(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "sandbox":
		code = runSandbox(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "public-access":
		code = runPublicAccess(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "start":
		code = runStart(ctx, os.Args[2:], os.Stdout, os.Stderr, awsSFN)
	case "report":
		code = runReport(ctx, os.Args[2:], os.Stdout, os.Stderr, awsS3)
	case "history":
		code = runHistory(ctx, os.Args[2:], os.Stdout, os.Stderr, awsHistory)
	case "status":
		code = runStatus(ctx, os.Args[2:], os.Stdout, os.Stderr, awsOps)
	case "restore":
		code = runRestore(ctx, os.Args[2:], os.Stdout, os.Stderr, awsOps)
	case "unlock":
		code = runUnlock(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr, awsOps)
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
	default:
		fmt.Fprintf(os.Stderr, "drill: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}

// sdkVerbose: the command was given -v, so the AWS SDK may log its warnings.
var sdkVerbose bool

// awsSFN is drill start's Step Functions client: the default AWS configuration
// (environment, profile, SSO), in the given region.
func awsSFN(ctx context.Context, region string) (sfnClient, error) {
	cfg, err := awsconf.LoadCLI(ctx, sdkVerbose)
	if err != nil {
		return nil, err
	}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if region != "" {
			o.Region = region
		}
	}), nil
}

// awsS3 is drill report's S3 client: the default AWS configuration, region overridden
// by --region.
func awsS3(ctx context.Context, region string) (history.LedgerAPI, error) {
	cfg, err := awsconf.LoadCLI(ctx, sdkVerbose)
	if err != nil {
		return nil, err
	}
	if region == "" && cfg.Region == "" {
		return nil, errNoRegion
	}
	return awsconf.AWSFactory(cfg)(region), nil
}

// sandboxFlags are the replica's knobs, shared by both commands.
type sandboxFlags struct {
	propagation, replication, connectTimeout, responseTimeout time.Duration
	completionTimeout                                         time.Duration
	flap                                                      time.Duration
	flapFrom                                                  float64
	outage                                                    string
	primaryLatency, secondaryLatency                          time.Duration
	secondaryFail, edges, connectAttempts                     int
	prior                                                     string
	failoverCodes                                             string
	cacheConfigJSON, secondaryDown                            bool
	accountBlock                                              bool
}

func (s *sandboxFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&s.propagation, "propagation", time.Second, "how long a Block Public Access change takes to reach the website endpoint")
	fs.DurationVar(&s.flap, "flap", 0, "after -propagation, how long the change flaps: each request sees it with a probability rising from -flap-from to 1")
	fs.Float64Var(&s.flapFrom, "flap-from", 0, "the probability that a request sees the change when the flap starts (0 to below 1)")
	fs.StringVar(&s.outage, "primary-outage", "forbidden", `how the blocked primary answers: "forbidden" (403, as Block Public Access does), "hang" (never answers) or "blackhole" (connections time out)`)
	fs.DurationVar(&s.primaryLatency, "primary-latency", 0, "delay every answer of the primary website")
	fs.DurationVar(&s.secondaryLatency, "secondary-latency", 0, "delay every answer of the secondary website")
	fs.IntVar(&s.secondaryFail, "secondary-fail", 0, "percent of the secondary website's answers that are 503 SlowDown")
	fs.IntVar(&s.edges, "edges", 1, "CloudFront edge servers, sharing no state, each request reaching one at random")
	fs.DurationVar(&s.replication, "replication-lag", 200*time.Millisecond, "replication lag of the shop's data between regions")
	fs.DurationVar(&s.connectTimeout, "connect-timeout", 500*time.Millisecond, "CloudFront stand-in's origin connection timeout")
	fs.IntVar(&s.connectAttempts, "connect-attempts", 3, "CloudFront stand-in's origin connection attempts (1..3)")
	fs.DurationVar(&s.responseTimeout, "response-timeout", 5*time.Second, "CloudFront stand-in's origin response timeout (a GET that times out is tried again, up to -connect-attempts in all)")
	fs.DurationVar(&s.completionTimeout, "response-completion-timeout", 0, "CloudFront stand-in's origin response completion timeout, across every attempt (0: not set, no cap)")
	fs.StringVar(&s.prior, "prior", "none", `the primary bucket's starting Block Public Access: "none", "partial" (BlockPublicAcls+IgnorePublicAcls) or a JSON object`)
	fs.StringVar(&s.failoverCodes, "failover-codes", "", "the origin group's failover status codes, comma-separated (default all eight, as the lab ticks; CDK's default is 500,502,503,504)")
	fs.BoolVar(&s.cacheConfigJSON, "cache-config-json", false, "give /config.json a cache behaviour with the managed CachingOptimized policy (query string not in the cache key, one day TTL)")
	fs.BoolVar(&s.secondaryDown, "secondary-down", false, "take the secondary region's website endpoint down (its port refuses connections)")
	fs.BoolVar(&s.accountBlock, "account-block", false, "turn on account-level Block Public Access (all four settings, S3 Control)")
}

// apply changes a started sandbox the way the flags ask.
func (s *sandboxFlags) apply(sb *sandbox.Sandbox) {
	if s.secondaryDown {
		sb.SetOriginDown(sb.Secondary().Name, true)
	}
}

// problems names every flag whose value the sandbox cannot honour. Zero means "the
// default" inside sandbox.Config, so a 0 given on the command line would be replaced
// silently; it is refused here instead, where the doc does not give 0 a meaning.
func (s *sandboxFlags) problems() []string {
	var p []string
	bad := func(cond bool, format string, args ...any) {
		if cond {
			p = append(p, fmt.Sprintf(format, args...))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-propagation", s.propagation}, {"-flap", s.flap}, {"-primary-latency", s.primaryLatency}, {"-secondary-latency", s.secondaryLatency},
		{"-replication-lag", s.replication}, {"-response-completion-timeout", s.completionTimeout}} {
		bad(d.v < 0, "%s: %s is negative", d.name, d.v)
	}
	bad(s.connectTimeout <= 0, "-connect-timeout: %s must be above 0 (CloudFront's is 1..10 s)", s.connectTimeout)
	bad(s.responseTimeout <= 0, "-response-timeout: %s must be above 0 (CloudFront's is 1..120 s)", s.responseTimeout)
	bad(s.connectAttempts < 1 || s.connectAttempts > 3, "-connect-attempts: %d is outside 1..3", s.connectAttempts)
	bad(s.flapFrom < 0 || s.flapFrom >= 1, "-flap-from: %g is outside 0 to below 1", s.flapFrom)
	bad(s.secondaryFail < 0 || s.secondaryFail > 100, "-secondary-fail: %d is outside 0..100", s.secondaryFail)
	bad(s.edges < 1 || s.edges > maxEdges, "-edges: %d is outside 1..%d", s.edges, maxEdges)
	bad(!slices.Contains([]string{"forbidden", "hang", "blackhole"}, s.outage), "-primary-outage: %q is not forbidden, hang or blackhole", s.outage)
	return p
}

// maxEdges bounds -edges: each edge server is a listener and its own cache.
const maxEdges = 64

func (s *sandboxFlags) config() (sandbox.Config, error) {
	if p := s.problems(); len(p) > 0 {
		return sandbox.Config{}, errors.New(strings.Join(p, "; "))
	}
	cfg := sandbox.Config{PropagationDelay: s.propagation, ReplicationLag: s.replication, OriginConnectTimeout: s.connectTimeout,
		OriginConnectAttempts: s.connectAttempts, OriginResponseTimeout: s.responseTimeout, OriginResponseCompletionTimeout: s.completionTimeout,
		PropagationFlap: s.flap, FlapFrom: s.flapFrom, PrimaryOutage: s.outage, PrimaryLatency: s.primaryLatency,
		SecondaryLatency: s.secondaryLatency, SecondaryFailPercent: s.secondaryFail, EdgeServers: s.edges,
		CacheConfigJSON: s.cacheConfigJSON}
	if s.accountBlock {
		all := drill.BlockAll
		cfg.AccountPAB = &all
	}
	for _, f := range strings.FieldsFunc(s.failoverCodes, func(r rune) bool { return r == ',' || r == ' ' }) {
		code, err := strconv.Atoi(f)
		if err != nil || !slices.Contains(sandbox.AllFailoverCodes, code) {
			return cfg, fmt.Errorf("-failover-codes: %q is not one of %v", f, sandbox.AllFailoverCodes)
		}
		cfg.FailoverCodes = append(cfg.FailoverCodes, code)
	}
	switch s.prior {
	case "none", "":
	case "partial":
		cfg.PrimaryPAB = &drill.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}
	default:
		var p drill.PublicAccessBlock
		dec := json.NewDecoder(strings.NewReader(s.prior))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return cfg, fmt.Errorf("-prior: want none, partial or a JSON object like {\"blockPublicAcls\":true}: %v", err)
		}
		cfg.PrimaryPAB = &p
	}
	return cfg, nil
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("drill local", args, stdout, stderr)
	fs := flag.NewFlagSet("drill local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf sandboxFlags
	sf.register(fs)
	fs.BoolVar(&c.json, "json", false, "print the report as JSON on stdout (timeline and logs go to stderr); any other ending prints one JSON object too")
	input := fs.String("input", "{}", "execution input, as for start-execution (fields override the local deployment's defaults)")
	outDir := fs.String("out", "drill-reports", "directory the report is written to (<out>/<execution>/report.json and .html)")
	name := fs.String("name", "", "execution name (default local-<time>)")
	svgFile := fs.String("svg", "", "also write the timeline picture (SVG) to this file")
	fs.BoolVar(&c.verbose, "v", false, "log every function's structured logs to stderr")
	coldStart := fs.Duration("cold-start", 0, "start every Lambda handler this late, as a cold start on AWS: nothing samples between the block and the failover probe's first request (the report's coverage)")
	alarmAt := fs.String("alarm-at", "", `make the stop alarm go to ALARM: a state name ("AwaitFailover", optionally "+2s") or a duration after the start ("0s": already in ALARM)`)
	if err := fs.Parse(args); err != nil {
		return c.flagError(err)
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
	if err := remote.CheckInput(*input); err != nil {
		return c.usage("--input: %v", err)
	}
	if *name != "" {
		if err := remote.CheckName(*name); err != nil {
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
	// A picture that cannot be written is known now, not after a whole drill.
	if *svgFile != "" {
		if fi, err := os.Stat(filepath.Dir(*svgFile)); err != nil || !fi.IsDir() {
			return c.usage("-svg %s: its directory %s does not exist", *svgFile, filepath.Dir(*svgFile))
		}
	}
	timeline := stdout
	if c.json {
		timeline = stderr
	}
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

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
	if !regexp.MustCompile(`^[A-Z][A-Za-z]+$`).MatchString(state) {
		return nil, fmt.Errorf("-alarm-at %q: want a duration (3s) or a state name (AwaitFailover, AwaitFailover+1s)", v)
	}
	return t, nil
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

func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drill sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf sandboxFlags
	sf.register(fs)
	forDur := fs.Duration("for", 0, "stop after this long (0: until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sc, err := sf.config()
	if err != nil {
		fmt.Fprintln(stderr, "drill sandbox:", err)
		return 2
	}
	sc.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	sb, err := sandbox.Start(sc)
	if err != nil {
		fmt.Fprintln(stderr, "drill sandbox:", err)
		return 1
	}
	defer sb.Close()
	sf.apply(sb)
	printSandbox(stdout, sb)
	if *forDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *forDur)
		defer cancel()
	}
	<-ctx.Done() // Ctrl-C or -for elapsed: both are a normal end
	return 0
}
