package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// FunctionBuilder turns a function name (a folder under functions/) into a directory
// holding its Lambda "bootstrap" executable, ready for awslambda.Code_FromAsset.
type FunctionBuilder interface {
	AssetDir(name string) (string, error)
}

// GoBuilder builds every function with the local Go toolchain, no Docker:
// GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath
// -ldflags="-s -w" -o <OutDir>/<name>/bootstrap ./functions/<name>.
// The first AssetDir call builds all Names in one `go build`; later calls reuse it.
// Builds are reproducible, so an unchanged function keeps its asset hash.
type GoBuilder struct {
	RepoRoot string   // module root holding functions/
	OutDir   string   // where <name>/bootstrap go; default <RepoRoot>/infra/.build
	Names    []string // functions to build; default FunctionNames()

	once sync.Once
	err  error
}

// NewGoBuilder finds the module root from the working directory (the repo root under
// `cdk synth`, infra/ under `go test`).
func NewGoBuilder() (*GoBuilder, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := findModuleRoot(wd)
	if err != nil {
		return nil, err
	}
	return &GoBuilder{RepoRoot: root}, nil
}

func findModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or any parent: run cdk from the repository root", dir)
		}
	}
}

func (b *GoBuilder) outDir() string {
	if b.OutDir != "" {
		return b.OutDir
	}
	return filepath.Join(b.RepoRoot, "infra", ".build")
}

// AssetDir returns <OutDir>/<name>, building all functions on first use.
func (b *GoBuilder) AssetDir(name string) (string, error) {
	names := b.Names
	if len(names) == 0 {
		names = FunctionNames()
	}
	b.once.Do(func() { b.err = b.buildAll(names) })
	if b.err != nil {
		return "", b.err
	}
	for _, n := range names {
		if n == name {
			return filepath.Join(b.outDir(), name), nil
		}
	}
	return "", fmt.Errorf("function %s: not one of %v", name, names)
}

func (b *GoBuilder) buildAll(names []string) error {
	var missing []string
	pkgs := make([]string, 0, len(names))
	for _, n := range names {
		dir := filepath.Join(b.RepoRoot, "functions", n)
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
			missing = append(missing, "functions/"+n)
		}
		pkgs = append(pkgs, "./functions/"+n)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("build functions: %s missing in %s (each function is a main package at functions/<name>/main.go)",
			strings.Join(missing, ", "), b.RepoRoot)
	}
	if err := os.MkdirAll(b.outDir(), 0o755); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	// Build into a fresh directory, then rename each binary into place, so a
	// concurrent synth never zips a half-written bootstrap.
	tmp, err := os.MkdirTemp(b.outDir(), ".tmp-")
	if err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	defer os.RemoveAll(tmp)

	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w", "-o", tmp + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = b.RepoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build functions (GOOS=linux GOARCH=arm64 go %s): %w\n%s",
			strings.Join(args, " "), err, out)
	}
	var errs []error
	for _, n := range names {
		dst := filepath.Join(b.outDir(), n)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		// go build -o dir/ names each binary after its package's folder.
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dst, "bootstrap")); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}
