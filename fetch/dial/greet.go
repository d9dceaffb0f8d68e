package dial

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// greetTimeout bounds the wait for a proxy's answer to the SOCKS greeting.
// A SOCKS5 proxy answers it at once, before any circuit is involved (Tor
// answers it locally); something else on the port (an HTTP server, tor's
// control port) reads it as the start of a line and waits for more.
const greetTimeout = 10 * time.Second

// greeter is a connection to the proxy whose first read, the answer to
// the greeting, has its own deadline: greet, within whatever deadline the
// SOCKS client set. Later reads are the connection's own.
type greeter struct {
	net.Conn
	greet time.Duration

	mu       sync.Mutex
	outer    time.Time // the deadline the SOCKS client set
	greeted  bool
	timedOut bool // the greeting went unanswered
}

func (g *greeter) SetDeadline(t time.Time) error {
	g.mu.Lock()
	g.outer = t
	g.mu.Unlock()
	return g.Conn.SetDeadline(t)
}

func (g *greeter) Read(p []byte) (int, error) {
	g.mu.Lock()
	first, outer := !g.greeted, g.outer
	g.greeted = true
	g.mu.Unlock()
	if !first {
		return g.Conn.Read(p)
	}
	dl := time.Now().Add(g.greet)
	own := outer.IsZero() || dl.Before(outer)
	if !own {
		dl = outer
	}
	g.Conn.SetReadDeadline(dl)
	n, err := g.Conn.Read(p)
	g.mu.Lock()
	if own && errors.Is(err, os.ErrDeadlineExceeded) {
		g.timedOut = true
	}
	g.Conn.SetReadDeadline(g.outer) // it may have changed meanwhile (a cancellation)
	g.mu.Unlock()
	return n, err
}

func (g *greeter) unanswered() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.timedOut
}

// greetDialer dials the proxy for the SOCKS client and keeps the
// connection's greeter, to tell an unanswered greeting from a slow circuit.
type greetDialer struct {
	d     *net.Dialer
	greet time.Duration
	conn  *greeter
}

func (g *greetDialer) Dial(network, addr string) (net.Conn, error) {
	return g.DialContext(context.Background(), network, addr)
}

func (g *greetDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := g.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g.conn = &greeter{Conn: c, greet: g.greet}
	return g.conn, nil
}
