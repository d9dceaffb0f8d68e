package rsyncsrc

import "errors"

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
