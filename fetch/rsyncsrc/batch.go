package rsyncsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/rsync"
)

// MaxBatch is how many files GetFiles asks for in one session.
const MaxBatch = 256

// GetFiles fetches whole files in as few sessions as it can: URLs of the
// same daemon, module and user whose last path elements differ share one
// session and one pipeline of requests, which saves a handshake and a
// file list per file (several round trips each through Tor). For each URL,
// in an order of its choosing, fn gets the file's whole Stream or the
// error for it; fn must read what it wants of the body before returning
// (the next file follows on the same connection). An error from fn stops
// GetFiles and is returned.
func (c *Conn) GetFiles(ctx context.Context, urls []string, fn func(rawURL string, s *fetch.Stream, err error) error) error {
	type group struct {
		t     target
		urls  []string
		paths []string
		bases map[string]bool
	}
	var groups []*group
	open := map[string]*group{} // by daemon, module and user: the group taking more
	for _, u := range urls {
		t, err := parse(u)
		if err != nil {
			if err := fn(u, nil, &fetch.PermanentError{Err: err}); err != nil {
				return err
			}
			continue
		}
		if t.path == "" || t.path[len(t.path)-1] == '/' {
			if err := fn(u, nil, &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a folder", ErrNotFile, t.u.Redacted())}); err != nil {
				return err
			}
			continue
		}
		key := t.key() + "\x00" + t.user
		g := open[key]
		base := path.Base(t.path)
		if g == nil || g.bases[base] || len(g.urls) >= MaxBatch {
			g = &group{t: t, bases: map[string]bool{}}
			groups = append(groups, g)
			open[key] = g
		}
		g.urls = append(g.urls, u)
		g.paths = append(g.paths, t.path)
		g.bases[base] = true
	}
	for _, g := range groups {
		if err := c.batch(ctx, g.t, g.urls, g.paths, fn); err != nil {
			return err
		}
	}
	return nil
}

// batch runs one session for files of one daemon and module.
func (c *Conn) batch(ctx context.Context, t target, urls, paths []string, fn func(string, *fetch.Stream, error) error) error {
	s, conn, err := c.sessionPaths(ctx, t, paths)
	if err != nil {
		for _, u := range urls {
			if err := fn(u, nil, err); err != nil {
				return err
			}
		}
		return nil
	}
	defer conn.Close()
	defer s.Close()
	listed := map[string]rsync.File{}
	for _, f := range s.Files() {
		listed[f.Name] = f
	}
	var asked []string
	for i, u := range urls {
		f, ok := listed[path.Base(paths[i])]
		var err error
		switch {
		case !ok:
			err = &fetch.PermanentError{Err: fmt.Errorf("%w: %s", rsync.ErrNotFound, u)}
		case f.Type() != rsync.Regular:
			err = &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a %v", ErrNotFile, u, f.Type())}
		default:
			err = s.Request(rsync.Request{File: f})
			if err == nil {
				asked = append(asked, u)
				continue
			}
			err = classify(err, ctx)
		}
		if err := fn(u, nil, err); err != nil {
			return err
		}
	}
	if err := s.CloseRequests(); err != nil {
		return c.failRest(asked, classify(err, ctx), fn)
	}
	for i, u := range asked {
		rep, err := s.Next()
		if err != nil {
			if errors.Is(err, rsync.ErrVanished) {
				if err := fn(u, nil, &fetch.PermanentError{Err: err}); err != nil {
					return err
				}
				continue
			}
			return c.failRest(asked[i:], classify(err, ctx), fn)
		}
		f := rep.File
		b := &batchBody{r: rep, left: f.Size}
		st := &fetch.Stream{Body: b, Len: f.Size, Size: f.Size, Validator: Validator(f), URL: u}
		if err := fn(u, st, nil); err != nil {
			return err
		}
		if b.err != nil {
			return c.failRest(asked[i+1:], classify(b.err, ctx), fn)
		}
	}
	return nil
}

func (c *Conn) failRest(urls []string, err error, fn func(string, *fetch.Stream, error) error) error {
	for _, u := range urls {
		if err := fn(u, nil, err); err != nil {
			return err
		}
	}
	return nil
}

// batchBody reads one reply of a batch; closing it does not close the
// session (the next reply drains what is left).
type batchBody struct {
	r    *rsync.Reply
	left int64
	err  error // a failure of the session, which ends the batch
}

func (b *batchBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Read the checksum that follows the last byte.
		if _, err := b.r.Read(make([]byte, 1)); err != io.EOF {
			if err == nil {
				err = fmt.Errorf("rsync: %s: data past the listed size", b.r.File.Name)
			}
			if !errors.Is(err, rsync.ErrChecksum) {
				b.err = err
			}
			return 0, err
		}
		return 0, io.EOF
	}
	n, err := b.r.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		err = fmt.Errorf("%w: %d bytes short", fetch.ErrShortBody, b.left)
	}
	if err != nil && err != io.EOF && !errors.Is(err, rsync.ErrChecksum) {
		b.err = err
	}
	return n, err
}

func (b *batchBody) Close() error { return nil }
