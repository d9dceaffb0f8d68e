package rsyncsrc

import (
	"errors"

	"github.com/grab-ir/grab/fetch/rsync"
)

var (
	// ErrURL reports a URL that is not rsync://host/module/path.
	ErrURL = errors.New("not an rsync URL")
	// ErrNotFile reports a URL naming something other than a regular file.
	ErrNotFile = errors.New("not a regular file")
	// ErrNotFolder reports a List of a URL that is not a folder.
	ErrNotFolder = errors.New("not a folder")
	// ErrBusy wraps a daemon's "max connections" refusal with a hint.
	ErrBusy = errors.New("daemon refuses more connections: run fewer sessions against it")
)

// ErrListTooLarge reports a file list larger than the engine accepts.
var ErrListTooLarge = errors.New("file list too large")

// HintError is a daemon's refusal with what to do about it; its text
// carries the hint too, so a file's recorded error says it.
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() + " (hint: " + e.Hint + ")" }
func (e *HintError) Unwrap() error { return e.Err }

// hint adds what to do to the errors a person can act on.
func hint(err error) error {
	var h string
	switch {
	case errors.Is(err, rsync.ErrAuthFailed):
		h = "put the user in the URL (rsync://user@host/module/) and give the password with --rsync-password-file FILE or RSYNC_PASSWORD"
	case errors.Is(err, rsync.ErrUnknownModule):
		h = "grab ls rsync://HOST/ lists the daemon's modules"
	case errors.Is(err, rsync.ErrRefused):
		h = "the module refuses an option grab needs"
	case errors.Is(err, rsync.ErrAccessDenied):
		h = "the daemon does not serve this address; through Tor, another exit or circuit will not help"
	case errors.Is(err, rsync.ErrNotRsync):
		h = "is this an rsync daemon? rsync:// URLs name its port (873 by default)"
	case errors.Is(err, rsync.ErrProtocol), errors.Is(err, rsync.ErrLimit):
		h = "the daemon sent what rsync never sends; what was fetched is kept"
	default:
		return err
	}
	return &HintError{Err: err, Hint: h}
}
