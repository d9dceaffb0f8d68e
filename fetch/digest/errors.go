package digest

import "errors"

var (
	// ErrMismatch is wrapped by Check when a computed digest differs from
	// the expected one.
	ErrMismatch = errors.New("digest mismatch")
	// ErrChecksumLine is wrapped for a line of a checksum file that is not
	// understood.
	ErrChecksumLine = errors.New("unreadable checksum line")
)
