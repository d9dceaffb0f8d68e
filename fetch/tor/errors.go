package tor

import "errors"

// HintNoTor is what to tell a person when Start fails with ErrNoTor.
const HintNoTor = "apt-get install tor, or --proxy to use a running Tor"

var (
	// ErrNoTor means the tor binary was not found (see HintNoTor).
	ErrNoTor = errors.New("tor binary not found")
	// ErrOptions means Options has an invalid value.
	ErrOptions = errors.New("invalid tor options")
	// ErrBootstrap means a tor did not finish bootstrapping: its progress
	// stopped rising for Options.Stall. The message carries the last
	// percentage and tor's last warning or notice.
	ErrBootstrap = errors.New("tor bootstrap stuck")
	// ErrExited means a tor process exited on its own; the message carries
	// the end of its output.
	ErrExited = errors.New("tor exited")
	// ErrControl means tor's control port refused a command or sent a reply
	// that could not be parsed.
	ErrControl = errors.New("tor control port")
	// ErrClosed means the Tor was already closed.
	ErrClosed = errors.New("tor closed")
)
