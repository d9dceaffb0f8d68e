package rsync

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
)

// hostile runs a fake protocol-31 daemon: a normal handshake (no varint
// flags, md5), then after the filter list it sends list, and after the
// first request reply. It returns the client's session (or Start's error).
func hostile(t *testing.T, greeting string, list []byte, reply []byte) (*Session, error) {
	t.Helper()
	f := rsynctest.StartFake(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		c.Write([]byte(greeting))
		if _, err := br.ReadString('\n'); err != nil { // client greeting
			return
		}
		if _, err := br.ReadString('\n'); err != nil { // module
			return
		}
		c.Write([]byte("@RSYNCD: OK\n"))
		for { // arguments up to the empty one
			a, err := br.ReadString(0)
			if err != nil || a == "\x00" {
				break
			}
		}
		var setup []byte
		setup = encVarint(setup, 0) // compat flags: byte flags, no negotiation
		setup = encInt(setup, 12345)
		c.Write(setup)
		io.ReadFull(br, make([]byte, 8)) // filter list frame
		c.Write(list)
		if reply != nil {
			io.ReadFull(br, make([]byte, 4+1+2+16)) // one request
			c.Write(reply)
		}
		c.(*net.TCPConn).CloseWrite() // then the stream ends: truncation shows
		io.Copy(io.Discard, br)
	})
	conn, err := net.Dial("tcp", f.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return Start(ctx, conn, "m", "/", Options{})
}

const greet31 = "@RSYNCD: 31.0\n"

func oneFileList(size int64) []byte {
	lf := listFormat{proto: 31, safeFlist: true}
	return frame(tagData, encList(lf, []testEntry{{name: "f", mode: modeReg, size: size, mtime: testTime}}, 0))
}

func TestHostileGreeting(t *testing.T) {
	for greeting, want := range map[string]error{
		"HTTP/1.1 400 Bad Request\n":            ErrNotRsync,
		"@RSYNCD: x\n":                          ErrNotRsync,
		"@RSYNCD: 20.0\n":                       ErrVersion,
		"@ERROR: max connections (1) reached\n": ErrTryAgain,
		"@RSYNCD: 31.0 " + string(bytes.Repeat([]byte("a"), 20000)) + "\n": ErrLimit,
	} {
		if _, err := hostile(t, greeting, nil, nil); !errors.Is(err, want) {
			t.Errorf("greeting %.30q: %v, want %v", greeting, err, want)
		}
	}
}

func TestHostileList(t *testing.T) {
	lf := listFormat{proto: 31, safeFlist: true}
	full := encList(lf, []testEntry{{name: "a", mode: modeReg, size: 5}, {name: "b", mode: modeReg}}, 0)
	cases := map[string]struct {
		list []byte
		want error
	}{
		"truncated":       {frame(tagData, full[:len(full)-2]), ErrTruncated},
		"garbage frame":   {[]byte{1, 2, 3, 0xFF, 9, 9}, ErrProtocol},
		"huge message":    {binaryHeader(tagInfo, 1<<23), ErrLimit},
		"negative size":   {frame(tagData, []byte{xmitTopDir, 1, 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), ErrProtocol},
		"error then exit": {frame(tagError, []byte("rsync: something broke\n")), ErrRemote},
		"empty":           {frame(tagData, []byte{0}), ErrNotFound},
	}
	for name, c := range cases {
		if _, err := hostile(t, greet31, c.list, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestHostileReply(t *testing.T) {
	echo := func(tokens ...[]byte) []byte {
		b := []byte{1}                     // ndx 0 as a delta from -1
		b = append(b, 0x00, 0xA0)          // iflags
		b = append(b, make([]byte, 16)...) // empty sum header
		for _, t := range tokens {
			b = append(b, t...)
		}
		return frame(tagData, b)
	}
	cases := map[string]struct {
		reply []byte
		want  error
	}{
		"huge literal":   {echo(encInt(nil, 1<<20)), ErrLimit},
		"block copy":     {echo(encInt(nil, -1)), ErrProtocol},
		"bad checksum":   {echo(encInt(nil, 2), []byte("hi"), encInt(nil, 0), make([]byte, 16)), ErrChecksum},
		"cut in data":    {echo(encInt(nil, 100), []byte("short")), ErrTruncated},
		"unasked index":  {frame(tagData, []byte{5}), ErrProtocol},
		"bad sum header": {frame(tagData, append([]byte{1, 0, 0xA0}, append(encInt(nil, -5), make([]byte, 12)...)...)), ErrProtocol},
	}
	for name, c := range cases {
		s, err := hostile(t, greet31, oneFileList(100), c.reply)
		if err != nil {
			t.Fatalf("%s: Start: %v", name, err)
		}
		defer s.Close()
		if err := s.Request(Request{File: s.Files()[0]}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Next()
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
