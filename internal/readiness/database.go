package readiness

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/clock"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/shop"
)

// switchoverEngines are the engines whose global databases SwitchoverGlobalCluster
// serves (Aurora MySQL and Aurora PostgreSQL).
var switchoverEngines = []string{"aurora-mysql", "aurora-postgresql"}

// database checks the global cluster before anything changes: it exists, exactly one
// writer, in primaryRegion, a member in secondaryRegion, no switch in progress, every
// secondary synchronised, an engine that switches over. The members' own engine
// versions (which a switchover needs equal) are not read: that needs
// rds:DescribeDBClusters, which the stage does not otherwise use.
func (h *Handler) database(ctx context.Context, cfg drill.Config) drill.Check {
	const name = drill.CheckDatabase
	if h.Database == nil {
		return skip(name, "this deployment has no RDS client for the readiness function", "deploy with the globalCluster, primaryCluster and secondaryCluster context")
	}
	look, err := database.Describe(ctx, h.Database(cfg.SecondaryRegion), cfg.GlobalCluster)
	if err != nil {
		return fail(name, "the global cluster could not be read: "+err.Error(),
			"check that globalCluster names the users' Aurora global database and that the readiness role may describe it")
	}
	evidence := fmt.Sprintf("global cluster %s: writer %s, members %s, engine %s", cfg.GlobalCluster, strings.Join(look.Writers, ", "), strings.Join(look.Members, ", "), look.EngineVersion)
	var problems []string
	switch w := look.Writer(); {
	case w == "":
		problems = append(problems, fmt.Sprintf("%d writers, want exactly 1", len(look.Writers)))
	case database.RegionOf(w) != cfg.PrimaryRegion:
		problems = append(problems, fmt.Sprintf("the writer %s is not in primaryRegion %s (a switch left it there? switch it back first)", w, cfg.PrimaryRegion))
	}
	if look.Member(cfg.SecondaryRegion) == "" {
		problems = append(problems, "no member cluster in secondaryRegion "+cfg.SecondaryRegion)
	}
	if look.Status != "" {
		problems = append(problems, fmt.Sprintf("a switch is in progress (%s from %s to %s)", look.Status, look.From, look.To))
	}
	if len(look.Lagging) > 0 {
		problems = append(problems, "members not synchronised: "+strings.Join(look.Lagging, ", "))
	}
	if engine := look.Engine; engine != "" && !contains(switchoverEngines, engine) {
		problems = append(problems, fmt.Sprintf("engine %s has no switchover", engine))
	}
	if len(problems) > 0 {
		return fail(name, strings.Join(problems, "; "), "bring the global database to its healthy starting point (one writer in primaryRegion, every secondary synchronised) before a drill", evidence)
	}
	return pass(name, evidence)
}

// databaseReplication proves the two paths the stage's measurement uses, after
// SeedCart: the seeded user (written through the primary API) can log in through the
// secondary API within maxReplicationLagSeconds (users replicate), and a sign-up
// through the secondary API reaches the database: refused as a read-only replica
// refuses it (MySQL 1290, the lab's application, which writes to its own region's
// cluster), or accepted (an application that reaches the writer through the global
// writer endpoint). Any other failure means the write path the stage measures is
// broken before the drill.
func (h *Handler) databaseReplication(ctx context.Context, cfg drill.Config, seed *drill.SeedResult, secondaryAPI string) drill.Check {
	const name = drill.CheckDatabaseReplication
	if secondaryAPI == "" {
		return skip(name, "the secondary API is unknown (see the secondary-origin check)", "make the secondary-origin check run")
	}
	from := seed.FinishedAt
	if from.IsZero() {
		from = h.now()
	}
	deadline := from.Add(time.Duration(cfg.MaxReplicationLagSeconds) * time.Second)
	var lerr error
	var secs float64
	for {
		_, lerr = h.Shop.Login(ctx, secondaryAPI, seed.User.Email)
		at := h.now()
		if lerr == nil {
			secs = drill.Seconds(at.Sub(from))
			break
		}
		if ctx.Err() != nil || !at.Add(h.poll()).Before(deadline) {
			return fail(name, fmt.Sprintf("the seeded user %s could not log in through the secondary API %s within maxReplicationLagSeconds (%d s): %v",
				seed.User.Email, secondaryAPI, cfg.MaxReplicationLagSeconds, lerr),
				"find why the users' global database replicates slowly (AuroraGlobalDBReplicationLag) before a switchover")
		}
		if err := clock.Sleep(ctx, h.poll()); err != nil {
			return fail(name, err.Error(), "run the drill again")
		}
	}
	email := strings.Replace(seed.User.Email, "@", "-readonly@", 1)
	_, err := h.Shop.SignUp(ctx, secondaryAPI, shop.User{Email: email, FirstName: "Drill", LastName: "ReadOnly"})
	switch {
	case err == nil:
		// The secondary region's application reaches the writer (the global writer
		// endpoint, or write forwarding): legitimate; the stage then measures each
		// region from its first refusal during the switch.
		return pass(name, fmt.Sprintf("the seeded user logged in through the secondary API %.3f s after it was written; a sign-up there was accepted before any switch (%s): "+
			"the secondary region's application reaches the writer (global writer endpoint or write forwarding), so its write outage counts from its first refusal", secs, email))
	case !strings.Contains(err.Error(), "1290"):
		return fail(name, fmt.Sprintf("a sign-up through the secondary API %s failed, neither accepted nor refused as a read-only replica refuses it (MySQL 1290): %v", secondaryAPI, err),
			"make the secondary region's sign-up path work up to the database")
	}
	return pass(name, fmt.Sprintf("the seeded user logged in through the secondary API %.3f s after it was written; a sign-up there was refused read-only (1290), as before a switchover", secs))
}

func (h *Handler) poll() time.Duration {
	if h.ReplicationPoll > 0 {
		return h.ReplicationPoll
	}
	return DefaultReplicationPoll
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
