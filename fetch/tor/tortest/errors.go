package tortest

import "errors"

var (
	// ErrTorMissing means the tor or tor-gencert binary was not found.
	ErrTorMissing = errors.New("tor binary not found")
	// ErrOptions means Options has an invalid value.
	ErrOptions = errors.New("invalid options")
	// ErrTorExited means a tor process of the network exited on its own.
	ErrTorExited = errors.New("tor exited")
	// ErrNotReady means the network was not usable before the start deadline.
	ErrNotReady = errors.New("network not ready")
	// ErrControl means the control port refused a command or sent a malformed reply.
	ErrControl = errors.New("control port")
	// ErrKeys means generating or reading a node's keys failed.
	ErrKeys = errors.New("tor keys")
	// ErrClosed means the network was already closed.
	ErrClosed = errors.New("network closed")
)
