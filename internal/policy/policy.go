// Package policy declares, once, what each drill function may do on AWS: the actions
// its code paths call and the resources it calls them on, as plain data with
// placeholders. Two enforcers derive from it (STYLE.md, "one declaration, two
// enforcers"):
//
//   - infra/ turns each function's statements into its role's IAM policy (a test
//     proves the synthesized template's statements equal these);
//   - the local replica (internal/sandbox/iam) denies, with the service's own
//     AccessDenied, every call a function's statements do not allow, so a missing
//     grant fails a local test instead of a production restore.
//
// A function not listed here (seed-cart) may call nothing on AWS.
package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
)

// Statement allows Actions on Resources. Resources are ARNs, with the placeholders
// below until Resolve fills them, and IAM's wildcards (* matches any run of
// characters, / included).
type Statement struct {
	Sid       string
	Actions   []string
	Resources []string
}

// Placeholders in Resources.
const (
	// TargetBucketArn: arn:<partition>:s3:::<primaryBucket>, the one bucket a
	// deployment drills.
	TargetBucketArn = "<TargetBucketArn>"
	// LedgerArn: arn:<partition>:s3:::<ledger bucket>.
	LedgerArn = "<LedgerArn>"
	// Executions: arn:<partition>:states:<region>:<account>:execution:<state machine
	// name>, the prefix of this state machine's execution ARNs.
	Executions = "<Executions>"
	// StateMachineArn: arn:<partition>:states:<region>:<account>:stateMachine:<name>,
	// this state machine.
	StateMachineArn = "<StateMachineArn>"
	// DistributionArn: arn:<partition>:cloudfront::<account>:distribution/<distributionId>,
	// the deployed distribution (distributionId is required at synth).
	DistributionArn = "<DistributionArn>"
	// GlobalClusterArn: arn:<partition>:rds::<account>:global-cluster:<globalCluster>,
	// the users' Aurora global database (the database stage only); PrimaryClusterArn
	// and SecondaryClusterArn its two member clusters.
	GlobalClusterArn    = "<GlobalClusterArn>"
	PrimaryClusterArn   = "<PrimaryClusterArn>"
	SecondaryClusterArn = "<SecondaryClusterArn>"
)

// Values fill the placeholders. infra/ passes CloudFormation tokens, the replica
// concrete ARNs.
type Values struct {
	TargetBucketArn string
	LedgerArn       string
	Executions      string
	StateMachineArn string
	DistributionArn string
	// GlobalClusterArn and the member clusters' ARNs, only for a deployment with the
	// database stage: empty, no function gets any RDS permission.
	GlobalClusterArn, PrimaryClusterArn, SecondaryClusterArn string
}

// Ledger keys the functions touch, beneath LedgerArn. A function writes (and report
// reads the sample logs) only in a run's folder, named with the run's start
// (runs/<execution>/<start>/, drill.RunFolder): no grant lets a function write into a
// folder of the versions before the start was in the key, whose evidence drill report
// and drill history still read.
const (
	ledgerLocks   = LedgerArn + "/" + drill.LockPrefix + "*"
	ledgerTickets = LedgerArn + "/runs/*/ticket-*"
	// Restores after the execution's end record themselves next to the report.
	ledgerSafetyNetRecord = LedgerArn + "/" + drill.RunFolderPattern + "restore-" + drill.ReasonSafetyNet + ".json"
	ledgerSweeperRecord   = LedgerArn + "/" + drill.RunFolderPattern + "restore-" + drill.ReasonSweeper + ".json"
	// ledgerSamples are the probe's sample logs (drill.SamplesKeyPattern).
	ledgerSamples = LedgerArn + "/" + drill.SamplesKeyPattern
	ledgerReport  = LedgerArn + "/" + drill.RunFolderPattern + drill.FileReport
	ledgerHTML    = LedgerArn + "/" + drill.RunFolderPattern + drill.FileReportHTML
	// ledgerWrites are switch-database's write and read samples (drill.WritesKeyPattern).
	ledgerWrites = LedgerArn + "/" + drill.WritesKeyPattern

	// What the operator's commands read: any run's evidence, in its run's folder or in
	// a legacy one (runs/<execution>/report.json). IAM's * spans "/", so one pattern
	// names both, and it is the narrowest that does.
	anyReport         = LedgerArn + "/runs/*/" + drill.FileReport
	anyHTML           = LedgerArn + "/runs/*/" + drill.FileReportHTML
	anySamples        = LedgerArn + "/runs/*/samples-*.json"
	anyRestoreRecords = LedgerArn + "/runs/*/restore-*.json"
)

