package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
)

// runStatus prints every lock: its execution and that execution's state, the bucket's
// current settings against the prior. Exit 0 when nothing needs a person, 1 when a
// lock's execution has ended (or is unknown) or its bucket was changed, 3 on errors.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer, newOps opsFactory) int {
	c := newCLI("drill status", args, stdout, stderr)
	fs := flag.NewFlagSet("drill status", flag.ContinueOnError)
	var of opsFlags
	of.register(c, fs)
	if code, ok := of.setup(c, fs, args, "--ledger BUCKET [--region REGION] [-v]"); !ok {
		return code
	}
	env, code, ok := of.env(ctx, c, newOps)
	if !ok {
		return code
	}
	locks, err := operator.Status(ctx, of.clients(env, c.logger()))
	if err != nil {
		return c.awsFail(err)
	}
	fmt.Fprintf(stdout, "ledger s3://%s: %d lock(s)\n", of.ledger, len(locks))
	code = exitPass
	for _, s := range locks {
		l := s.Lock
		if s.LockErr != "" {
			code = exitFail
			fmt.Fprintf(stdout, "\nlock        %s: UNREADABLE: %s\n", s.Key, s.LockErr)
			fmt.Fprintf(stdout, "action      read it (aws s3 cp s3://%s/%s -): it names a bucket and its prior; put the bucket back by hand, then delete the object\n", of.ledger, s.Key)
			continue
		}
		fmt.Fprintf(stdout, "\nbucket      %s (%s), locked since %s\n", l.Bucket, l.Region, l.CreatedAt.Format(time.RFC3339))
		fmt.Fprintf(stdout, "execution   %s\n            %s\n", l.ID(), orDash(l.ExecutionArn))
		if s.ExecErr != "" {
			fmt.Fprintf(stdout, "state       unknown: %s\n", s.ExecErr)
		} else {
			fmt.Fprintf(stdout, "state       %s\n", s.Execution.Status)
		}
		prior := "not recorded (the drill had not read it yet)"
		if l.Status == drill.TicketHeld || l.Status == drill.TicketRestored || l.Status == drill.TicketChanged {
			prior = pab.String(l.Prior)
		}
		fmt.Fprintf(stdout, "prior       %s\n", prior)
		restoreCmd := fmt.Sprintf("drill restore --ledger %s --bucket %s", of.ledger, l.Bucket)
		switch s.Bucket {
		case operator.BucketUnknown:
			fmt.Fprintf(stdout, "bucket now  unknown: %s\n", s.BucketErr)
		case operator.BucketBlocked:
			fmt.Fprintf(stdout, "bucket now  %s: the drill's block\n", pab.String(s.Current))
		case operator.BucketPrior:
			fmt.Fprintf(stdout, "bucket now  %s: the prior, nothing to put back\n", pab.String(s.Current))
		case operator.BucketSettling:
			fmt.Fprintf(stdout, "bucket now  %s: restored and verified, settling until %s (the lock is kept until no block of the run can land; the next restore looks again and releases it)\n",
				pab.String(s.Current), l.SettlingUntil.UTC().Format(time.RFC3339))
		case operator.BucketChanged:
			if l.Status == drill.TicketChanged {
				fmt.Fprintf(stdout, "bucket now  %s: CHANGED during the drill (restore found someone else's settings; no restore writes it again)\n", pab.String(s.Current))
			} else {
				fmt.Fprintf(stdout, "bucket now  %s: CHANGED during the drill (neither the block nor the prior)\n", pab.String(s.Current))
			}
		default:
			fmt.Fprintf(stdout, "bucket now  %s: untouched by the drill\n", pab.String(s.Current))
		}
		if line := databaseRecord(l.Database); line != "" {
			fmt.Fprintf(stdout, "database    %s\n", line)
			fmt.Fprintf(stdout, "writer now  %s\n", writerNow(s))
		}
		if !s.NeedsAction() {
			fmt.Fprintln(stdout, "action      none: the execution runs and restores the bucket itself")
			continue
		}
		code = exitFail
		switch s.Bucket {
		case operator.BucketChanged:
			fmt.Fprintf(stdout, "action      decide what the bucket must hold and set it by hand (%s would refuse), then: drill unlock --ledger %s --bucket %s\n",
				restoreCmd, of.ledger, l.Bucket)
		default:
			fmt.Fprintf(stdout, "action      %s   (the sweeper does this within minutes once the execution ended)\n", restoreCmd)
		}
	}
	return code
}

// databaseRecord says what a run of the database stage recorded about the global
// database in its lock: the writer restore puts back, and the switches it sent.
func databaseRecord(d *drill.DatabaseTicket) string {
	if d == nil {
		return ""
	}
	line := fmt.Sprintf("global cluster %s: writer to put back %s (%s)", d.GlobalCluster, d.PriorWriter, d.PriorRegion)
	switch {
	case d.BackSentAt != nil:
		line += fmt.Sprintf("; switched to %s at %s, back sent at %s", d.TargetRegion, d.SwitchSentAt.UTC().Format(time.RFC3339), d.BackSentAt.UTC().Format(time.RFC3339))
	case d.SwitchSentAt != nil:
		line += fmt.Sprintf("; switch to %s sent at %s (restore switches it back)", d.TargetRegion, d.SwitchSentAt.UTC().Format(time.RFC3339))
	default:
		line += "; no switch sent yet"
	}
	return line
}

// writerNow is where the global database's writer is, for a lock of the database stage.
func writerNow(s operator.LockStatus) string {
	switch {
	case s.Lock.Database == nil || !s.Lock.Database.Switched():
		return "not read (the run sent no switch)"
	case s.WriterErr != "":
		return "unknown: " + s.WriterErr
	case s.WriterSwitch != "":
		return s.Writer + ", switch in progress (" + s.WriterSwitch + ")"
	case s.Writer == s.Lock.Database.PriorRegion:
		return s.Writer + ": the recorded writer, nothing to switch back"
	}
	return s.Writer + ": NOT the recorded writer (" + s.Lock.Database.PriorRegion + "); drill restore switches it back"
}
