// Package awsconf builds the SDK clients the functions use, for AWS or for the local
// sandbox, so both paths construct clients the same way.
package awsconf

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"
)

// S3Factory returns an S3 client for a region. The S3 control calls must go to the
// target bucket's own region whatever region the function runs in.
type S3Factory func(region string) *s3.Client

// Load reads the Lambda environment's AWS configuration (role credentials, region).
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// LoadCLI is Load for a person's command: the SDK's own warnings (such as its fallback
// to IMDSv1 when no credentials are configured) are printed only when verbose, since
// the command says in one line what is missing.
func LoadCLI(ctx context.Context, verbose bool) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if !verbose {
		opts = append(opts, config.WithLogger(logging.Nop{}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// MustFactory loads the function's AWS configuration (role credentials, region) at
// cold start and returns a per-region client factory, or stops the function.
func MustFactory(log *slog.Logger) S3Factory { return AWSFactory(MustLoad(log)) }

// MustLoad loads the function's AWS configuration at cold start, or stops the function.
func MustLoad(log *slog.Logger) aws.Config {
	cfg, err := Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	return cfg
}

// AWSFactory builds per-region clients from one loaded configuration.
func AWSFactory(cfg aws.Config) S3Factory {
	return func(region string) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) {
			if region != "" {
				o.Region = region
			}
		})
	}
}

// SandboxAdmin is the access key id of sandbox clients that act as an administrator
// (the operator, tests): the replica's IAM lets a principal without a policy do
// everything.
const SandboxAdmin = "AKIDLOCALSANDBOX"

// SandboxConfig is an offline configuration with the administrator's credentials.
func SandboxConfig(region string) aws.Config { return SandboxConfigAs(region, SandboxAdmin) }

// SandboxConfigAs is an offline configuration whose requests are signed as principal:
// the sandbox does not verify signatures, but its IAM reads the access key id, and
// the drill's functions use their names, so each is held to its deployed policy. No
// retries beyond the SDK's standard ones.
func SandboxConfigAs(region, principal string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(principal, "local-sandbox-secret", ""),
		// Only compute checksums when an operation requires one, as against older
		// S3-compatible servers; the sandbox also accepts aws-chunked bodies.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

// SandboxFactory points each region's client at that region's sandbox S3 endpoint,
// path-style, so the same handler code runs unchanged against the replica. Its
// clients act as the administrator.
func SandboxFactory(endpoints map[string]string) S3Factory {
	return SandboxFactoryAs(endpoints, SandboxAdmin)
}

// SandboxSFN is a Step Functions client for the sandbox's stand-in, signed as principal.
func SandboxSFN(endpoint, region, principal string) *sfn.Client {
	return sfn.NewFromConfig(SandboxConfigAs(region, principal), func(o *sfn.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// SandboxFactoryAs is SandboxFactory with clients signed as principal.
// Extra options (a request counter, in drill local) apply to every client.
func SandboxFactoryAs(endpoints map[string]string, principal string, extra ...func(*s3.Options)) S3Factory {
	return func(region string) *s3.Client {
		endpoint, ok := endpoints[region]
		if !ok {
			// An unknown region gets an endpoint that refuses connections, as AWS
			// would fail for a region that does not exist.
			endpoint = "http://127.0.0.1:1"
		}
		return s3.NewFromConfig(SandboxConfigAs(region, principal), func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			for _, f := range extra {
				f(o)
			}
		})
	}
}
