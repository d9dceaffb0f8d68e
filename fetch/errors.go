package fetch

import (
	"errors"
	"fmt"
	"time"
)

// NotAFile is why a query link found by a crawl is left out when it
// answers with a web page and no file name: it pages or sorts something,
// it is not a file of the dump.
const NotAFile = "a page, not a file: the link has a query and answers with HTML"

var (
	// ErrDiskFull stops a job when the disk holding the output is full.
	// Nothing recorded is lost; the job can be resumed once space is freed.
	ErrDiskFull = errors.New("disk full")
	// ErrNoRoom fails a file larger than the free disk; the rest of the
	// job goes on.
	ErrNoRoom = errors.New("does not fit the free disk")
	// ErrChanged is wrapped by ChangedError.
	ErrChanged = errors.New("remote file changed")
	// ErrShortBody reports a stream that ended before the bytes it announced.
	ErrShortBody = errors.New("stream ended early")
	// ErrBadRange reports a source answering with bytes other than those asked.
	ErrBadRange = errors.New("source sent a different range")
	// ErrFailed is returned by Run when some files could not be fetched.
	ErrFailed = errors.New("some files failed")
	// ErrTooLarge fails a file larger than MaxFileSize or Config.MaxBody.
	ErrTooLarge = errors.New("file too large")
	// ErrOverflow fails a file whose source sends more than it announced.
	ErrOverflow = errors.New("the source sent more than it announced")
	// ErrFolder fails a file whose URL answers with a folder's listing
	// (it redirects to itself with a trailing slash).
	ErrFolder = errors.New("is a folder")
	// ErrUnreachable stops a job whose source stayed unreachable for
	// Config.MaxWait.
	ErrUnreachable = errors.New("source unreachable")
)

// PermanentError is a failure that retrying will not cure, such as an HTTP
// 404 or 403. The file is recorded as failed.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// TransientError is a failure worth retrying after a delay; RetryAfter, when
// set, is the source's own request (HTTP Retry-After). Conn marks a failure
// to reach the source at all (proxy, circuit, connection): it does not count
// against the file, the whole host waits instead, and the circuit is
// replaced. Local (which implies Conn) marks one on this side of the
// circuit, which a new circuit cannot cure: no proxy, a failed SOCKS
// handshake, refused SOCKS credentials, a certificate that does not
// verify. Before anything has answered in a run it stops the job (Run
// returns it: the user must act); later (tor restarting, say) the host
// waits, and no circuit is replaced. Own marks, in a batch, a failure of
// one file's own answer (a 5xx, a wrong range) rather than of the batch:
// it counts against that file as it would alone.
type TransientError struct {
	Err        error
	RetryAfter time.Duration
	Conn       bool
	Local      bool
	Own        bool
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// ChangedError reports that the remote file is no longer the version being
// fetched: its validator or size differ. The file restarts from nothing.
type ChangedError struct {
	Size      int64
	Validator string
	Why       string
}

func (e *ChangedError) Error() string { return fmt.Sprintf("%v: %s", ErrChanged, e.Why) }
func (e *ChangedError) Unwrap() error { return ErrChanged }
