package rds_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox/rds"
)

// TestDescribeGlobalCluster: the members, the writer in the primary region with the
// secondary as its reader, no FailoverState, as the SDK decodes them.
func TestDescribeGlobalCluster(t *testing.T) {
	f := newFixture(t, rds.Options{})
	g := f.describe(t)
	if aws.ToString(g.GlobalClusterIdentifier) != global || aws.ToString(g.GlobalClusterArn) != "arn:aws:rds::"+account+":global-cluster:"+global ||
		aws.ToString(g.Engine) != rds.Engine || g.FailoverState != nil || len(g.GlobalClusterMembers) != 2 {
		t.Fatalf("global cluster %+v", g)
	}
	w, r := g.GlobalClusterMembers[0], g.GlobalClusterMembers[1]
	if aws.ToString(w.DBClusterArn) != "arn:aws:rds:us-east-1:"+account+":cluster:unishop-global-us-east-1" || !aws.ToBool(w.IsWriter) ||
		len(w.Readers) != 1 || w.Readers[0] != aws.ToString(r.DBClusterArn) {
		t.Errorf("writer member %+v", w)
	}
	if aws.ToBool(r.IsWriter) || r.SynchronizationStatus != types.GlobalClusterMemberSynchronizationStatusConnected {
		t.Errorf("secondary member %+v", r)
	}
	all, err := f.client.DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{})
	if err != nil || len(all.GlobalClusters) != 1 {
		t.Errorf("without an identifier: %v %+v", err, all)
	}
	_, err = f.client.DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String("nope")})
	var nf *types.GlobalClusterNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("unknown global cluster: %v, want GlobalClusterNotFoundFault", err)
	}
}

