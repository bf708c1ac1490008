package sandbox

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/unishop/failover-drill/internal/policy"
	"github.com/unishop/failover-drill/internal/toolcheck"
)

// awsCLI runs the real AWS CLI with dummy credentials (any do: the replica checks no
// signature), an empty config and extra env, and returns stdout, stderr and whether
// it succeeded.
func awsCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	bin := toolcheck.AWSCLI(t)
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	var base []string
	for _, kv := range os.Environ() { // no profile, region or credentials of the machine's
		if !strings.HasPrefix(kv, "AWS_") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(base, "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			t.Fatalf("aws %v: %v", args, err)
		}
	}
	return out.String(), errb.String(), err == nil
}

// The AWS CLI (botocore) speaks awsJson1_0 to CloudWatch; the replica answers in
// kind, errors included (the code travels in X-Amzn-Query-Error).
func TestAWSCLIDescribeAlarmsJSON(t *testing.T) {
	s := start(t, Config{})
	s.SetPolicies(map[string][]policy.Statement{"narrow": {{Actions: []string{"s3:GetObject"}, Resources: []string{"*"}}}})
	out, stderr, ok := awsCLI(t, nil, "cloudwatch", "describe-alarms", "--endpoint-url", s.CloudWatchURL(), "--output", "json",
		"--alarm-names", DefaultStopAlarm, "missing")
	if !ok {
		t.Fatalf("describe-alarms failed: %s", stderr)
	}
	checkAlarms(t, out)

	_, stderr, ok = awsCLI(t, []string{"AWS_ACCESS_KEY_ID=narrow"}, "cloudwatch", "describe-alarms", "--endpoint-url", s.CloudWatchURL(),
		"--alarm-names", DefaultStopAlarm)
	if ok || !strings.Contains(stderr, "(AccessDenied)") || !strings.Contains(stderr, "cloudwatch:DescribeAlarms") {
		t.Errorf("a caller without cloudwatch:DescribeAlarms: ok=%v, stderr %q, want AccessDenied naming the action", ok, stderr)
	}
}

// The awsQuery protocol, as older SDKs speak it: the real AWS CLI, given CloudWatch's
// own model with its protocols narrowed to query (AWS_DATA_PATH), sends
// Action=DescribeAlarms as a form and parses the XML answer.
func TestAWSCLIDescribeAlarmsQuery(t *testing.T) {
	s := start(t, Config{})
	s.SetPolicies(map[string][]policy.Statement{"narrow": {{Actions: []string{"s3:GetObject"}, Resources: []string{"*"}}}})
	dataPath := queryModel(t)
	env := []string{"AWS_DATA_PATH=" + dataPath}
	out, stderr, ok := awsCLI(t, env, "cloudwatch", "describe-alarms", "--endpoint-url", s.CloudWatchURL(), "--output", "json",
		"--alarm-names", DefaultStopAlarm, "missing", "--debug")
	if !ok {
		t.Fatalf("describe-alarms failed: %s", tail(stderr))
	}
	if !strings.Contains(stderr, "<DescribeAlarmsResponse") {
		t.Fatalf("the CLI did not speak awsQuery (no DescribeAlarmsResponse document in its log): %s", tail(stderr))
	}
	checkAlarms(t, out)

	_, stderr, ok = awsCLI(t, append(env, "AWS_ACCESS_KEY_ID=narrow"), "cloudwatch", "describe-alarms", "--endpoint-url", s.CloudWatchURL(),
		"--alarm-names", DefaultStopAlarm)
	if ok || !strings.Contains(stderr, "(AccessDenied)") {
		t.Errorf("a caller without cloudwatch:DescribeAlarms over awsQuery: ok=%v, stderr %q, want AccessDenied", ok, stderr)
	}
}

