package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/operator"
	"github.com/unishop/failover-drill/internal/pab"
)

// runUnlock releases a lock by hand, after a confirmation naming the bucket. It changes
// nothing on the bucket: it prints what the bucket should hold.
func runUnlock(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, newOps opsFactory) int {
	fs := flag.NewFlagSet("drill unlock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var of opsFlags
	of.register(fs)
	bucket := fs.String("bucket", "", "the locked bucket")
	confirm := fs.String("confirm", "", "the bucket's name again, to confirm without a prompt (scripts)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := of.check(); err != nil {
		fmt.Fprintln(stderr, "drill unlock:", err)
		return exitUsage
	}
	if !bucketName.MatchString(*bucket) {
		fmt.Fprintf(stderr, "drill unlock: --bucket %q is not a bucket name\n", *bucket)
		return exitUsage
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
	env, err := newOps(ctx)
	if err != nil {
		return awsFail(stderr, "drill unlock", err)
	}
	lock, err := operator.Unlock(ctx, of.clients(env, discard()), *bucket)
	if err != nil {
		return awsFail(stderr, "drill unlock", err)
	}
	fmt.Fprintf(stdout, "released the lock of %s on %s\n", lock.ID(), *bucket)
	if lock.Status == drill.TicketHeld || lock.Status == drill.TicketChanged {
		fmt.Fprintf(stdout, "its prior (what the bucket held before the drill): %s\n", pab.String(lock.Prior))
	}
	return exitPass
}