// TestSwitchover: pending (writes still accepted) → switching-over (writes fail on
// both clusters, 2003) → done: the target is the writer, the old writer answers 1290,
// nothing written before the switch is lost, and it switches back the same way.
func TestSwitchover(t *testing.T) {
	const pending, switching = 300 * time.Millisecond, 400 * time.Millisecond
	f := newFixture(t, rds.Options{PendingTime: pending, SwitchoverTime: switching, ReplicationLag: time.Hour})
	if err := f.db.Insert(east, row("before")); err != nil {
		t.Fatalf("write before the switch: %v", err)
	}
	if err := f.db.Insert(west, row("west")); mysqlNumber(err) != rds.ErrReadOnly {
		t.Fatalf("write in the secondary: %v, want 1290", err)
	}
	began := time.Now()
	if err := f.switchover(t, west); err != nil {
		t.Fatalf("SwitchoverGlobalCluster: %v", err)
	}
	returned := time.Now() // the switch began between began and returned
	g := f.describe(t)
	fs := g.FailoverState
	if fs == nil || (fs.Status != rds.StatusPending && time.Since(began) < pending) || aws.ToString(fs.FromDbClusterArn) != f.db.ClusterARN(east) ||
		aws.ToString(fs.ToDbClusterArn) != f.db.ClusterARN(west) || aws.ToBool(fs.IsDataLossAllowed) {
		t.Fatalf("FailoverState right after the call: %+v", fs)
	}
	acked := []string{"before"} // every write the database accepted must survive the switch
	if err := f.db.Insert(east, row("pending")); err == nil {
		acked = append(acked, "pending")
	} else if time.Since(began) < pending {
		t.Errorf("write while pending: %v", err)
	}
	time.Sleep(time.Until(returned.Add(pending + 20*time.Millisecond)))
	w, status := f.writer(t)
	if time.Since(began) < pending+switching && (status != rds.StatusSwitchingOver || w != f.db.ClusterARN(east)) {
		t.Fatalf("while switching: writer %s status %q", w, status)
	}
	for _, region := range []string{east, west} {
		if err := f.db.Insert(region, row("during-"+region)); time.Since(began) < pending+switching && mysqlNumber(err) != rds.ErrCannotReach {
			t.Errorf("write in %s while switching: %v, want 2003", region, err)
		}
	}
	for {
		w, status = f.writer(t)
		if status == "" {
			break
		}
		if time.Since(began) > pending+switching+2*time.Second {
			t.Fatalf("switch never ended: %q", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if took := time.Since(began); w != f.db.ClusterARN(west) || took < pending+switching {
		t.Fatalf("after %s: writer %s, want %s after at least %s", took, w, f.db.ClusterARN(west), pending+switching)
	}
	// RPO 0: the target was synchronised though the lag is an hour.
	for _, k := range acked {
		if _, ok := f.db.Get(west, k); !ok {
			t.Errorf("%q lost by the switchover", k)
		}
	}
	if err := f.db.Insert(east, row("demoted")); mysqlNumber(err) != rds.ErrReadOnly {
		t.Errorf("write on the demoted cluster: %v, want 1290", err)
	}
	if err := f.db.Insert(west, row("after")); err != nil {
		t.Errorf("write on the new writer: %v", err)
	}
	if err := f.switchover(t, east); err != nil {
		t.Fatalf("switch back: %v", err)
	}
	time.Sleep(pending + switching + 20*time.Millisecond)
	if w, status := f.writer(t); w != f.db.ClusterARN(east) || status != "" {
		t.Errorf("after the switch back: writer %s status %q", w, status)
	}
	if _, ok := f.db.Get(east, "after"); !ok {
		t.Error("the write made in us-west-1 was lost by the switch back")
	}
}

// TestSecondSwitchRefused: while a switch is in progress another is refused with
// InvalidGlobalClusterStateFault, whatever its target; a target that is no member, or
// is already the writer, is refused too.
func TestSecondSwitchRefused(t *testing.T) {
	// Long enough that the switch is still in progress at the end: nothing waits for it.
	f := newFixture(t, rds.Options{PendingTime: 5 * time.Second, SwitchoverTime: 5 * time.Second})
	for _, tc := range []struct{ name, target, want string }{
		{"already the writer", f.db.ClusterARN(east), "InvalidDBClusterStateFault"},
		{"no member", "arn:aws:rds:eu-west-1:" + account + ":cluster:other", "DBClusterNotFoundFault"},
	} {
		_, err := f.client.SwitchoverGlobalCluster(ctx(t), &awsrds.SwitchoverGlobalClusterInput{
			GlobalClusterIdentifier: aws.String(global), TargetDbClusterIdentifier: aws.String(tc.target)})
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if err := f.switchover(t, west); err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{west, east} {
		err := f.switchover(t, region)
		var inv *types.InvalidGlobalClusterStateFault
		if !errors.As(err, &inv) {
			t.Errorf("second switch to %s: %v, want InvalidGlobalClusterStateFault", region, err)
		}
	}
	_, err := f.client.FailoverGlobalCluster(ctx(t), &awsrds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global),
		TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(west)), AllowDataLoss: aws.Bool(true)})
	if code(err) != "InvalidGlobalClusterStateFault" {
		t.Errorf("failover during a switchover: %v", err)
	}
}

// TestReplicationLag: a write reaches the secondary's reads only after the lag.
func TestReplicationLag(t *testing.T) {
	const lag = 200 * time.Millisecond
	f := newFixture(t, rds.Options{ReplicationLag: lag})
	began := time.Now()
	if err := f.db.Insert(east, row("k")); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.db.Get(east, "k"); !ok {
		t.Error("the writer does not read its own write")
	}
	if _, ok := f.db.Get(west, "k"); ok && time.Since(began) < lag {
		t.Error("the secondary had the write before the lag")
	}
	time.Sleep(lag + 10*time.Millisecond)
	if _, ok := f.db.Get(west, "k"); !ok {
		t.Error("the secondary lacks the write after the lag")
	}
	if err := f.db.Insert(east, row("k")); mysqlNumber(err) != rds.ErrDuplicateKey {
		t.Errorf("duplicate key: %v, want 1062", err)
	}
}

// TestFailoverWithDataLoss: FailoverGlobalCluster with AllowDataLoss does not wait for
// the secondary: writes not yet replicated are lost in both clusters; the others stay.
// Without AllowDataLoss it is a switchover (nothing lost).
func TestFailoverWithDataLoss(t *testing.T) {
	const lag = time.Second
	f := newFixture(t, rds.Options{ReplicationLag: lag, PendingTime: time.Millisecond, SwitchoverTime: 50 * time.Millisecond})
	if err := f.db.Insert(east, row("old")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(lag + 20*time.Millisecond)
	written := time.Now()
	if err := f.db.Insert(east, row("unreplicated")); err != nil {
		t.Fatal(err)
	}
	out, err := f.client.FailoverGlobalCluster(ctx(t), &awsrds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global),
		TargetDbClusterIdentifier: aws.String(f.db.ClusterID(west)), AllowDataLoss: aws.Bool(true)})
	if err != nil {
		t.Fatalf("FailoverGlobalCluster: %v", err)
	}
	if took := time.Since(written); took >= lag {
		t.Skipf("the failover was answered %s after the write, past the %s lag: the write may have replicated (a machine this slow cannot tell)", took, lag)
	}
	if fs := out.GlobalCluster.FailoverState; fs == nil || !aws.ToBool(fs.IsDataLossAllowed) {
		t.Errorf("FailoverState %+v, want IsDataLossAllowed", fs)
	}
	time.Sleep(80 * time.Millisecond)
	if w, status := f.writer(t); w != f.db.ClusterARN(west) || status != "" {
		t.Fatalf("after the failover: writer %s status %q", w, status)
	}
	time.Sleep(lag + 20*time.Millisecond)
	for _, region := range []string{east, west} {
		if _, ok := f.db.Get(region, "old"); !ok {
			t.Errorf("%s lost a replicated write", region)
		}
		if _, ok := f.db.Get(region, "unreplicated"); ok {
			t.Errorf("%s kept the write that had not replicated when it failed over", region)
		}
	}

	// Without AllowDataLoss (Switchover=true): synchronised, nothing lost.
	if err := f.db.Insert(west, row("kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.FailoverGlobalCluster(ctx(t), &awsrds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global),
		TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(east)), Switchover: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	if _, ok := f.db.Get(east, "kept"); !ok {
		t.Error("a failover without AllowDataLoss lost a write")
	}
	_, err = f.client.FailoverGlobalCluster(ctx(t), &awsrds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global),
		TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(west)), Switchover: aws.Bool(true), AllowDataLoss: aws.Bool(true)})
	if code(err) != "InvalidParameterCombination" {
		t.Errorf("both AllowDataLoss and Switchover: %v", err)
	}
}

