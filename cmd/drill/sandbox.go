package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/sandbox"
)

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
}

// awsPAB is a configuration in the AWS CLI's shorthand syntax.
func awsPAB(p drill.PublicAccessBlock) string {
	return fmt.Sprintf("BlockPublicAcls=%t,IgnorePublicAcls=%t,BlockPublicPolicy=%t,RestrictPublicBuckets=%t",
		p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
}
