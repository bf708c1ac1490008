// Package pab reads and writes a bucket's S3 Block Public Access configuration in the
// drill's terms (drill.PublicAccessBlock), and classifies S3 errors into the drill's
// typed errors. block-bucket, restore and the ledger share it.
package pab

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/unishop/failover-drill/internal/drill"
)

// API is the part of the S3 client the drill uses on the target bucket.
type API interface {
	GetPublicAccessBlock(ctx context.Context, params *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, params *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	DeletePublicAccessBlock(ctx context.Context, params *s3.DeletePublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.DeletePublicAccessBlockOutput, error)
}

var _ API = (*s3.Client)(nil)

// CodeNoConfiguration is the error S3 answers GetPublicAccessBlock with when the
// bucket has no Block Public Access configuration.
const CodeNoConfiguration = "NoSuchPublicAccessBlockConfiguration"

// FromSDK converts an SDK configuration. A nil configuration is nil (none set); a flag
// S3 left out is false, which is what S3 enforces for it.
func FromSDK(c *types.PublicAccessBlockConfiguration) *drill.PublicAccessBlock {
	if c == nil {
		return nil
	}
	return &drill.PublicAccessBlock{
		BlockPublicAcls:       aws.ToBool(c.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(c.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(c.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(c.RestrictPublicBuckets),
	}
}

// ToSDK converts p with all four flags set explicitly, false included, so a put
// writes exactly p and nothing is left to a server-side default.
func ToSDK(p drill.PublicAccessBlock) *types.PublicAccessBlockConfiguration {
	return &types.PublicAccessBlockConfiguration{
		BlockPublicAcls:       aws.Bool(p.BlockPublicAcls),
		IgnorePublicAcls:      aws.Bool(p.IgnorePublicAcls),
		BlockPublicPolicy:     aws.Bool(p.BlockPublicPolicy),
		RestrictPublicBuckets: aws.Bool(p.RestrictPublicBuckets),
	}
}

// Read returns bucket's current configuration, nil when it has none.
func Read(ctx context.Context, api API, bucket string) (*drill.PublicAccessBlock, error) {
	out, err := api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	if err != nil {
		if HasCode(err, CodeNoConfiguration) {
			return nil, nil
		}
		return nil, Wrap(err, "read public access block of %s", bucket)
	}
	return FromSDK(out.PublicAccessBlockConfiguration), nil
}

// Put sets bucket's configuration to exactly p.
func Put(ctx context.Context, api API, bucket string, p drill.PublicAccessBlock) error {
	_, err := api.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket:                         aws.String(bucket),
		PublicAccessBlockConfiguration: ToSDK(p),
	})
	return Wrap(err, "put public access block %s on %s", String(&p), bucket)
}

// Delete removes bucket's configuration. Deleting an absent configuration succeeds.
func Delete(ctx context.Context, api API, bucket string) error {
	_, err := api.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(bucket)})
	if err != nil && HasCode(err, CodeNoConfiguration) {
		return nil
	}
	return Wrap(err, "delete public access block of %s", bucket)
}

// Set makes bucket's configuration exactly p: a put of all four flags, or a delete
// when p is nil (the bucket had none).
func Set(ctx context.Context, api API, bucket string, p *drill.PublicAccessBlock) error {
	if p == nil {
		return Delete(ctx, api, bucket)
	}
	return Put(ctx, api, bucket, *p)
}

// Equal reports whether a and b are the same configuration; nil (none) equals only nil.
func Equal(a, b *drill.PublicAccessBlock) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// String is a compact rendering for messages and logs: "none" or
// "{blockPublicAcls:true ignorePublicAcls:false blockPublicPolicy:true restrictPublicBuckets:false}".
func String(p *drill.PublicAccessBlock) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("{blockPublicAcls:%t ignorePublicAcls:%t blockPublicPolicy:%t restrictPublicBuckets:%t}",
		p.BlockPublicAcls, p.IgnorePublicAcls, p.BlockPublicPolicy, p.RestrictPublicBuckets)
}

// PerRegion caches one client per region from newClient (awsconf.S3Factory fits), so
// a warm Lambda reuses its clients. Safe for concurrent use.
func PerRegion(newClient func(region string) *s3.Client) func(region string) API {
	var mu sync.Mutex
	clients := map[string]*s3.Client{}
	return func(region string) API {
		mu.Lock()
		defer mu.Unlock()
		c, ok := clients[region]
		if !ok {
			c = newClient(region)
			clients[region] = c
		}
		return c
	}
}
