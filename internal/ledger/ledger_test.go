package ledger_test

import (
	"context"
	"errors"
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
	return drill.Ticket{
		Bucket: "ui-bucket", Region: "us-east-1", Execution: execution,
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Prior:     &drill.PublicAccessBlock{BlockPublicAcls: true},
		Status:    drill.TicketHeld,
	}
}

func TestTakeLock(t *testing.T) {
	ctx := context.Background()
	t.Run("first takes, second for another execution gets the holder", func(t *testing.T) {
		store := ledgertest.New()
		l := store.Ledger()
		held, created, err := l.TakeLock(ctx, ticket("run-a"))
		if err != nil || !created || held.Execution != "run-a" {
			t.Fatalf("first TakeLock = %+v, %v, %v; want run-a, created", held, created, err)
		}
		held, created, err = l.TakeLock(ctx, ticket("run-b"))
		if err != nil || created || held.Execution != "run-a" {
			t.Fatalf("second TakeLock = %+v, %v, %v; want holder run-a, not created", held, created, err)
		}
		if got := store.Ticket(drill.LockKey("ui-bucket")); got.Execution != "run-a" {
			t.Errorf("stored lock is %s, want run-a", got.Execution)
		}
	})
	t.Run("same execution again returns the stored ticket", func(t *testing.T) {
		store := ledgertest.New()
		l := store.Ledger()
		first := ticket("run-a")
		if _, _, err := l.TakeLock(ctx, first); err != nil {
			t.Fatal(err)
		}
		again := ticket("run-a")
		again.Prior = &drill.BlockAll
		held, created, err := l.TakeLock(ctx, again)
		if err != nil || created {
			t.Fatalf("TakeLock = %v, %v", created, err)
		}
		if *held.Prior != *first.Prior || !held.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("held = %+v, want the first ticket %+v", held, first)
		}
	})
	t.Run("put is conditional with If-None-Match *", func(t *testing.T) {
		store := ledgertest.New()
		var seen *s3.PutObjectInput
		store.PutErr = func(key string, in *s3.PutObjectInput) error { seen = in; return nil }
		if _, _, err := store.Ledger().TakeLock(ctx, ticket("run-a")); err != nil {
			t.Fatal(err)
		}
		if aws.ToString(seen.IfNoneMatch) != "*" || aws.ToString(seen.Key) != "locks/ui-bucket.json" ||
			aws.ToString(seen.ContentType) != ledger.ContentTypeJSON || aws.ToString(seen.Bucket) != "ledger-bucket" {
			t.Errorf("put = key %q IfNoneMatch %q ContentType %q bucket %q",
				aws.ToString(seen.Key), aws.ToString(seen.IfNoneMatch), aws.ToString(seen.ContentType), aws.ToString(seen.Bucket))
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
	}{
		{name: "412 from S3 reads the holder", existing: ptr(ticket("run-z")), wantHolder: "run-z"},
		{name: "409 conflict, holder visible on read", existing: ptr(ticket("run-z")),
			putErrs: []error{pabtest.APIError("PutObject", 409, "ConditionalRequestConflict")}, wantHolder: "run-z"},
		{name: "409 conflict, nobody won, retry creates",
			putErrs:    []error{pabtest.APIError("PutObject", 409, "ConditionalRequestConflict")},
			wantHolder: "run-a", wantCreated: true},
		{name: "412 but released before the read, retry creates",
			putErrs:    []error{pabtest.APIError("PutObject", 412, "PreconditionFailed")},
			wantHolder: "run-a", wantCreated: true},
		{name: "409 forever is transient",
			putErrs: []error{
				pabtest.APIError("PutObject", 409, "ConditionalRequestConflict"), pabtest.APIError("PutObject", 409, "ConditionalRequestConflict"),
				pabtest.APIError("PutObject", 409, "ConditionalRequestConflict"), pabtest.APIError("PutObject", 409, "ConditionalRequestConflict"),
			},
			wantErr: "Transient"},
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
			puts, gets := 0, 0
			store.PutErr = func(string, *s3.PutObjectInput) error {
				defer func() { puts++ }()
				if puts < len(tc.putErrs) {
					return tc.putErrs[puts]
				}
				return nil
			}
			store.GetErr = func(string) error {
				defer func() { gets++ }()
				if gets < len(tc.getErrs) {
					return tc.getErrs[gets]
				}
				return nil
			}
			held, created, err := store.Ledger().TakeLock(context.Background(), ticket("run-a"))
			if tc.wantErr != "" {
				assertErr(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("TakeLock: %v", err)
			}
			if held.Execution != tc.wantHolder || created != tc.wantCreated {
				t.Errorf("TakeLock = holder %s created %v, want %s %v", held.Execution, created, tc.wantHolder, tc.wantCreated)
			}
		})
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
		{name: "access denied is plain", getErr: pabtest.APIError("GetObject", 403, "AccessDenied"), wantErr: "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := ledgertest.New()
			if tc.stored {
				store.PutTicket(drill.LockKey("ui-bucket"), ticket("run-a"))
				store.PutTicket(drill.RunTicketKey("run-a"), ticket("run-a"))
			}
			store.GetErr = func(string) error { return tc.getErr }
			l := store.Ledger()
			for name, read := range map[string]func() (*drill.Ticket, error){
				"Lock":      func() (*drill.Ticket, error) { return l.Lock(context.Background(), "ui-bucket") },
				"RunTicket": func() (*drill.Ticket, error) { return l.RunTicket(context.Background(), "run-a") },
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
				if got != nil && (got.Execution != "run-a" || *got.Prior != (drill.PublicAccessBlock{BlockPublicAcls: true})) {
					t.Errorf("%s = %+v", name, got)
				}
			}
		})
	}
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
	if err := l.PutReport(ctx, "run-a", []byte(`{"verdict":"pass"}`), []byte("<p>pass</p>")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"runs/run-a/ticket.json": ledger.ContentTypeJSON,
		"runs/run-a/report.json": ledger.ContentTypeJSON,
		"runs/run-a/report.html": ledger.ContentTypeHTML,
	}
	for key, ct := range want {
		if got := store.Objects[key].ContentType; got != ct {
			t.Errorf("%s content type %q, want %q", key, got, ct)
		}
	}
	if _, _, err := l.TakeLock(ctx, ticket("run-a")); err != nil {
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
	if _, _, err := l.TakeLock(ctx, ticket("run-b")); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseLock(ctx, "ui-bucket", etagA); err != nil {
		t.Fatalf("stale release: %v", err)
	}
	if got, _ := l.Lock(ctx, "ui-bucket"); got == nil || got.Execution != "run-b" {
		t.Errorf("a stale release deleted run-b's lock: %+v", got)
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", "run-a"); released || err != nil {
		t.Errorf("ReleaseIfHeldBy(run-a) on run-b's lock = %v, %v", released, err)
	}
	if released, err := l.ReleaseIfHeldBy(ctx, "ui-bucket", "run-b"); !released || err != nil {
		t.Errorf("ReleaseIfHeldBy(run-b) = %v, %v", released, err)
	}

	store.PutErr = func(string, *s3.PutObjectInput) error { return pabtest.APIError("PutObject", 503, "SlowDown") }
	err := l.PutReport(ctx, "run-a", nil, nil)
	assertErr(t, err, "Transient")
	if !strings.Contains(err.Error(), "ledger put runs/run-a/report.json") {
		t.Errorf("error %q lacks context", err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SlowDown" {
		t.Errorf("the cause is not kept in the chain: %v", err)
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
