package sandbox

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// standIns are the packages that each imitate one AWS service; shared are the pieces
// they may all use; content is what the sandbox puts into the replica (the shop's web
// page), which imports no stand-in either: the sandbox hands it what it needs.
var (
	standIns = []string{"cloudfront", "cloudwatch", "rds", "s3", "s3control", "s3website", "sfn", "shopapi"}
	shared   = []string{"iam", "inject", "loopback", "s3wire"}
	content  = []string{"shopui"}
)

// TestLayout keeps the replica a list of services: every subpackage is a known stand-in
// or shared piece, no stand-in imports another, and no file grows past 400 lines.
func TestLayout(t *testing.T) {
	const module = "github.com/unishop/failover-drill/internal/sandbox/"
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "testdata" {
			continue
		}
		name := d.Name()
		if !slices.Contains(standIns, name) && !slices.Contains(shared, name) && !slices.Contains(content, name) {
			t.Errorf("%s: neither a stand-in %v, a shared piece %v nor content %v; add it to one list", name, standIns, shared, content)
		}
		files, _ := filepath.Glob(filepath.Join(name, "*.go"))
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				other, ok := strings.CutPrefix(path, module)
				if ok && other != name && slices.Contains(standIns, other) && slices.Contains(standIns, name) { // a package's external tests import it
					t.Errorf("%s: stand-in %s imports stand-in %s", f, name, other)
				}
				if ok && slices.Contains(standIns, other) && slices.Contains(content, name) {
					t.Errorf("%s: content %s imports stand-in %s", f, name, other)
				}
			}
		}
	}
	all, _ := filepath.Glob("*.go")
	sub, _ := filepath.Glob("*/*.go")
	for _, f := range append(all, sub...) {
		if n := countLines(t, f); n > 400 {
			t.Errorf("%s: %d lines, over 400", f, n)
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
