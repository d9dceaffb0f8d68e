package dial

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// SOCKSError is a SOCKS5 reply other than success, with Tor's meaning.
type SOCKSError struct {
	Code int // the REP field, or -1 when the proxy itself could not be reached
	Err  error
}

func (e *SOCKSError) Error() string {
	if e.Code < 0 {
		return fmt.Sprintf("proxy unreachable: %v", e.Err)
	}
	return fmt.Sprintf("proxy: %s (SOCKS reply %#02x)", replyText(e.Code), e.Code)
}

func (e *SOCKSError) Unwrap() error { return e.Err }

// Meanings of SOCKS5 replies (RFC 1928 section 6) and of Tor's extended
// replies for onion services (tor's socks-extensions.txt, ExtendedErrors).
var replies = map[int]string{
	0x01: "general failure",
	0x02: "connection not allowed by ruleset",
	0x03: "network unreachable",
	0x04: "host unreachable",
	0x05: "connection refused",
	0x06: "TTL expired (circuit or stream timed out)",
	0x07: "command not supported",
	0x08: "address type not supported",
	0xF0: "onion service descriptor not found",
	0xF1: "onion service descriptor is invalid",
	0xF2: "onion service introduction failed",
	0xF3: "onion service rendezvous failed",
	0xF4: "onion service needs client authorization",
	0xF5: "onion service client authorization is wrong",
	0xF6: "onion address is invalid",
	0xF7: "onion service introduction timed out",
}

func replyText(code int) string {
	if s, ok := replies[code]; ok {
		return s
	}
	return "unknown reply"
}

// classify turns golang.org/x/net/proxy's errors into SOCKSError where it can.
// That package reports a failed reply as "unknown error <text>" for the
// codes it knows and "unknown code: N" for the others.
func classify(err error, proxyAddr string) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unknown code: "):
		var code int
		if _, serr := fmt.Sscanf(msg[strings.LastIndex(msg, "unknown code: "):], "unknown code: %d", &code); serr == nil {
			return &SOCKSError{Code: code, Err: err}
		}
	case strings.Contains(msg, "unknown error "):
		for code, text := range xnetTexts {
			if strings.HasSuffix(msg, "unknown error "+text) {
				return &SOCKSError{Code: code, Err: err}
			}
		}
	}
	// The dial to the proxy itself failed: an OpError "dial" inside the
	// package's OpError "socks connect".
	var outer, inner *net.OpError
	if errors.As(err, &outer) && errors.As(outer.Err, &inner) && inner.Op == "dial" {
		return &SOCKSError{Code: -1, Err: fmt.Errorf("%s: %w", proxyAddr, inner)}
	}
	return err
}

// xnetTexts are the reply texts golang.org/x/net/internal/socks prints.
var xnetTexts = map[int]string{
	0x01: "general SOCKS server failure",
	0x02: "connection not allowed by ruleset",
	0x03: "network unreachable",
	0x04: "host unreachable",
	0x05: "connection refused",
	0x06: "TTL expired",
	0x07: "command not supported",
	0x08: "address type not supported",
}
