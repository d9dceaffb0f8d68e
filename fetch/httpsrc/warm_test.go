package httpsrc_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/span"
)

// A circuit warmed before its first request hands that connection to it:
// the server sees one connection, opened before the request.
func TestWarmConnectionIsUsed(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	d, _ := dial.New("")
	c := (&httpsrc.Source{Dialer: d}).Conn(0)
	defer c.Close()
	if err := c.(fetch.Warmer).Warm(t.Context(), srv.URL+"/x"); err != nil {
		t.Fatal(err)
	}
	for conns.Load() == 0 { // the server notes the connection asynchronously
	}
	s, err := c.Get(t.Context(), fetch.Request{URL: srv.URL + "/x", Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want the warm one only", n)
	}
}
