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
