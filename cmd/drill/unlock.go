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
	c := newCLI("drill unlock", args, stdout, stderr)
	fs := flag.NewFlagSet("drill unlock", flag.ContinueOnError)
	var of opsFlags
	of.register(c, fs)
	bucket := fs.String("bucket", "", "the locked bucket")
	of.bucket = bucket
	confirm := fs.String("confirm", "", "the bucket's name again, to confirm without a prompt (scripts)")
	if code, ok := of.setup(c, fs, args, "--ledger BUCKET --bucket BUCKET [--confirm BUCKET] [--region REGION] [-v]"); !ok {
		return code
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
	env, code, ok := of.env(ctx, c, newOps)
	if !ok {
		return code
	}
	lock, err := operator.Unlock(ctx, of.clients(env, c.logger()), *bucket)
	if err != nil {
		return c.awsFail(err)
	}
	fmt.Fprintf(stdout, "released the lock of %s on %s\n", lock.ID(), *bucket)
	if lock.Status == drill.TicketHeld || lock.Status == drill.TicketChanged {
		fmt.Fprintf(stdout, "its prior (what the bucket held before the drill): %s\n", pab.String(lock.Prior))
	}
	return exitPass
}
