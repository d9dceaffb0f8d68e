package demo

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadGreetingPrefersPassword(t *testing.T) {
	in := bytes.NewReader([]byte{5, 2, 0, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 3, 'p', 'w', 'd'})
	var out bytes.Buffer
	var req socksRequest
	if err := readGreeting(in, &out, &req); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), []byte{5, 2, 1, 0}) {
		t.Errorf("server wrote %x, want 05020100", out.Bytes())
	}
	if !req.auth || req.user != "alice" || req.pass != "pwd" || circuitID(&req) != "alice:pwd" {
		t.Errorf("request = %+v, id %q", req, circuitID(&req))
	}
	if in.Len() != 0 {
		t.Errorf("%d bytes left unread", in.Len())
	}
}

func TestReadGreetingNoAuthAndRefusal(t *testing.T) {
	var out bytes.Buffer
	var req socksRequest
	if err := readGreeting(bytes.NewReader([]byte{5, 1, 0}), &out, &req); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), []byte{5, 0}) || req.auth || circuitID(&req) != "anonymous" {
		t.Errorf("wrote %x, request %+v", out.Bytes(), req)
	}
	out.Reset()
	err := readGreeting(bytes.NewReader([]byte{5, 1, 1}), &out, &req)
	if !errors.Is(err, errNoMethod) || err.Error() != "offered methods 01: no acceptable authentication method" {
		t.Errorf("GSSAPI only: %v", err)
	}
	if !bytes.Equal(out.Bytes(), []byte{5, 0xff}) {
		t.Errorf("wrote %x, want 05ff", out.Bytes())
	}
	err = readGreeting(bytes.NewReader([]byte{4, 1, 0}), io.Discard, &req)
	if err == nil || err.Error() != "greeting version 4: not SOCKS version 5" {
		t.Errorf("SOCKS4: %v", err)
	}
	err = readGreeting(bytes.NewReader([]byte{5, 1, 2, 9}), io.Discard, &req)
	if err == nil || err.Error() != "auth version 9: not username/password auth version 1" {
		t.Errorf("bad auth version: %v", err)
	}
	err = readGreeting(bytes.NewReader([]byte{5, 3, 0}), io.Discard, &req)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short greeting: %v", err)
	}
}

func TestReadRequest(t *testing.T) {
	host := onionName(1)
	in := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	in = append(in, 0, 80)
	var req socksRequest
	if code, err := readRequest(bytes.NewReader(in), &req); err != nil || code != replySucceeded {
		t.Fatalf("readRequest = %#x, %v", code, err)
	}
	if req.host != host || req.port != 80 || req.cmd != cmdConnect || req.atyp != atypDomain {
		t.Errorf("request = %+v", req)
	}
	in = []byte{5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}
	if code, err := readRequest(bytes.NewReader(in), &req); err != nil || code != 0 || req.host != "127.0.0.1" || req.port != 8080 {
		t.Errorf("IPv4 request = %#x, %v, %+v", code, err, req)
	}
	in = append([]byte{5, 1, 0, 4}, make([]byte, 18)...)
	if code, err := readRequest(bytes.NewReader(in), &req); err != nil || code != 0 || req.host != "::" {
		t.Errorf("IPv6 request = %#x, %v, %+v", code, err, req)
	}
	if code, err := readRequest(bytes.NewReader([]byte{5, 1, 0, 9}), &req); err != nil || code != replyAddressUnsupported {
		t.Errorf("ATYP 9 = %#x, %v", code, err)
	}
	if _, err := readRequest(bytes.NewReader([]byte{5, 1, 0, 3, 10, 'a'}), &req); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short domain: %v", err)
	}
}

