package doccheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/unishop/failover-drill/internal/toolcheck"
)

// Every relative link and #anchor in the docs resolves.
func TestLinks(t *testing.T) {
	root := toolcheck.RepoRoot()
	files, err := Docs(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("docs %v: want README.md and docs/*.md", files)
	}
	for _, f := range files {
		broken, err := BrokenLinks(root, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range broken {
			t.Error(b)
		}
	}
}

// Every fenced block says what it holds: a command block is run by TestCommands, so
// output, JSON or a diagram must be fenced with its own tag.
func TestFencesHaveTags(t *testing.T) {
	for _, b := range docBlocks(t, toolcheck.RepoRoot()) {
		if b.Lang == "" {
			t.Errorf("%s:%d: a fence without a language tag (sh for commands; text, json, … for the rest)", b.File, b.Line)
		}
	}
}

// The README stays the newcomer's page.
func TestReadmeLength(t *testing.T) {
	text, err := ReadDoc(toolcheck.RepoRoot(), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text, "\n"); n > 300 {
		t.Errorf("README.md has %d lines, want at most 300: move the rest into docs/", n)
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`drill local -input '{"items":5}'`, []string{"drill", "local", "-input", `{"items":5}`}},
		{`npx cdk deploy -c schedule='rate(7 days)'`, []string{"npx", "cdk", "deploy", "-c", "schedule=rate(7 days)"}},
		{`drill public-access block -endpoint <S3 endpoint> -bucket <bucket>`, []string{"drill", "public-access", "block", "-endpoint", "<S3 endpoint>", "-bucket", "<bucket>"}},
		{`a "b \"c\" d" e\ f`, []string{"a", `b "c" d`, "e f"}},
	} {
		got, err := Words(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Words(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`a 'b`, `a "b`, `a <b`} {
		if _, err := Words(bad); err == nil {
			t.Errorf("Words(%s): no error", bad)
		}
	}
}

func TestCommandsOfABlock(t *testing.T) {
	b := Block{File: "x.md", Line: 10, Lang: "sh", Text: "drill local   # a drill\n\nnpx cdk deploy \\\n  -c a=b # '#' quoted: 'x # y'\necho 'a # b'"}
	got := Commands(b)
	want := []Command{{"x.md", 11, "drill local"}, {"x.md", 13, "npx cdk deploy -c a=b"}, {"x.md", 15, "echo 'a # b'"}}
	if !slices.Equal(got, want) {
		t.Errorf("Commands = %+v, want %+v", got, want)
	}
}

func TestSlugAndAnchors(t *testing.T) {
	a := Anchors("# T\n## Runbook: a bucket the drill may have left blocked\n```sh\n# not a heading\n```\n### `drill local` (offline)\n## Input\n## Input\n")
	for _, want := range []string{"t", "runbook-a-bucket-the-drill-may-have-left-blocked", "drill-local-offline", "input", "input-1"} {
		if !a[want] {
			t.Errorf("no anchor %s in %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Error("a comment in a code block made an anchor")
	}
}
