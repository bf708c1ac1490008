package drill

import (
	"strings"
	"testing"
	"time"
)

// A run's evidence is keyed by its name and its start, in one folder per run; the
// start is written as in the run ticket's key. ParseRunKey reads every key a writer
// makes, and the legacy keys of the versions before the start was in the key.
func TestRunKeys(t *testing.T) {
	start := At(time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC))
	id := RunID{Execution: "drill-w23", StartTime: start}
	for _, tc := range []struct{ got, want string }{
		{ReportKey("drill-w23", start), "runs/drill-w23/20250601T120000.123Z/report.json"},
		{ReportHTMLKey("drill-w23", start), "runs/drill-w23/20250601T120000.123Z/report.html"},
		{SamplesKey("drill-w23", start, ModeRecoveryCheck), "runs/drill-w23/20250601T120000.123Z/samples-recovery-check.json"},
		{RestoreRecordKey("drill-w23", start, ReasonSafetyNet), "runs/drill-w23/20250601T120000.123Z/restore-safety-net.json"},
		{RunTicketKey(id), "runs/drill-w23/ticket-20250601T120000.123Z.json"},
		{FolderOf(id).Prefix(), "runs/drill-w23/20250601T120000.123Z/"},
		{RunFolder{Execution: "drill-w23"}.Key(FileReport), "runs/drill-w23/report.json"},
	} {
		if tc.got != tc.want {
			t.Errorf("key %q, want %q", tc.got, tc.want)
		}
	}
	if len(KeyTimePattern) != len(KeyTime(start)) || strings.Trim(strings.ReplaceAll(KeyTime(start), "T", ""), "0123456789.Z") != "" {
		t.Errorf("KeyTimePattern %q does not describe %q", KeyTimePattern, KeyTime(start))
	}
	for i := range KeyTimePattern {
		if p := KeyTimePattern[i]; p != '?' && p != KeyTime(start)[i] {
			t.Errorf("KeyTimePattern %q and KeyTime %q differ at %d", KeyTimePattern, KeyTime(start), i)
		}
	}

	for _, tc := range []struct {
		key    string
		ok     bool
		folder RunFolder
		file   string
	}{
		{ReportKey("drill-w23", start), true, RunFolder{"drill-w23", start}, FileReport},
		{SamplesKey("drill-w23", start, ModeFailover), true, RunFolder{"drill-w23", start}, "samples-failover.json"},
		{RestoreRecordKey("drill-w23", start, ReasonSweeper), true, RunFolder{"drill-w23", start}, "restore-sweeper.json"},
		{"runs/drill-w23/report.json", true, RunFolder{Execution: "drill-w23"}, FileReport},
		{"runs/drill-w23/restore-safety-net.json", true, RunFolder{Execution: "drill-w23"}, "restore-safety-net.json"},
		{RunTicketKey(id), false, RunFolder{}, ""},
		{"runs/drill-w23/notatime/report.json", false, RunFolder{}, ""},
		{"runs/drill-w23/20250601T120000.123Z/extra/report.json", false, RunFolder{}, ""},
		{"runs/drill-w23/20250601T120000.123Z/notes.txt", false, RunFolder{}, ""},
		{"locks/ui.json", false, RunFolder{}, ""},
		{"runs//report.json", false, RunFolder{}, ""},
	} {
		k, ok := ParseRunKey(tc.key)
		if ok != tc.ok || ok && (k.Execution != tc.folder.Execution || !k.Start.Equal(tc.folder.Start) || k.File != tc.file) {
			t.Errorf("ParseRunKey(%q) = %+v, %v; want %+v %s, %v", tc.key, k, ok, tc.folder, tc.file, tc.ok)
		}
		if ok && k.Key(k.File) != tc.key {
			t.Errorf("ParseRunKey(%q) does not round-trip: %q", tc.key, k.Key(k.File))
		}
	}
}

func TestParseInstant(t *testing.T) {
	want := At(time.Date(2025, 6, 1, 12, 0, 0, 123e6, time.UTC))
	for _, s := range []string{"2025-06-01T12:00:00.123Z", "2025-06-01T14:00:00.123+02:00", "1748779200123", " 1748779200123 "} {
		if got, err := ParseInstant(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseInstant(%q) = %s, %v; want %s", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "2025-06-01", "12:00"} {
		if got, err := ParseInstant(s); err == nil {
			t.Errorf("ParseInstant(%q) = %s, want an error", s, got)
		}
	}
}
