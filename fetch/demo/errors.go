package demo

import "errors"

// Sentinel errors. Callers compare with errors.Is; the returned errors wrap
// these with the offending value.
var (
	// ErrBadPath reports a File path that cannot be served: empty, absolute,
	// with empty, "." or ".." segments, invalid UTF-8 or control characters,
	// a duplicate, or a file that is also the parent folder of another file.
	ErrBadPath = errors.New("bad file path")

	// ErrBadSize reports a negative File size.
	ErrBadSize = errors.New("bad file size")

	// ErrBadModel reports a Model field out of range (see Model.Validate).
	ErrBadModel = errors.New("bad network model")

	// ErrNotIdentical reports a downloaded file that differs from the
	// dump's (Dump.Same): a fast download of the wrong bytes is worth
	// nothing.
	ErrNotIdentical = errors.New("not byte-identical")
)

// Internal errors: SOCKS handshakes the server drops, and the write error
// that ends a response body at an injected fault.
var (
	errSOCKSVersion = errors.New("not SOCKS version 5")
	errAuthVersion  = errors.New("not username/password auth version 1")
	errNoMethod     = errors.New("no acceptable authentication method")
	errFault        = errors.New("demo: injected fault")
)
