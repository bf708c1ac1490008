package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/unishop/failover-drill/internal/awsconf"
	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/pab"
)

const publicAccessSynopsis = "ACTION -endpoint URL -bucket NAME [-region REGION]"

const publicAccessAbout = `Reads or changes a sandbox bucket's S3 Block Public Access, as the S3 console's
"Block public access (bucket settings)" does (lab step 2.4). It only talks to a local
sandbox endpoint (127.0.0.1, ::1 or localhost): for a real bucket use the console or
the AWS CLI.

actions:
  show     print the bucket's configuration ("none" when it has none)
  block    "Block all public access": put all four flags
  delete   remove the configuration (how the sandbox's buckets start)
  put JSON put exactly this configuration, e.g. '{"blockPublicAcls":true,"ignorePublicAcls":true}'
           (an absent flag is false)

`

// runPublicAccess is drill public-access: the lab's Block Public Access switch for the
// sandbox, so the lab can be done by hand without the AWS CLI.
func runPublicAccess(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("drill public-access", args, stdout, stderr)
	c.about = publicAccessAbout
	fs := flag.NewFlagSet("drill public-access", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "the sandbox's S3 endpoint of the bucket's region (drill sandbox prints it)")
	bucket := fs.String("bucket", "", "the bucket")
	region := fs.String("region", "us-east-1", "the bucket's region")
	// The action may come first (drill public-access block -bucket ...) or last; put
	// takes its JSON as the next word.
	var action []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		n := 1
		if args[0] == "put" && len(args) > 1 {
			n = 2
		}
		action, args = args[:n], args[n:]
	}
	if code, ok := c.parse(fs, args, publicAccessSynopsis); !ok {
		return code
	}
	action = append(action, fs.Args()...)
	usageErr := func(msg string) int {
		fmt.Fprintf(stderr, "drill public-access: %s\nusage: drill public-access %s   (drill public-access -h says more)\n", msg, publicAccessSynopsis)
		return exitUsage
	}
	var problems []string
	if err := loopbackEndpoint(*endpoint); err != nil {
		problems = append(problems, "-endpoint: "+err.Error())
	}
	if *bucket == "" {
		problems = append(problems, "-bucket: missing")
	}
	if *region == "" {
		problems = append(problems, "-region: missing")
	}
	var put *drill.PublicAccessBlock
	switch {
	case len(action) == 0:
		problems = append(problems, "ACTION: missing (show, block, delete or put JSON)")
	case action[0] == "put" && len(action) == 2:
		p, err := parsePAB(action[1])
		if err != nil {
			problems = append(problems, "put: "+err.Error())
		}
		put = &p
	case len(action) == 1 && (action[0] == "show" || action[0] == "block" || action[0] == "delete"):
	default:
		problems = append(problems, fmt.Sprintf("ACTION: %q is not one of show, block, delete, put JSON", strings.Join(action, " ")))
	}
	if len(problems) > 0 {
		return usageErr(strings.Join(problems, "; "))
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	api := awsconf.SandboxFactory(map[string]string{*region: strings.TrimRight(*endpoint, "/")})(*region)
	before, err := pab.Read(ctx, api, *bucket)
	if err != nil {
		fmt.Fprintln(stderr, "drill public-access:", err)
		return 1
	}
	switch action[0] {
	case "show":
		fmt.Fprintf(stdout, "%s: %s\n", *bucket, pab.String(before))
		return 0
	case "block":
		put = &drill.BlockAll
	}
	if err := pab.Set(ctx, api, *bucket, put); err != nil {
		fmt.Fprintln(stderr, "drill public-access:", err)
		return 1
	}
	after, err := pab.Read(ctx, api, *bucket)
	if err != nil {
		fmt.Fprintln(stderr, "drill public-access:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s (was %s)\n", *bucket, pab.String(after), pab.String(before))
	return 0
}

// loopbackEndpoint accepts only http(s)://<loopback>:port: the command must never
// change a real bucket.
func loopbackEndpoint(raw string) error {
	if raw == "" {
		return fmt.Errorf("missing (drill sandbox prints each region's S3 endpoint)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a local sandbox endpoint (127.0.0.1, ::1 or localhost); this command never changes a real bucket", raw)
	}
	return nil
}

// parsePAB reads a configuration in the drill's JSON form; unknown fields are errors.
func parsePAB(s string) (drill.PublicAccessBlock, error) {
	var p drill.PublicAccessBlock
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf(`want a JSON object with blockPublicAcls, ignorePublicAcls, blockPublicPolicy, restrictPublicBuckets: %v`, err)
	}
	return p, nil
}

// selfCommand is how to run this program again: its path, or "go run ./cmd/drill"
// when it was started by go run (from a temporary build directory).
func selfCommand() string {
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") || strings.HasSuffix(exe, ".test") {
		return "go run ./cmd/drill"
	}
	return exe
}
