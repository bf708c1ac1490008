package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/unishop/failover-drill/internal/drill"
)

func TestPublicAccessBlockRoundTrip(t *testing.T) {
	s := start(t, Config{})
	c := s3Client(s, s.Primary().Name)
	bucket := aws.String(s.Primary().Bucket)

	get := func(t *testing.T) (*drill.PublicAccessBlock, error) {
		t.Helper()
		out, err := c.GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: bucket})
		if err != nil {
			return nil, err
		}
		p := out.PublicAccessBlockConfiguration
		return &drill.PublicAccessBlock{BlockPublicAcls: aws.ToBool(p.BlockPublicAcls), IgnorePublicAcls: aws.ToBool(p.IgnorePublicAcls),
			BlockPublicPolicy: aws.ToBool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets)}, nil
	}
	if _, err := get(t); apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("get before any put: err %v, want NoSuchPublicAccessBlockConfiguration", err)
	}

	for _, tc := range []struct {
		name string
		in   types.PublicAccessBlockConfiguration // nil flags are absent from the XML
		want drill.PublicAccessBlock
	}{
		{"all", types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}, drill.BlockAll},
		{"partial, absent flags are false", types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true)}, drill.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true}},
		{"explicit mix", types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true)}, drill.PublicAccessBlock{IgnorePublicAcls: true, RestrictPublicBuckets: true}},
		{"all false is a configuration too", types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false)}, drill.PublicAccessBlock{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if _, err := c.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &in}); err != nil {
				t.Fatalf("put: %v", err)
			}
			got, err := get(t)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if *got != tc.want {
				t.Errorf("get = %+v, want %+v", *got, tc.want)
			}
			stored, ok := s.PublicAccessBlock(s.Primary().Bucket)
			if !ok || *stored != tc.want {
				t.Errorf("PublicAccessBlock() = %+v, %v; want %+v", stored, ok, tc.want)
			}
			changes := s.PABChanges()
			last := changes[len(changes)-1]
			if last.Op != "put" || last.Bucket != s.Primary().Bucket || *last.Config != tc.want {
				t.Errorf("last change = %+v", last)
			}
		})
	}

	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeletePublicAccessBlock(ctx(t), &s3.DeletePublicAccessBlockInput{Bucket: bucket}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := get(t); apiCode(err) != "NoSuchPublicAccessBlockConfiguration" {
			t.Errorf("get after delete: err %v", err)
		}
		if _, ok := s.PublicAccessBlock(s.Primary().Bucket); ok {
			t.Error("PublicAccessBlock() still set after delete")
		}
		changes := s.PABChanges()
		if n := len(changes); n != 5 || changes[n-1].Op != "delete" || changes[n-1].Config != nil {
			t.Errorf("changes = %+v, want 4 puts and a delete", changes)
		}
	})
}

func TestPABExactXML(t *testing.T) {
	s := start(t, Config{PrimaryPAB: &drill.PublicAccessBlock{BlockPublicAcls: true}})
	res := do(t, http.MethodGet, s.Primary().S3URL+"/"+s.Primary().Bucket+"?publicAccessBlock", "")
	want := `<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>`
	if res.status != 200 || !strings.HasSuffix(res.body, want) {
		t.Errorf("GET = %d %q, want 200 ending with %q", res.status, res.body, want)
	}
	put := do(t, http.MethodPut, s.Primary().S3URL+"/"+s.Primary().Bucket+"?publicAccessBlock", "<PublicAccessBlockConfiguration")
	if put.status != 400 || !strings.Contains(put.body, "<Code>MalformedXML</Code>") || !strings.Contains(put.body, "<RequestId>") || put.header.Get("x-amz-request-id") == "" {
		t.Errorf("malformed PUT = %d %q", put.status, put.body)
	}
}

func TestWrongRegionAndUnknownBucket(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		name, region, bucket, code string
		status                     int
	}{
		{"secondary bucket at primary endpoint", s.Primary().Name, s.Secondary().Bucket, "PermanentRedirect", 301},
		{"ledger at secondary endpoint", s.Secondary().Name, s.Config().LedgerBucket, "PermanentRedirect", 301},
		{"unknown bucket", s.Primary().Name, "no-such-bucket-here", "NoSuchBucket", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3Client(s, tc.region).GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: aws.String(tc.bucket)})
			if apiCode(err) != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			var re *awshttp.ResponseError
			if !asErr(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("status of %v, want %d", err, tc.status)
			}
		})
	}
}

