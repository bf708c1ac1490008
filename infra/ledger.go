package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ledgerProps is what the ledger needs: the retention of runs/ and, to take over the
// ledger of an earlier deployment, its name.
type ledgerProps struct {
	Config *Config
}

// newLedger is the drill's state: locks/<bucket>.json (the lock, which carries the
// restore data: never expires) and runs/<execution>/ (the run ticket
// ticket-<start>.json, and each run's folder <start>/ with report.json, report.html,
// the sample logs and the restore records: expire after reportRetentionDays).
//
// With ledgerBucket set, the stack takes over that bucket (the ledger a destroyed
// deployment retained) instead of creating one: its sweeper then sees the locks the old
// stack left, and its functions are granted on it alone. The bucket keeps the settings
// the stack that created it gave it; this stack changes none of them.
func newLedger(stack awscdk.Stack, p ledgerProps) awss3.IBucket {
	cfg := p.Config
	if cfg.LedgerBucket != "" {
		return awss3.Bucket_FromBucketName(stack, jsii.String("Ledger"), jsii.String(cfg.LedgerBucket))
	}
	days := awscdk.Duration_Days(jsii.Number(float64(cfg.ReportRetentionDays)))
	ledger := awss3.NewBucket(stack, jsii.String("Ledger"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		// Locks and tickets say how to put a target bucket back: they outlive the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("ExpireRuns"),
				Prefix:                              jsii.String("runs/"),
				Expiration:                          days,
				NoncurrentVersionExpiration:         days,
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			},
			{
				Id:                          jsii.String("TidyLockVersions"),
				Prefix:                      jsii.String("locks/"),
				NoncurrentVersionExpiration: days,
				ExpiredObjectDeleteMarker:   jsii.Bool(true),
			},
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(ledger, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The ledger is private, versioned and written only by this stack's drill functions (locks, restore tickets, reports); " +
			"every write is already recorded in the versions and the functions' logs, so a separate access-log bucket would add cost without audit value."),
	}}, nil)
	return ledger
}
