package class

import "errors"

// ErrUnknownClass reports a class name that is not in the Set; the wrapping
// error lists the valid names.
var ErrUnknownClass = errors.New("unknown class")

// ErrBadOverride reports a --class override that is not "NAME=ext,ext".
var ErrBadOverride = errors.New("bad class override")

// ErrBadPattern reports a malformed --include or --exclude glob.
var ErrBadPattern = errors.New("bad pattern")

// ErrBadSize reports a size that ParseSize cannot read, or size limits that
// contradict each other.
var ErrBadSize = errors.New("bad size")
