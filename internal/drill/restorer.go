package drill

// Restorer reports whether the lock t is held by a drill that will put the bucket back
// itself: one that recorded a prior (held, restored and settling, or changed and left
// to a person). A dry run never blocks and never restores, and a claim has not read
// the prior yet: neither is trusted to undo a block that is not its own, so a late
// block found under such a lock is undone by the run that sent it.
func (t Ticket) Restorer() bool {
	if t.DryRun {
		return false
	}
	switch t.Status {
	case TicketHeld, TicketRestored, TicketChanged:
		return true
	}
	return false
}
