package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/unishop/failover-drill/internal/drill"
	"github.com/unishop/failover-drill/internal/ledger"
	"github.com/unishop/failover-drill/internal/ledger/ledgertest"
	"github.com/unishop/failover-drill/internal/pab/pabtest"
)

func ticket(execution string) drill.Ticket {
	return ledgertest.WithID(drill.Ticket{
		Bucket: "ui-bucket", Region: "us-east-1",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Prior:     &drill.PublicAccessBlock{BlockPublicAcls: true},
		Status:    drill.TicketHeld,
	}, ledgertest.ID(execution))
}

var (
	conflict = pabtest.APIError("PutObject", 409, "ConditionalRequestConflict")
	lost     = pabtest.APIError("PutObject", 412, "PreconditionFailed")
)

// script returns each error of errs in turn, then nil.
func script(errs ...error) func() error {
	n := 0
	return func() error {
		defer func() { n++ }()
		if n < len(errs) {
			return errs[n]
		}
		return nil
	}
}

func TestTakeLock(t *testing.T) {
	ctx := context.Background()
	t.Run("first takes, second for another execution gets the holder and its version", func(t *testing.T) {
		store := ledgertest.New()
		l := store.Ledger()
		held, etagA, created, err := l.TakeLock(ctx, ticket("run-a"))
		if err != nil || !created || held.Execution != "run-a" || etagA == "" {
			t.Fatalf("first TakeLock = %+v, %q, %v, %v; want run-a, created", held, etagA, created, err)
		}
		held, etag, created, err := l.TakeLock(ctx, ticket("run-b"))
		if err != nil || created || held.Execution != "run-a" || etag != etagA {
			t.Fatalf("second TakeLock = %+v, %q, %v, %v; want holder run-a at %q, not created", held, etag, created, err, etagA)
		}
		if got := store.Ticket(drill.LockKey("ui-bucket")); !got.ID().Same(ledgertest.ID("run-a")) {
			t.Errorf("stored lock is %+v, want run-a's", got)
		}
	})
	t.Run("same execution again returns the stored lock", func(t *testing.T) {
		store := ledgertest.New()
		l := store.Ledger()
		first := ticket("run-a")
		if _, _, _, err := l.TakeLock(ctx, first); err != nil {
			t.Fatal(err)
		}
		again := ticket("run-a")
		again.Prior = &drill.BlockAll
		held, _, created, err := l.TakeLock(ctx, again)
		if err != nil || created || !reflect.DeepEqual(held, first) {
			t.Fatalf("TakeLock = %+v, %v, %v; want the first %+v", held, created, err, first)
		}
	})
	t.Run("put is conditional with If-None-Match *", func(t *testing.T) {
		store := ledgertest.New()
		var seen *s3.PutObjectInput
		store.PutErr = func(key string, in *s3.PutObjectInput) error { seen = in; return nil }
		if _, _, _, err := store.Ledger().TakeLock(ctx, ticket("run-a")); err != nil {
			t.Fatal(err)
		}
		if aws.ToString(seen.IfNoneMatch) != "*" || seen.IfMatch != nil || aws.ToString(seen.Key) != "locks/ui-bucket.json" ||
			aws.ToString(seen.ContentType) != ledger.ContentTypeJSON || aws.ToString(seen.Bucket) != "ledger-bucket" {
			t.Errorf("put = %+v", seen)
		}
	})
	t.Run("missing bucket or execution", func(t *testing.T) {
		for _, tk := range []drill.Ticket{{Execution: "run-a"}, {Bucket: "b"}} {
			if _, _, _, err := ledgertest.New().Ledger().TakeLock(ctx, tk); err == nil || !strings.Contains(err.Error(), "missing") {
				t.Errorf("TakeLock(%+v) = %v", tk, err)
			}
		}
	})

	tests := []struct {
		name        string
		existing    *drill.Ticket
		putErrs     []error // returned by successive PutObject calls (nil: let the store decide)
		getErrs     []error
		wantHolder  string
		wantCreated bool
		wantErr     string // ErrorName of drill.Classify(err), or "plain"
		wantSleeps  []time.Duration
	}{
		{name: "412 from S3 reads the holder", existing: ptr(ticket("run-z")), wantHolder: "run-z"},
		{name: "409 conflict is retried; the holder's 412 then reads the holder", existing: ptr(ticket("run-z")),
			putErrs: []error{conflict}, wantHolder: "run-z", wantSleeps: []time.Duration{50 * time.Millisecond}},
		{name: "409 conflict, nobody won, the retry creates",
			putErrs: []error{conflict, conflict}, wantHolder: "run-a", wantCreated: true,
			wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{name: "412 but released before the read, retry creates",
			putErrs: []error{lost}, wantHolder: "run-a", wantCreated: true},
		{name: "409 on every attempt is transient",
			putErrs: []error{conflict, conflict, conflict, conflict, conflict}, wantErr: "Transient",
			wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "taken and released every time is transient",
			putErrs: []error{lost, lost, lost, lost}, wantErr: "Transient"},
		{name: "SlowDown is transient", putErrs: []error{pabtest.APIError("PutObject", 503, "SlowDown")}, wantErr: "Transient"},
		{name: "access denied is plain", putErrs: []error{pabtest.APIError("PutObject", 403, "AccessDenied")}, wantErr: "plain"},
		{name: "transient read of the holder", existing: ptr(ticket("run-z")),
			getErrs: []error{pabtest.APIError("GetObject", 500, "InternalError")}, wantErr: "Transient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := ledgertest.New()
			if tc.existing != nil {
				store.PutTicket(drill.LockKey("ui-bucket"), *tc.existing)
			}
			puts, gets := script(tc.putErrs...), script(tc.getErrs...)
			store.PutErr = func(string, *s3.PutObjectInput) error { return puts() }
			store.GetErr = func(string) error { return gets() }
			held, etag, created, err := store.Ledger().TakeLock(context.Background(), ticket("run-a"))
			if !reflect.DeepEqual(store.Sleeps, tc.wantSleeps) {
				t.Errorf("waits %v, want %v", store.Sleeps, tc.wantSleeps)
			}
			if tc.wantErr != "" {
				assertErr(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("TakeLock: %v", err)
			}
			if held.Execution != tc.wantHolder || created != tc.wantCreated || etag != store.Objects[drill.LockKey("ui-bucket")].ETag {
				t.Errorf("TakeLock = holder %s created %v etag %q, want %s %v", held.Execution, created, etag, tc.wantHolder, tc.wantCreated)
			}
		})
	}
}

func TestConflictRetryStopsWhenTheContextEnds(t *testing.T) {
	store := ledgertest.New()
	store.PutErr = func(string, *s3.PutObjectInput) error { return conflict }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := store.Ledger().CreateRunTicket(ctx, ticket("run-a"))
	assertErr(t, err, "Transient")
	if n := len(store.Calls); n != 1 {
		t.Errorf("%d calls after the context ended, want 1", n)
	}
}

func TestConflictRetryWaitsWithTheRealClock(t *testing.T) {
	store := ledgertest.New()
	n := 0
	store.PutErr = func(string, *s3.PutObjectInput) error {
		if n++; n == 1 {
			return conflict
		}
		return nil
	}
	l := &ledger.Ledger{S3: store, Bucket: "ledger-bucket"} // no Sleep: clock.Sleep
	start := time.Now()
	if _, err := l.CreateRunTicket(context.Background(), ticket("run-a")); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < ledger.ConflictBackoff {
		t.Errorf("retried after %v, want at least %v", waited, ledger.ConflictBackoff)
	}
}

func TestReplaceLockAndRunTicket(t *testing.T) {
	ctx := context.Background()
	store := ledgertest.New()
	l := store.Ledger()
	_, etag, _, err := l.TakeLock(ctx, ticket("run-a"))
	if err != nil {
		t.Fatal(err)
	}
	next := ticket("run-a")
	next.Status = drill.TicketClaimed
	etag2, err := l.ReplaceLock(ctx, next, etag)
	if err != nil || etag2 == "" || etag2 == etag {
		t.Fatalf("ReplaceLock = %q, %v", etag2, err)
	}
	if got := store.Ticket(drill.LockKey("ui-bucket")); got.Status != drill.TicketClaimed {
		t.Errorf("lock %+v", got)
	}
	if _, err := l.ReplaceLock(ctx, next, etag); !errors.Is(err, ledger.ErrChanged) {
		t.Errorf("stale ReplaceLock = %v, want ErrChanged", err)
	}
	store.Delete(drill.LockKey("ui-bucket"))
	if _, err := l.ReplaceLock(ctx, next, etag2); !errors.Is(err, ledger.ErrChanged) {
		t.Errorf("ReplaceLock of a released lock = %v, want ErrChanged (404)", err)
	}
	if _, err := l.ReplaceLock(ctx, next, ""); err == nil || errors.Is(err, ledger.ErrChanged) {
		t.Errorf("ReplaceLock without an ETag = %v", err)
	}
	var seen *s3.PutObjectInput
	store.PutErr = func(_ string, in *s3.PutObjectInput) error { seen = in; return nil }
	if _, err := l.ReplaceLock(ctx, next, `"x"`); !errors.Is(err, ledger.ErrChanged) || aws.ToString(seen.IfMatch) != `"x"` || seen.IfNoneMatch != nil {
		t.Errorf("ReplaceLock sent %+v, %v", seen, err)
	}
	store.PutErr = nil

	// Run tickets: per execution name and start.
	id := ledgertest.ID("run-a")
	etag, err = l.CreateRunTicket(ctx, ticket("run-a"))
	if err != nil || etag == "" {
		t.Fatalf("CreateRunTicket = %q, %v", etag, err)
	}
	if _, err := l.CreateRunTicket(ctx, ticket("run-a")); !errors.Is(err, ledger.ErrChanged) {
		t.Errorf("second CreateRunTicket = %v, want ErrChanged", err)
	}
	reused := ledgertest.WithID(ticket("run-a"), ledgertest.IDAt("run-a", ledgertest.Start.AddDate(1, 0, 0)))
	if _, err := l.CreateRunTicket(ctx, reused); err != nil {
		t.Errorf("a reused name's run ticket: %v", err)
	}
	got, gotETag, err := l.RunTicketVersion(ctx, id)
	if err != nil || got == nil || gotETag != etag || !got.ID().Same(id) {
		t.Fatalf("RunTicketVersion = %+v, %q, %v", got, gotETag, err)
	}
	if _, err := l.ReplaceRunTicket(ctx, ticket("run-a"), ""); err == nil {
		t.Error("ReplaceRunTicket without an ETag succeeded")
	}
	if _, err := l.ReplaceRunTicket(ctx, ticket("run-a"), `"stale"`); !errors.Is(err, ledger.ErrChanged) {
		t.Errorf("stale ReplaceRunTicket = %v", err)
	}
	if _, err := l.ReplaceRunTicket(ctx, ticket("run-a"), etag); err != nil {
		t.Errorf("ReplaceRunTicket = %v", err)
	}
	if _, _, err := l.RunTicketVersion(ctx, drill.RunID{}); err == nil {
		t.Error("RunTicketVersion without an execution succeeded")
	}
	if _, err := l.CreateRunTicket(ctx, drill.Ticket{}); err == nil {
		t.Error("CreateRunTicket without an execution succeeded")
	}
	store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 403, "AccessDenied") }
	_, err = l.ReplaceRunTicket(ctx, ticket("run-a"), etag)
	if err == nil || errors.Is(err, ledger.ErrChanged) {
		t.Errorf("denied ReplaceRunTicket = %v, want a plain error", err)
	}
}

