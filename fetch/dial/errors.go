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
