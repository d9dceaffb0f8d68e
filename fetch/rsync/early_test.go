package rsync_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/rsync"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
)

// What a scripted daemon received before it answered: the arguments
// before its OK, the request before its seed.
type arrivals struct{ argsBeforeOK, requestBeforeSeed bool }

// earlyDaemon speaks protocol 31 without negotiation and records what
// came before each of its answers; it waits at most a second for each.
func earlyDaemon(t *testing.T) (*rsynctest.Fake, chan arrivals) {
	got := make(chan arrivals, 1)
	f := rsynctest.StartFake(t, func(c net.Conn) {
		var a arrivals
		defer func() { got <- a }()
		br := bufio.NewReader(c)
		io.WriteString(c, "@RSYNCD: 31.0\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for range 2 { // the client's greeting, the module
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		var args []byte
		for !bytes.HasSuffix(args, []byte{0, 0}) {
			b, err := br.ReadByte()
			if err != nil {
				break
			}
			args = append(args, b)
		}
		a.argsBeforeOK = bytes.HasSuffix(args, []byte{0, 0})
		io.WriteString(c, "@RSYNCD: OK\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for !bytes.HasSuffix(args, []byte{0, 0}) {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			args = append(args, b)
		}
		io.WriteString(c, "\x08") // compat flags: a safe file list, no varint flags
		// Multiplexed: the filter list (an int32), then a request: ndx,
		// iflags, a sum header, and the end of requests.
		c.SetReadDeadline(time.Now().Add(time.Second))
		var payload int
		for payload < 4+1+2+16+1 {
			var h [4]byte
			if _, err := io.ReadFull(br, h[:]); err != nil {
				return
			}
			n := int(binary.LittleEndian.Uint32(h[:]) & 0xffffff)
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
			payload += n
		}
		a.requestBeforeSeed = true
	})
	return f, got
}

// A session with EarlyArgs sends its arguments with the module name, not
// after the daemon's OK; with Want, its request goes with the filter
// list, before the daemon's seed and file list: two round trips fewer
// before data.
func TestEarlyStart(t *testing.T) {
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprint(early), func(t *testing.T) {
			f, got := earlyDaemon(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			opt := rsync.Options{Protocol: 31, Append: 1}
			if early {
				opt.EarlyArgs, opt.Want = true, &rsync.Want{Offset: 1000}
			}
			if s, err := rsync.Start(ctx, dialFake(t, f), "m", "f", opt); err == nil {
				s.Close()
				t.Fatal("a session with a daemon that sent no file list")
			}
			a := <-got
			if a.argsBeforeOK != early || a.requestBeforeSeed != early {
				t.Errorf("early %v: arguments before the OK %v, request before the seed %v", early, a.argsBeforeOK, a.requestBeforeSeed)
			}
		})
	}
}

// A request sent ahead comes back as the file's reply from its offset,
// for every protocol, from the real daemon.
func TestEarlyWant(t *testing.T) {
	d := startTree(t)
	name, want := "big.bin", tree["big.bin"]
	const from = 1 << 20
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := rsync.Start(ctx, d.Dial(t), rsynctest.Plain, name,
				rsync.Options{Protocol: p, Append: 1, EarlyArgs: true, Want: &rsync.Want{Offset: from}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[from:]) {
				t.Fatalf("%d bytes from %d differ from the file's", len(got), from)
			}
		})
	}
}

// A request sent ahead into a path that turned out to be a folder (the
// listing said a file) fails, at the start or at the reply: nothing of
// the folder is delivered as the file.
func TestEarlyWantIntoAFolder(t *testing.T) {
	d := startTree(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := rsync.Start(ctx, d.Dial(t), rsynctest.Plain, "deep/", rsync.Options{Want: &rsync.Want{}})
	if err != nil {
		return // the daemon refused the request for its list's first entry
	}
	defer s.Close()
	if r, err := s.Next(); err == nil {
		t.Fatalf("a reply for %q to a request sent ahead into a folder", r.File.Name)
	}
}
