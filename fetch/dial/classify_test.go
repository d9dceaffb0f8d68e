package dial_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
)

// fakeProxy accepts connections on loopback and hands each to serve.
func fakeProxy(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	return fetchtest.Listen(t, serve)
}

// greet reads a SOCKS5 greeting and answers with method.
func greet(c net.Conn, method byte) bool {
	b := make([]byte, 2)
	if _, err := io.ReadFull(c, b); err != nil {
		return false
	}
	if _, err := io.ReadFull(c, make([]byte, b[1])); err != nil {
		return false
	}
	_, err := c.Write([]byte{5, method})
	return err == nil
}

// Each way a proxy can fail is one cause, and the causes that are this
// side's fault are Local.
func TestProxyFailureCauses(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	hold := make(chan struct{})
	defer close(hold)
	for _, c := range []struct {
		name  string
		proxy string
		want  error
		local bool
		text  string
	}{
		{"nothing listening", dead, dial.ErrNoProxy, true, ""},
		{"hangs up at once", fakeProxy(t, func(net.Conn) {}), dial.ErrProxyHandshake, true, ""},
		{"an HTTP proxy", fakeProxy(t, func(c net.Conn) {
			c.Read(make([]byte, 16))
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}), dial.ErrProxyHandshake, true, ": SOCKS handshake failed: unexpected protocol version 72"},
		{"no acceptable method", fakeProxy(t, func(c net.Conn) { greet(c, 0xff) }), dial.ErrProxyAuth, true, ""},
		{"credentials refused", fakeProxy(t, func(c net.Conn) {
			if greet(c, 2) {
				b := make([]byte, 2)
				io.ReadFull(c, b)
				io.ReadFull(c, make([]byte, b[1]+1))
				c.Write([]byte{1, 1})
			}
		}), dial.ErrProxyAuth, true, " refused the SOCKS credentials: username/password authentication failed"},
		{"TTL expired", fakeProxy(t, func(c net.Conn) {
			if greet(c, 2) {
				c.Read(make([]byte, 512))
				c.Write([]byte{1, 0})
				c.Read(make([]byte, 512))
				c.Write([]byte{5, 6, 0, 1, 0, 0, 0, 0, 0, 0})
			}
		}), dial.ErrCircuitSlow, false, ""},
		{"never answers", fakeProxy(t, func(c net.Conn) { <-hold }), dial.ErrProxyHandshake, true, ": SOCKS handshake failed: no answer to the SOCKS greeting within 100ms"},
		{"an HTTP server waiting for a line", fakeProxy(t, func(c net.Conn) {
			c.Read(make([]byte, 16))
			<-hold
		}), dial.ErrProxyHandshake, true, ": SOCKS handshake failed: no answer to the SOCKS greeting within 100ms"},
		{"greets, never connects", fakeProxy(t, func(c net.Conn) {
			if greet(c, 2) {
				c.Read(make([]byte, 512))
				c.Write([]byte{1, 0})
				<-hold
			}
		}), dial.ErrCircuitSlow, false, ": circuit failed or too slow: read tcp "},
	} {
		d, err := dial.New("socks5h://" + c.proxy)
		if err != nil {
			t.Fatal(err)
		}
		d.SetTimeout(200 * time.Millisecond)
		_, err = d.Dial(t.Context(), dial.NewIdentity(), "tcp", "example.onion:80")
		if !errors.Is(err, c.want) || dial.Local(err) != c.local {
			t.Errorf("%s: %v, want %v (local %v)", c.name, err, c.want, c.local)
		}
		if c.text != "" && (err == nil || !strings.HasPrefix(err.Error(), "proxy "+c.proxy+c.text)) {
			t.Errorf("%s: %q, want %q", c.name, err, "proxy "+c.proxy+c.text)
		}
	}
}

// A proxy that greets and then never connects holds no circuit-building
// slot for ever: every first handshake has the dialer's timeout, so the
// dial after MaxBuilding hung ones still gets its turn, and the caller's
// own cancellation still reads as such.
func TestHungHandshakesTimeOut(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	addr := fakeProxy(t, func(c net.Conn) {
		if greet(c, 2) {
			c.Read(make([]byte, 512))
			c.Write([]byte{1, 0})
			<-hold
		}
	})
	d, _ := dial.New("socks5h://" + addr)
	// Long enough that the stub answers 33 greetings within half of it
	// on a loaded machine under -race (at 100 ms one came late, and read
	// as a failed handshake).
	d.SetTimeout(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	errs := make(chan error, dial.MaxBuilding+1)
	for range dial.MaxBuilding + 1 {
		go func() {
			_, err := d.Dial(ctx, dial.NewIdentity(), "tcp", "example.onion:80")
			errs <- err
		}()
	}
	for range dial.MaxBuilding + 1 {
		if err := <-errs; !errors.Is(err, dial.ErrCircuitSlow) {
			t.Fatalf("a hung handshake: %v", err)
		}
	}
	gone, stop := context.WithCancel(t.Context())
	stop()
	if _, err := d.Dial(gone, dial.NewIdentity(), "tcp", "example.onion:80"); !errors.Is(err, context.Canceled) || errors.Is(err, dial.ErrCircuitSlow) {
		t.Fatalf("a cancelled dial: %v", err)
	}
}
