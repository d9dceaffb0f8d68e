package dial

import "errors"

var (
	// ErrOnionNeedsProxy refuses an .onion host without a SOCKS proxy.
	ErrOnionNeedsProxy = errors.New("an .onion address can only be reached through Tor")
	// ErrOnionLocalDNS refuses an .onion host with a socks5:// proxy, which
	// would resolve it locally.
	ErrOnionLocalDNS = errors.New("socks5:// resolves host names locally, which cannot work for .onion (use socks5h://)")
	// ErrProxyURL reports a --proxy value that is not understood.
	ErrProxyURL = errors.New("bad proxy URL")
)

// Why a connection through the proxy failed: every *SOCKSError is one of
// these (errors.Is), and the engine gives each cause one policy (see
// docs/design.md, "The network"). The first three are this side's fault,
// not a circuit's: a new circuit cannot cure them.
var (
	// ErrNoProxy: nothing accepts connections at the proxy's address
	// (Tor is not running, or listens on another port: 9050 vs 9150).
	ErrNoProxy = errors.New("no SOCKS proxy")
	// ErrProxyHandshake: something answers at the proxy's address, but
	// not as a SOCKS5 proxy, or it refuses the kind of request.
	ErrProxyHandshake = errors.New("SOCKS handshake failed")
	// ErrProxyAuth: the proxy refuses grab's SOCKS credentials.
	ErrProxyAuth = errors.New("SOCKS authentication refused")
	// ErrHostUnreachable: the proxy works, the host cannot be reached
	// through it (an onion service that is down, a refused connection).
	ErrHostUnreachable = errors.New("host unreachable through the proxy")
	// ErrCircuitSlow: the circuit took too long or failed on the way
	// (TTL expired, general failure, the handshake timed out).
	ErrCircuitSlow = errors.New("circuit failed or too slow")
)

// Local reports whether err is a failure on this side of the circuit
// (no proxy, a failed handshake, refused credentials).
func Local(err error) bool {
	return errors.Is(err, ErrNoProxy) || errors.Is(err, ErrProxyHandshake) || errors.Is(err, ErrProxyAuth)
}
