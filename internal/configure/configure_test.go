package configure

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/sandbox"
)

// The real SDK clients against the replica: ListDistributions finds the sandbox's
// distribution by its origin group, ListBuckets confirms both buckets.
func TestFindInTheSandbox(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	cfg := awsconf.SandboxConfig("us-east-1")
	cf := cloudfront.NewFromConfig(cfg, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(sb.CloudFrontURL()) })
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(sb.Secondary().S3URL), true })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lab, err := Find(ctx, cf, s3c, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Lab{DistributionID: sandbox.DistributionID, DistributionDomain: "d1sandbox.cloudfront.net",
		PrimaryBucket: sb.Primary().Bucket, PrimaryRegion: "us-east-1", SecondaryBucket: sb.Secondary().Bucket, SecondaryRegion: "us-west-1"}
	if lab != want {
		t.Errorf("found %+v, want %+v", lab, want)
	}
	if _, err := Find(ctx, cf, s3c, "E2NOTTHEONE"); err == nil || !strings.Contains(err.Error(), "distribution-id: no distribution E2NOTTHEONE") {
		t.Errorf("another ID: %v, want an error naming it and the account's", err)
	}

	// Held to IAM: a caller without the list actions is told which one.
	sb.SetPolicies(map[string][]policy.Statement{"narrow": {{Actions: []string{"s3:ListAllMyBuckets"}, Resources: []string{"*"}}}})
	narrow := awsconf.SandboxConfigAs("us-east-1", "narrow")
	cfNarrow := cloudfront.NewFromConfig(narrow, func(o *cloudfront.Options) { o.BaseEndpoint = aws.String(sb.CloudFrontURL()) })
	if _, err := Find(ctx, cfNarrow, s3c, ""); err == nil || !strings.Contains(err.Error(), "cloudfront:ListDistributions") {
		t.Errorf("without cloudfront:ListDistributions: %v", err)
	}
}

type fakeCF struct {
	pages [][]cftypes.DistributionSummary
}

func (f fakeCF) ListDistributions(_ context.Context, in *cloudfront.ListDistributionsInput, _ ...func(*cloudfront.Options)) (*cloudfront.ListDistributionsOutput, error) {
	i := 0
	if in.Marker != nil {
		i = int(aws.ToString(in.Marker)[0] - '0')
	}
	l := &cftypes.DistributionList{Items: f.pages[i], IsTruncated: aws.Bool(i+1 < len(f.pages))}
	if i+1 < len(f.pages) {
		l.NextMarker = aws.String(string(rune('0' + i + 1)))
	}
	return &cloudfront.ListDistributionsOutput{DistributionList: l}, nil
}

type fakeS3 struct {
	buckets map[string]string
	err     error
}

func (f fakeS3) ListBuckets(context.Context, *s3.ListBucketsInput, ...func(*s3.Options)) (*s3.ListBucketsOutput, error) {
	out := &s3.ListBucketsOutput{}
	for n, r := range f.buckets {
		out.Buckets = append(out.Buckets, s3types.Bucket{Name: aws.String(n), BucketRegion: aws.String(r)})
	}
	return out, f.err
}

