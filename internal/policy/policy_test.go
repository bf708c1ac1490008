package policy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox/iam"
)

var values = policy.Values{
	TargetBucketArn: "arn:aws:s3:::ui",
	LedgerArn:       "arn:aws:s3:::ledger",
	Executions:      "arn:aws:states:us-east-1:123456789012:execution:failover-drill",
	StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:failover-drill",
	DistributionArn: "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
}

// What each function may do, spelled out: the least-privilege gaps are closed
// here (block-bucket can release its lock; report can write only its own report
// files). Restore writes a lock only to mark it changed (If-Match), which S3
// authorizes with s3:PutObject and s3:GetObject on the lock.
func TestGrants(t *testing.T) {
	// A run's evidence is written only in its own folder, named with its start.
	const run = "????????T??????.???Z"
	pab := []string{"s3:GetBucketPublicAccessBlock arn:aws:s3:::ui", "s3:PutBucketPublicAccessBlock arn:aws:s3:::ui"}
	read := []string{"s3:GetObject arn:aws:s3:::ledger/locks/*", "s3:GetObject arn:aws:s3:::ledger/runs/*/ticket-*", "s3:ListBucket arn:aws:s3:::ledger"}
	restore := append(append(slices.Clone(pab), read...), "s3:DeleteObject arn:aws:s3:::ledger/locks/*",
		"s3:PutObject arn:aws:s3:::ledger/locks/*", "s3:PutObject arn:aws:s3:::ledger/runs/*/ticket-*")
	for _, tc := range []struct {
		function string
		want     []string
	}{
		{drill.FuncBlock, append(append(slices.Clone(pab), read...), "s3:DeleteObject arn:aws:s3:::ledger/locks/*",
			"s3:PutObject arn:aws:s3:::ledger/locks/*", "s3:PutObject arn:aws:s3:::ledger/runs/*/ticket-*")},
		// Each restore after an execution's end records itself, under its own key only.
		// Each asks Step Functions, for its record, which state was interrupted or failed.
		{drill.FuncRestore, append(slices.Clone(restore), "s3:PutObject arn:aws:s3:::ledger/runs/*/"+run+"/restore-safety-net.json",
			"states:GetExecutionHistory arn:aws:states:us-east-1:123456789012:execution:failover-drill:*")},
		{drill.FuncSweeper, append(slices.Clone(restore), "states:DescribeExecution arn:aws:states:us-east-1:123456789012:execution:failover-drill:*",
			"states:GetExecutionHistory arn:aws:states:us-east-1:123456789012:execution:failover-drill:*",
			"s3:PutObject arn:aws:s3:::ledger/runs/*/"+run+"/restore-sweeper.json")},
		// Its reports; it reads the probe's sample logs, and lists the ledger so a
		// missing one reads 404; and, for a dry run, this state machine's executions.
		{drill.FuncReport, []string{"s3:GetObject arn:aws:s3:::ledger/runs/*/" + run + "/samples-*.json", "s3:ListBucket arn:aws:s3:::ledger",
			"s3:PutObject arn:aws:s3:::ledger/runs/*/" + run + "/report.html", "s3:PutObject arn:aws:s3:::ledger/runs/*/" + run + "/report.json",
			"states:DescribeExecution arn:aws:states:us-east-1:123456789012:execution:failover-drill:*",
			"states:ListExecutions arn:aws:states:us-east-1:123456789012:stateMachine:failover-drill"}},
		{drill.FuncSeedCart, nil},
		// Its sample logs, and the stop alarms (on *: composite alarms).
		{drill.FuncProbe, []string{"cloudwatch:DescribeAlarms *", "s3:PutObject arn:aws:s3:::ledger/runs/*/" + run + "/samples-*.json"}},
		// The deployed distribution, the account's Block Public Access, the stop alarms.
		{drill.FuncReadiness, []string{"cloudfront:GetDistributionConfig arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
			"cloudwatch:DescribeAlarms *", "s3:GetAccountPublicAccessBlock *"}},
	} {
		t.Run(tc.function, func(t *testing.T) {
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if got := policy.Grants(policy.For(tc.function, values)); !slices.Equal(got, want) {
				t.Errorf("grants\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			for _, st := range policy.For(tc.function, values) {
				if st.Sid == "" {
					t.Errorf("statement without a Sid: %+v", st)
				}
			}
		})
	}
}

func TestForNeverLeavesAPlaceholder(t *testing.T) {
	for fn := range policy.Functions {
		for _, g := range policy.Grants(policy.For(fn, values)) {
			if strings.Contains(g, "<") {
				t.Errorf("%s: %s", fn, g)
			}
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "<Executions>") {
			t.Errorf("a missing value did not panic naming it: %v", r)
		}
	}()
	policy.For(drill.FuncSweeper, policy.Values{TargetBucketArn: "a", LedgerArn: "b"})
}

func TestForCopies(t *testing.T) {
	a := policy.For(drill.FuncBlock, values)
	a[0].Actions[0] = "s3:*"
	if b := policy.For(drill.FuncBlock, values); b[0].Actions[0] == "s3:*" {
		t.Error("For shares the declaration's slices")
	}
}

// Every grant on * is one AWS requires: an action without a resource type, or
// DescribeAlarms, which returns composite alarms only when scoped to *.
func TestStarOnlyWhereAWSRequiresIt(t *testing.T) {
	for fn := range policy.Functions {
		for _, st := range policy.For(fn, values) {
			for _, a := range st.Actions {
				if slices.Contains(st.Resources, "*") && policy.StarOnly[a] == "" {
					t.Errorf("%s: %s on * without a reason in policy.StarOnly", fn, a)
				}
			}
		}
	}
}

// Statements naming the state machine or its executions are told apart (infra gives
// them a policy of their own, or the stack would have a dependency cycle).
func TestNamesStateMachine(t *testing.T) {
	var named []string
	for _, fn := range []string{drill.FuncReport, drill.FuncRestore, drill.FuncSweeper, drill.FuncReadiness, drill.FuncBlock} {
		for _, st := range policy.For(fn, values) {
			if policy.NamesStateMachine(st, values) {
				named = append(named, fn+" "+st.Sid)
			}
		}
	}
	want := []string{"report ListDrillExecutions", "report DescribeDrillExecutionsForDryRuns", "restore ReadDrillExecutionHistory",
		"sweeper DescribeDrillExecutions", "sweeper ReadDrillExecutionHistory"}
	if !slices.Equal(named, want) {
		t.Errorf("statements naming the state machine %v, want %v", named, want)
	}
}

// The ledger's locks and run tickets are written and deleted only with If-Match or
// If-None-Match: * (internal/ledger), and S3 authorizes If-Match on an ETag only with
// s3:GetObject on the object too. Every function that may write or delete them must
// be able to read them (the replica enforces this; so does AWS).
func TestConditionalWritersCanReadTheirObjects(t *testing.T) {
	for fn := range policy.Functions {
		grants := policy.Grants(policy.For(fn, values))
		for _, g := range grants {
			action, resource, _ := strings.Cut(g, " ")
			if action != "s3:PutObject" && action != "s3:DeleteObject" {
				continue
			}
			if !strings.HasSuffix(resource, "/locks/*") && !strings.HasSuffix(resource, "/ticket-*") {
				continue // report files and sample logs are written unconditionally
			}
			if !slices.Contains(grants, "s3:GetObject "+resource) {
				t.Errorf("%s: %s on %s without s3:GetObject on it: its If-Match calls would be denied", fn, action, resource)
			}
		}
	}
}

// Each function may write exactly the evidence keys its code writes, in the run's
// folder, and nothing in a legacy folder (runs/<execution>/report.json and so on, the
// evidence of runs from before the start was in the key) or in another run's kind of
// file. drill report and drill history read both layouts.
func TestEvidenceKeysAndGrantsAgree(t *testing.T) {
	id := drill.RunID{Execution: "drill-w23", StartTime: drill.At(time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC))}
	start := id.StartTime
	arn := func(key string) string { return "arn:aws:s3:::ledger/" + key }
	legacy := []string{"runs/drill-w23/report.json", "runs/drill-w23/report.html", "runs/drill-w23/samples-failover.json",
		"runs/drill-w23/restore-safety-net.json", "runs/drill-w23/restore-sweeper.json"}
	allowed := func(sts []policy.Statement, action, key string) bool {
		for _, st := range sts {
			if slices.Contains(st.Actions, action) && slices.ContainsFunc(st.Resources, func(r string) bool { return iam.Match(r, arn(key)) }) {
				return true
			}
		}
		return false
	}
	writes := map[string][]string{
		drill.FuncProbe:   {drill.SamplesKey(id.Execution, start, drill.ModeSteady), drill.SamplesKey(id.Execution, start, drill.ModeRecoveryCheck)},
		drill.FuncReport:  {drill.ReportKey(id.Execution, start), drill.ReportHTMLKey(id.Execution, start)},
		drill.FuncRestore: {drill.RestoreRecordKey(id.Execution, start, drill.ReasonSafetyNet), drill.RunTicketKey(id)},
		drill.FuncSweeper: {drill.RestoreRecordKey(id.Execution, start, drill.ReasonSweeper), drill.RunTicketKey(id)},
		drill.FuncBlock:   {drill.RunTicketKey(id)},
	}
	every := []string{}
	for _, keys := range writes {
		every = append(every, keys...)
	}
	for fn, keys := range writes {
		sts := policy.For(fn, values)
		for _, key := range every {
			if got, want := allowed(sts, "s3:PutObject", key), slices.Contains(keys, key); got != want {
				t.Errorf("%s may write %s: %v, want %v", fn, key, got, want)
			}
		}
		for _, key := range legacy {
			if allowed(sts, "s3:PutObject", key) {
				t.Errorf("%s may write %s, a legacy run's evidence", fn, key)
			}
		}
	}
	if !allowed(policy.For(drill.FuncReport, values), "s3:GetObject", drill.SamplesKey(id.Execution, start, drill.ModeFailover)) ||
		allowed(policy.For(drill.FuncReport, values), "s3:GetObject", "runs/drill-w23/samples-failover.json") {
		t.Error("report reads sample logs other than in a run's folder")
	}
	// The commands read every run's evidence, in either layout.
	read := []string{drill.ReportKey(id.Execution, start), drill.RestoreRecordKey(id.Execution, start, drill.ReasonOperator),
		"runs/drill-w23/report.json", "runs/drill-w23/restore-safety-net.json"}
	for _, key := range read {
		for _, cmd := range []string{"report", "history"} {
			if !allowed(policy.CommandFor(cmd, values), "s3:GetObject", key) {
				t.Errorf("drill %s may not read %s", cmd, key)
			}
		}
	}
	for _, key := range []string{drill.SamplesKey(id.Execution, start, drill.ModeFailover), "runs/drill-w23/samples-failover.json", drill.ReportHTMLKey(id.Execution, start)} {
		if !allowed(policy.CommandFor("report", values), "s3:GetObject", key) {
			t.Errorf("drill report may not read %s", key)
		}
	}
}