func TestLocksAndFindLock(t *testing.T) {
	ctx := context.Background()
	store := ledgertest.New()
	store.PageSize = 2
	l := store.Ledger()
	for i, name := range []string{"run-a", "run-b", "run-c"} {
		tk := ticket(name)
		tk.Bucket = fmt.Sprintf("bucket-%d", i)
		store.PutTicket(drill.LockKey(tk.Bucket), tk)
	}
	store.PutTicket("locks/README", ticket("not-a-lock"))
	store.PutTicket(drill.RunTicketKey(ledgertest.ID("run-x")), ticket("run-x"))
	locks, err := l.Locks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range locks {
		names = append(names, e.Lock.Execution)
		if e.ETag != store.Objects[e.Key].ETag || e.Key != drill.LockKey(e.Lock.Bucket) {
			t.Errorf("entry %+v", e)
		}
	}
	if !reflect.DeepEqual(names, []string{"run-a", "run-b", "run-c"}) {
		t.Errorf("locks %v, want the three, in key order, across pages", names)
	}
	got, etag, err := l.FindLock(ctx, ledgertest.ID("run-b"))
	if err != nil || got == nil || got.Bucket != "bucket-1" || etag != store.Objects["locks/bucket-1.json"].ETag {
		t.Errorf("FindLock(run-b) = %+v, %q, %v", got, etag, err)
	}
	if got, _, err := l.FindLock(ctx, ledgertest.IDAt("run-b", ledgertest.Start.Add(time.Hour))); got != nil || err != nil {
		t.Errorf("FindLock of another run of the same name = %+v, %v", got, err)
	}
	// A lock released between the listing and its read is left out.
	store.GetErr = func(key string) error {
		if key == "locks/bucket-0.json" {
			store.Delete(key)
		}
		return nil
	}
	if locks, err := l.Locks(ctx); err != nil || len(locks) != 2 {
		t.Errorf("Locks with one released meanwhile = %d, %v", len(locks), err)
	}
	store.GetErr = func(string) error { return pabtest.APIError("GetObject", 403, "AccessDenied") }
	if _, _, err := l.FindLock(ctx, ledgertest.ID("run-b")); err == nil {
		t.Error("FindLock hid a read error")
	}
	store.GetErr = nil
	store.ListErr = func(string) error { return pabtest.APIError("ListObjectsV2", 503, "SlowDown") }
	if _, _, err := l.FindLock(ctx, ledgertest.ID("run-b")); drill.ErrorName(drill.Classify(err)) != "Transient" {
		t.Errorf("FindLock with a throttled listing = %v", err)
	}
}

