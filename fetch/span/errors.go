package span

import "errors"

// ErrContentRange reports a Content-Range header that does not parse or
// contradicts itself (last byte before first, or past the complete length).
var ErrContentRange = errors.New("bad Content-Range")
