package report

import (
	"fmt"

	"github.com/unishop/failover-drill/internal/drill"
)

// database judges the database stage (a run with globalCluster): both switches ran,
// no acknowledged write was lost, and the writer the run recorded is the writer again,
// put back by the stage's switch back or by restore.
func (j *judge) database() {
	if j.cfg.GlobalCluster == "" {
		return
	}
	f := &drill.DatabaseFacts{GlobalCluster: j.cfg.GlobalCluster}
	j.r.Database = f
	if j.st.Database != nil {
		f.Over = &j.st.Database.Payload
	}
	if j.st.DatabaseBack != nil {
		f.Back = &j.st.DatabaseBack.Payload
	}
	for _, res := range []*drill.DatabaseResult{f.Over, f.Back} {
		if res != nil {
			f.LostWrites += max(res.ReadBack.Lost, len(res.ReadBack.Missing))
			f.Checked += res.ReadBack.Checked
		}
	}
	if f.Back != nil && f.Back.DoneAt != nil {
		f.WriterRestored, f.RestoredBy = true, "the stage's switch back"
	}
	var rs *drill.DatabaseRestore
	if j.st.Restore != nil {
		rs = j.st.Restore.Payload.Database
	}
	if rs != nil && rs.Back {
		f.WriterRestored = true
		if f.RestoredBy == "" || rs.SentBack {
			f.RestoredBy = "restore (" + j.r.Restore.By + ")"
		}
	}
	if f.LostWrites > 0 {
		j.fail("database: %d acknowledged sign-ups were not found afterwards (lost writes), of %d read back", f.LostWrites, f.Checked)
	}
	touched := f.Over != nil || (j.block != nil && j.stopped)
	switch {
	case f.WriterRestored:
	case !touched:
	case j.st.RestoreError != nil:
		// The restore's own error says it (and pages); the promise step reports it.
	default:
		j.fail("database: the recorded writer (%s) was not seen back", j.cfg.PrimaryRegion)
	}
	if j.stopped {
		return
	}
	if f.Over == nil || f.Back == nil {
		j.fail("database: the stage did not finish both switches")
		return
	}
	for _, res := range []*drill.DatabaseResult{f.Over, f.Back} {
		if res.Writes.FirstToAck == nil {
			j.fail("database: after the switch %s → %s no sign-up was accepted in %s", res.From, res.To, res.To)
		}
	}
}

// DatabaseLine is the stage's one line for a person.
func DatabaseLine(f *drill.DatabaseFacts) string {
	if f == nil {
		return ""
	}
	s := fmt.Sprintf("global cluster %s: lost writes %d of %d read back", f.GlobalCluster, f.LostWrites, f.Checked)
	for _, res := range []*drill.DatabaseResult{f.Over, f.Back} {
		if res == nil {
			continue
		}
		s += fmt.Sprintf("; %s → %s switch %s, write outage %s", res.From, res.To, secsOr(res.SwitchSeconds), boundOr(res.Writes.OutageSeconds, res.Writes.OutageMin, res.Writes.OutageMax))
	}
	if f.WriterRestored {
		s += "; writer back by " + f.RestoredBy
	}
	return s
}

func secsOr(v *float64) string {
	if v == nil {
		return "not done"
	}
	return fmt.Sprintf("%.3f s", *v)
}

func boundOr(v, lo, hi *float64) string {
	if v == nil {
		return "not measured"
	}
	return fmt.Sprintf("%.3f s (%.3f..%.3f)", *v, *lo, *hi)
}
