package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
)

// cmdIO is one command's way of ending. An error is printed once, in full, on stderr,
// prefixed with the command; with --json, stdout then gets exactly one JSON object
// saying the same, whatever the exit code, so a script reading stdout always has
// something to parse. A command that printed its own JSON object marks it (printed).
type cmdIO struct {
	name           string // "drill start"
	stdout, stderr io.Writer
	json, verbose  bool
	printed        bool // the one JSON object is on stdout already
}

// newCLI pre-scans args for --json and -v, so even a flag error gets its JSON object.
func newCLI(name string, args []string, stdout, stderr io.Writer) *cmdIO {
	c := &cmdIO{name: name, stdout: stdout, stderr: stderr}
	for _, a := range args {
		if a == "--" {
			break
		}
		switch strings.TrimLeft(a, "-") {
		case "json", "json=true", "json=1":
			c.json = true
		case "v", "v=true", "v=1":
			c.verbose = true
		}
	}
	return c
}

// errorJSON is the JSON object of a command that ended without its normal output.
type errorJSON struct {
	Command  string `json:"command"`
	Error    string `json:"error"`   // what kind of ending: Usage, NoCredentials, NoRegion, AWS, NotFound, ...
	Message  string `json:"message"` // the message printed on stderr, in full
	ExitCode int    `json:"exitCode"`
	Detail   string `json:"detail,omitempty"` // the SDK's error behind a hint
}

// fail prints err once and returns code. kind names the ending in the JSON object.
func (c *cmdIO) fail(code int, kind string, err error) int {
	msg := err.Error()
	detail := ""
	if hint, ok := awsHint(err); ok {
		kind, detail, msg = hint.kind, msg, hint.text
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, msg)
	if detail != "" && c.verbose {
		fmt.Fprintf(c.stderr, "  SDK: %s\n", detail)
	}
	if c.json && !c.printed {
		j := errorJSON{Command: c.name, Error: kind, Message: msg, ExitCode: code}
		if c.verbose {
			j.Detail = detail
		}
		writeJSON(c.stdout, j)
		c.printed = true
	}
	return code
}

// usage ends the command with exit 2: bad flags or input, nothing was started.
func (c *cmdIO) usage(format string, a ...any) int {
	return c.fail(exitUsage, "Usage", fmt.Errorf(format, a...))
}

// flagError ends the command after flag.Parse failed; the flag package has printed
// the message and the flags already.
func (c *cmdIO) flagError(err error) int {
	if c.json && !c.printed {
		writeJSON(c.stdout, errorJSON{Command: c.name, Error: "Usage", Message: err.Error(), ExitCode: exitUsage})
		c.printed = true
	}
	return exitUsage
}

// writeJSONOnce prints the command's one JSON object.
func (c *cmdIO) writeJSONOnce(v any) {
	if c.printed {
		return
	}
	writeJSON(c.stdout, v)
	c.printed = true
}

// writeRawJSONOnce prints a stored JSON document as the command's one JSON object.
func (c *cmdIO) writeRawJSONOnce(raw []byte) {
	if c.printed {
		return
	}
	writeRawJSON(c.stdout, raw)
	c.printed = true
}

type hint struct{ kind, text string }

// awsHint turns the SDK's long error chains for missing credentials or region into
// one line a person can act on; the chain itself is shown under -v.
func awsHint(err error) (hint, bool) {
	msg := err.Error()
	switch {
	case errors.Is(err, errNoRegion),
		strings.Contains(msg, "region is required"),
		strings.Contains(msg, "Missing Region"):
		return hint{"NoRegion", "no AWS region: pass --region <region>, or set AWS_REGION (or a region in your AWS profile); -v shows the SDK's error"}, true
	case strings.Contains(msg, "get identity: get credentials"),
		strings.Contains(msg, "failed to refresh cached credentials"),
		strings.Contains(msg, "no EC2 IMDS role found"),
		strings.Contains(msg, "failed to retrieve credentials"):
		return hint{"NoCredentials", "no AWS credentials: set AWS_PROFILE=<profile> (after aws sso login if it uses SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
			"or run where a role provides them (in CI: aws-actions/configure-aws-credentials); -v shows the SDK's error"}, true
	}
	return hint{}, false
}

// awsFail prints an AWS error once, as a one-line hint when credentials or the region
// are missing (the SDK's chain under -v), and returns exit 3.
func awsFail(stderr io.Writer, command string, err error) int {
	c := &cmdIO{name: command, stderr: stderr, stdout: io.Discard, verbose: sdkVerbose}
	return c.fail(exitNoVerdict, "AWS", err)
}

// Exit codes of drill local, drill start and drill report: the verdict, for CI.
const (
	exitPass      = 0 // the drill passed, or the dry run is ready
	exitFail      = 1 // the drill ran and failed, or the dry run is not ready (or, for report, there is no report)
	exitUsage     = 2 // bad flags or input: nothing was started
	exitNoVerdict = 3 // AWS could not be reached, an API call failed, or the wait ended first
	// exitUnverified: a dry run found nothing failing but skipped a readiness check,
	// so readiness is not proven (the report names the checks and what to do).
	exitUnverified = 4
	// exitSkipped: a dry run that a drill on the same state machine disturbed; it
	// proves nothing either way: run it again once the drill has ended.
	exitSkipped = 5
)

// verdictExit is a report's verdict as the exit code.
func verdictExit(verdict string) int {
	switch verdict {
	case drill.Pass, drill.Ready:
		return exitPass
	case drill.NotVerified:
		return exitUnverified
	case drill.SkippedBusy:
		return exitSkipped
	}
	return exitFail
}

// bucketName is S3's rule for bucket names, as far as a typo check needs.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeRawJSON prints a JSON document as stored, indented, so unknown fields survive.
func writeRawJSON(w io.Writer, raw []byte) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, _ = w.Write(buf.Bytes())
}
