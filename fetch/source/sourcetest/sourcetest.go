// Package sourcetest is the conformance suite every fetch.Source passes:
// honest answers come back exactly as asked, and each way a server lies
// (a range from another offset, a body cut short, a range ignored, a
// transient failure, a missing file, a file changed between requests)
// turns into the answer or the error class the engine's policy expects.
// A source's own test supplies a Harness: its Source and a server it can
// make lie.
package sourcetest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/span"
)

// Lie is a way a server misbehaves for one file.
type Lie int

// The lies; Honest is none.
const (
	Honest      Lie = iota
	WrongOffset     // answers a range with bytes from another offset
	ShortBody       // ends every answer before the bytes it announced
	IgnoreRange     // answers a range with the whole file
	Unavailable     // fails as a server that is busy or broken (HTTP 5xx)
	Missing         // has no such file (HTTP 404)
	Changed         // replaces the file with another version after the first answer
)

var lieNames = map[Lie]string{Honest: "honest", WrongOffset: "wrong-offset", ShortBody: "short-body",
	IgnoreRange: "ignore-range", Unavailable: "unavailable", Missing: "missing", Changed: "changed"}

func (l Lie) String() string { return lieNames[l] }

// Harness is a source under test and a server it controls.
type Harness interface {
	// Source is the source under test.
	Source() fetch.Source
	// Serve publishes data under name on a server that lies for it as
	// told, and returns its URL; ok is false when the server cannot lie
	// that way (that case is skipped, and says so).
	Serve(t *testing.T, name string, data []byte, lie Lie) (url string, ok bool)
}

// data is a file's content: bytes that differ at every offset, so that a
// range from the wrong place cannot pass for the right one.
func data(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// Run runs the suite against the harness newHarness makes.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	const size = 300_000
	file := data(size)
	serve := func(t *testing.T, h Harness, lie Lie) string {
		t.Helper()
		u, ok := h.Serve(t, "f.bin", file, lie)
		if !ok {
			t.Skipf("this source's test server cannot lie as %s", lie)
		}
		return u
	}
	get := func(t *testing.T, h Harness, r fetch.Request) (*fetch.Stream, error) {
		t.Helper()
		conn := h.Source().Conn(0)
		t.Cleanup(func() { conn.Close() })
		return conn.Get(t.Context(), r)
	}
	// read reads a stream's body; it never may bring more than Len.
	read := func(t *testing.T, s *fetch.Stream) ([]byte, error) {
		t.Helper()
		defer s.Body.Close()
		limit := int64(size + 1)
		if s.Len >= 0 {
			limit = s.Len + 1
		}
		b, err := io.ReadAll(io.LimitReader(s.Body, limit))
		if s.Len >= 0 && int64(len(b)) > s.Len {
			t.Fatalf("stream announced %d bytes and brought more", s.Len)
		}
		return b, err
	}

	t.Run("honest-range", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, Honest)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 1000, End: 51000}, Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if s.Whole || s.Offset != 1000 || s.Len <= 0 || s.Len > 50000 || s.Size != size || s.Validator == "" {
			t.Fatalf("stream at %d, %d bytes, size %d, validator %q, whole %v; want 1000, 1 to 50000, %d, a validator, not whole",
				s.Offset, s.Len, s.Size, s.Validator, s.Whole, size)
		}
		b, err := read(t, s)
		if err != nil || int64(len(b)) != s.Len || !bytes.Equal(b, file[1000:1000+s.Len]) {
			t.Fatalf("read %d of %d bytes (identical: %v): %v", len(b), s.Len, bytes.Equal(b, file[1000:1000+len(b)]), err)
		}
		// Asking again with what was learnt is still the same version.
		s, err = get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 250000, End: -1}, Size: size, Validator: s.Validator})
		if err != nil {
			t.Fatal(err)
		}
		b, err = read(t, s)
		if err != nil || s.Offset != 250000 || !bytes.Equal(b, file[250000:250000+len(b)]) || len(b) == 0 {
			t.Fatalf("tail: at %d, %d bytes (identical: %v): %v", s.Offset, len(b), bytes.Equal(b, file[250000:250000+len(b)]), err)
		}
	})
	t.Run("honest-whole", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, Honest)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 0, End: -1}, Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := read(t, s)
		if err != nil || s.Offset != 0 || !bytes.Equal(b, file) {
			t.Fatalf("at %d, %d bytes (identical: %v): %v", s.Offset, len(b), bytes.Equal(b, file), err)
		}
	})
	t.Run("wrong-offset", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, WrongOffset)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 1000, End: 51000}, Size: -1})
		if err == nil {
			s.Body.Close()
			t.Fatalf("accepted a stream at %d for a range asked at 1000", s.Offset)
		}
		var te *fetch.TransientError
		if !errors.Is(err, fetch.ErrBadRange) || !errors.As(err, &te) {
			t.Fatalf("got %v (%T), want a transient %v", err, err, fetch.ErrBadRange)
		}
	})
	t.Run("short-body", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, ShortBody)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 0, End: 200000}, Size: -1})
		if err != nil {
			return // refused before any byte: as good
		}
		b, err := read(t, s)
		if s.Len >= 0 && int64(len(b)) >= s.Len {
			t.Fatalf("read all %d announced bytes from a server that cuts its answers", s.Len)
		}
		if err == nil && s.Len >= 0 {
			t.Fatalf("a body %d bytes short of %d ended without an error", s.Len-int64(len(b)), s.Len)
		}
		if !bytes.Equal(b, file[:len(b)]) {
			t.Fatal("the bytes before the cut differ from the file")
		}
	})
	t.Run("ignore-range", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, IgnoreRange)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 1000, End: 51000}, Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := read(t, s)
		if !s.Whole || s.Offset != 0 || err != nil || !bytes.Equal(b, file) {
			t.Fatalf("whole %v at %d, %d bytes (identical: %v): %v; want the whole file marked Whole",
				s.Whole, s.Offset, len(b), bytes.Equal(b, file), err)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, Unavailable)
		_, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 0, End: 1000}, Size: -1})
		var te *fetch.TransientError
		if !errors.As(err, &te) {
			t.Fatalf("got %v (%T), want a *fetch.TransientError", err, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, Missing)
		_, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 0, End: 1000}, Size: -1})
		var pe *fetch.PermanentError
		if !errors.As(err, &pe) {
			t.Fatalf("got %v (%T), want a *fetch.PermanentError", err, err)
		}
	})
	t.Run("changed", func(t *testing.T) {
		h := newHarness(t)
		u := serve(t, h, Changed)
		s, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 0, End: 1000}, Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		read(t, s)
		s2, err := get(t, h, fetch.Request{URL: u, Range: span.Range{Start: 1000, End: 2000}, Size: s.Size, Validator: s.Validator})
		var ce *fetch.ChangedError
		switch {
		case errors.As(err, &ce):
			if ce.Validator == s.Validator && ce.Size == s.Size {
				t.Fatalf("changed, yet the same size %d and validator %q", ce.Size, ce.Validator)
			}
		case err == nil && s2.Whole && s2.Validator != s.Validator:
			s2.Body.Close() // the new version, whole: also a restart
		case err == nil:
			s2.Body.Close()
			t.Fatalf("a range of the new version passed for the old one (validator %q, was %q)", s2.Validator, s.Validator)
		default:
			t.Fatalf("got %v (%T), want a *fetch.ChangedError", err, err)
		}
	})
}
