package dial

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/proxy"
)

// Dialer opens connections, directly or through a SOCKS5 proxy.
type Dialer struct {
	proxyAddr string // host:port, "" for direct connections
	remoteDNS bool   // socks5h
	timeout   time.Duration
	building  chan struct{} // first connections of new identities under way
	built     sync.Map      // Identity → struct{}: has had a connection
}

// MaxBuilding is how many identities may make their first connection at
// once through a proxy. Through Tor each is a circuit being built; tor's
// MaxClientCircuitsPending is 32 by default.
const MaxBuilding = 32

// New makes a Dialer for the proxy URL ("" for direct connections):
// socks5h://HOST:PORT or socks5://HOST:PORT.
func New(proxyURL string) (*Dialer, error) {
	d := &Dialer{timeout: 2 * time.Minute, building: make(chan struct{}, MaxBuilding)}
	if proxyURL == "" {
		return d, nil
	}
	u, err := url.Parse(proxyURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrProxyURL, proxyURL, err)
	}
	switch u.Scheme {
	case "socks5h":
		d.remoteDNS = true
	case "socks5":
	default:
		return nil, fmt.Errorf("%w %q: the scheme must be socks5h:// (or socks5://)", ErrProxyURL, proxyURL)
	}
	if u.Port() == "" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return nil, fmt.Errorf("%w %q: want socks5h://HOST:PORT", ErrProxyURL, proxyURL)
	}
	d.proxyAddr = u.Host
	return d, nil
}

// SetTimeout sets how long a connection may take, through a proxy its
// SOCKS handshake included (2 minutes). Call it before the first dial.
func (d *Dialer) SetTimeout(t time.Duration) { d.timeout = t }

// Proxied reports whether connections go through a proxy.
func (d *Dialer) Proxied() bool { return d.proxyAddr != "" }

// IsOnion reports whether host (without port) is an onion service name.
func IsOnion(host string) bool {
	return strings.HasSuffix(strings.TrimSuffix(strings.ToLower(host), "."), ".onion")
}

// Check says whether the host of u can be reached with this Dialer.
func (d *Dialer) Check(u *url.URL) error {
	if !IsOnion(u.Hostname()) {
		return nil
	}
	if d.proxyAddr == "" {
		return ErrOnionNeedsProxy
	}
	if !d.remoteDNS {
		return ErrOnionLocalDNS
	}
	return nil
}

// Identity is a circuit identity: the SOCKS credentials of a connection.
type Identity struct {
	User, Pass string
}

// NewIdentity returns a fresh random identity.
func NewIdentity() Identity {
	b := make([]byte, 16)
	rand.Read(b)
	return Identity{User: "grab-" + hex.EncodeToString(b[:8]), Pass: hex.EncodeToString(b[8:])}
}

// Dial connects to addr ("host:port") with identity id.
func (d *Dialer) Dial(ctx context.Context, id Identity, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if err := d.Check(&url.URL{Host: addr}); err != nil {
		return nil, err
	}
	direct := &net.Dialer{Timeout: d.timeout, KeepAlive: 30 * time.Second}
	if d.proxyAddr == "" {
		return direct.DialContext(ctx, network, addr)
	}
	if !d.remoteDNS && net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(ips[0].String(), port)
	}
	auth := &proxy.Auth{User: id.User, Password: id.Pass}
	if id.User == "" {
		auth = nil
	}
	fwd := &greetDialer{d: direct, greet: min(greetTimeout, d.timeout/2)}
	sd, err := proxy.SOCKS5("tcp", d.proxyAddr, auth, fwd)
	if err != nil {
		return nil, err
	}
	if _, ok := d.built.Load(id); !ok {
		select {
		case d.building <- struct{}{}:
			defer func() { <-d.building }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The SOCKS handshake, the circuit's build and the stream's attach
	// all happen inside this dial: its timeout covers them all, so a proxy
	// that accepts and never answers cannot hold a building slot forever.
	hctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	c, err := sd.(proxy.ContextDialer).DialContext(hctx, network, addr)
	if err != nil {
		if fwd.conn != nil && fwd.conn.unanswered() && ctx.Err() == nil {
			return nil, &SOCKSError{Code: -2, Proxy: d.proxyAddr, Cause: ErrProxyHandshake,
				Err: fmt.Errorf("no answer to the SOCKS greeting within %v", fwd.greet)}
		}
		return nil, classify(ctx, err, d.proxyAddr)
	}
	d.built.Store(id, struct{}{})
	return c, nil
}

// Circuit is an identity that can dial ahead of need: through Tor the
// first connection of an identity builds its circuit, which takes seconds,
// so a job dials every circuit at once when it starts and hands each
// connection to that circuit's first request.
type Circuit struct {
	d    *Dialer
	id   Identity
	mu   sync.Mutex
	warm map[string]net.Conn // by address
}

// NewCircuit makes a circuit with a fresh identity.
func (d *Dialer) NewCircuit() *Circuit {
	return &Circuit{d: d, id: NewIdentity(), warm: map[string]net.Conn{}}
}

// Warm dials addr ("host:port") now and keeps the connection for the next
// request to it.
func (c *Circuit) Warm(ctx context.Context, addr string) error {
	conn, err := c.d.Dial(ctx, c.id, "tcp", addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.warm[addr]; old != nil {
		old.Close()
	}
	c.warm[addr] = conn
	return nil
}

// DialContext dials addr on this circuit, using a warm connection first
// if it has one for the address. It has the signature of
// net.Dialer.DialContext, for the clients of each source.
func (c *Circuit) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	conn := c.warm[addr]
	delete(c.warm, addr)
	c.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	return c.d.Dial(ctx, c.id, network, addr)
}

// DialFunc dials with identity id: what a source's client needs to put all
// its connections on one circuit.
func (d *Dialer) DialFunc(id Identity) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.Dial(ctx, id, network, addr)
	}
}

// Close drops connections dialled and never used.
func (c *Circuit) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, conn := range c.warm {
		conn.Close()
		delete(c.warm, addr)
	}
}
