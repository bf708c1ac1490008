package readiness

import (
	"context"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/unishop/failover-drill/internal/awsconf"
)

// Clients are the three control-plane clients the readiness function uses.
type Clients struct {
	CloudFront *cloudfront.Client
	S3Control  *s3control.Client
	CloudWatch *cloudwatch.Client
}

// AWSClients builds them from the function's configuration. CloudFront's control API
// is global (us-east-1); S3 Control and the alarms are read in the function's region.
func AWSClients(cfg aws.Config) Clients {
	return Clients{
		CloudFront: cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.Region = "us-east-1" }),
		S3Control:  s3control.NewFromConfig(cfg),
		CloudWatch: cloudwatch.NewFromConfig(cfg),
	}
}

// SandboxClients points the real SDK clients at the sandbox's endpoints.
//
// S3 Control puts the account ID in front of the endpoint's host
// ({account}.s3-control...), which cannot resolve for 127.0.0.1: a fixed endpoint
// resolver (EndpointResolverV2) gives the sandbox's URL as it is, and the client's
// own host-prefix step stands down when the resolver decides the host. The account
// still travels in the x-amz-account-id header, where the stand-in reads it.
//
// Requests are signed as principal (a function's name): the replica's IAM holds each
// function to its deployed policy.
func SandboxClients(region, cloudFrontURL, s3ControlURL, cloudWatchURL, principal string) Clients {
	cfg := awsconf.SandboxConfigAs(region, principal)
	return Clients{
		CloudFront: cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(cloudFrontURL) }),
		S3Control: s3control.NewFromConfig(cfg, func(o *s3control.Options) {
			o.EndpointResolverV2 = fixedEndpoint{url: s3ControlURL}
		}),
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(cloudWatchURL) }),
	}
}

type fixedEndpoint struct{ url string }

func (f fixedEndpoint) ResolveEndpoint(context.Context, s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	u, err := url.Parse(f.url)
	if err != nil {
		return smithyendpoints.Endpoint{}, err
	}
	return smithyendpoints.Endpoint{URI: *u}, nil
}
