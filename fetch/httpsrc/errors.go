package httpsrc

import "errors"

var (
	// ErrRedirect refuses a redirect that would leave the source's host.
	ErrRedirect = errors.New("redirect refused")
	// ErrTLSVerify reports a server whose certificate does not verify
	// against the trusted authorities (the system's, or --cacert).
	ErrTLSVerify = errors.New("TLS certificate not trusted")
	// ErrNotTLS reports an https:// URL whose server does not speak TLS.
	ErrNotTLS = errors.New("no TLS server there")
	// ErrBadAnswer reports an answer that is not HTTP (a malformed status
	// line or header): the server's fault for this file, not the
	// circuit's or the host's.
	ErrBadAnswer = errors.New("the server's answer is not valid HTTP")
)
