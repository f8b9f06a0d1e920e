package aptmethod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
)

// Failure reasons reported in "400 URI Failure". The names are APT's where
// APT has one, so that APT's own handling (falling back from a by-hash or
// compressed index, retrying) applies.
const (
	ReasonHashSumMismatch     = "HashSumMismatch"
	ReasonMaximumSizeExceeded = "MaximumSizeExceeded"
	ReasonTimeout             = "Timeout"
	ReasonConnectionRefused   = "ConnectionRefused"
	ReasonResolveFailure      = "ResolveFailure"
	ReasonConnectionClosed    = "ConnectionClosed"
	ReasonWriteError          = "WriteError"
	ReasonBadURI              = "BadURI"
	ReasonRedirectionLoop     = "RedirectionLoop"
)

// Failure is why one fetch failed, in the terms of "400 URI Failure".
type Failure struct {
	// Reason is the FailReason field: an APT reason name or "HttpErrorNNN".
	Reason string
	// Transient is true when a retry may succeed.
	Transient bool
	// Err is what went wrong; its text becomes the Message field.
	Err error
}

// Error returns the message for APT.
func (f *Failure) Error() string { return f.Err.Error() }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// httpFailure is the failure for an HTTP status that is not a success.
// Server errors and "try later" answers are transient: the proxy may be
// restarting or the mirror behind it briefly unwell.
func httpFailure(code int, status string) *Failure {
	transient := code >= 500 || code == 408 || code == 429
	return &Failure{
		Reason:    fmt.Sprintf("HttpError%d", code),
		Transient: transient,
		Err:       fmt.Errorf("%s", status),
	}
}

// classify turns an error from the HTTP client or the body copy into a
// Failure.
func classify(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	// Say "URL: what happened" rather than Go's `Get "URL": ...`.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = fmt.Errorf("%s: %w", uerr.URL, uerr.Err)
	}
	var dns *net.DNSError
	var nerr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Failure{Reason: ReasonConnectionRefused, Transient: true,
			Err: fmt.Errorf("%w (is the debtorrent proxy running?)", err)}
	case errors.As(err, &dns):
		return &Failure{Reason: ReasonResolveFailure, Transient: dns.IsTemporary || dns.IsTimeout, Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return &Failure{Reason: ReasonTimeout, Transient: true, Err: err}
	}
	return &Failure{Reason: ReasonConnectionClosed, Transient: true, Err: err}
}