// dist is a distribution whose default behaviour targets a group of the two origins.
func dist(id string, primary, secondary string) cftypes.DistributionSummary {
	o := func(oid, domain string) cftypes.Origin {
		return cftypes.Origin{Id: aws.String(oid), DomainName: aws.String(domain)}
	}
	return cftypes.DistributionSummary{
		Id: aws.String(id), DomainName: aws.String(strings.ToLower(id) + ".cloudfront.net"),
		Origins: &cftypes.Origins{Items: []cftypes.Origin{o("s", secondary), o("p", primary)}},
		OriginGroups: &cftypes.OriginGroups{Items: []cftypes.OriginGroup{{Id: aws.String("g"), Members: &cftypes.OriginGroupMembers{
			Items: []cftypes.OriginGroupMember{{OriginId: aws.String("p")}, {OriginId: aws.String("s")}}}}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String("g")},
	}
}

const (
	labPrimary   = "active-primary-uibucket-abc.s3-website-us-east-1.amazonaws.com"
	labSecondary = "passive-secondary-uibucket-def.s3-website.us-west-1.amazonaws.com"
)

var labBuckets = map[string]string{"active-primary-uibucket-abc": "us-east-1", "passive-secondary-uibucket-def": "us-west-1"}

func TestFind(t *testing.T) {
	other := dist("EOTHER", "site.example.com", "site2.example.com")
	single := dist("ESINGLE", labPrimary, labPrimary) // one region: not a failover pair
	tests := []struct {
		name    string
		pages   [][]cftypes.DistributionSummary
		id      string
		buckets map[string]string
		want    string // the found ID, or a fragment of the error
	}{
		{name: "the lab's among others, on the second page", pages: [][]cftypes.DistributionSummary{{other, single}, {dist("ELAB", labPrimary, labSecondary)}}, buckets: labBuckets, want: "ELAB"},
		{name: "two candidates: refused, naming both", pages: [][]cftypes.DistributionSummary{{dist("EONE", labPrimary, labSecondary), dist("ETWO", labPrimary, labSecondary)}},
			buckets: labBuckets, want: "2 distributions look like the lab's, choose one with --distribution-id: EONE (eone.cloudfront.net: active-primary-uibucket-abc in us-east-1"},
		{name: "two candidates, one chosen", pages: [][]cftypes.DistributionSummary{{dist("EONE", labPrimary, labSecondary), dist("ETWO", labPrimary, labSecondary)}},
			id: "ETWO", buckets: labBuckets, want: "ETWO"},
		{name: "the chosen one is not a lab", pages: [][]cftypes.DistributionSummary{{other}}, id: "EOTHER", buckets: labBuckets, want: "distribution-id: distribution EOTHER does not serve"},
		{name: "none", pages: [][]cftypes.DistributionSummary{{other, single}}, buckets: labBuckets, want: "no distribution in this account serves an origin group of two S3 website endpoints in two regions, as the lab's does (its distributions: EOTHER, ESINGLE)"},
		{name: "a bucket of another account", pages: [][]cftypes.DistributionSummary{{dist("ELAB", labPrimary, labSecondary)}},
			buckets: map[string]string{"active-primary-uibucket-abc": "us-east-1"}, want: "bucket passive-secondary-uibucket-def, an origin of distribution ELAB, is not in this account's buckets"},
		{name: "a bucket in another region", pages: [][]cftypes.DistributionSummary{{dist("ELAB", labPrimary, labSecondary)}},
			buckets: map[string]string{"active-primary-uibucket-abc": "eu-west-1", "passive-secondary-uibucket-def": "us-west-1"}, want: "bucket active-primary-uibucket-abc is in eu-west-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lab, err := Find(context.Background(), fakeCF{tc.pages}, fakeS3{buckets: tc.buckets}, tc.id)
			if strings.HasPrefix(tc.want, "E") && !strings.Contains(tc.want, " ") {
				if err != nil || lab.DistributionID != tc.want || lab.PrimaryBucket != "active-primary-uibucket-abc" || lab.SecondaryRegion != "us-west-1" {
					t.Fatalf("Find: %+v, %v; want %s", lab, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Find: %+v, %v; want an error with %q", lab, err, tc.want)
			}
		})
	}
	if _, err := Find(context.Background(), fakeCF{[][]cftypes.DistributionSummary{{dist("ELAB", labPrimary, labSecondary)}}}, fakeS3{err: errors.New("denied")}, ""); err == nil || !strings.Contains(err.Error(), "list S3 buckets: denied") {
		t.Errorf("ListBuckets failing: %v", err)
	}
}

var lab = Lab{DistributionID: "ELAB", DistributionDomain: "elab.cloudfront.net", PrimaryBucket: "p", PrimaryRegion: "us-east-1", SecondaryBucket: "s", SecondaryRegion: "us-west-1"}

func TestMerge(t *testing.T) {
	existing := `{"availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"], "schedule": "rate(7 days)", "primaryBucket": "old"}`
	out, changes, err := Merge([]byte(existing), lab, Who{NotifyEmail: "sre@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	want := map[string]any{"availability-zones:account=123456789012:region=us-east-1": []any{"us-east-1a"}, "schedule": "rate(7 days)",
		"primaryBucket": "p", "distributionDomain": "elab.cloudfront.net", "distributionId": "ELAB", "primaryRegion": "us-east-1",
		"secondaryRegion": "us-west-1", "notifyEmail": "sre@example.com"}
	if gj, wj := mustJSON(got), mustJSON(want); gj != wj {
		t.Errorf("merged:\n%s\nwant\n%s", gj, wj)
	}
	if len(changes) != 6 || changes[0] != (Change{Key: "primaryBucket", Old: "old", New: "p"}) {
		t.Errorf("changes %+v", changes)
	}
	// Again: nothing changes, and the email already there is enough.
	again, changes, err := Merge(out, lab, Who{})
	if err != nil || string(again) != string(out) || len(changes) != 0 {
		t.Errorf("second merge: %v, %+v, same file %v", err, changes, string(again) == string(out))
	}

	for _, tc := range []struct{ name, existing, want string }{
		{name: "not JSON", existing: "{", want: "cdk.context.json is not a JSON object"},
		{name: "a list", existing: "[]", want: "cdk.context.json is not a JSON object"},
		{name: "a key of the wrong type", existing: `{"primaryBucket": 3}`, want: "cdk.context.json: primaryBucket is 3, not a string"},
		{name: "no one to tell", existing: `{}`, want: "--notify-email or --alarm-topic-arn: the stack needs someone to tell"},
	} {
		if out, _, err := Merge([]byte(tc.existing), lab, Who{}); err == nil || out != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %s, %v; want an error with %q", tc.name, out, err, tc.want)
		}
	}
	if _, _, err := Merge(nil, lab, Who{NotifyEmail: "sre", AlarmTopicArn: "arn:aws:sqs:us-east-1:123456789012:x"}); err == nil ||
		!strings.Contains(err.Error(), "--notify-email: \"sre\" is not an email address") || !strings.Contains(err.Error(), "--alarm-topic-arn") {
		t.Errorf("bad flags: %v, want both named", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}
