package rsyncsrc_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/span"
)

// socks is a minimal SOCKS5 server (RFC 1928/1929, CONNECT only) that
// sends every connection to target and records the names and users asked.
type socks struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	hosts  []string
	users  map[string]bool
}

func startSOCKS(t *testing.T, target string) *socks {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socks{ln: ln, target: target, users: map[string]bool{}}
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

func (s *socks) serve(c net.Conn) {
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
	io.Copy(c, up)
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

// TestThroughSOCKS fetches through a socks5h proxy: the host name goes to
// the proxy unresolved, and each worker uses its own identity.
func TestThroughSOCKS(t *testing.T) {
	d := rsynctest.Start(t)
	d.WriteFile(t, "f.bin", content(9, 200_000))
	px := startSOCKS(t, d.Addr)
	dl, err := dial.New("socks5h://" + px.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	src := &rsyncsrc.Source{Dialer: dl}
	const u = "rsync://dump.invalid/plain/f.bin"
	want := content(9, 200_000)
	for w := range 2 {
		_, b, err := get(t, src.Conn(w), u, span.Range{Start: 1000, End: 150_000})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[1000:150_000]) {
			t.Fatal("bytes through the proxy differ")
		}
	}
	px.mu.Lock()
	defer px.mu.Unlock()
	if len(px.hosts) != 2 || px.hosts[0] != "dump.invalid:873" || len(px.users) != 2 {
		t.Fatalf("proxy saw hosts %q, %d users", px.hosts, len(px.users))
	}
}
