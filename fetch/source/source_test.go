package source

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/httpsrc"
)

func TestRegistry(t *testing.T) {
	if s, ok := Lookup("HTTPS"); !ok || s.Port != 443 {
		t.Fatalf("Lookup(HTTPS) = %+v, %v", s, ok)
	}
	if DefaultPort("http") != 80 || DefaultPort("gopher") != 0 {
		t.Fatalf("default ports %d %d", DefaultPort("http"), DefaultPort("gopher"))
	}
	if got := Names(); got != "http://, https:// or rsync://" {
		t.Fatalf("Names() = %q", got)
	}
	for raw, ok := range map[string]bool{"http://h/x": true, "HTTPS://h/": true, "ftp://h/x": false, "http:///x": false} {
		u, _ := url.Parse(raw)
		if err := Check(u); (err == nil) != ok || (err != nil && !errors.Is(err, ErrScheme)) {
			t.Errorf("Check(%s) = %v", raw, err)
		}
	}
	src, err := New([]string{"http", "https"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*httpsrc.Source); !ok {
		t.Fatalf("http and https share one HTTP source, got %T", src)
	}
	if _, err := New([]string{"ftp"}, Options{}); !errors.Is(err, ErrScheme) {
		t.Fatalf("New(ftp): %v", err)
	}
}

// fakeConn records what reached it.
type fakeConn struct {
	name            string
	gets, lists     []string
	renewed, closed int
}

func (c *fakeConn) Get(_ context.Context, r fetch.Request) (*fetch.Stream, error) {
	c.gets = append(c.gets, r.URL)
	return &fetch.Stream{}, nil
}
func (c *fakeConn) List(_ context.Context, u string, _ int64, _ func(int)) (*fetch.Listing, error) {
	c.lists = append(c.lists, u)
	return &fetch.Listing{URL: u}, nil
}
func (c *fakeConn) Renew()       { c.renewed++ }
func (c *fakeConn) Close() error { c.closed++; return nil }

type fakeSource struct{ conns []*fakeConn }

func (s *fakeSource) Conn(int) fetch.Conn {
	c := &fakeConn{}
	s.conns = append(s.conns, c)
	return c
}

// A job with URLs of two kinds: each request reaches its kind's Conn of
// the same worker, made on first use; renewals and closes reach them all.
func TestMuxDispatch(t *testing.T) {
	a, b := &fakeSource{}, &fakeSource{}
	m := &mux{by: map[string]fetch.Source{"http": a, "rsync": b}}
	c := m.Conn(3)
	ctx := t.Context()
	for _, u := range []string{"http://h/x", "rsync://h/m/y", "HTTP://h/z"} {
		if _, err := c.Get(ctx, fetch.Request{URL: u}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.(fetch.Lister).List(ctx, "rsync://h/m/", 1, nil); err != nil {
		t.Fatal(err)
	}
	c.(fetch.Renewer).Renew()
	c.Close()
	if len(a.conns) != 1 || len(b.conns) != 1 {
		t.Fatalf("conns made: %d http, %d rsync; want one each", len(a.conns), len(b.conns))
	}
	ha, rb := a.conns[0], b.conns[0]
	if len(ha.gets) != 2 || len(rb.gets) != 1 || len(rb.lists) != 1 || len(ha.lists) != 0 {
		t.Fatalf("http got %v %v, rsync got %v %v", ha.gets, ha.lists, rb.gets, rb.lists)
	}
	if ha.renewed != 1 || rb.renewed != 1 || ha.closed != 1 || rb.closed != 1 {
		t.Fatalf("renewed %d %d, closed %d %d", ha.renewed, rb.renewed, ha.closed, rb.closed)
	}
	var perm *fetch.PermanentError
	if _, err := c.Get(ctx, fetch.Request{URL: "ftp://h/x"}); !errors.As(err, &perm) || !errors.Is(err, ErrScheme) {
		t.Fatalf("ftp: %v", err)
	}
}
