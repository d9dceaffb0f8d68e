package rsync

import (
	"errors"
	"fmt"
)

// Errors a caller tells apart with errors.Is. Errors from the daemon's
// "@ERROR:" lines and error messages arrive as *DaemonError, which wraps one
// of the daemon kinds below.
var (
	// ErrNotRsync: the peer's first line is not an rsync greeting.
	ErrNotRsync = errors.New("rsync: peer is not an rsync daemon")
	// ErrProtocol: the peer sent bytes that make no sense at this point.
	ErrProtocol = errors.New("rsync: protocol error")
	// ErrTruncated: the stream ended in the middle of a message.
	ErrTruncated = errors.New("rsync: stream ended early")
	// ErrLimit: the peer announced a count, length or size beyond grab's bounds.
	ErrLimit = errors.New("rsync: value beyond limits")
	// ErrVersion: the daemon speaks no protocol this client offers.
	ErrVersion = errors.New("rsync: unsupported protocol version")
	// ErrNoChecksum: the daemon offers no checksum this client knows.
	ErrNoChecksum = errors.New("rsync: no common checksum algorithm")

	// ErrUnknownModule: "@ERROR: Unknown module".
	ErrUnknownModule = errors.New("rsync: unknown module")
	// ErrAuthFailed: a wrong user or password, or none given to a module
	// that needs one.
	ErrAuthFailed = errors.New("rsync: authentication failed")
	// ErrTryAgain: the daemon's max connections are taken.
	ErrTryAgain = errors.New("rsync: daemon busy, try again later")
	// ErrRefused: the daemon refuses an option the client sent (such as
	// --append under "refuse options").
	ErrRefused = errors.New("rsync: daemon refused an option")
	// ErrAccessDenied: the daemon does not serve this client's address.
	ErrAccessDenied = errors.New("rsync: access denied")
	// ErrRemote: any other error the daemon reported.
	ErrRemote = errors.New("rsync: daemon error")
	// ErrNotFound: the path names nothing in the module.
	ErrNotFound = errors.New("rsync: no such file or directory")
	// ErrVanished: the daemon did not send a requested file (it vanished or
	// could not be opened).
	ErrVanished = errors.New("rsync: file not sent")
	// ErrChecksum: the data does not match the daemon's whole-file checksum.
	ErrChecksum = errors.New("rsync: checksum mismatch")
	// ErrRequest: a request this session cannot make (a file asked for
	// twice, an offset past the end, a non-regular file).
	ErrRequest = errors.New("rsync: bad request")
	// ErrClosed: the session is finished or broken.
	ErrClosed = errors.New("rsync: session closed")
)

// DaemonError is an error the daemon reported in words: an "@ERROR:" line
// of the text phase or an error message of the binary phase.
type DaemonError struct {
	Kind error  // ErrUnknownModule, ErrAuthFailed, ErrTryAgain, ErrRefused, ErrAccessDenied, ErrNotFound or ErrRemote
	Text string // the daemon's words, trimmed
	Code int    // the exit code the daemon announced, 0 if none
}

func (e *DaemonError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%v: %s (code %d)", e.Kind, e.Text, e.Code)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Text)
}

func (e *DaemonError) Unwrap() error { return e.Kind }

// ErrNotOpen is in the chain of an error met before the daemon opened the
// module ("@RSYNCD: OK"): a start that failed there may be made again, as
// nothing of the session has happened yet. The error's text is its cause's.
var ErrNotOpen = errors.New("rsync: the module did not open")

type notOpenError struct{ err error }

func (e notOpenError) Error() string      { return e.err.Error() }
func (e notOpenError) Unwrap() error      { return e.err }
func (notOpenError) Is(target error) bool { return target == ErrNotOpen }