// The database stage's RDS grants come only with a global cluster, and then exactly:
// describe on the global cluster, switchover on it and its two members; never
// FailoverGlobalCluster nor RemoveFromGlobalCluster.
func TestDatabaseGrantsOnlyWithAGlobalCluster(t *testing.T) {
	for fn := range policy.Functions {
		for _, g := range policy.Grants(policy.For(fn, values)) {
			if strings.HasPrefix(g, "rds:") {
				t.Errorf("%s: %s without a global cluster", fn, g)
			}
		}
	}
	v := values
	v.GlobalClusterArn = "arn:aws:rds::123456789012:global-cluster:g"
	v.PrimaryClusterArn = "arn:aws:rds:us-east-1:123456789012:cluster:p"
	v.SecondaryClusterArn = "arn:aws:rds:us-west-1:123456789012:cluster:s"
	want := []string{"rds:DescribeGlobalClusters " + v.GlobalClusterArn,
		"rds:SwitchoverGlobalCluster " + v.GlobalClusterArn, "rds:SwitchoverGlobalCluster " + v.PrimaryClusterArn, "rds:SwitchoverGlobalCluster " + v.SecondaryClusterArn}
	for _, fn := range []string{drill.FuncDatabase, drill.FuncRestore, drill.FuncSweeper, drill.FuncBlock, drill.FuncProbe} {
		var got []string
		for _, g := range policy.Grants(policy.For(fn, v)) {
			if strings.HasPrefix(g, "rds:") {
				got = append(got, g)
			}
		}
		wantFn := want
		if fn == drill.FuncBlock || fn == drill.FuncProbe {
			wantFn = nil
		}
		if !slices.Equal(got, wantFn) {
			t.Errorf("%s: RDS grants %v, want %v", fn, got, wantFn)
		}
	}
}
