package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox"
)

func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("drill sandbox", args, stdout, stderr)
	fs := flag.NewFlagSet("drill sandbox", flag.ContinueOnError)
	var sf sandboxFlags
	sf.register(fs)
	forDur := fs.Duration("for", 0, "stop after this long (0: until Ctrl-C)")
	c.logFlags(fs, "print the replica's logs (every request it served) on stderr, as text")
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
	if *forDur < 0 {
		return c.usage("-for: %s is negative", *forDur)
	}
	sc.Logger = c.logger()
	sb, err := sandbox.Start(sc)
	if err != nil {
		return c.fail(1, "Sandbox", err)
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

// printSandbox tells a person where the replica is and how to do the lab in it: the
// URL to open, the command that blocks the primary bucket (lab step 2.4) and the one
// that puts it back exactly as it was.
func printSandbox(w io.Writer, sb *sandbox.Sandbox) {
	c := sb.Config()
	p := sb.Primary()
	fmt.Fprintf(w, "The Unicorn Shop, through the CloudFront stand-in. Open it in a browser:\n\n  %s/\n\n", sb.DistributionURL())
	for _, r := range []sandbox.Region{p, sb.Secondary()} {
		fmt.Fprintf(w, "%-10s bucket %s\n", r.Name, r.Bucket)
		fmt.Fprintf(w, "  S3 endpoint    %s\n  website        %s\n  shop API       %s\n", r.S3URL, r.WebsiteURL, r.APIURL)
	}
	fmt.Fprintf(w, "ledger bucket %s (S3 endpoint of %s)\n", c.LedgerBucket, c.PrimaryRegion)
	fmt.Fprintf(w, "control plane (what readiness reads): CloudFront API %s (distribution %s), S3 Control %s (account %s), CloudWatch %s (alarms %v)\n",
		sb.CloudFrontURL(), sandbox.DistributionID, sb.S3ControlURL(), sandbox.AccountID, sb.CloudWatchURL(), c.StopAlarms)

	target := fmt.Sprintf("-endpoint %s -region %s -bucket %s", p.S3URL, p.Name, p.Bucket)
	restore := "delete " + target
	awsRestore := fmt.Sprintf("delete-public-access-block --endpoint-url %s --region %s --bucket %s", p.S3URL, p.Name, p.Bucket)
	if prior := c.PrimaryPAB; prior != nil {
		js, _ := json.Marshal(prior)
		restore = fmt.Sprintf("put '%s' %s", js, target)
		awsRestore = fmt.Sprintf("put-public-access-block --endpoint-url %s --region %s --bucket %s --public-access-block-configuration %s",
			p.S3URL, p.Name, p.Bucket, awsPAB(*prior))
	}
	self := selfCommand()
	fmt.Fprintf(w, "\nLab step 2.4, \"Block all public access\" on the primary bucket:\n  %s public-access block %s\n", self, target)
	fmt.Fprintf(w, "or with the AWS CLI (any credentials do):\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws s3api put-public-access-block --endpoint-url %s --region %s --bucket %s \\\n    --public-access-block-configuration %s\n",
		p.S3URL, p.Name, p.Bucket, awsPAB(drill.BlockAll))
	fmt.Fprintf(w, "Then reload the page until it says %s (about %s). Put the bucket back exactly as it was:\n  %s public-access %s\n", sb.Secondary().Name, c.PropagationDelay, self, restore)
	fmt.Fprintf(w, "or:\n  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws s3api %s\n", awsRestore)
	printPromoteAurora(w, sb)
}

// printPromoteAurora is the lab's next step, "Promote Aurora", the reversible way: a
// switchover of the users' global database with the AWS CLI, then back.
func printPromoteAurora(w io.Writer, sb *sandbox.Sandbox) {
	q, p := sb.Secondary().Name, sb.Primary().Name
	rds := fmt.Sprintf("AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws rds --endpoint-url %s --region %s", sb.RDSEndpoint(), q)
	fmt.Fprintf(w, "\nNext lab step, \"Promote Aurora\", as a reversible switchover of the users' global database (sign-up then works in %s, about %s):\n", q, sb.Config().DBSwitchoverTime)
	fmt.Fprintf(w, "  %s switchover-global-cluster --global-cluster-identifier %s --target-db-cluster-identifier %s\n", rds, sandbox.GlobalClusterID, sb.DBClusterARN(q))
	fmt.Fprintf(w, "Watch the writer and the switch (FailoverState):\n  %s describe-global-clusters --global-cluster-identifier %s\n", rds, sandbox.GlobalClusterID)
	fmt.Fprintf(w, "Switch back:\n  %s switchover-global-cluster --global-cluster-identifier %s --target-db-cluster-identifier %s\n", rds, sandbox.GlobalClusterID, sb.DBClusterARN(p))
}

// awsPAB is a configuration in the AWS CLI's shorthand syntax.
func awsPAB(p drill.PublicAccessBlock) string {
	return fmt.Sprintf("BlockPublicAcls=%t,IgnorePublicAcls=%t,BlockPublicPolicy=%t,RestrictPublicBuckets=%t",
		p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
}
