package listing

import "errors"

var (
	// ErrTooLarge means the listing exceeds MaxEntries entries or holds an
	// href or name longer than MaxNameLen bytes.
	ErrTooLarge = errors.New("listing too large")
	// ErrMalformed means a JSON or XML listing could not be decoded.
	ErrMalformed = errors.New("malformed listing")
	// ErrBadBase means the base URL passed to Parse is nil or not absolute.
	ErrBadBase = errors.New("base URL is not absolute")
)