// Shared statements.
var (
	publicAccessBlock = Statement{
		Sid: "TargetBucketPublicAccessBlock",
		// PutBucketPublicAccessBlock also authorizes DeletePublicAccessBlock.
		Actions:   []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"},
		Resources: []string{TargetBucketArn},
	}
	// Without s3:ListBucket S3 answers a missing key with AccessDenied instead of
	// NoSuchKey, and "no lock" could not be told from "no permission".
	listLedger = Statement{Sid: "LedgerList", Actions: []string{"s3:ListBucket"}, Resources: []string{LedgerArn}}
	readLedger = Statement{Sid: "LedgerRead", Actions: []string{"s3:GetObject"}, Resources: []string{ledgerLocks, ledgerTickets}}
	// Releasing a lock: block-bucket when it gives up, restore when it is done.
	releaseLocks = Statement{Sid: "LedgerReleaseLocks", Actions: []string{"s3:DeleteObject"}, Resources: []string{ledgerLocks}}
)

// restoreStatements are what restore's code calls: it reads and rewrites run tickets
// (the abandoned tombstone, restoring, restored, changed), reads and deletes locks, and
// writes a lock only to mark it (If-Match): changed, so a restore from the lock never
// writes a bucket someone changed during the drill; or restored and settling, so the
// lock is kept until no block of its run can land.
var restoreStatements = []Statement{
	publicAccessBlock,
	listLedger,
	readLedger,
	{Sid: "LedgerWriteRunTicketsAndMarkLocks", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerTickets, ledgerLocks}},
	releaseLocks,
}

// readExecutionHistory: a restore after the execution's end (the safety net, the
// sweeper) asks Step Functions which state the execution was in when it was stopped
// or timed out, or which failed, for its record. On this state machine's executions:
// restore also runs inside the flow, and its own state machine's executions are the
// narrowest set that names every execution the safety net hands it.
var readExecutionHistory = Statement{Sid: "ReadDrillExecutionHistory", Actions: []string{"states:GetExecutionHistory"}, Resources: []string{Executions + ":*"}}

// readStopAlarms: readiness before the drill, the probe while it waits for failover
// and recovery (see the README, "Readiness and dry run"). On *, though the alarms'
// names are known: CloudWatch returns composite alarms only to a caller whose
// cloudwatch:DescribeAlarms permission is scoped to * (DescribeAlarms, API
// reference); a narrower grant makes a composite stop alarm unreadable, and a stop
// condition that cannot be read must not be taken for one that is OK. The action only
// reads alarm metadata in the function's own account and region.
var readStopAlarms = Statement{Sid: "ReadStopAlarms", Actions: []string{"cloudwatch:DescribeAlarms"}, Resources: []string{"*"}}

// StarOnly lists the actions granted on * and why: those without a resource type, and
// DescribeAlarms, which AWS scopes to * for composite alarms. Every other grant names
// its resources (infra's test holds the template to this list).
var StarOnly = map[string]string{
	"s3:GetAccountPublicAccessBlock": "the action has no resource type; it reads the caller's own account's Block Public Access",
	"cloudwatch:DescribeAlarms": "CloudWatch returns composite alarms only when the cloudwatch:DescribeAlarms permission is scoped to * (DescribeAlarms, API reference); " +
		"a narrower grant would leave a composite stop alarm unread. It reads alarm metadata in the function's own account and region only",
}

