package demo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// SOCKS5 constants (RFC 1928, RFC 1929) and Tor's extended reply codes
// (tor's doc/socks-extensions, "Extended error codes").
const (
	socksVersion     = 0x05
	authVersion      = 0x01
	methodNone       = 0x00
	methodPassword   = 0x02
	methodNoneusable = 0xff
	cmdConnect       = 0x01
	atypIPv4         = 0x01
	atypDomain       = 0x03
	atypIPv6         = 0x04

	replySucceeded          = 0x00
	replyGeneralFailure     = 0x01
	replyHostUnreachable    = 0x04
	replyConnectionRefused  = 0x05
	replyCommandUnsupported = 0x07
	replyAddressUnsupported = 0x08
	replyOnionNotFound      = 0xf0 // onion service descriptor can not be found
	replyOnionBadAddress    = 0xf6 // onion address is invalid
)

// socksRequest is what a client asked for in its greeting and request.
type socksRequest struct {
	auth       bool // username/password was negotiated
	user, pass string
	cmd        byte
	atyp       byte
	host       string // domain name, or the IP in text form
	port       int
}

// readGreeting reads the method negotiation and, if chosen, the RFC 1929
// sub-negotiation, writing the server's answers to w. Username/password is
// preferred when offered because it names the circuit.
func readGreeting(r io.Reader, w io.Writer, req *socksRequest) error {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return fmt.Errorf("greeting version %d: %w", hdr[0], errSOCKSVersion)
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return fmt.Errorf("read methods: %w", err)
	}
	switch {
	case bytes.IndexByte(methods, methodPassword) >= 0:
		if _, err := w.Write([]byte{socksVersion, methodPassword}); err != nil {
			return fmt.Errorf("write method: %w", err)
		}
		return readPassword(r, w, req)
	case bytes.IndexByte(methods, methodNone) >= 0:
		if _, err := w.Write([]byte{socksVersion, methodNone}); err != nil {
			return fmt.Errorf("write method: %w", err)
		}
		return nil
	}
	if _, err := w.Write([]byte{socksVersion, methodNoneusable}); err != nil {
		return fmt.Errorf("write method: %w", err)
	}
	return fmt.Errorf("offered methods %x: %w", methods, errNoMethod)
}

func readPassword(r io.Reader, w io.Writer, req *socksRequest) error {
	var ver [1]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return fmt.Errorf("read auth: %w", err)
	}
	if ver[0] != authVersion {
		return fmt.Errorf("auth version %d: %w", ver[0], errAuthVersion)
	}
	user, err := readShortString(r)
	if err != nil {
		return fmt.Errorf("read username: %w", err)
	}
	pass, err := readShortString(r)
	if err != nil {
		return fmt.Errorf("read password: %w", err)
	}
	req.auth, req.user, req.pass = true, user, pass
	// Every identity is accepted: it only selects a circuit.
	if _, err := w.Write([]byte{authVersion, 0x00}); err != nil {
		return fmt.Errorf("write auth status: %w", err)
	}
	return nil
}

func readShortString(r io.Reader) (string, error) {
	var n [1]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	b := make([]byte, n[0])
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// readRequest reads a SOCKS5 request. An unknown address type is reported
// by returning replyAddressUnsupported with a nil error, since the reply
// must still be sent; the rest of the request is then unread.
func readRequest(r io.Reader, req *socksRequest) (reply byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, fmt.Errorf("read request: %w", err)
	}
	if hdr[0] != socksVersion {
		return 0, fmt.Errorf("request version %d: %w", hdr[0], errSOCKSVersion)
	}
	req.cmd, req.atyp = hdr[1], hdr[3]
	switch req.atyp {
	case atypIPv4, atypIPv6:
		ip := make(net.IP, 4)
		if req.atyp == atypIPv6 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(r, ip); err != nil {
			return 0, fmt.Errorf("read address: %w", err)
		}
		req.host = ip.String()
	case atypDomain:
		host, err := readShortString(r)
		if err != nil {
			return 0, fmt.Errorf("read domain: %w", err)
		}
		req.host = host
	default:
		return replyAddressUnsupported, nil
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return 0, fmt.Errorf("read port: %w", err)
	}
	req.port = int(binary.BigEndian.Uint16(port[:]))
	return replySucceeded, nil
}

// writeReply sends a SOCKS5 reply with an unspecified IPv4 bound address.
func writeReply(w io.Writer, code byte) error {
	if _, err := w.Write([]byte{socksVersion, code, 0x00, atypIPv4, 0, 0, 0, 0, 0, 0}); err != nil {
		return fmt.Errorf("write reply %#02x: %w", code, err)
	}
	return nil
}

// route decides the reply for a CONNECT to host:port: success only for the
// server's own onion name on port 80.
func route(req *socksRequest, onion string, unknownOnion byte) byte {
	switch {
	case req.cmd != cmdConnect:
		return replyCommandUnsupported
	case req.atyp != atypDomain:
		return replyHostUnreachable
	}
	host := strings.ToLower(strings.TrimSuffix(req.host, "."))
	switch {
	case (host == onion || strings.HasSuffix(host, "."+onion)) && req.port == 80:
		return replySucceeded
	case host == onion || strings.HasSuffix(host, "."+onion):
		return replyConnectionRefused
	case !strings.HasSuffix(host, ".onion"):
		return replyHostUnreachable
	case !validOnion(host):
		return replyOnionBadAddress
	case unknownOnion != 0:
		return unknownOnion
	}
	return replyOnionNotFound
}

var onionBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// onionName returns a valid v3 onion address whose key is derived from seed:
// base32(pubkey | checksum | version) with checksum = SHA3-256(".onion
// checksum" | pubkey | version)[:2] and version 3 (Tor's rend-spec-v3).
func onionName(seed int64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	keySeed := sha256.Sum256(append([]byte("grab demo onion key\x00"), b[:]...))
	pub := ed25519.NewKeyFromSeed(keySeed[:]).Public().(ed25519.PublicKey)
	return onionFromKey(pub)
}

func onionFromKey(pub []byte) string {
	raw := make([]byte, 0, 35)
	raw = append(raw, pub...)
	raw = append(raw, onionChecksum(pub)...)
	raw = append(raw, 0x03)
	return onionBase32.EncodeToString(raw) + ".onion"
}

func onionChecksum(pub []byte) []byte {
	msg := append([]byte(".onion checksum"), pub...)
	msg = append(msg, 0x03)
	sum := sha3.Sum256(msg)
	return sum[:2]
}

// validOnion reports whether host ends in a well-formed v3 onion address
// (subdomains are allowed, as in Tor).
func validOnion(host string) bool {
	labels := strings.Split(strings.TrimSuffix(host, ".onion"), ".")
	label := labels[len(labels)-1]
	if len(label) != 56 {
		return false
	}
	raw, err := onionBase32.DecodeString(label)
	if err != nil || len(raw) != 35 || raw[34] != 0x03 {
		return false
	}
	return bytes.Equal(raw[32:34], onionChecksum(raw[:32]))
}

// circuitID names the circuit a SOCKS identity selects.
func circuitID(req *socksRequest) string {
	switch {
	case !req.auth:
		return "anonymous"
	case req.pass == "":
		return req.user
	}
	return req.user + ":" + req.pass
}

func directID(n int) string { return "direct-" + strconv.Itoa(n) }
