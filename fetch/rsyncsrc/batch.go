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

// MaxBatch is how many files GetBatch asks for in one session.
const MaxBatch = 256

var _ fetch.Batcher = (*Conn)(nil)

// GetBatch implements fetch.Batcher: whole files in as few sessions as it
// can. Requests for the same daemon, module and user whose last path
// elements differ share one session and one pipeline of requests, which
// saves a handshake and a file list per file (several round trips each
// through Tor). For each request, in an order of its choosing (files the
// daemon does not list first, then the replies in the order asked), fn
// gets the file's whole Stream or the error for it; a Stream's body ends
// with the daemon's whole-file checksum checked, a mismatch being a
// *fetch.ChangedError. A request whose Size or Validator no longer match
// the listed file gets a *fetch.ChangedError. fn must read what it wants
// of the body before returning (the next file follows on the same
// connection). An error from fn stops GetBatch and is returned.
func (c *Conn) GetBatch(ctx context.Context, reqs []fetch.Request, fn func(i int, s *fetch.Stream, err error) error) error {
	var groups []*group
	open := map[string]*group{} // by daemon, module and user: the group taking more
	for i, r := range reqs {
		t, err := parse(r.URL)
		if err != nil {
			if err := fn(i, nil, &fetch.PermanentError{Err: err}); err != nil {
				return err
			}
			continue
		}
		if t.path == "" || t.path[len(t.path)-1] == '/' {
			if err := fn(i, nil, &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a folder", ErrNotFile, t.u.Redacted())}); err != nil {
				return err
			}
			continue
		}
		key := t.key() + "\x00" + t.user
		g := open[key]
		base := path.Base(t.path)
		if g == nil || g.bases[base] || len(g.idx) >= MaxBatch {
			g = &group{t: t, bases: map[string]bool{}}
			groups = append(groups, g)
			open[key] = g
		}
		g.idx = append(g.idx, i)
		g.paths = append(g.paths, t.path)
		g.bases[base] = true
	}
	for _, g := range groups {
		if err := c.batch(ctx, g, reqs, fn); err != nil {
			return err
		}
	}
	return nil
}

// group is the requests of one session: indices into the batch, and
// their paths below the module.
type group struct {
	t     target
	idx   []int
	paths []string
	bases map[string]bool
}

// batch runs one session for files of one daemon and module.
func (c *Conn) batch(ctx context.Context, g *group, reqs []fetch.Request, fn func(int, *fetch.Stream, error) error) error {
	s, conn, err := c.sessionPaths(ctx, g.t, g.paths)
	if err != nil {
		return failRest(g.idx, err, fn)
	}
	defer conn.Close()
	defer s.Close()
	listed := map[string]rsync.File{}
	for _, f := range s.Files() {
		listed[f.Name] = f
	}
	var asked []int
	for k, i := range g.idx {
		r := reqs[i]
		f, ok := listed[path.Base(g.paths[k])]
		var err error
		switch {
		case !ok:
			err = &fetch.PermanentError{Err: fmt.Errorf("%w: %s", rsync.ErrNotFound, r.URL)}
		case f.Type() != rsync.Regular:
			err = &fetch.PermanentError{Err: fmt.Errorf("%w: %s is a %v", ErrNotFile, r.URL, f.Type())}
		case r.Validator != "" && r.Validator != Validator(f) || r.Size >= 0 && r.Size != f.Size:
			err = &fetch.ChangedError{Size: f.Size, Validator: Validator(f), Why: fmt.Sprintf("was %s (size %d), is %s", r.Validator, r.Size, Validator(f))}
		default:
			err = s.Request(rsync.Request{File: f})
			if err == nil {
				asked = append(asked, i)
				continue
			}
			err = classify(err, ctx)
		}
		if err := fn(i, nil, err); err != nil {
			return err
		}
	}
	if err := s.CloseRequests(); err != nil {
		return failRest(asked, classify(err, ctx), fn)
	}
	for k, i := range asked {
		rep, err := s.Next()
		if err != nil {
			if errors.Is(err, rsync.ErrVanished) {
				if err := fn(i, nil, &fetch.PermanentError{Err: err}); err != nil {
					return err
				}
				continue
			}
			return failRest(asked[k:], classify(err, ctx), fn)
		}
		f := rep.File
		b := &batchBody{r: rep, left: f.Size}
		st := &fetch.Stream{Body: b, Len: f.Size, Size: f.Size, Validator: Validator(f), URL: reqs[i].URL, Checked: checkedSum(s, rep), Modified: modified(f)}
		if err := fn(i, st, nil); err != nil {
			return err
		}
		if b.err != nil {
			return failRest(asked[k+1:], classify(b.err, ctx), fn)
		}
	}
	return nil
}

func failRest(idx []int, err error, fn func(int, *fetch.Stream, error) error) error {
	for _, i := range idx {
		if err := fn(i, nil, err); err != nil {
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

// Read returns the file's bytes. The Read that returns the last of them
// also reads the daemon's checksum that follows: a mismatch comes with
// those bytes, as a *fetch.ChangedError (the file changed while the
// daemon read it), so that the engine never takes what came for a file.
func (b *batchBody) Read(p []byte) (int, error) {
	var n int
	var err error
	if b.left > 0 {
		n, err = b.r.Read(p[:min(int64(len(p)), b.left)])
		b.left -= int64(n)
	}
	switch {
	case err == io.EOF && b.left > 0:
		err = fmt.Errorf("%w: %d bytes short", fetch.ErrShortBody, b.left)
	case err == nil && b.left <= 0:
		err = b.trailer()
	}
	if err != nil && err != io.EOF && !errors.As(err, new(*fetch.ChangedError)) {
		b.err = err
	}
	return n, err
}

// trailer reads what follows the file's last byte: its checksum.
func (b *batchBody) trailer() error {
	_, err := b.r.Read(make([]byte, 1))
	switch {
	case err == io.EOF:
		return io.EOF
	case err == nil:
		return fmt.Errorf("rsync: %s: data past the listed size", b.r.File.Name)
	}
	return checksumChanged(err, b.r.File)
}

// checksumChanged turns a whole-file checksum mismatch into a
// *fetch.ChangedError: the daemon read a file that changed as it read it.
// Other errors pass unchanged.
func checksumChanged(err error, f rsync.File) error {
	if !errors.Is(err, rsync.ErrChecksum) {
		return err
	}
	return &fetch.ChangedError{Size: f.Size, Why: err.Error()}
}

func (b *batchBody) Close() error { return nil }
