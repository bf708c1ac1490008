package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
)

// runUnlock releases a lock by hand. It reads the lock, its execution and the bucket
// first and shows them; it refuses while releasing could leave the bucket blocked with
// nothing watching it (operator.UnlockRisk), unless --force; then it asks for the
// bucket's name. It changes nothing on the bucket: it prints what the bucket should hold.
func runUnlock(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, newOps opsFactory) int {
	c := newCLI("drill unlock", args, stdout, stderr)
	fs := flag.NewFlagSet("drill unlock", flag.ContinueOnError)
	var of opsFlags
	of.register(c, fs)
	bucket := fs.String("bucket", "", "the locked bucket")
	of.bucket = bucket
	confirm := fs.String("confirm", "", "the bucket's name again, to confirm without a prompt (scripts)")
	force := fs.Bool("force", false, "release even though the bucket may hold, or still get, a block of the lock's run (after reading what it holds)")
	if code, ok := of.setup(c, fs, args, "--ledger BUCKET --bucket BUCKET [--confirm BUCKET] [--force] [--region REGION] [-v]"); !ok {
		return code
	}
	env, code, ok := of.env(ctx, c, newOps)
	if !ok {
		return code
	}
	clients := of.clients(env, c.logger())
	seen, err := operator.Inspect(ctx, clients, *bucket)
	if err != nil {
		return c.awsFail(err)
	}
	if seen == nil {
		return c.awsFail(fmt.Errorf("no lock on %s in the ledger %s", *bucket, of.ledger))
	}
	showLock(stderr, *seen)
	if risk := operator.UnlockRisk(*seen); risk != "" {
		if !*force {
			fmt.Fprintf(stderr, "drill unlock: not unlocking %s: %s\n(--force releases it anyway, once you have read the above)\n", *bucket, risk)
			return exitFail
		}
		fmt.Fprintf(stderr, "WARNING: %s\n", risk)
	}
	answer := *confirm
	if answer == "" {
		fmt.Fprintf(stderr, "Release the drill's lock on bucket %s? This changes nothing on the bucket: it only lets drills run again.\n"+
			"Type the bucket name to confirm: ", *bucket)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		answer = strings.TrimSpace(line)
	}
	if answer != *bucket {
		fmt.Fprintf(stderr, "drill unlock: not confirmed (%q is not %q); nothing released\n", answer, *bucket)
		return exitFail
	}
	st, err := operator.Unlock(ctx, clients, *bucket, *force)
	var refused *operator.UnlockRefused
	if errors.As(err, &refused) {
		// It changed between the look above and the release: say what it is now.
		fmt.Fprintf(stderr, "drill unlock: %v\n", err)
		return exitFail
	}
	if err != nil {
		return c.awsFail(err)
	}
	lock := st.Lock
	fmt.Fprintf(stdout, "released the lock of %s on %s\n", lock.ID(), *bucket)
	if lock.Status == drill.TicketHeld || lock.Status == drill.TicketRestored || lock.Status == drill.TicketChanged {
		fmt.Fprintf(stdout, "its prior (what the bucket held before the drill): %s; the bucket holds %s\n", pab.String(lock.Prior), pab.String(st.Current))
	}
	return exitPass
}

// showLock prints what unlock read: the lock's run and its state, the prior against
// what the bucket holds now.
func showLock(w io.Writer, s operator.LockStatus) {
	l := s.Lock
	state := s.Execution.Status
	if s.ExecErr != "" {
		state = "unknown: " + s.ExecErr
	}
	fmt.Fprintf(w, "lock        %s on %s (%s), status %s\n", l.ID(), l.Bucket, l.Region, l.Status)
	fmt.Fprintf(w, "execution   %s\n", state)
	if l.Status == drill.TicketHeld || l.Status == drill.TicketRestored || l.Status == drill.TicketChanged {
		fmt.Fprintf(w, "prior       %s\n", pab.String(l.Prior))
	} else {
		fmt.Fprintln(w, "prior       not recorded (the drill had not read it yet)")
	}
	if s.BucketErr != "" {
		fmt.Fprintf(w, "bucket now  unknown: %s\n", s.BucketErr)
	} else {
		fmt.Fprintf(w, "bucket now  %s (%s)\n", pab.String(s.Current), s.Bucket)
	}
	if line := databaseRecord(l.Database); line != "" {
		fmt.Fprintf(w, "database    %s\n", line)
	}
}
