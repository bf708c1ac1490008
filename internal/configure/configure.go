// Package configure finds the lab's deployment values in an account and writes them
// into cdk.context.json, so `cdk bootstrap`, `deploy`, `diff` and `destroy` need no -c
// flags (`drill configure`).
//
// The lab has no stack output naming its distribution: a person creates it by hand
// ("Setup CloudFront"), with an origin group whose members are the two stacks'
// S3 website endpoints, the Active-Primary's first. So the distribution is found by
// its origins: a distribution whose default cache behaviour targets an origin group
// of two S3 website origins in different regions. Both buckets are read off the
// website endpoints' host names, and must be in the account's bucket list. More than
// one such distribution is refused, naming each, unless one is chosen by ID.
package configure

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// CloudFrontAPI is the part of the CloudFront client Find uses.
type CloudFrontAPI interface {
	ListDistributions(ctx context.Context, params *cloudfront.ListDistributionsInput, optFns ...func(*cloudfront.Options)) (*cloudfront.ListDistributionsOutput, error)
}

// S3API is the part of the S3 client Find uses.
type S3API interface {
	ListBuckets(ctx context.Context, params *s3.ListBucketsInput, optFns ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
}

var (
	_ CloudFrontAPI = (*cloudfront.Client)(nil)
	_ S3API         = (*s3.Client)(nil)
)

// Lab is what Find learned: the deployment's values.
type Lab struct {
	DistributionID, DistributionDomain string
	PrimaryBucket, PrimaryRegion       string
	SecondaryBucket, SecondaryRegion   string
}

// websiteEndpoint is an S3 website endpoint host: <bucket>.s3-website-<region> or
// <bucket>.s3-website.<region> (the newer regions' form), .amazonaws.com.
var websiteEndpoint = regexp.MustCompile(`^(.+)\.s3-website[-.]([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$`)

// Find looks through the account's distributions for the lab's (only the one with
// distributionID when it is not ""), and checks that both buckets are the account's.
func Find(ctx context.Context, cf CloudFrontAPI, s3c S3API, distributionID string) (Lab, error) {
	var candidates []Lab
	var seen []string
	in := &cloudfront.ListDistributionsInput{}
	for {
		out, err := cf.ListDistributions(ctx, in)
		if err != nil {
			return Lab{}, fmt.Errorf("list CloudFront distributions: %w", err)
		}
		if out.DistributionList == nil {
			break
		}
		for _, d := range out.DistributionList.Items {
			id := aws.ToString(d.Id)
			seen = append(seen, id)
			if distributionID != "" && id != distributionID {
				continue
			}
			if lab, ok := labOf(d); ok {
				candidates = append(candidates, lab)
			}
		}
		if !aws.ToBool(out.DistributionList.IsTruncated) || out.DistributionList.NextMarker == nil {
			break
		}
		in = &cloudfront.ListDistributionsInput{Marker: out.DistributionList.NextMarker}
	}
	switch {
	case len(candidates) == 0 && distributionID != "" && !slices.Contains(seen, distributionID):
		return Lab{}, fmt.Errorf("distribution-id: no distribution %s in this account (it has %s)", distributionID, listOrNone(seen))
	case len(candidates) == 0 && distributionID != "":
		return Lab{}, fmt.Errorf("distribution-id: distribution %s does not serve an origin group of two S3 website endpoints in two regions, as the lab's does", distributionID)
	case len(candidates) == 0:
		return Lab{}, fmt.Errorf("no distribution in this account serves an origin group of two S3 website endpoints in two regions, as the lab's does "+
			"(its distributions: %s); create it as the lab's \"Setup CloudFront\" step does", listOrNone(seen))
	case len(candidates) > 1:
		var names []string
		for _, c := range candidates {
			names = append(names, fmt.Sprintf("%s (%s: %s in %s, %s in %s)", c.DistributionID, c.DistributionDomain,
				c.PrimaryBucket, c.PrimaryRegion, c.SecondaryBucket, c.SecondaryRegion))
		}
		return Lab{}, fmt.Errorf("%d distributions look like the lab's, choose one with --distribution-id: %s", len(candidates), strings.Join(names, "; "))
	}
	lab := candidates[0]
	return lab, checkBuckets(ctx, s3c, lab)
}

// labOf reads the lab's values off a distribution whose default cache behaviour
// targets an origin group of two S3 website origins in two regions, the first member
// being the primary.
func labOf(d cftypes.DistributionSummary) (Lab, bool) {
	if d.DefaultCacheBehavior == nil || d.OriginGroups == nil || d.Origins == nil {
		return Lab{}, false
	}
	target := aws.ToString(d.DefaultCacheBehavior.TargetOriginId)
	for _, g := range d.OriginGroups.Items {
		if aws.ToString(g.Id) != target || g.Members == nil || len(g.Members.Items) != 2 {
			continue
		}
		var ends [2][]string
		for i, m := range g.Members.Items {
			for _, o := range d.Origins.Items {
				if aws.ToString(o.Id) == aws.ToString(m.OriginId) {
					ends[i] = websiteEndpoint.FindStringSubmatch(aws.ToString(o.DomainName))
				}
			}
		}
		if ends[0] == nil || ends[1] == nil || ends[0][2] == ends[1][2] {
			return Lab{}, false
		}
		return Lab{DistributionID: aws.ToString(d.Id), DistributionDomain: aws.ToString(d.DomainName),
			PrimaryBucket: ends[0][1], PrimaryRegion: ends[0][2], SecondaryBucket: ends[1][1], SecondaryRegion: ends[1][2]}, true
	}
	return Lab{}, false
}

// checkBuckets makes sure both buckets are in the account's list (and, where S3 says,
// in the regions their website endpoints name).
func checkBuckets(ctx context.Context, s3c S3API, lab Lab) error {
	have := map[string]string{}
	in := &s3.ListBucketsInput{}
	for {
		out, err := s3c.ListBuckets(ctx, in)
		if err != nil {
			return fmt.Errorf("list S3 buckets: %w", err)
		}
		for _, b := range out.Buckets {
			have[aws.ToString(b.Name)] = aws.ToString(b.BucketRegion)
		}
		if out.ContinuationToken == nil {
			break
		}
		in = &s3.ListBucketsInput{ContinuationToken: out.ContinuationToken}
	}
	var problems []error
	for _, b := range [][2]string{{lab.PrimaryBucket, lab.PrimaryRegion}, {lab.SecondaryBucket, lab.SecondaryRegion}} {
		region, ok := have[b[0]]
		switch {
		case !ok:
			problems = append(problems, fmt.Errorf("bucket %s, an origin of distribution %s, is not in this account's buckets", b[0], lab.DistributionID))
		case region != "" && region != b[1]:
			problems = append(problems, fmt.Errorf("bucket %s is in %s, but distribution %s reaches it through %s's website endpoint", b[0], region, lab.DistributionID, b[1]))
		}
	}
	return errors.Join(problems...)
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
