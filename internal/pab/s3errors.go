package pab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/unishop/failover-drill/internal/drill"
)

// transientCodes are S3 error codes that say "try again later".
var transientCodes = map[string]bool{
	"SlowDown": true, "Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottled": true, "RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "RequestTimeout": true, "RequestTimeoutException": true,
	"InternalError": true, "ServiceUnavailable": true,
	// 409s that S3 documents as "retry the request".
	"OperationAborted": true, "ConditionalRequestConflict": true,
}

// HasCode reports whether err carries an API error with one of codes.
func HasCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}

// HTTPStatus is the HTTP status of the response that caused err, 0 when there was none.
func HTTPStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		var sre *smithyhttp.ResponseError
		if errors.As(err, &sre) && sre.Response == nil {
			return 0
		}
		return re.HTTPStatusCode()
	}
	return 0
}

// IsTransient reports whether err is throttling, a 5xx, a timeout or a dropped or
// refused connection: a failure that a later attempt may not meet.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var tr *drill.Transient
	if errors.As(err, &tr) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && transientCodes[apiErr.ErrorCode()] {
		return true
	}
	switch HTTPStatus(err) {
	case 429, 500, 502, 503, 504:
		return true
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	switch {
	case errors.As(err, &sendErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// Wrap adds context to an S3 error: "<format>: <err>". A transient err becomes an
// error whose chain holds both a *drill.Transient and the original cause, so
// drill.Classify reports it as Transient and errors.As still finds the API error.
// Wrap(nil, ...) is nil.
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if IsTransient(err) {
		err = &transientError{cause: err}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// transientError marks cause as transient. Its message is the *drill.Transient's, so
// that drill.Classify, which keeps the outer context in front of the typed error's
// text, turns "ctx: transient: cause" into Transient{"ctx: cause"}.
type transientError struct{ cause error }

func (e *transientError) Error() string { return (&drill.Transient{Msg: e.cause.Error()}).Error() }

func (e *transientError) Unwrap() []error {
	return []error{&drill.Transient{Msg: e.cause.Error()}, e.cause}
}