func TestLockAndRunTicketReads(t *testing.T) {
	tests := []struct {
		name    string
		getErr  error
		stored  bool
		wantNil bool
		wantErr string
	}{
		{name: "absent key (NoSuchKey) is nil", wantNil: true},
		{name: "bare 404 is nil", getErr: pabtest.APIError("GetObject", 404, "NotFound"), wantNil: true},
		{name: "stored ticket", stored: true},
		{name: "missing ledger bucket is an error", getErr: pabtest.APIError("GetObject", 404, "NoSuchBucket"), wantErr: "plain"},
		{name: "503 is transient", getErr: pabtest.APIError("GetObject", 503, "ServiceUnavailable"), wantErr: "Transient"},
		{name: "connection refused is transient", getErr: pabtest.ConnRefused("GetObject"), wantErr: "Transient"},
		{name: "request timeout is transient", getErr: pabtest.APIError("GetObject", 400, "RequestTimeout"), wantErr: "Transient"},
		{name: "access denied (a missing key without s3:ListBucket) is an error, not absent", getErr: pabtest.APIError("GetObject", 403, "AccessDenied"), wantErr: "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := ledgertest.New()
			if tc.stored {
				store.PutTicket(drill.LockKey("ui-bucket"), ticket("run-a"))
				store.PutTicket(drill.RunTicketKey(ledgertest.ID("run-a")), ticket("run-a"))
			}
			store.GetErr = func(string) error { return tc.getErr }
			l := store.Ledger()
			for name, read := range map[string]func() (*drill.Ticket, error){
				"Lock": func() (*drill.Ticket, error) { return l.Lock(context.Background(), "ui-bucket") },
				"LockVersion": func() (*drill.Ticket, error) {
					t, _, err := l.LockVersion(context.Background(), "ui-bucket")
					return t, err
				},
				"RunTicketVersion": func() (*drill.Ticket, error) {
					t, _, err := l.RunTicketVersion(context.Background(), ledgertest.ID("run-a"))
					return t, err
				},
			} {
				got, err := read()
				if tc.wantErr != "" {
					assertErr(t, err, tc.wantErr)
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if (got == nil) != tc.wantNil {
					t.Fatalf("%s = %+v, want nil: %v", name, got, tc.wantNil)
				}
				if got != nil && (!reflect.DeepEqual(*got, ticket("run-a"))) {
					t.Errorf("%s = %+v", name, got)
				}
			}
		})
	}
	t.Run("undecodable", func(t *testing.T) {
		store := ledgertest.New()
		store.Objects[drill.LockKey("ui-bucket")] = ledgertest.Object{Body: []byte("{"), ETag: `"e"`}
		if _, err := store.Ledger().Lock(context.Background(), "ui-bucket"); err == nil || !strings.Contains(err.Error(), "decode locks/ui-bucket.json") {
			t.Errorf("Lock of a broken object = %v", err)
		}
	})
}