// checkAlarms holds describe-alarms' JSON output to the one stop alarm, in OK, with
// its ARN and a parsed timestamp.
func checkAlarms(t *testing.T, out string) {
	t.Helper()
	var got struct {
		MetricAlarms []struct {
			AlarmName, AlarmArn, StateValue string
			StateUpdatedTimestamp           json.RawMessage // CLI v1 prints it as received: epoch seconds (JSON) or ISO 8601 (query)
		}
		CompositeAlarms []any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(got.MetricAlarms) != 1 || len(got.CompositeAlarms) != 0 {
		t.Fatalf("alarms %+v, want only %s (the missing one is left out)", got, DefaultStopAlarm)
	}
	a := got.MetricAlarms[0]
	if a.AlarmName != DefaultStopAlarm || a.StateValue != "OK" || !strings.HasSuffix(a.AlarmArn, ":alarm:"+DefaultStopAlarm) ||
		!regexp.MustCompile(`^("\d{4}-\d\d-\d\dT.*Z"|\d{10}\.\d+)$`).Match(a.StateUpdatedTimestamp) {
		t.Errorf("alarm %+v (updated %s), want %s in OK with its ARN and a timestamp", a, a.StateUpdatedTimestamp, DefaultStopAlarm)
	}
}

// queryModel writes CloudWatch's botocore model, its protocols narrowed to query, into
// a directory for AWS_DATA_PATH, and returns it. The model is read from the botocore
// the CLI runs on.
func queryModel(t *testing.T) string {
	t.Helper()
	dir := botocoreData(t)
	src := filepath.Join(dir, "cloudwatch", "2010-08-01", "service-2.json")
	raw, err := os.ReadFile(src)
	if err != nil {
		f, gzErr := os.Open(src + ".gz")
		if gzErr != nil {
			t.Fatalf("CloudWatch's model: %v; %v", err, gzErr)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var model map[string]any
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	meta := model["metadata"].(map[string]any)
	meta["protocol"], meta["protocols"] = "query", []string{"query"}
	out := t.TempDir()
	dst := filepath.Join(out, "cloudwatch", "2010-08-01", "service-2.json")
	b, _ := json.Marshal(model)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// botocoreData is the data directory of the botocore the AWS CLI runs on: found
// through the interpreter of the aws script (or python3), held to the version
// `aws --version` names.
func botocoreData(t *testing.T) string {
	t.Helper()
	out, _, _ := awsCLI(t, nil, "--version")
	ver := regexp.MustCompile(`botocore/(\S+)`).FindStringSubmatch(out)
	if ver == nil {
		out2, err := exec.Command(toolcheck.AWSCLI(t), "--version").CombinedOutput()
		ver = regexp.MustCompile(`botocore/(\S+)`).FindStringSubmatch(string(out2))
		if ver == nil {
			skipOrFail(t, "the AWS CLI is not v1 (no botocore in `aws --version`: "+strings.TrimSpace(string(out2))+
				fmt.Sprint(err)+"); the awsQuery check needs botocore's models")
		}
	}
	var pythons []string
	if head, err := os.ReadFile(toolcheck.AWSCLI(t)); err == nil {
		if line, _, _ := strings.Cut(string(head), "\n"); strings.HasPrefix(line, "#!") && strings.Contains(line, "python") {
			pythons = append(pythons, strings.Fields(strings.TrimPrefix(line, "#!"))...)
		}
	}
	pythons = append(pythons, "python3", "python")
	for _, py := range pythons {
		if !strings.Contains(py, "python") {
			continue
		}
		b, err := exec.Command(py, "-c", "import botocore, os; print(botocore.__version__, os.path.dirname(botocore.__file__))").Output()
		if f := strings.Fields(string(b)); err == nil && len(f) == 2 && f[0] == ver[1] {
			return filepath.Join(f[1], "data")
		}
	}
	skipOrFail(t, "no python on PATH imports the botocore "+ver[1]+" the AWS CLI runs on")
	return ""
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIP: " + msg)
}

// tail is the end of a long debug log.
func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// `aws s3 ls` lists buckets and a prefix's folders (ListObjectsV2 with a delimiter:
// CommonPrefixes) and files, as it does against S3.
func TestAWSCLIS3List(t *testing.T) {
	s := start(t, Config{})
	ledger := s.Config().LedgerBucket
	for _, k := range []string{"runs/a/20250601T120000.000Z/report.json", "runs/a/ticket-x.json", "runs/b c/r.json", "runs/top.json", "locks/x.json"} {
		s.PutObject(ledger, k, []byte("{}"), "application/json")
	}
	ep := s.Primary().S3URL
	out, stderr, ok := awsCLI(t, nil, "s3", "ls", "s3://"+ledger+"/runs/", "--endpoint-url", ep)
	if !ok {
		t.Fatalf("aws s3 ls: %s", stderr)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if f[0] == "PRE" {
			lines = append(lines, "PRE "+strings.Join(f[1:], " "))
		} else {
			lines = append(lines, strings.Join(f[3:], " "))
		}
	}
	if got, want := strings.Join(lines, "|"), "PRE a/|PRE b c/|top.json"; got != want {
		t.Errorf("aws s3 ls s3://%s/runs/:\n%s\nwant %s", ledger, out, want)
	}

	out, stderr, ok = awsCLI(t, nil, "s3", "ls", "--endpoint-url", s.Secondary().S3URL)
	if !ok {
		t.Fatalf("aws s3 ls (buckets): %s", stderr)
	}
	for _, b := range []string{ledger, s.Primary().Bucket, s.Secondary().Bucket} {
		if !strings.Contains(out, " "+b+"\n") {
			t.Errorf("aws s3 ls lists %q, want every bucket, %s among them", out, b)
		}
	}

	out, stderr, ok = awsCLI(t, nil, "s3api", "list-objects-v2", "--bucket", ledger, "--delimiter", "/", "--page-size", "1",
		"--endpoint-url", ep, "--output", "json", "--query", "CommonPrefixes[].Prefix")
	if !ok || strings.Join(strings.Fields(out), "") != `["locks/","runs/"]` {
		t.Errorf("list-objects-v2 --delimiter / (paged by one): %s %s, want locks/ and runs/", out, stderr)
	}
}

// ListExecutions of a state machine that does not exist fails as on AWS; one that
// exists and never ran lists nothing.
func TestAWSCLIListExecutions(t *testing.T) {
	s := start(t, Config{})
	known := "arn:aws:states:us-east-1:000000000000:stateMachine:failover-drill"
	s.CreateStateMachine(known)
	_, stderr, ok := awsCLI(t, nil, "stepfunctions", "list-executions", "--endpoint-url", s.SFNEndpoint(),
		"--state-machine-arn", "arn:aws:states:us-east-1:000000000000:stateMachine:nope")
	if ok || !strings.Contains(stderr, "(StateMachineDoesNotExist)") {
		t.Errorf("an unknown state machine: ok=%v, stderr %q, want StateMachineDoesNotExist", ok, stderr)
	}
	out, stderr, ok := awsCLI(t, nil, "stepfunctions", "list-executions", "--endpoint-url", s.SFNEndpoint(),
		"--state-machine-arn", known, "--output", "json")
	if !ok || strings.Join(strings.Fields(out), "") != `{"executions":[]}` {
		t.Errorf("a state machine without executions: %s %s, want an empty list", out, stderr)
	}
}

// The same listings through the Go SDK: ListObjectsV2 with a delimiter, paged by one
// (a common prefix is a page's entry and its continuation token), and ListBuckets
// with each bucket's region.
func TestSDKListWithDelimiterAndBuckets(t *testing.T) {
	s := start(t, Config{})
	ledger := s.Config().LedgerBucket
	for _, k := range []string{"runs/a/1.json", "runs/a/2.json", "runs/b/1.json", "runs/top.json", "locks/x.json"} {
		s.PutObject(ledger, k, []byte("{}"), "application/json")
	}
	c := s3Client(s, "us-east-1")
	var got []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(ledger), Prefix: aws.String("runs/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range out.CommonPrefixes {
			got = append(got, aws.ToString(cp.Prefix))
		}
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if strings.Join(got, ",") != "runs/a/,runs/b/,runs/top.json" {
		t.Errorf("listing runs/ by /: %v, want runs/a/, runs/b/, runs/top.json", got)
	}
	out, err := s3Client(s, "us-west-1").ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]string{}
	for _, b := range out.Buckets {
		regions[aws.ToString(b.Name)] = aws.ToString(b.BucketRegion)
	}
	if regions[ledger] != "us-east-1" || regions[s.Secondary().Bucket] != "us-west-1" || len(regions) != 3 {
		t.Errorf("ListBuckets: %v, want the three buckets with their regions", regions)
	}
}
