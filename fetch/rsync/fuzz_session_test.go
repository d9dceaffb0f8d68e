package rsync

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"testing"
)

type scripted struct {
	io.Reader
	io.Writer
}

// serverStream is what a protocol-31 daemon sends for a one-file module:
// greeting, OK, compat flags with varint lists, its checksum list, the
// seed, then multiplexed: the list, the reply for the file, the end.
func serverStream(data []byte) []byte {
	var b []byte
	b = append(b, "@RSYNCD: 31.0 md5\n@RSYNCD: OK\n"...)
	b = encVarint(b, 0x80|1<<3) // varint flags, safe file list
	b = appendVstring(b, "md5 md4")
	b = encInt(b, 777)
	lf := listFormat{proto: 31, varintFlags: true}
	b = append(b, frame(tagData, encList(lf, []testEntry{{name: "f", mode: modeReg, size: int64(len(data)), mtime: testTime}}, 0))...)
	var r []byte
	r = append(r, 1, 0x00, 0xA0)
	r = append(r, make([]byte, 16)...)
	r = encInt(r, int32(len(data)))
	r = append(r, data...)
	r = encInt(r, 0)
	sum := md5.Sum(data)
	r = append(r, sum[:]...)
	b = append(b, frame(tagData, r)...)
	var end []byte
	end = append(end, 0, 0, 0) // three DONEs
	for range 5 {
		end = encVarlong(end, 10, 3)
	}
	end = append(end, 0) // goodbye
	b = append(b, frame(tagInfo, []byte("msg\n"))...)
	b = append(b, frame(tagData, end)...)
	return b
}

// FuzzSession runs a whole session against whatever a daemon sends: it
// must end with data or an error, never a panic or a hang.
func FuzzSession(f *testing.F) {
	good := serverStream([]byte("hello world"))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, in []byte) {
		conn := scripted{Reader: bytes.NewReader(in), Writer: io.Discard}
		s, err := Start(context.Background(), conn, "m", "f", Options{MaxFiles: 1000, MaxNameBytes: 1 << 20})
		if err != nil {
			return
		}
		defer s.Close()
		for _, f := range s.Files() {
			if f.Type() == Regular {
				s.Request(Request{File: f})
			}
		}
		for s.Pending() > 0 {
			r, err := s.Next()
			if err != nil {
				if errors.Is(err, ErrVanished) {
					continue
				}
				return
			}
			if _, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20)); err != nil {
				return
			}
		}
		s.Finish()
	})
}

// TestScriptedSession checks the scripted stream is a valid session, so
// the fuzz seed reaches the end phases.
func TestScriptedSession(t *testing.T) {
	conn := scripted{Reader: bytes.NewReader(serverStream([]byte("hello world"))), Writer: io.Discard}
	s, err := Start(context.Background(), conn, "m", "f", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Request(Request{File: s.Files()[0]}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "hello world" || !r.Verified() || s.Checksum() != MD5 || s.Seed() != 777 {
		t.Fatalf("%q, %v, verified %v, %s, seed %d", b, err, r.Verified(), s.Checksum(), s.Seed())
	}
	st, err := s.Finish()
	if err != nil || st.Read != 10 || st.FlistXfer != 10 {
		t.Fatalf("Finish: %+v, %v", st, err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].Text != "msg" {
		t.Errorf("messages %v", m)
	}
}