func TestWritesAndRelease(t *testing.T) {
	ctx := context.Background()
	store := ledgertest.New()
	l := store.Ledger()
	if err := l.PutRunTicket(ctx, ticket("run-a")); err != nil {
		t.Fatal(err)
	}
	if err := l.PutRunTicket(ctx, ticket("run-a")); err != nil {
		t.Fatalf("run ticket overwrite: %v", err)
	}
	if err := l.PutRunTicket(ctx, drill.Ticket{}); err == nil {
		t.Error("PutRunTicket without an execution succeeded")
	}
	start := ledgertest.ID("run-a").StartTime
	if err := l.PutReport(ctx, "run-a", start, []byte(`{"verdict":"pass"}`), []byte("<p>pass</p>")); err != nil {
		t.Fatal(err)
	}
	if err := l.PutReport(ctx, "", start, nil, nil); err == nil {
		t.Error("PutReport without an execution succeeded")
	}
	if err := l.PutReport(ctx, "run-a", drill.Instant{}, nil, nil); err == nil {
		t.Error("PutReport without the run's start succeeded")
	}
	want := map[string]string{
		"runs/run-a/ticket-20250601T120000.123Z.json": ledger.ContentTypeJSON,
		"runs/run-a/20250601T120000.123Z/report.json": ledger.ContentTypeJSON,
		"runs/run-a/20250601T120000.123Z/report.html": ledger.ContentTypeHTML,
	}
	for key, ct := range want {
		if got := store.Objects[key].ContentType; got != ct {
			t.Errorf("%s content type %q, want %q", key, got, ct)
		}
	}
	if len(store.Objects) != len(want) {
		t.Errorf("objects %v, want only %v", slices.Sorted(maps.Keys(store.Objects)), want)
	}
	if string(store.Objects["runs/run-a/20250601T120000.123Z/report.html"].Body) != "<p>pass</p>" {
		t.Error("report.html body")
	}
	if _, _, _, err := l.TakeLock(ctx, ticket("run-a")); err != nil {
		t.Fatal(err)
	}
	_, etagA, _ := l.LockVersion(ctx, "ui-bucket")
	// Released by run-a, then taken by run-b: run-a's late release (its old ETag)
	// must not delete run-b's lock.
	for i := range 2 { // releasing an absent lock is fine
		if err := l.ReleaseLock(ctx, "ui-bucket", etagA); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if got, err := l.Lock(ctx, "ui-bucket"); got != nil || err != nil {
		t.Errorf("after release Lock = %+v, %v", got, err)
	}
	if _, _, _, err := l.TakeLock(ctx, ticket("run-b")); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseLock(ctx, "ui-bucket", etagA); err != nil {
		t.Fatalf("stale release: %v", err)
	}
	if got, _ := l.Lock(ctx, "ui-bucket"); got == nil || got.Execution != "run-b" {
		t.Errorf("a stale release deleted run-b's lock: %+v", got)
	}
	if err := l.ReleaseLock(ctx, "ui-bucket", ""); err == nil {
		t.Error("a release without an ETag succeeded")
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", ledgertest.ID("run-a")); released || err != nil {
		t.Errorf("ReleaseIfHeldBy(run-a) on run-b's lock = %v, %v", released, err)
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", ledgertest.IDAt("run-b", time.Now())); released || err != nil {
		t.Errorf("ReleaseIfHeldBy(another run named run-b) = %v, %v", released, err)
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", ledgertest.ID("run-b")); !released || err != nil {
		t.Errorf("ReleaseIfHeldBy(run-b) = %v, %v", released, err)
	}

	store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 503, "SlowDown") }
	err := l.PutReport(ctx, "run-a", start, nil, nil)
	assertErr(t, err, "Transient")
	if !strings.Contains(err.Error(), "ledger put runs/run-a/20250601T120000.123Z/report.json") {
		t.Errorf("error %q lacks context", err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SlowDown" {
		t.Errorf("the cause is not kept in the chain: %v", err)
	}
	n := 0
	store.PutErr = func(key string, _ *s3.PutObjectInput) error {
		if n++; n == 2 {
			return pabtest.APIError("PutObject", 403, "AccessDenied")
		}
		return nil
	}
	if err := l.PutReport(ctx, "run-a", start, nil, nil); err == nil || !strings.Contains(err.Error(), "report.html") {
		t.Errorf("PutReport with html denied = %v", err)
	}
}

