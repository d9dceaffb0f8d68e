package fetch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/grab-ir/grab/fetch/span"
)

// work is one worker's life: take a task, fetch it, repeat. It returns only
// errors that must stop the whole job.
func (e *Engine) work(ctx context.Context, conn Conn) error {
	buf := make([]byte, 32<<10)
	h := sha256.New()
	for {
		t, err := e.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if t == nil {
			return nil
		}
		finish := false
		if t.f.Kind == KindListing {
			e.crawl(ctx, conn, t)
			e.release(t)
			continue
		}
		if t.f.finishing { // a file with nothing to fetch
			finish = true
		} else {
			if err := e.run(ctx, conn, t, buf, h); err != nil {
				e.release(t)
				return err
			}
			finish = e.release(t)
		}
		if finish {
			if err := e.finish(t.f); err != nil {
				return err
			}
		}
	}
}

// run fetches one task. Problems with the source are handled here; the
// returned error stops the job (the local disk failed).
func (e *Engine) run(ctx context.Context, conn Conn, t *task, buf []byte, h hash.Hash) error {
	e.mu.Lock()
	req := Request{URL: t.f.URL, Range: span.Range{Start: t.start, End: t.end}, Size: t.f.Size, Validator: t.f.Validator}
	e.mu.Unlock()
	s, err := conn.Get(ctx, req)
	if err != nil {
		if ctx.Err() == nil {
			e.fail(t, err, false)
		}
		return nil
	}
	defer s.Body.Close()
	ok, err := e.learn(t, s)
	if err != nil {
		e.fail(t, err, false)
		return nil
	}
	if !ok {
		return nil
	}
	h.Reset()
	sum := func() (s [32]byte) {
		h.Sum(s[:0])
		h.Reset()
		return s
	}
	bs := e.cfg.BlockSize
	blocks := 0
	for {
		lim := e.limit(t)
		if lim == 0 {
			return nil
		}
		want := min(int64(len(buf)), bs-t.cursor%bs)
		if lim > 0 {
			want = min(want, lim)
		}
		n, rerr := s.Body.Read(buf[:want])
		if n > 0 {
			if _, werr := t.part.WriteAt(buf[:n], t.cursor); werr != nil {
				if isDiskFull(werr) {
					return fmt.Errorf("%w: writing %s: %v", ErrDiskFull, t.f.Path, werr)
				}
				return fmt.Errorf("writing %s: %w", t.f.Path, werr)
			}
			h.Write(buf[:n])
			b, keep := e.received(t, int64(n), sum)
			if b >= 0 {
				blocks++
			}
			if !keep {
				return nil
			}
		}
		switch {
		case rerr == nil:
			continue
		case errors.Is(rerr, io.EOF):
			if t.end < 0 {
				e.ended(t, sum)
				return nil
			}
			if e.limit(t) > 0 {
				e.fail(t, fmt.Errorf("%w at byte %d of %s", ErrShortBody, t.cursor, t.f.Path), blocks > 0)
			}
			return nil
		default:
			if ctx.Err() == nil {
				e.fail(t, fmt.Errorf("reading %s at byte %d: %w", t.f.Path, t.cursor, rerr), blocks > 0)
			}
			return nil
		}
	}
}

// crawl fetches a listing and adds what Config.Expand finds in it. The
// listing is recorded as done in the same commit as its children, so a
// resumed job neither loses them nor fetches the listing again.
func (e *Engine) crawl(ctx context.Context, conn Conn, t *task) {
	e.mu.Lock()
	rec := t.f.File
	e.mu.Unlock()
	s, err := conn.Get(ctx, Request{URL: rec.URL, Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err != nil {
		if ctx.Err() == nil {
			e.fail(t, err, false)
		}
		return
	}
	defer s.Body.Close()
	body, err := io.ReadAll(io.LimitReader(s.Body, e.cfg.ListingMax+1))
	e.mu.Lock()
	e.stats.fetched += int64(len(body))
	e.mu.Unlock()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			e.fail(t, fmt.Errorf("reading listing %s: %w", rec.URL, err), false)
		}
		return
	case int64(len(body)) > e.cfg.ListingMax:
		e.fail(t, &PermanentError{Err: fmt.Errorf("listing %s is larger than %d bytes", rec.URL, e.cfg.ListingMax)}, false)
		return
	case e.cfg.Expand == nil:
		e.fail(t, &PermanentError{Err: fmt.Errorf("%s is a listing, and this job does not crawl", rec.URL)}, false)
		return
	}
	page := Page{URL: s.URL, Type: s.Type, Body: body}
	if page.URL == "" {
		page.URL = rec.URL
	}
	found, err := e.cfg.Expand(rec, page)
	if err != nil {
		e.fail(t, &PermanentError{Err: err}, false)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.gen != t.f.gen || t.f.State != Pending {
		return
	}
	n := e.add(found)
	t.f.State, t.f.dirty = Done, true
	e.log.Info("listing read", "url", rec.URL, "entries", len(found), "new", n)
	e.broadcast()
}
