package main

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/database"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/remote"
	"github.com/unishop/failover-drill/internal/sweeper"
)

// sdkVerbose: the command was given -v, so the AWS SDK may log its warnings.
var sdkVerbose bool

// awsSFN is drill start's Step Functions client: the default AWS configuration
// (environment, profile, SSO), in the given region.
func awsSFN(ctx context.Context, region string) (sfnClient, error) {
	cfg, err := awsconf.LoadCLI(ctx, sdkVerbose)
	if err != nil {
		return nil, err
	}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if region != "" {
			o.Region = region
		}
	}), nil
}

// awsS3 is the ledger's S3 client of drill report and drill history: the default AWS
// configuration, region overridden by --region.
func awsS3(ctx context.Context, region string) (s3Reader, error) {
	cfg, err := awsconf.LoadCLI(ctx, sdkVerbose)
	if err != nil {
		return nil, err
	}
	if region == "" && cfg.Region == "" {
		return nil, errNoRegion
	}
	return awsconf.AWSFactory(cfg)(region), nil
}

// opsEnv builds the operator's clients: S3 for a region ("" keeps the configured one)
// and Step Functions for a region.
type opsEnv struct {
	S3  func(region string) *s3.Client
	SFN func(region string) sweeper.ExecutionAPI
	// RDS switches a run's global database back (drill restore of a database stage run).
	RDS    func(region string) database.API
	Region string // the configured region, used when --region is not given
}

type opsFactory func(ctx context.Context) (opsEnv, error)

// awsOps uses the default AWS configuration: the operator's own credentials. The
// SDK's own warnings only under -v, as for the other commands.
func awsOps(ctx context.Context) (opsEnv, error) {
	cfg, err := awsconf.LoadCLI(ctx, sdkVerbose)
	if err != nil {
		return opsEnv{}, err
	}
	return opsEnv{
		Region: cfg.Region,
		S3:     awsconf.AWSFactory(cfg),
		SFN: func(region string) sweeper.ExecutionAPI {
			return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.Region = region })
		},
		RDS: database.AWSClients(cfg),
	}, nil
}

// sfnClient is what drill start calls; *sfn.Client in production.
type sfnClient interface {
	remote.StartAPI
	remote.DescribeAPI
}

// sfnFactory and s3Factory build the clients for a region ("" keeps the configured
// one). main passes the AWS ones; tests pass clients pointed at httptest servers.
type (
	sfnFactory func(ctx context.Context, region string) (sfnClient, error)
	s3Factory  func(ctx context.Context, region string) (s3Reader, error)
)

// errNoRegion: the configuration names no region and --region was not given.
var errNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION")

// s3Reader is what drill report and drill history call on the ledger: list and get.
type s3Reader = ledger.ReadAPI
