package localpath

import "errors"

// ErrOtherHost reports a URL on a different host or port than the crawl's
// root, or one without a host at all.
var ErrOtherHost = errors.New("other host")

// ErrOtherScheme reports a URL whose scheme is not the root's, a scheme other
// than http or https, or a relative URL that was not resolved first.
var ErrOtherScheme = errors.New("other scheme")

// ErrAboveRoot reports a URL whose path is not below the root's directory.
var ErrAboveRoot = errors.New("outside the start directory")

// ErrBadSegment reports a path segment that cannot become a local name: empty,
// "." or ".." (also when percent-encoded), or containing "/" or "\" once
// decoded.
var ErrBadSegment = errors.New("unsafe path segment")

// ErrPathTooLong reports a local path longer than MaxPath bytes.
var ErrPathTooLong = errors.New("local path too long")
