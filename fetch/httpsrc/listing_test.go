package httpsrc_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
)

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// A listing gzipped although grab asked for no encoding is decoded, within
// the listing limit (a decompression bomb hits it); an encoding grab cannot
// read is refused by name, not read as a page without links.
func TestListingEncodings(t *testing.T) {
	page := []byte(`<html><body><a href="a.jpg">a.jpg</a> <a href="b.pdf">b.pdf</a></body></html>`)
	bomb := gzipped(bytes.Repeat([]byte(" "), 8<<20))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "" {
			t.Errorf("asked for %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/gz/":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipped(page))
		case "/bomb/":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		case "/br/":
			w.Header().Set("Content-Encoding", "br")
			w.Write([]byte{0x1b, 0x2, 0x3})
		}
	}))
	defer srv.Close()
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0).(*httpsrc.Conn)
	defer c.Close()
	l, err := c.List(t.Context(), srv.URL+"/gz/", 1<<20, nil)
	if err != nil || len(l.Entries) != 2 {
		t.Fatalf("gzipped listing: %v, %+v", err, l)
	}
	var perm *fetch.PermanentError
	_, err = c.List(t.Context(), srv.URL+"/bomb/", 1<<20, nil)
	if !errors.As(err, &perm) || err.Error() != "listing "+srv.URL+"/bomb/ is larger than 1048576 bytes" {
		t.Fatalf("bomb: %v", err)
	}
	_, err = c.List(t.Context(), srv.URL+"/br/", 1<<20, nil)
	if !errors.As(err, &perm) || !strings.HasSuffix(err.Error(), `/br/ comes with Content-Encoding "br", which grab cannot read`) {
		t.Fatalf("br: %v", err)
	}
}

// The listing limit bounds a listing's bytes exactly: a page of max
// bytes is read, one byte more fails the listing for good, with the
// message docs/usage.md gives.
func TestListingLimit(t *testing.T) {
	const max = 4096
	page := func(n int) []byte {
		b := []byte(`<html><body><pre><a href="a.jpg">a.jpg</a>`)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/at/":
			w.Write(page(max))
		case "/over/":
			w.Write(page(max + 1))
		}
	}))
	defer srv.Close()
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0).(*httpsrc.Conn)
	defer c.Close()
	l, err := c.List(t.Context(), srv.URL+"/at/", max, nil)
	if err != nil || len(l.Entries) != 1 {
		t.Fatalf("a listing of the limit: %v, %+v", err, l)
	}
	var perm *fetch.PermanentError
	_, err = c.List(t.Context(), srv.URL+"/over/", max, nil)
	if !errors.As(err, &perm) || err.Error() != "listing "+srv.URL+"/over/ is larger than 4096 bytes" {
		t.Fatalf("a listing one byte over the limit: %v", err)
	}
}
