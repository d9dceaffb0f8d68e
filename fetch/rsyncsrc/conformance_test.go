package rsyncsrc_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/source/sourcetest"
)

// harness serves files from a real rsync daemon; the lies come from
// where a daemon can tell them: a module that refuses --append (the
// range ignored), a connection cut mid-file (short body), a request
// rewritten on its way so the daemon sends from another offset, a daemon
// whose connections are all taken, a file that is not there, and the file
// replaced after the first answer.
type harness struct {
	d   *rsynctest.Daemon
	dl  *dial.Dialer
	src *rsyncsrc.Source
	// after runs once, after the first Get returns (Changed).
	mu    sync.Mutex
	after func()
}

func (h *harness) Source() fetch.Source { return h }

// Conn implements fetch.Source around the rsync source, so that a
// Changed file changes after the first answer.
func (h *harness) Conn(w int) fetch.Conn { return &hconn{Conn: h.src.Conn(w), h: h} }

type hconn struct {
	fetch.Conn
	h *harness
}

func (c *hconn) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	s, err := c.Conn.Get(ctx, r)
	c.h.mu.Lock()
	after := c.h.after
	c.h.after = nil
	c.h.mu.Unlock()
	if after != nil {
		after()
	}
	return s, err
}

func (h *harness) url(addr, module, name string) string {
	u := url.URL{Scheme: "rsync", Host: addr, Path: "/" + module + "/" + name}
	return u.String()
}

func (h *harness) Serve(t *testing.T, name string, data []byte, lie sourcetest.Lie) (string, bool) {
	switch lie {
	case sourcetest.Honest:
		h.d.WriteFile(t, name, data)
		return h.url(h.d.Addr, rsynctest.Plain, name), true
	case sourcetest.IgnoreRange:
		h.d.WriteFile(t, name, data)
		return h.url(h.d.Addr, rsynctest.NoAppend, name), true
	case sourcetest.Missing:
		return h.url(h.d.Addr, rsynctest.Plain, "no/"+name), true
	case sourcetest.Unavailable:
		f := rsynctest.StartFake(t, func(c net.Conn) {
			io.WriteString(c, "@RSYNCD: 31.0\n@ERROR: max connections (2) reached -- try again later\n")
			io.Copy(io.Discard, c)
		})
		return h.url(f.Addr, rsynctest.Plain, name), true
	case sourcetest.ShortBody:
		h.d.WriteFile(t, name, data)
		// The connection dies 100 kB into the file.
		p := startLiar(t, h.d.Addr, func(fromDaemon int64) bool { return fromDaemon > 100_000 }, nil)
		return h.url(p, rsynctest.Plain, name), true
	case sourcetest.WrongOffset:
		h.d.WriteFile(t, name, data)
		// The suite asks from 1000: the request's sum header (one
		// 128 KiB block, remainder 1000) reaches the daemon as 2000.
		asked := []byte{1, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0xe8, 3, 0, 0}
		told := []byte{1, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0xd0, 7, 0, 0}
		p := startLiar(t, h.d.Addr, nil, func(b []byte) []byte { return bytes.ReplaceAll(b, asked, told) })
		return h.url(p, rsynctest.Plain, name), true
	case sourcetest.Changed:
		h.d.WriteFile(t, name, data)
		h.mu.Lock()
		h.after = func() {
			v2 := bytes.Clone(data)
			v2[0] ^= 0xff
			h.d.WriteFile(t, name, append(v2, 'x'))
		}
		h.mu.Unlock()
		return h.url(h.d.Addr, rsynctest.Plain, name), true
	}
	return "", false
}

// startLiar is a TCP proxy in front of the daemon: cut says when to drop
// the connection (by bytes from the daemon so far), rewrite changes what
// the client sends.
func startLiar(t *testing.T, daemon string, cut func(int64) bool, rewrite func([]byte) []byte) string {
	f := rsynctest.StartFake(t, func(c net.Conn) {
		up, err := net.Dial("tcp", daemon)
		if err != nil {
			return
		}
		defer up.Close()
		go func() {
			b := make([]byte, 64<<10)
			for {
				n, err := c.Read(b)
				if n > 0 {
					p := b[:n]
					if rewrite != nil {
						p = rewrite(p)
					}
					if _, err := up.Write(p); err != nil {
						return
					}
				}
				if err != nil {
					up.(*net.TCPConn).CloseWrite()
					return
				}
			}
		}()
		b := make([]byte, 4<<10)
		var total int64
		for {
			n, err := up.Read(b)
			if n > 0 {
				total += int64(n)
				if cut != nil && cut(total) {
					return
				}
				if _, err := c.Write(b[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	return f.Addr
}

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		dl, err := dial.New("")
		if err != nil {
			t.Fatal(err)
		}
		return &harness{d: rsynctest.Start(t), dl: dl, src: &rsyncsrc.Source{Dialer: dl, BusyWait: 300 * time.Millisecond}}
	})
}
