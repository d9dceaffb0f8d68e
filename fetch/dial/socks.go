package dial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// SOCKSError is a failed connection through the proxy, classified by cause
// (errors.Is it with ErrNoProxy, ErrProxyHandshake, ErrProxyAuth,
// ErrHostUnreachable or ErrCircuitSlow).
type SOCKSError struct {
	// Code is the REP field of the proxy's reply; -1 when the proxy could
	// not be reached, -2 when the handshake failed before any reply.
	Code  int
	Proxy string // the proxy's host:port
	Cause error  // one of the sentinels above
	Err   error
}

func (e *SOCKSError) Error() string {
	switch {
	case e.Code == -1:
		return fmt.Sprintf("proxy unreachable: %v", e.Err)
	case e.Code < 0 && e.Cause == ErrProxyAuth:
		return fmt.Sprintf("proxy %s refused the SOCKS credentials: %v", e.Proxy, e.Err)
	case e.Code < 0:
		return fmt.Sprintf("proxy %s: %v: %v", e.Proxy, e.Cause, e.Err)
	}
	return fmt.Sprintf("proxy: %s (SOCKS reply %#02x)", replyText(e.Code), e.Code)
}

func (e *SOCKSError) Unwrap() error { return e.Err }

// Is matches the cause.
func (e *SOCKSError) Is(target error) bool { return target == e.Cause }

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

// replyCause is the cause of a failed reply.
func replyCause(code int) error {
	switch code {
	case 0x01, 0x06:
		return ErrCircuitSlow
	case 0x02, 0x07, 0x08:
		return ErrProxyHandshake
	}
	return ErrHostUnreachable
}

// classify turns golang.org/x/net/proxy's errors into SOCKSError. That
// package reports a failed reply as "unknown error <text>" for the codes
// it knows and "unknown code: N" for the others, and wraps every failure
// in an OpError "socks connect"; the dial to the proxy itself is an
// OpError "dial" inside it. Errors of ctx (the caller gave up) are
// returned as they are.
func classify(ctx context.Context, err error, proxyAddr string) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unknown code: "):
		var code int
		if _, serr := fmt.Sscanf(msg[strings.LastIndex(msg, "unknown code: "):], "unknown code: %d", &code); serr == nil {
			return &SOCKSError{Code: code, Proxy: proxyAddr, Cause: replyCause(code), Err: err}
		}
	case strings.Contains(msg, "unknown error "):
		for code, text := range xnetTexts {
			if strings.HasSuffix(msg, "unknown error "+text) {
				return &SOCKSError{Code: code, Proxy: proxyAddr, Cause: replyCause(code), Err: err}
			}
		}
	}
	var outer, inner *net.OpError
	if errors.As(err, &outer) && errors.As(outer.Err, &inner) && inner.Op == "dial" {
		return &SOCKSError{Code: -1, Proxy: proxyAddr, Cause: ErrNoProxy, Err: fmt.Errorf("%s: %w", proxyAddr, inner)}
	}
	inside := err
	if outer != nil {
		inside = outer.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return &SOCKSError{Code: -2, Proxy: proxyAddr, Cause: ErrCircuitSlow, Err: inside}
	case strings.Contains(msg, "authentication"), strings.Contains(msg, "username/password"):
		return &SOCKSError{Code: -2, Proxy: proxyAddr, Cause: ErrProxyAuth, Err: inside}
	}
	return &SOCKSError{Code: -2, Proxy: proxyAddr, Cause: ErrProxyHandshake, Err: inside}
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