// A release S3 answers 409 is retried: a 409 means "try again", not "not yours".
func TestReleaseRetriesConflicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		errs     []error
		wantLock bool
		wantErr  string
	}{
		{name: "409 then deleted", errs: []error{pabtest.APIError("DeleteObject", 409, "ConditionalRequestConflict")}},
		{name: "409 until the attempts run out: transient, lock kept", wantLock: true, wantErr: "Transient",
			errs: []error{conflict, conflict, conflict, conflict, conflict}},
		{name: "denied: an error, lock kept", wantLock: true, wantErr: "plain",
			errs: []error{pabtest.APIError("DeleteObject", 403, "AccessDenied")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := ledgertest.New()
			l := store.Ledger()
			_, etag, _, err := l.TakeLock(context.Background(), ticket("run-a"))
			if err != nil {
				t.Fatal(err)
			}
			var seen []*s3.DeleteObjectInput
			errs := script(tc.errs...)
			store.DeleteErr = func(_ string, in *s3.DeleteObjectInput) error { seen = append(seen, in); return errs() }
			err = l.ReleaseLock(context.Background(), "ui-bucket", etag)
			if tc.wantErr != "" {
				assertErr(t, err, tc.wantErr)
			} else if err != nil {
				t.Fatal(err)
			}
			if (store.Ticket(drill.LockKey("ui-bucket")) != nil) != tc.wantLock {
				t.Errorf("lock left: %v, want %v", !tc.wantLock, tc.wantLock)
			}
			for _, in := range seen {
				if aws.ToString(in.IfMatch) != etag || aws.ToString(in.Key) != "locks/ui-bucket.json" || aws.ToString(in.Bucket) != "ledger-bucket" {
					t.Errorf("delete %+v, want If-Match %s", in, etag)
				}
			}
		})
	}
}

