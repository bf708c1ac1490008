// Package examples holds files people copy: a test checks each still does what the
// README says.
package examples

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type step struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type workflow struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency map[string]any    `yaml:"concurrency"`
	Jobs        map[string]struct {
		RunsOn         string            `yaml:"runs-on"`
		TimeoutMinutes int               `yaml:"timeout-minutes"`
		Env            map[string]string `yaml:"env"`
		Steps          []step            `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestGitHubActionsWorkflow: the example is valid YAML for a workflow that gets OIDC
// credentials for a role, builds the binary, runs drill start --wait --json and keeps
// the report as an artifact even when the drill fails.
func TestGitHubActionsWorkflow(t *testing.T) {
	raw, err := os.ReadFile("github-actions/drill.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("not a workflow we understand: %v", err)
	}
	if wf.Permissions["id-token"] != "write" {
		t.Errorf("permissions %v: OIDC needs id-token: write", wf.Permissions)
	}
	if _, ok := wf.On["schedule"]; !ok {
		t.Error("no schedule")
	}
	job, ok := wf.Jobs["drill"]
	if !ok || len(job.Steps) == 0 {
		t.Fatalf("no drill job: %+v", wf.Jobs)
	}
	find := func(pred func(step) bool) (int, step) {
		for i, s := range job.Steps {
			if pred(s) {
				return i, s
			}
		}
		return -1, step{}
	}
	iCreds, creds := find(func(s step) bool { return strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") })
	iBuild, _ := find(func(s step) bool { return strings.Contains(s.Run, "go build -o bin/drill ./cmd/drill") })
	iDrill, drillStep := find(func(s step) bool { return strings.Contains(s.Run, "bin/drill start --wait --json") })
	iUpload, upload := find(func(s step) bool { return strings.HasPrefix(s.Uses, "actions/upload-artifact@") })
	switch {
	case iCreds < 0 || creds.With["role-to-assume"] == "" || creds.With["aws-region"] == "":
		t.Errorf("no OIDC credentials step with role-to-assume and aws-region: %+v", creds)
	case iBuild < 0:
		t.Error("no step builds the binary")
	case iDrill < 0:
		t.Error("no step runs drill start --wait --json")
	case iUpload < 0:
		t.Error("no step uploads the report")
	case !(iBuild < iDrill && iCreds < iDrill && iDrill < iUpload):
		t.Errorf("steps out of order: build %d, credentials %d, drill %d, upload %d", iBuild, iCreds, iDrill, iUpload)
	}
	if strings.Contains(drillStep.Run, "go run") {
		t.Error("the drill runs under go run, which maps every exit code to 1")
	}
	if strings.Contains(drillStep.Run, "${{") {
		t.Error("the drill step interpolates an expression into the shell: pass it through env")
	}
	if !strings.Contains(drillStep.Run, "> report.json") || !strings.Contains(upload.With["path"], "report.json") {
		t.Errorf("the report is not kept: run %q, upload %v", drillStep.Run, upload.With)
	}
	if upload.If != "always()" {
		t.Errorf("upload if %q: the report must be kept when the drill fails", upload.If)
	}
	// A long drill outlives the default one-hour session: the session covers the wait
	// (infra's TestCIRole holds it equal to the CI role's MaxSessionDuration).
	if creds.With["role-duration-seconds"] != "7200" {
		t.Errorf("role-duration-seconds %q, want 7200 (drill start --wait waits up to 90 minutes)", creds.With["role-duration-seconds"])
	}
	// The report step runs whatever happened and fails loudly when it cannot fetch
	// the report: no `|| true`, an ::error annotation and a failing exit.
	_, reportStep := find(func(s step) bool { return strings.Contains(s.Run, "bin/drill report") })
	if reportStep.If != "always()" || strings.Contains(reportStep.Run, "|| true") || !strings.Contains(reportStep.Run, "::error") || !strings.Contains(reportStep.Run, "exit 1") {
		t.Errorf("report step %+v: want it always run, failing with an ::error when the report cannot be fetched", reportStep)
	}
	if job.Env["DRILL_STATE_MACHINE_ARN"] == "" {
		t.Error("DRILL_STATE_MACHINE_ARN not set for drill start")
	}
}
