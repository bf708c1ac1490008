// Command infra is the failover drill's CDK app. Run it through the CDK CLI from the
// repository root (cdk.json: "app": "go run ./infra"):
//
//	npx cdk synth  -c primaryBucket=<bucket> -c distributionDomain=<dxxxx.cloudfront.net>
//	npx cdk deploy -c primaryBucket=<bucket> -c distributionDomain=<dxxxx.cloudfront.net>
//
// On Node 20, jsii prints an end-of-life banner unless the environment has
// JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 when the process starts (jsii reads
// the environment while the CDK packages initialize, before main): cdk.json's app
// command sets it.
//
// Configuration comes from CDK context (see config.go); a missing or malformed value
// stops synth with a message naming the key. cdk-nag's AWS Solutions checks run on every
// synth; the CLI refuses to synthesize or deploy while one reports an error.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// StackID is the stack's construct ID and default stack name.
const StackID = "FailoverDrill"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "failover-drill infra:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	defer jsii.Close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()

	app := awscdk.NewApp(nil)
	cfg, err := ConfigFromContext(contextOf(app.Node()))
	if err != nil {
		return err
	}
	NewFailoverDrillStack(app, StackID, &FailoverDrillStackProps{Config: &cfg})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}
