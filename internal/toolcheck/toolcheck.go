// Package toolcheck finds the tools tests need: the npm tools and a Chromium browser.
// In CI (CI=true) a missing tool fails the test; elsewhere the test is skipped with a
// message saying how to get it.
package toolcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RepoRoot is the repository's top directory (where go.mod and package.json are).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// NodeBin returns the path of node_modules/.bin/<name>, or fails/skips the test.
func NodeBin(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		msg := name + " is not installed: run `npm ci` in " + RepoRoot() + " (the README's test command does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return p
}

// NodeModule returns the directory of node_modules/<name> and the path of node, or
// fails/skips the test.
func NodeModule(t testing.TB, name string) (dir, node string) {
	t.Helper()
	dir = filepath.Join(RepoRoot(), "node_modules", name)
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(dir); statErr != nil || err != nil {
		msg := "node and the npm package " + name + " are needed: install Node.js and run `npm ci` in " + RepoRoot() + " (the README's test command does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return dir, node
}

// ChromiumEnv names a browser binary to use instead of searching PATH.
const ChromiumEnv = "DRILL_CHROMIUM"

// chromiumNames are the binaries searched on PATH, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// Chromium returns the path of a Chromium-family browser ($DRILL_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome-stable, google-chrome on PATH),
// or fails/skips the test.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s=%s: %v", ChromiumEnv, p, err)
		}
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium browser on PATH (looked for " + strings.Join(chromiumNames, ", ") + "; or set " + ChromiumEnv +
		"): on Debian run `apt-get install chromium` (.ci/run does when it runs as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIP: " + msg)
	return ""
}

// AWSCLI returns the path of the AWS CLI (`aws`) on PATH, or fails/skips the test.
// The sandbox's stand-ins are checked with it because the docs hand people `aws`
// commands for the sandbox.
func AWSCLI(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		msg := "the AWS CLI (aws) is not on PATH: install it (`pip install awscli`, v1, or AWS CLI v2)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return p
}
