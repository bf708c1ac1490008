package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/configure"
)

const configureSynopsis = "(--notify-email ADDRESS | --alarm-topic-arn ARN) [--distribution-id ID] [--file cdk.context.json] [--dry-run]"

const configureAbout = `Finds the lab's CloudFront distribution in the account (the one whose origin group
has the two S3 website endpoints, primary first), both buckets and their regions, and
writes them into cdk.context.json with who to tell when an alarm fires, so that
"npx cdk bootstrap", "deploy", "diff" and "destroy" need no -c flags. Other keys in the
file are kept. Run it from the repository root with the account's credentials
(AWS_PROFILE); it only reads (cloudfront:ListDistributions, s3:ListAllMyBuckets).

`

// runConfigure is drill configure: the deployment's context, found once.
func runConfigure(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("drill configure", args, stdout, stderr)
	c.about = configureAbout
	fs := flag.NewFlagSet("drill configure", flag.ContinueOnError)
	var who configure.Who
	fs.StringVar(&who.NotifyEmail, "notify-email", "", "an address subscribed to the results topic (context notifyEmail)")
	fs.StringVar(&who.AlarmTopicArn, "alarm-topic-arn", "", "an existing SNS topic every alarm also publishes to (context alarmTopicArn)")
	id := fs.String("distribution-id", "", "the lab's distribution, when the account has more than one that looks like it")
	file := fs.String("file", "cdk.context.json", "the CDK context file to merge into")
	dryRun := fs.Bool("dry-run", false, "print the file configure would write, and write nothing")
	cfEndpoint := fs.String("cloudfront-endpoint", "", "sandbox only: the replica's CloudFront API (drill sandbox prints it)")
	s3Endpoint := fs.String("s3-endpoint", "", "sandbox only: one of the replica's S3 endpoints (drill sandbox prints them)")
	verbose := fs.Bool("v", false, "show the SDK's errors and log lines")
	if code, ok := c.parse(fs, args, configureSynopsis); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "drill configure: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "unexpected arguments %q", fs.Args())
	}
	if err := who.Validate(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	var problems []string
	for _, e := range [][2]string{{"--cloudfront-endpoint", *cfEndpoint}, {"--s3-endpoint", *s3Endpoint}} {
		if err := loopbackEndpoint(e[1]); e[1] != "" && err != nil {
			problems = append(problems, e[0]+": "+err.Error())
		}
	}
	if (*cfEndpoint == "") != (*s3Endpoint == "") {
		problems = append(problems, "--cloudfront-endpoint and --s3-endpoint: give both (the sandbox) or neither (AWS)")
	}
	if len(problems) > 0 {
		return fail(exitUsage, "%s", strings.Join(problems, "; "))
	}
	existing, err := os.ReadFile(*file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(exitUsage, "--file: %v", err)
	}

	cf, s3c, err := configureClients(ctx, *cfEndpoint, *s3Endpoint, *verbose)
	if err != nil {
		return configureAWSError(stderr, err, *verbose)
	}
	lab, err := configure.Find(ctx, cf, s3c, *id)
	if err != nil {
		if _, ok := awsHint(err); ok || strings.Contains(err.Error(), "list ") {
			return configureAWSError(stderr, err, *verbose)
		}
		return fail(exitUsage, "%v", err)
	}
	out, changes, err := configure.Merge(existing, lab, who)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	fmt.Fprintf(stdout, "the lab: distribution %s (%s); primary %s in %s; secondary %s in %s\n",
		lab.DistributionID, lab.DistributionDomain, lab.PrimaryBucket, lab.PrimaryRegion, lab.SecondaryBucket, lab.SecondaryRegion)
	for _, c := range changes {
		if c.Old == "" {
			fmt.Fprintf(stdout, "  %s: %s\n", c.Key, c.New)
		} else {
			fmt.Fprintf(stdout, "  %s: %s (was %s)\n", c.Key, c.New, c.Old)
		}
	}
	if len(changes) == 0 {
		fmt.Fprintf(stdout, "  %s already says so\n", *file)
	}
	if *dryRun {
		fmt.Fprintf(stdout, "would write %s (--dry-run: nothing written):\n%s", *file, out)
		return exitPass
	}
	if err := writeFileAtomic(*file, out); err != nil {
		return fail(exitNoVerdict, "write %s: %v", *file, err)
	}
	fmt.Fprintf(stdout, "wrote %s: npx cdk bootstrap, deploy, diff and destroy now need no -c flags\n", *file)
	return exitPass
}

// configureClients are the CloudFront and S3 clients: the account's (CloudFront is
// global, S3 lists every bucket from us-east-1 when no region is set), or the
// sandbox's.
func configureClients(ctx context.Context, cfEndpoint, s3Endpoint string, verbose bool) (configure.CloudFrontAPI, configure.S3API, error) {
	if cfEndpoint != "" {
		cfg := awsconf.SandboxConfig("us-east-1")
		return cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(cfEndpoint) }),
			s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(s3Endpoint), true }), nil
	}
	cfg, err := awsconf.LoadCLI(ctx, verbose)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.Region = "us-east-1" }), s3.NewFromConfig(cfg), nil
}

// configureAWSError prints an AWS failure as one line (the credentials hint when it
// is one), exit 3: nothing was written.
func configureAWSError(stderr io.Writer, err error, verbose bool) int {
	if h, ok := awsHint(err); ok {
		fmt.Fprintf(stderr, "drill configure: %s\n", h.text)
		if verbose {
			fmt.Fprintf(stderr, "  %v\n", err)
		}
		return exitNoVerdict
	}
	fmt.Fprintf(stderr, "drill configure: %v (nothing written)\n", err)
	return exitNoVerdict
}

// writeFileAtomic replaces path with data through a temporary file in the same
// directory, so an interrupted write never leaves half a context file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cdk.context.*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
