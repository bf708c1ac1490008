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

// MustFactory loads the function's AWS configuration (role credentials, region) at
// cold start and returns a per-region client factory, or stops the function.
func MustFactory(log *slog.Logger) S3Factory {
	cfg, err := Load(context.Background())
	if err != nil {
		log.Error("cannot load the AWS configuration", "error", err)
		os.Exit(1)
	}
	return AWSFactory(cfg)
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

// SandboxConfig is an offline configuration: static dummy credentials (the sandbox
// does not check signatures) and no retries beyond the SDK's standard ones.
func SandboxConfig(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCALSANDBOX", "local-sandbox-secret", ""),
		// Only compute checksums when an operation requires one, as against older
		// S3-compatible servers; the sandbox also accepts aws-chunked bodies.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

// SandboxFactory points each region's client at that region's sandbox S3 endpoint,
// path-style, so the same handler code runs unchanged against the replica.
func SandboxFactory(endpoints map[string]string) S3Factory {
	return func(region string) *s3.Client {
		endpoint, ok := endpoints[region]
		if !ok {
			// An unknown region gets an endpoint that refuses connections, as AWS
			// would fail for a region that does not exist.
			endpoint = "http://127.0.0.1:1"
		}
		return s3.NewFromConfig(SandboxConfig(region), func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		})
	}
}
