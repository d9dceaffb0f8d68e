package rsyncsrc_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/span"
)

// A daemon that opened the module (said OK, read the arguments) and then
// fails in the file list is not the "refused before the OK, the reset lost
// its words" case EarlyArgs retries for: the session is not started a
// second time (a file list of 256 MiB through Tor would come twice; a
// hostile daemon would double every failure). (Found by a review.)
func TestNoSecondStartAfterOK(t *testing.T) {
	var conns atomic.Int32
	f := rsynctest.StartFake(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		io.WriteString(c, "@RSYNCD: 31.0\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for range 2 { // greeting, module
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
		io.WriteString(c, "@RSYNCD: OK\n")
		var args []byte
		for !bytes.HasSuffix(args, []byte{0, 0}) {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			args = append(args, b)
		}
		io.WriteString(c, "\x08")            // compat flags
		c.Write([]byte{1, 2, 3, 4})          // seed
		c.Write([]byte{5, 0, 0, 0xff, 1, 2}) // garbage where the file list goes
		time.Sleep(100 * time.Millisecond)
	})
	dl, err := dial.New("")
	if err != nil {
		t.Fatal(err)
	}
	src := &rsyncsrc.Source{Dialer: dl}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = src.Conn(0).Get(ctx, fetch.Request{URL: "rsync://" + f.Addr + "/m/f", Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err == nil {
		t.Fatal("a stream from garbage")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d sessions started for one Get whose daemon said OK and then sent garbage (%v); want 1", n, err)
	}
}

// resetOnEarly relays to the daemon at addr, and resets (RST, no words) a
// client that sends anything past its module line before the daemon's OK
// came through: a daemon, or a box before it, that cannot take early
// arguments. It counts the connections and the resets.
func resetOnEarly(t *testing.T, addr string) (string, *atomic.Int32, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns, resets atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				d, err := net.Dial("tcp", addr)
				if err != nil {
					c.Close()
					return
				}
				var ok atomic.Bool
				go func() { // daemon -> client, watching for the OK
					var seen []byte
					buf := make([]byte, 32<<10)
					for {
						n, err := d.Read(buf)
						if n > 0 {
							if !ok.Load() {
								seen = append(seen, buf[:n]...)
								if bytes.Contains(seen, []byte("@RSYNCD: OK\n")) {
									ok.Store(true)
								}
							}
							c.Write(buf[:n])
						}
						if err != nil {
							c.Close()
							return
						}
					}
				}()
				lines := 0
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					for _, b := range buf[:n] {
						if lines >= 2 && !ok.Load() {
							resets.Add(1)
							c.(*net.TCPConn).SetLinger(0)
							c.Close()
							d.Close()
							return
						}
						if b == '\n' && lines < 2 {
							lines++
						}
					}
					if n > 0 {
						d.Write(buf[:n])
					}
					if err != nil {
						d.Close()
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), &conns, &resets
}

// A module whose early start failed without the daemon's words is started
// again waiting for the OK, and its next sessions wait too, for the rest
// of the run: against a daemon that cannot take early arguments, a session
// is one connection, not two and a reset. (Found by a review: the slow
// start's success had set the module back to early.)
func TestEarlyFallbackSticks(t *testing.T) {
	d, _ := setup(t)
	addr, conns, resets := resetOnEarly(t, d.Addr)
	dl, err := dial.New("")
	if err != nil {
		t.Fatal(err)
	}
	src := &rsyncsrc.Source{Dialer: dl}
	u := "rsync://" + addr + "/" + rsynctest.Plain + "/dump/deep/x/y/z.txt"
	for i := range 4 {
		_, b, err := get(t, src.Conn(0), u, span.Range{Start: 0, End: -1})
		if err != nil || string(b) != "deep\n" {
			t.Fatalf("get %d: %q, %v", i, b, err)
		}
	}
	if r := resets.Load(); r > 1 {
		t.Errorf("4 gets: %d connections, %d reset for their early arguments; want 1 reset", conns.Load(), r)
	}
}

// A daemon that reads its module line with a buffer of its own per phase
// (the arguments sent early are in it, and dropped) answers OK and waits
// for arguments that never come, while the client waits for its setup:
// the first session is cut by its stall watch, and the module's next ones
// wait for the OK and send their arguments after it. (Found by a review:
// every session hung until its stall limit, for ever.)
func TestEarlyArgsLostFallsBack(t *testing.T) {
	var argsAfterOK atomic.Int32
	f := rsynctest.StartFake(t, func(c net.Conn) {
		io.WriteString(c, "@RSYNCD: 31.0\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for range 2 { // greeting, module
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
		br = bufio.NewReader(c) // what came with the module line is dropped
		io.WriteString(c, "@RSYNCD: OK\n")
		var args []byte
		for !bytes.HasSuffix(args, []byte{0, 0}) {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			args = append(args, b)
		}
		argsAfterOK.Add(1)
	})
	dl, err := dial.New("")
	if err != nil {
		t.Fatal(err)
	}
	src := &rsyncsrc.Source{Dialer: dl}
	for range 2 { // two requests, each cut by its stall watch after 2 s
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		src.Conn(0).Get(ctx, fetch.Request{URL: "rsync://" + f.Addr + "/m/f", Range: span.Range{Start: 0, End: -1}, Size: -1})
		cancel()
	}
	if argsAfterOK.Load() == 0 {
		t.Error("two sessions hung with their early arguments lost; none was made again waiting for the OK")
	}
}
