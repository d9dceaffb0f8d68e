package source

import "errors"

// ErrScheme is a URL of a kind grab does not fetch.
var ErrScheme = errors.New("not a URL grab can fetch")