func TestObjectsAndConditionalWrites(t *testing.T) {
	s := start(t, Config{})
	c := s3Client(s, s.Primary().Name)
	ledger := aws.String(s.Config().LedgerBucket)
	key := aws.String("locks/" + s.Primary().Bucket + ".json")
	put := func(t *testing.T, body string, opt func(*s3.PutObjectInput)) (*s3.PutObjectOutput, error) {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: ledger, Key: key, Body: strings.NewReader(body), ContentType: aws.String("application/json")}
		if opt != nil {
			opt(in)
		}
		return c.PutObject(ctx(t), in)
	}

	if _, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: ledger, Key: key}); apiCode(err) != "NoSuchKey" {
		t.Fatalf("get missing: %v, want NoSuchKey", err)
	}
	first, err := put(t, `{"holder":"a"}`, func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if err != nil {
		t.Fatalf("first If-None-Match put: %v", err)
	}
	if _, err := put(t, `{"holder":"b"}`, func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }); apiCode(err) != "PreconditionFailed" {
		t.Fatalf("second If-None-Match put: %v, want PreconditionFailed", err)
	}
	for _, tc := range []struct {
		name, ifMatch, code string
	}{
		{"stale etag", `"0123456789abcdef0123456789abcdef"`, "PreconditionFailed"},
		{"current etag", aws.ToString(first.ETag), ""},
		{"etag of the replaced version", aws.ToString(first.ETag), "PreconditionFailed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := put(t, `{"holder":"a","status":"`+tc.name+`"}`, func(in *s3.PutObjectInput) { in.IfMatch = aws.String(tc.ifMatch) })
			if apiCode(err) != tc.code {
				t.Errorf("If-Match put: %v, want code %q", err, tc.code)
			}
		})
	}
	got, ok := s.Object(*ledger, *key)
	if !ok || string(got) != `{"holder":"a","status":"current etag"}` {
		t.Errorf("Object = %q, %v", got, ok)
	}
	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: ledger, Key: key})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(out.Body)
	if buf.String() != string(got) || aws.ToString(out.ContentType) != "application/json" || aws.ToString(out.ETag) == "" {
		t.Errorf("GetObject = %q type %q etag %q", buf.String(), aws.ToString(out.ContentType), aws.ToString(out.ETag))
	}
	if _, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: ledger, Key: key}); err != nil {
		t.Errorf("HeadObject: %v", err)
	}
	list, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: ledger, Prefix: aws.String("locks/")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != *key {
		t.Errorf("ListObjectsV2 = %+v, %v", list, err)
	}
	if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: ledger, Key: key}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := put(t, "{}", func(in *s3.PutObjectInput) { in.IfMatch = aws.String(aws.ToString(first.ETag)) }); apiCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match on a missing key: %v, want PreconditionFailed", err)
	}
	if _, ok := s.Object(*ledger, *key); ok {
		t.Error("object still there after delete")
	}
}

func TestAWSChunkedBody(t *testing.T) {
	s := start(t, Config{})
	for _, tc := range []struct {
		name, path, body, want string
		header                 map[string]string
	}{
		{
			name: "object with trailer", path: "/" + s.Config().LedgerBucket + "/runs/x/report.json",
			body:   "5\r\nhello\r\n6;chunk-signature=abc\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
			header: map[string]string{"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "11", "X-Amz-Trailer": "x-amz-checksum-crc32"},
			want:   "hello world",
		},
		{
			name: "signed streaming without content-encoding", path: "/" + s.Config().LedgerBucket + "/k",
			body:   "3;chunk-signature=0a\r\nabc\r\n0;chunk-signature=0b\r\n\r\n",
			header: map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
			want:   "abc",
		},
		{
			name: "publicAccessBlock", path: "/" + s.Primary().Bucket + "?publicAccessBlock",
			body:   awsChunked("<PublicAccessBlockConfiguration><BlockPublicAcls>true</Bl", "ockPublicAcls></PublicAccessBlockConfiguration>"),
			header: map[string]string{"Content-Encoding": "aws-chunked"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, s.Primary().S3URL+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := httpClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if tc.want != "" {
				bucket, key, _ := strings.Cut(strings.TrimPrefix(tc.path, "/"), "/")
				if got, _ := s.Object(bucket, key); string(got) != tc.want {
					t.Errorf("stored %q, want %q", got, tc.want)
				}
			} else if p, _ := s.PublicAccessBlock(s.Primary().Bucket); p == nil || !p.BlockPublicAcls || p.IgnorePublicAcls {
				t.Errorf("stored PAB %+v", p)
			}
		})
	}
	t.Run("length mismatch", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, s.Primary().S3URL+"/"+s.Config().LedgerBucket+"/bad", strings.NewReader("2\r\nab\r\n0\r\n\r\n"))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", "5")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("status %d, want 400", res.StatusCode)
		}
	})
}

func TestFailNextS3(t *testing.T) {
	s := start(t, Config{PrimaryPAB: &drill.PublicAccessBlock{BlockPublicPolicy: true}})
	c := s3Client(s, s.Primary().Name)
	in := &s3.GetPublicAccessBlockInput{Bucket: aws.String(s.Primary().Bucket)}
	for _, tc := range []struct {
		status int
		code   string
	}{{503, "SlowDown"}, {500, "InternalError"}, {403, "AccessDenied"}} {
		t.Run(tc.code, func(t *testing.T) {
			s.FailNext("GetPublicAccessBlock", 2, tc.status)
			for i := range 2 {
				if _, err := c.GetPublicAccessBlock(ctx(t), in, noRetry); apiCode(err) != tc.code {
					t.Fatalf("call %d: %v, want %s", i+1, err, tc.code)
				}
			}
			if _, err := c.GetPublicAccessBlock(ctx(t), in, noRetry); err != nil {
				t.Fatalf("third call: %v", err)
			}
		})
	}
	t.Run("the SDK retries a single 503", func(t *testing.T) {
		s.FailNext("PutObject", 1, 503)
		_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(s.Config().LedgerBucket), Key: aws.String("k"), Body: strings.NewReader("v")})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
	})
	t.Run("unknown op panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		s.FailNext("GetBucketPolicy", 1, 500)
	})
}

// awsChunked frames parts as aws-chunked with a zero chunk and a checksum trailer.
func awsChunked(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%x;chunk-signature=00\r\n%s\r\n", len(p), p)
	}
	b.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
	return b.String()
}