// Functions maps each function (drill.Func*) with AWS access to its statements.
var Functions = map[string][]Statement{
	drill.FuncReadiness: {
		{Sid: "ReadDeployedDistribution", Actions: []string{"cloudfront:GetDistributionConfig"}, Resources: []string{DistributionArn}},
		// The action has no resource type: * is the only resource IAM accepts, and it
		// reads the caller's own account's account-level Block Public Access.
		{Sid: "ReadAccountPublicAccessBlock", Actions: []string{"s3:GetAccountPublicAccessBlock"}, Resources: []string{"*"}},
		readStopAlarms,
	},
	drill.FuncBlock: {
		publicAccessBlock,
		listLedger,
		readLedger,
		// Takes the lock and records the prior in it; claims and holds the run ticket.
		{Sid: "LedgerWriteLocksAndRunTickets", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerLocks, ledgerTickets}},
		releaseLocks,
	},
	// The safety net invokes restore: it records what it did next to the report.
	drill.FuncRestore: append(slices.Clone(restoreStatements),
		Statement{Sid: "LedgerWriteSafetyNetRecord", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerSafetyNetRecord}},
		readExecutionHistory),
	// The sweeper restores in-process, through restore's own code, so it needs restore's
	// permissions, plus asking Step Functions whether a lock's execution still runs.
	drill.FuncSweeper: append(slices.Clone(restoreStatements), Statement{
		Sid: "DescribeDrillExecutions", Actions: []string{"states:DescribeExecution"}, Resources: []string{Executions + ":*"},
	}, Statement{Sid: "LedgerWriteSweeperRecord", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerSweeperRecord}},
		readExecutionHistory),
	// Its own report files only: never a run ticket, never a lock. It reads the probe's
	// sample logs, and lists the ledger so a missing log reads 404, not 403. A dry run
	// that did not end ready asks whether a drill of this state machine ran meanwhile
	// (and disturbed it): the executions, and each one's input (dryRun or not).
	drill.FuncReport: {
		{Sid: "LedgerWriteReports", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerReport, ledgerHTML}},
		{Sid: "LedgerReadSampleLogs", Actions: []string{"s3:GetObject"}, Resources: []string{ledgerSamples}},
		listLedger,
		{Sid: "ListDrillExecutions", Actions: []string{"states:ListExecutions"}, Resources: []string{StateMachineArn}},
		{Sid: "DescribeDrillExecutionsForDryRuns", Actions: []string{"states:DescribeExecution"}, Resources: []string{Executions + ":*"}},
	},
	// Its sample logs, and nothing else: no read, no other key; and the stop alarms it
	// watches while it waits.
	drill.FuncProbe: {
		{Sid: "LedgerWriteSampleLogs", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerSamples}},
		readStopAlarms,
	},
	// The database stage: it records the writer and each switch in the run ticket and
	// the lock (If-Match, while the run is held), keeps its write samples, and the back
	// mode reads the over mode's to read every acknowledged write back (every key it
	// reads exists, or its absence is not fatal: no s3:ListBucket). Its RDS grants come
	// only with a global cluster (DatabaseFunctions).
	drill.FuncDatabase: {
		{Sid: "LedgerReadTicketsLocksAndWrites", Actions: []string{"s3:GetObject"}, Resources: []string{ledgerLocks, ledgerTickets, ledgerWrites}},
		{Sid: "LedgerWriteTicketsLocksAndWrites", Actions: []string{"s3:PutObject"}, Resources: []string{ledgerLocks, ledgerTickets, ledgerWrites}},
	},
}

// The database stage's RDS grants, added (For) only when Values names a global
// cluster. SwitchoverGlobalCluster authorizes on the global cluster and on both member
// clusters (the target, and the writer it demotes); FailoverGlobalCluster (which can
// lose data) and RemoveFromGlobalCluster (which detaches) are never granted.
var (
	describeGlobalCluster = Statement{Sid: "DescribeGlobalCluster", Actions: []string{"rds:DescribeGlobalClusters"}, Resources: []string{GlobalClusterArn}}
	switchGlobalCluster   = Statement{Sid: "SwitchoverGlobalCluster", Actions: []string{"rds:SwitchoverGlobalCluster"},
		Resources: []string{GlobalClusterArn, PrimaryClusterArn, SecondaryClusterArn}}
)

// DatabaseFunctions maps each function the database stage adds grants to: the stage
// switches, restore and the sweeper (restore's code) switch back.
var DatabaseFunctions = map[string][]Statement{
	drill.FuncDatabase: {describeGlobalCluster, switchGlobalCluster},
	drill.FuncRestore:  {describeGlobalCluster, switchGlobalCluster},
	drill.FuncSweeper:  {describeGlobalCluster, switchGlobalCluster},
	// Readiness only reads it.
	drill.FuncReadiness: {describeGlobalCluster},
}