// TestStaleDNS: through the global writer endpoint, a client that resolved it before
// the switch keeps writing to the demoted node (1290) until its cache's TTL passes; a
// client in the other region, resolving after the switch, reaches the new writer.
func TestStaleDNS(t *testing.T) {
	const ttl = 400 * time.Millisecond
	f := newFixture(t, rds.Options{Endpoint: rds.EndpointGlobal, DNSCacheTTL: ttl, PendingTime: time.Millisecond, SwitchoverTime: 50 * time.Millisecond})
	resolved := time.Now()
	if err := f.db.Insert(east, row("east-1")); err != nil {
		t.Fatalf("east before the switch: %v", err)
	}
	if err := f.switchover(t, west); err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	if w, _ := f.writer(t); w != f.db.ClusterARN(west) {
		t.Fatalf("writer %s", w)
	}
	if err := f.db.Insert(west, row("west-1")); err != nil {
		t.Errorf("west resolving after the switch: %v", err)
	}
	err := f.db.Insert(east, row("east-2"))
	if time.Since(resolved) < ttl && mysqlNumber(err) != rds.ErrReadOnly {
		t.Errorf("east with a cached address: %v, want 1290 from the demoted node", err)
	}
	time.Sleep(time.Until(resolved.Add(ttl + 10*time.Millisecond)))
	if err := f.db.Insert(east, row("east-3")); err != nil {
		t.Errorf("east after the TTL: %v", err)
	}
	if _, ok := f.db.Get(west, "east-3"); !ok {
		t.Error("east's write after the TTL did not reach the new writer")
	}
}

// TestIAM: a principal with statements may call only what they allow; the switch needs
// its action on the global cluster and both members.
func TestIAM(t *testing.T) {
	f := newFixture(t, rds.Options{PendingTime: time.Millisecond, SwitchoverTime: time.Millisecond})
	globalARN := f.db.GlobalClusterARN()
	f.policies.Set(map[string][]policy.Statement{
		"reader":   {{Sid: "Describe", Actions: []string{rds.ActionDescribe}, Resources: []string{globalARN}}},
		"narrow":   {{Sid: "SwitchGlobalOnly", Actions: []string{rds.ActionSwitchover, rds.ActionDescribe}, Resources: []string{globalARN, f.db.ClusterARN(west)}}},
		"switcher": {{Sid: "Switch", Actions: []string{rds.ActionSwitchover}, Resources: []string{globalARN, f.db.ClusterARN(east), f.db.ClusterARN(west)}}},
	})
	in := &awsrds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global), TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(west))}
	if _, err := f.clientAs("reader").DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{}); err != nil {
		t.Errorf("reader describes: %v", err)
	}
	for _, p := range []string{"reader", "narrow"} {
		if _, err := f.clientAs(p).SwitchoverGlobalCluster(ctx(t), in); code(err) != "AccessDenied" {
			t.Errorf("%s switches over: %v, want AccessDenied", p, err)
		}
	}
	if _, err := f.clientAs("switcher").DescribeGlobalClusters(ctx(t), &awsrds.DescribeGlobalClustersInput{}); code(err) != "AccessDenied" {
		t.Errorf("switcher describes: %v, want AccessDenied", err)
	}
	if _, err := f.clientAs("switcher").FailoverGlobalCluster(ctx(t), &awsrds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(global),
		TargetDbClusterIdentifier: aws.String(f.db.ClusterARN(west)), AllowDataLoss: aws.Bool(true)}); code(err) != "AccessDenied" {
		t.Errorf("switcher fails over: %v, want AccessDenied", err)
	}
	if w, status := f.writer(t); w != f.db.ClusterARN(east) || status != "" {
		t.Fatalf("a denied call changed the cluster: %s %q", w, status)
	}
	if _, err := f.clientAs("switcher").SwitchoverGlobalCluster(ctx(t), in); err != nil {
		t.Errorf("switcher switches over: %v", err)
	}
}
