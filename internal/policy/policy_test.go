package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/policy"
)

var values = policy.Values{
	TargetBucketArn: "arn:aws:s3:::ui",
	LedgerArn:       "arn:aws:s3:::ledger",
	Executions:      "arn:aws:states:us-east-1:123456789012:execution:failover-drill",
}

// What each function may do, spelled out: the least-privilege gaps are closed
// here (block-bucket can release its lock; report can write only its own report
// files). Restore writes a lock only to mark it changed (If-Match), which S3
// authorizes with s3:PutObject and s3:GetObject on the lock.
func TestGrants(t *testing.T) {
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
		{drill.FuncRestore, append(slices.Clone(restore), "s3:PutObject arn:aws:s3:::ledger/runs/*/restore-safety-net.json")},
		{drill.FuncSweeper, append(slices.Clone(restore), "states:DescribeExecution arn:aws:states:us-east-1:123456789012:execution:failover-drill:*",
			"s3:PutObject arn:aws:s3:::ledger/runs/*/restore-sweeper.json")},
		// Its reports; it reads the probe's sample logs, and lists the ledger so a missing one reads 404.
		{drill.FuncReport, []string{"s3:GetObject arn:aws:s3:::ledger/runs/*/samples-*.json", "s3:ListBucket arn:aws:s3:::ledger",
			"s3:PutObject arn:aws:s3:::ledger/runs/*/report.html", "s3:PutObject arn:aws:s3:::ledger/runs/*/report.json"}},
		{drill.FuncSeedCart, nil},
		// Its sample logs, and nothing else (without stopAlarms, no alarm statement: left
		// out, never widened).
		{drill.FuncProbe, []string{"s3:PutObject arn:aws:s3:::ledger/runs/*/samples-*.json"}},
		// Without distributionId and stopAlarms their statements are left out.
		{drill.FuncReadiness, []string{"s3:GetAccountPublicAccessBlock *"}},
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

// Readiness and the probe with a distribution ID and stop alarms: the deployed
// distribution and the named alarms only.
func TestReadinessGrants(t *testing.T) {
	v := values
	v.DistributionArn = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
	v.StopAlarmArns = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrorRate", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:CheckoutLatency"}
	alarms := []string{"cloudwatch:DescribeAlarms arn:aws:cloudwatch:us-east-1:123456789012:alarm:CheckoutLatency",
		"cloudwatch:DescribeAlarms arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrorRate"}
	want := append([]string{"cloudfront:GetDistributionConfig arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"}, alarms...)
	want = append(want, "s3:GetAccountPublicAccessBlock *")
	if got := policy.Grants(policy.For(drill.FuncReadiness, v)); !slices.Equal(got, want) {
		t.Errorf("readiness\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	probe := append(slices.Clone(alarms), "s3:PutObject arn:aws:s3:::ledger/runs/*/samples-*.json")
	if got := policy.Grants(policy.For(drill.FuncProbe, v)); !slices.Equal(got, probe) {
		t.Errorf("probe %v, want %v", got, probe)
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
