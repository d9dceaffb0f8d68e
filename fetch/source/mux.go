package source

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/grab-ir/grab/fetch"
)

// mux is the Source of a job with URLs of several kinds. A worker's Conn
// holds one Conn of each kind, made on first use.
type mux struct{ by map[string]fetch.Source }

// TakesBasis implements fetch.BasisTaker for the source of rawURL.
func (m *mux) TakesBasis(rawURL string) bool {
	scheme, _, _ := strings.Cut(rawURL, "://")
	bt, ok := m.by[strings.ToLower(scheme)].(fetch.BasisTaker)
	return ok && bt.TakesBasis(rawURL)
}

func (m *mux) Conn(worker int) fetch.Conn {
	return &muxConn{m: m, worker: worker, conns: map[fetch.Source]fetch.Conn{}}
}

type muxConn struct {
	m      *mux
	worker int
	mu     sync.Mutex
	conns  map[fetch.Source]fetch.Conn

	probesOnce sync.Once
	probes     bool
}

var (
	_ fetch.ProbeBatcher = (*muxConn)(nil)
	_ fetch.Lister       = (*muxConn)(nil)
	_ fetch.Renewer      = (*muxConn)(nil)
	_ fetch.Warmer       = (*muxConn)(nil)
)

func (c *muxConn) conn(rawURL string) (fetch.Conn, error) {
	scheme, _, ok := strings.Cut(rawURL, "://")
	src := c.m.by[strings.ToLower(scheme)]
	if !ok || src == nil {
		return nil, &fetch.PermanentError{Err: fmt.Errorf("%w: %s", ErrScheme, rawURL)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	conn := c.conns[src]
	if conn == nil {
		conn = src.Conn(c.worker)
		c.conns[src] = conn
	}
	return conn, nil
}

func (c *muxConn) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	conn, err := c.conn(r.URL)
	if err != nil {
		return nil, err
	}
	return conn.Get(ctx, r)
}

// BatchesProbes implements fetch.ProbeBatcher: a batch of probes goes to
// a kind that takes them (HTTP); files of the others have their sizes.
func (c *muxConn) BatchesProbes() bool {
	c.probesOnce.Do(func() {
		for name := range c.m.by {
			conn, err := c.conn(name + "://")
			if pb, ok := conn.(fetch.ProbeBatcher); err == nil && ok && pb.BatchesProbes() {
				c.probes = true
			}
		}
	})
	return c.probes
}

// CostlyStart implements fetch.CostlyStarter: where one kind's requests
// start at a cost (rsync), the circuit gives big files two lanes.
func (c *muxConn) CostlyStart() bool {
	for name := range c.m.by {
		conn, err := c.conn(name + "://")
		if cs, ok := conn.(fetch.CostlyStarter); err == nil && ok && cs.CostlyStart() {
			return true
		}
	}
	return false
}

// GetBatch hands a batch (one host's files: one kind) to its kind's Conn,
// or asks for its files one at a time if that cannot batch.
func (c *muxConn) GetBatch(ctx context.Context, reqs []fetch.Request, fn func(i int, s *fetch.Stream, err error) error) error {
	if len(reqs) == 0 {
		return nil
	}
	conn, err := c.conn(reqs[0].URL)
	if err != nil {
		return err
	}
	if b, ok := conn.(fetch.Batcher); ok {
		return b.GetBatch(ctx, reqs, fn)
	}
	for i, r := range reqs {
		s, err := conn.Get(ctx, r)
		if err != nil {
			if err := fn(i, nil, err); err != nil {
				return err
			}
			continue
		}
		err = fn(i, s, nil)
		s.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *muxConn) List(ctx context.Context, rawURL string, max int64, moved func(int)) (*fetch.Listing, error) {
	conn, err := c.conn(rawURL)
	if err != nil {
		return nil, err
	}
	l, ok := conn.(fetch.Lister)
	if !ok {
		return nil, &fetch.PermanentError{Err: fmt.Errorf("%s is a folder, and its source cannot list folders", rawURL)}
	}
	return l.List(ctx, rawURL, max, moved)
}

func (c *muxConn) Warm(ctx context.Context, rawURL string) error {
	conn, err := c.conn(rawURL)
	if err != nil {
		return err
	}
	if w, ok := conn.(fetch.Warmer); ok {
		return w.Warm(ctx, rawURL)
	}
	return nil
}

// Renew gives every kind's Conn of this worker a new circuit.
func (c *muxConn) Renew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		if r, ok := conn.(fetch.Renewer); ok {
			r.Renew()
		}
	}
}

func (c *muxConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for _, conn := range c.conns {
		if err := conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
