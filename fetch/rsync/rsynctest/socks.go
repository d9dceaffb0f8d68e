package rsynctest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// SOCKS is a minimal SOCKS5 server (RFC 1928/1929, CONNECT only) that
// sends every connection to target and records the names and users asked.
type SOCKS struct {
	ln net.Listener
	// Addr is host:port of the proxy.
	Addr   string
	target string
	mu     sync.Mutex
	hosts  []string
	users  map[string]bool
	cut    int64  // > 0: the next connection carrying more from the daemon is closed
	from   []byte // the next read from the daemon holding it gets to instead
	to     []byte
}

// FlipOnce makes the proxy replace from, the next time one read from the
// daemon holds it, with to (as long): bytes changed on the way, which
// only the daemon's checksum can tell.
func (s *SOCKS) FlipOnce(from, to []byte) {
	s.mu.Lock()
	s.from, s.to = from, to
	s.mu.Unlock()
}

// CutOnce makes the proxy close the next connection that brings more
// than n bytes from the daemon, as a circuit that dies mid-transfer.
func (s *SOCKS) CutOnce(n int64) {
	s.mu.Lock()
	s.cut = n
	s.mu.Unlock()
}

// StartSOCKS runs a SOCKS server for the test that forwards to target.
func StartSOCKS(t testing.TB, target string) *SOCKS {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SOCKS{ln: ln, Addr: ln.Addr().String(), target: target, users: map[string]bool{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *SOCKS) serve(c net.Conn) {
	defer c.Close()
	b := make([]byte, 262)
	if _, err := io.ReadFull(c, b[:2]); err != nil {
		return
	}
	if _, err := io.ReadFull(c, b[:b[1]]); err != nil || !bytes.Contains(b[:b[1]], []byte{2}) {
		return
	}
	c.Write([]byte{5, 2})
	if _, err := io.ReadFull(c, b[:2]); err != nil {
		return
	}
	user := make([]byte, b[1])
	io.ReadFull(c, user)
	io.ReadFull(c, b[:1])
	io.ReadFull(c, make([]byte, b[0]))
	c.Write([]byte{1, 0})
	if _, err := io.ReadFull(c, b[:4]); err != nil || b[1] != 1 || b[3] != 3 {
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	io.ReadFull(c, b[:1])
	host := make([]byte, b[0])
	io.ReadFull(c, host)
	io.ReadFull(c, b[:2])
	s.mu.Lock()
	s.hosts = append(s.hosts, string(host)+":"+itoa(binary.BigEndian.Uint16(b[:2])))
	s.users[string(user)] = true
	s.mu.Unlock()
	up, err := net.Dial("tcp", s.target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := up.Read(buf)
		if n > 0 {
			total += int64(n)
			s.mu.Lock()
			cut := s.cut > 0 && total > s.cut
			if cut {
				s.cut = 0
			}
			if i := bytes.Index(buf[:n], s.from); len(s.from) > 0 && i >= 0 {
				copy(buf[i:], s.to)
				s.from = nil
			}
			s.mu.Unlock()
			if cut {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func itoa(v uint16) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// Hosts are the host:port names asked for, in order, as the client sent
// them (unresolved).
func (s *SOCKS) Hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hosts...)
}

// Users counts the distinct SOCKS user names seen (circuit identities).
func (s *SOCKS) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}