// Commands maps each drill command a person runs against the deployment to what it
// calls, for the person's (or CI's) own role: the README's table comes from here, the
// stack's optional CI role holds exactly start's and report's (infra's TestCIRole), and
// the tests run report and history in the replica as a principal held to exactly these
// (start is not run so yet).
var Commands = map[string][]Statement{
	// drill start: starts an execution of this state machine; with --wait it polls the
	// execution until it ends (the report comes back in the execution's output).
	"start": {
		{Sid: "StartDrill", Actions: []string{"states:StartExecution"}, Resources: []string{StateMachineArn}},
		{Sid: "WaitForDrill", Actions: []string{"states:DescribeExecution"}, Resources: []string{Executions + ":*"}},
	},
	// drill report: lists the runs of the name (runs/<execution>/), reads the chosen
	// run's report, its page, its sample logs (to draw the page again) and the restores
	// recorded after the execution ended, in either layout.
	"report": {
		{Sid: "LedgerList", Actions: []string{"s3:ListBucket"}, Resources: []string{LedgerArn}},
		{Sid: "LedgerReadRun", Actions: []string{"s3:GetObject"}, Resources: []string{anyReport, anyHTML, anySamples, anyRestoreRecords}},
	},
	// drill history --ledger: lists runs/ and reads each report.json, and the restore
	// record of a run that never wrote one (stopped, timed out).
	"history": {
		{Sid: "LedgerListRuns", Actions: []string{"s3:ListBucket"}, Resources: []string{LedgerArn}},
		{Sid: "LedgerReadReports", Actions: []string{"s3:GetObject"}, Resources: []string{anyReport, anyRestoreRecords}},
	},
}

// CommandFor is a command's statements with the placeholders filled from v.
func CommandFor(command string, v Values) []Statement {
	return fill("drill "+command, Commands[command], v)
}

// For is function's statements with the placeholders filled from v; nil for a
// function with no AWS access. A placeholder v leaves empty panics: a deployment
// that cannot name a resource must not fall back to a wildcard.
func For(function string, v Values) []Statement {
	sts := Functions[function]
	if v.GlobalClusterArn != "" {
		sts = append(slices.Clone(sts), DatabaseFunctions[function]...)
	}
	return fill(function, sts, v)
}

func fill(function string, sts []Statement, v Values) []Statement {
	if len(sts) == 0 {
		return nil
	}
	vals := map[string]string{TargetBucketArn: v.TargetBucketArn, LedgerArn: v.LedgerArn, Executions: v.Executions,
		StateMachineArn: v.StateMachineArn, DistributionArn: v.DistributionArn,
		GlobalClusterArn: v.GlobalClusterArn, PrimaryClusterArn: v.PrimaryClusterArn, SecondaryClusterArn: v.SecondaryClusterArn}
	repl := strings.NewReplacer(TargetBucketArn, v.TargetBucketArn, LedgerArn, v.LedgerArn, Executions, v.Executions,
		StateMachineArn, v.StateMachineArn, DistributionArn, v.DistributionArn,
		GlobalClusterArn, v.GlobalClusterArn, PrimaryClusterArn, v.PrimaryClusterArn, SecondaryClusterArn, v.SecondaryClusterArn)
	out := make([]Statement, 0, len(sts))
	for _, st := range sts {
		res := Statement{Sid: st.Sid, Actions: slices.Clone(st.Actions)}
		for _, r := range st.Resources {
			for ph, val := range vals {
				if strings.Contains(r, ph) && val == "" {
					panic(fmt.Sprintf("policy: %s statement %s names %s, which has no value", function, st.Sid, ph))
				}
			}
			res.Resources = append(res.Resources, repl.Replace(r))
		}
		out = append(out, res)
	}
	return out
}

// NamesStateMachine reports whether a statement For filled from v names this state
// machine or its executions. infra/ puts such statements in a policy of their own: the
// state machine names the functions it invokes, so their roles' default policies, on
// which the functions depend, cannot name it back without a cycle.
func NamesStateMachine(st Statement, v Values) bool {
	for _, r := range st.Resources {
		if v.Executions != "" && strings.Contains(r, v.Executions) || v.StateMachineArn != "" && strings.Contains(r, v.StateMachineArn) {
			return true
		}
	}
	return false
}

// Grants flattens statements to "action resource" pairs, sorted and without
// duplicates: the form tests compare.
func Grants(sts []Statement) []string {
	var out []string
	for _, st := range sts {
		for _, a := range st.Actions {
			for _, r := range st.Resources {
				out = append(out, a+" "+r)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