func TestOnionName(t *testing.T) {
	h1, h2 := onionName(1), onionName(2)
	if h1 != onionName(1) || h1 == h2 {
		t.Fatalf("onionName not a function of the seed: %s %s %s", h1, onionName(1), h2)
	}
	if len(h1) != 62 || !strings.HasSuffix(h1, "d.onion") || !validOnion(h1) {
		// The last base32 character of a v3 address encodes the version
		// byte 0x03's low bits: always "d".
		t.Errorf("onionName(1) = %q (len %d), not a v3 address", h1, len(h1))
	}
	// The address of Tor Project's own v3 onion site validates.
	if !validOnion("2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion") {
		t.Error("torproject.org onion rejected")
	}
	bad := []byte(h1)
	bad[3] ^= 1 // flip a bit in the key: the checksum no longer matches
	for _, h := range []string{string(bad), "abc.onion", strings.Replace(h1, "d.onion", "a.onion", 1)} {
		if validOnion(h) {
			t.Errorf("validOnion(%q) = true", h)
		}
	}
}

func TestRoute(t *testing.T) {
	us := onionName(1)
	other := onionName(2)
	for _, c := range []struct {
		req     socksRequest
		unknown byte
		want    byte
	}{
		{socksRequest{cmd: 1, atyp: 3, host: us, port: 80}, 0, replySucceeded},
		{socksRequest{cmd: 1, atyp: 3, host: strings.ToUpper(us), port: 80}, 0, replySucceeded},
		{socksRequest{cmd: 1, atyp: 3, host: "www." + us, port: 80}, 0, replySucceeded},
		{socksRequest{cmd: 1, atyp: 3, host: us, port: 443}, 0, replyConnectionRefused},
		{socksRequest{cmd: 2, atyp: 3, host: us, port: 80}, 0, replyCommandUnsupported},
		{socksRequest{cmd: 3, atyp: 3, host: us, port: 80}, 0, replyCommandUnsupported},
		{socksRequest{cmd: 1, atyp: 1, host: "127.0.0.1", port: 80}, 0, replyHostUnreachable},
		{socksRequest{cmd: 1, atyp: 3, host: "example.com", port: 80}, 0, replyHostUnreachable},
		{socksRequest{cmd: 1, atyp: 3, host: other, port: 80}, 0, replyOnionNotFound},
		{socksRequest{cmd: 1, atyp: 3, host: other, port: 80}, 0xf2, 0xf2},
		{socksRequest{cmd: 1, atyp: 3, host: "nope.onion", port: 80}, 0xf2, replyOnionBadAddress},
	} {
		if got := route(&c.req, us, c.unknown); got != c.want {
			t.Errorf("route(%+v) = %#x, want %#x", c.req, got, c.want)
		}
	}
}

// FuzzSOCKSHandshake feeds arbitrary client bytes to the greeting and
// request parsers: they must not panic, must answer with well-formed
// replies, and must never read past what a valid request declares.
func FuzzSOCKSHandshake(f *testing.F) {
	host := onionName(1)
	valid := append([]byte{5, 1, 2, 1, 1, 'u', 1, 'p', 5, 1, 0, 3, byte(len(host))}, host...)
	f.Add(append(valid, 0, 80))
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 0})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 9})
	f.Add([]byte{5, 2, 0, 2, 1, 0, 0, 5, 1, 0, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var out bytes.Buffer
		var req socksRequest
		if err := readGreeting(r, &out, &req); err != nil {
			return
		}
		switch w := out.Bytes(); {
		case bytes.Equal(w, []byte{5, 0}) && !req.auth:
		case bytes.Equal(w, []byte{5, 2, 1, 0}) && req.auth:
		default:
			t.Fatalf("greeting reply %x with auth=%v", w, req.auth)
		}
		code, err := readRequest(r, &req)
		if err != nil {
			return
		}
		if code == replySucceeded {
			if req.port < 0 || req.port > 65535 {
				t.Fatalf("port %d", req.port)
			}
			code = route(&req, host, 0)
		}
		var reply bytes.Buffer
		if err := writeReply(&reply, code); err != nil || reply.Len() != 10 || reply.Bytes()[1] != code {
			t.Fatalf("reply %x, %v", reply.Bytes(), err)
		}
	})
}
