package drill

import (
	"strings"
	"time"
)

// ---- ledger keys of a run's evidence ----
//
// Step Functions accepts an execution name again 90 days after the earlier execution
// closed, and the ledger keeps runs/ for up to 3650 days: every key of a run carries
// its start (RunID), so a run that reuses a name never overwrites an earlier one's
// evidence. A run's report, page, sample logs and restore records share one folder,
//
//	runs/<execution>/<start>/report.json, report.html, samples-<mode>.json, restore-<reason>.json
//
// (<start> as KeyTime writes it); its run ticket stays beside the folders, at
// runs/<execution>/ticket-<start>.json (RunTicketKey). Versions before the start was
// in the key wrote the same files straight into runs/<execution>/ (the legacy folder);
// drill report and drill history still read them there.

// KeyTimeLayout is how a run's start is written in its ledger keys
// (20250601T120000.123Z): fixed width, no ':' (which a key is better without), and
// sorting as text sorts by time.
const KeyTimeLayout = "20060102T150405.000Z"

// KeyTimePattern matches KeyTime's output and nothing of another shape, in IAM's
// wildcards (? is any one character): how grants name a run's folder.
const KeyTimePattern = "????????T??????.???Z"

// KeyTime is start as it is written in ledger keys.
func KeyTime(start Instant) string { return start.Time().Format(KeyTimeLayout) }

// RunFolder is where one run's evidence lives: runs/<execution>/<start>/, or, with a
// zero Start, the legacy folder runs/<execution>/ that versions before the start was
// in the key wrote to. Writers always name the start.
type RunFolder struct {
	Execution string
	Start     Instant
}

// FolderOf is the folder of run id's evidence.
func FolderOf(id RunID) RunFolder { return RunFolder{Execution: id.Execution, Start: id.StartTime} }

// Legacy reports whether f is a folder of the versions before the start was in the key.
func (f RunFolder) Legacy() bool { return f.Start.IsZero() }

// Prefix is the folder's key prefix, ending in "/".
func (f RunFolder) Prefix() string {
	if f.Legacy() {
		return "runs/" + f.Execution + "/"
	}
	return "runs/" + f.Execution + "/" + KeyTime(f.Start) + "/"
}

// The files of a run's folder.
const (
	FileReport     = "report.json"
	FileReportHTML = "report.html"
)

// SamplesFile is a probe mode's sample log in its run's folder.
func SamplesFile(mode string) string { return "samples-" + mode + ".json" }

// RestoreRecordFile is a restore after the execution's end in its run's folder.
func RestoreRecordFile(reason string) string { return "restore-" + reason + ".json" }

// Key is file's key in the folder.
func (f RunFolder) Key(file string) string { return f.Prefix() + file }

// ReportKey, ReportHTMLKey: the run's report.json and report.html.
func ReportKey(execution string, start Instant) string {
	return RunFolder{execution, start}.Key(FileReport)
}
func ReportHTMLKey(execution string, start Instant) string {
	return RunFolder{execution, start}.Key(FileReportHTML)
}

// SamplesKey is where a probe mode's SampleLog lives in the ledger.
func SamplesKey(execution string, start Instant, mode string) string {
	return RunFolder{execution, start}.Key(SamplesFile(mode))
}

// RestoreRecordKey is where the safety net's (or the sweeper's, or an operator's)
// restore of a run is recorded, next to its report: those restores run after the
// execution has ended, when its report is already written (or never will be).
func RestoreRecordKey(execution string, start Instant, reason string) string {
	return RunFolder{execution, start}.Key(RestoreRecordFile(reason))
}

// Key patterns for the grants (internal/policy), beneath the ledger's ARN. A writer's
// pattern names a run's folder with its start (KeyTimePattern), so no grant lets a
// function write into a legacy folder; a reader's (* spans "/" in IAM) covers both.
const (
	// RunFolderPattern is any run's folder (not a legacy one), ending in "/".
	RunFolderPattern = "runs/*/" + KeyTimePattern + "/"
	// SamplesKeyPattern is the only ledger key pattern the probe may write.
	SamplesKeyPattern = RunFolderPattern + "samples-*.json"
	// WritesKeyPattern is the only ledger key pattern switch-database writes besides
	// the run ticket and the lock: its write and read samples.
	WritesKeyPattern = RunFolderPattern + "writes-*.json"
)

// RunFileKey is a ledger key of a run's evidence, as ParseRunKey reads it.
type RunFileKey struct {
	RunFolder
	File string // report.json, report.html, samples-<mode>.json or restore-<reason>.json
}

// ParseRunKey reads a key of a run's evidence, in a run's folder or a legacy one; ok
// is false for any other key (a run ticket, a lock, a stray object).
func ParseRunKey(key string) (k RunFileKey, ok bool) {
	rest, found := strings.CutPrefix(key, "runs/")
	if !found {
		return k, false
	}
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 2:
		k.Execution, k.File = parts[0], parts[1]
	case 3:
		t, err := time.Parse(KeyTimeLayout, parts[1])
		if err != nil || KeyTime(At(t)) != parts[1] {
			return k, false
		}
		k.Execution, k.Start, k.File = parts[0], At(t), parts[2]
	default:
		return k, false
	}
	return k, k.Execution != "" && evidenceFile(k.File)
}

func evidenceFile(f string) bool {
	switch {
	case f == FileReport, f == FileReportHTML:
		return true
	case strings.HasSuffix(f, ".json"):
		return strings.HasPrefix(f, "samples-") || strings.HasPrefix(f, "restore-") || strings.HasPrefix(f, "writes-")
	}
	return false
}