// assertErr checks err's classification: "plain" means no drill type.
func assertErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", want)
	}
	got := drill.ErrorName(drill.Classify(err))
	var tr *drill.Transient
	isTransient := errors.As(err, &tr)
	switch want {
	case "plain":
		if isTransient || got == "Transient" {
			t.Errorf("err %v classified %s, want plain", err, got)
		}
	default:
		if got != want {
			t.Errorf("err %v classified %s, want %s", err, got, want)
		}
		if want == "Transient" && !isTransient {
			t.Errorf("errors.As(%v, *drill.Transient) = false", err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// One lock that cannot be decoded or read is an entry of its own, with its error: the
// listing goes on, so a sweep restores every other bucket. FindLock, which must never
// answer "none" for a lock it could not read, fails instead.
func TestUnreadableLockIsAnEntryNotAFailedListing(t *testing.T) {
	ctx := context.Background()
	store := ledgertest.New()
	l := store.Ledger()
	for i, name := range []string{"run-a", "run-c"} {
		tk := ticket(name)
		tk.Bucket = fmt.Sprintf("bucket-%d", 2*i)
		store.PutTicket(drill.LockKey(tk.Bucket), tk)
	}
	store.Objects["locks/bucket-1.json"] = ledgertest.Object{Body: []byte("{not json"), ContentType: ledger.ContentTypeJSON, ETag: `"x"`}
	locks, err := l.Locks(ctx)
	if err != nil {
		t.Fatalf("Locks: %v", err)
	}
	var keys []string
	for _, e := range locks {
		keys = append(keys, e.Key)
		if (e.Key == "locks/bucket-1.json") != (e.Err != nil) {
			t.Errorf("entry %s: err %v", e.Key, e.Err)
		}
		if e.Err != nil && (e.Lock.Execution != "" || !strings.Contains(e.Err.Error(), "locks/bucket-1.json")) {
			t.Errorf("unreadable entry %+v: want no lock and an error naming its key", e)
		}
	}
	if !reflect.DeepEqual(keys, []string{"locks/bucket-0.json", "locks/bucket-1.json", "locks/bucket-2.json"}) {
		t.Errorf("entries %v, want all three in key order", keys)
	}
	if got, _, err := l.FindLock(ctx, ledgertest.ID("run-c")); err != nil || got == nil || got.Bucket != "bucket-2" {
		t.Errorf("FindLock(run-c) past an unreadable lock = %+v, %v", got, err)
	}
	if got, _, err := l.FindLock(ctx, ledgertest.ID("run-z")); err == nil || got != nil {
		t.Errorf("FindLock(run-z) = %+v, %v: the unreadable lock may be run-z's, want an error", got, err)
	}
}
