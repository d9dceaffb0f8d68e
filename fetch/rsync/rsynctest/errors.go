package rsynctest

import "errors"

// ErrNotReady: the daemon did not answer on its port in time.
var ErrNotReady = errors.New("rsynctest: daemon did not come up")
