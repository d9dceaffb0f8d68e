package rsyncsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/rsync"
)

// List implements fetch.Lister: the regular files below the folder
// rawURL, nested paths included, from one file list (see Entries). Every
// byte the daemon sends while the list is read is passed to moved; a
// list that takes more than max bytes (0: no bound) is a
// *fetch.PermanentError.
func (c *Conn) List(ctx context.Context, rawURL string, max int64, moved func(n int)) (*fetch.Listing, error) {
	var cc *countConn
	es, err := c.entries(ctx, rawURL, func(conn net.Conn) net.Conn {
		cc = &countConn{Conn: conn, max: max, moved: moved}
		return cc
	})
	if err != nil {
		if cc != nil && cc.over.Load() {
			return nil, &fetch.PermanentError{Err: fmt.Errorf("rsync: file list of %s: %w", redact(rawURL), ErrListTooLarge)}
		}
		return nil, err
	}
	return &fetch.Listing{URL: rawURL, Entries: es}, nil
}

// Modules returns the modules the daemon of rawURL (rsync://host[:port]/)
// lists, on this Conn's circuit.
func (c *Conn) Modules(ctx context.Context, rawURL string) ([]rsync.Module, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "rsync" || u.Hostname() == "" {
		return nil, &fetch.PermanentError{Err: fmt.Errorf("%w: %q", ErrURL, rawURL)}
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return nil, &fetch.TransientError{Err: fmt.Errorf("rsync: dialing %s: %w", addr, err), Conn: ctx.Err() == nil}
	}
	defer conn.Close()
	mods, _, err := rsync.ListModules(ctx, conn, rsync.Options{Protocol: c.src.Protocol})
	if err != nil {
		return nil, classify(err, ctx)
	}
	return mods, nil
}

// Modules lists the daemon's modules on a fresh identity.
func (s *Source) Modules(ctx context.Context, rawURL string) ([]rsync.Module, error) {
	c := s.conn(0)
	defer c.Close()
	return c.Modules(ctx, rawURL)
}

func redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	return rawURL
}

// countConn passes the bytes read to moved and fails reads past max.
type countConn struct {
	net.Conn
	max   int64
	moved func(int)
	n     atomic.Int64
	over  atomic.Bool
}

var errOverMax = errors.New("over the listing bound")

func (c *countConn) Read(p []byte) (int, error) {
	if c.over.Load() {
		return 0, errOverMax
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if c.moved != nil {
			c.moved(n)
		}
		if t := c.n.Add(int64(n)); c.max > 0 && t > c.max {
			c.over.Store(true)
			return n, errOverMax
		}
	}
	return n, err
}
