package httpsrc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/span"
	"github.com/grab-ir/grab/store"
)

// answer is what a server could say, as net/http's client would hand it
// over.
func answer(status int, contentLength, contentRange string) *http.Response {
	h := http.Header{}
	if contentRange != "" {
		h.Set("Content-Range", contentRange)
	}
	cl := int64(-1)
	if n, err := strconv.ParseInt(contentLength, 10, 64); err == nil && n >= 0 {
		cl = n // net/http's own rule: a bad Content-Length is an error, none is -1
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " X", Header: h, ContentLength: cl,
		Body: io.NopCloser(strings.NewReader("abcdefgh"))}
}

// Numbers no file has are refused at the boundary with their cause.
func TestAbsurdSizesRefused(t *testing.T) {
	c := &Conn{}
	for _, a := range []struct {
		status int
		cl, cr string
		ranged bool
	}{
		{206, "1", "bytes 0-0/9223372036854775807", true},
		{200, "4611686018427387904", "", false},
		{416, "", "bytes */9223372036854775807", true},
	} {
		_, err := c.check(fetch.Request{URL: "http://h/x", Range: span.Range{Start: 0, End: 1 << 20}, Size: -1}, a.ranged, answer(a.status, a.cl, a.cr))
		var perm *fetch.PermanentError
		if !errors.As(err, &perm) || !errors.Is(err, fetch.ErrTooLarge) || !strings.HasPrefix(err.Error(), "file too large: http://h/x announces ") {
			t.Errorf("%d %s %s: %v", a.status, a.cl, a.cr, err)
		}
	}
}

// fixed is a Source that gives every request the same checked answer.
type fixed struct{ s *fetch.Stream }

func (f fixed) Conn(int) fetch.Conn { return f }
func (f fixed) Close() error        { return nil }
func (f fixed) Get(context.Context, fetch.Request) (*fetch.Stream, error) {
	s := *f.s
	s.Body = io.NopCloser(strings.NewReader("abcdefgh"))
	return &s, nil
}

// From a server's numbers to the engine's allocations: whatever
// Content-Length, Content-Range and listing size arrive, httpsrc's check
// and the engine's sizing neither panic nor allocate by them.
func FuzzAnswerSizes(f *testing.F) {
	f.Add(206, "1", "bytes 0-0/9223372036854775807", int64(-1))
	f.Add(200, "4611686018427387904", "", int64(17592186044416))
	f.Add(416, "", "bytes */9223372036854775806", int64(9223372036854775807))
	f.Add(206, "8", "bytes 0-7/8", int64(8))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, status int, cl, cr string, listed int64) {
		c := &Conn{}
		req := fetch.Request{URL: "http://h/x", Range: span.Range{Start: 0, End: 1 << 20}, Size: -1}
		s, err := c.check(req, true, answer(status, cl, cr))
		if err != nil {
			return
		}
		if s.Size > fetch.MaxFileSize || s.Len > fetch.MaxFileSize || s.Offset+max(s.Len, 0) > fetch.MaxFileSize {
			t.Fatalf("%d %q %q passed with %+v", status, cl, cr, s)
		}
		sub, err := os.MkdirTemp(dir, "job")
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(sub)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		e, err := fetch.New(fetch.Config{Dir: sub, Journal: st, Source: fixed{s}, Workers: 1, Streams: 1, Retries: 1,
			Backoff: fetch.Backoff{Base: 1, Max: 1}, MaxBody: 1 << 30, FreeSpace: func(string) (int64, bool) { return 1 << 40, true }})
		if err != nil {
			t.Fatal(err)
		}
		e.Add([]fetch.File{{URL: req.URL, Path: "x", Size: listed}})
		e.Run(t.Context())
	})
}
