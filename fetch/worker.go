package fetch

import (
	"context"
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/grab-ir/grab/fetch/span"
)

// work is one worker's life: take a task, fetch it, repeat. It returns only
// errors that must stop the whole job.
func (e *Engine) work(ctx context.Context, l *lane) error {
	buf := make([]byte, 32<<10)
	h := sha256.New()
	for {
		t, err := e.next(ctx, l)
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
			e.crawl(ctx, l.c.conn, t)
			e.release(t)
			continue
		}
		if t.finishOnly {
			e.mu.Lock()
			l.c.active--
			e.mu.Unlock()
			finish = true
		} else {
			if err := e.run(ctx, l, t, buf, h); err != nil {
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
func (e *Engine) run(ctx context.Context, l *lane, t *task, buf []byte, h hash.Hash) error {
	if err := e.partFor(t); err != nil {
		return err
	}
	e.mu.Lock()
	if t.part == nil {
		e.mu.Unlock()
		return nil // superseded before it began
	}
	req := Request{URL: t.f.URL, Range: span.Range{Start: t.start, End: t.end}, Size: t.f.Size, Validator: t.f.Validator}
	gen := t.gen
	e.mu.Unlock()
	jobCtx := ctx
	ctx, stopWatch := e.watch(ctx, t)
	defer stopWatch()
	failed := func(err error, progressed bool) {
		if jobCtx.Err() != nil {
			return // the job is stopping: not the source's fault
		}
		if c := context.Cause(ctx); errors.Is(c, errMoot) || errors.Is(c, errCut) || errors.Is(c, errYield) {
			return // its range is back in the pool, progress kept
		}
		var tr *TransientError
		switch {
		case errors.Is(context.Cause(ctx), ErrStalled):
			progressed = true // the circuit's fault, not the file's
			err = fmt.Errorf("%w for %v at byte %d of %s", ErrStalled, e.cfg.StallTimeout, t.cursor, t.f.Path)
			e.mu.Lock()
			e.stats.stalls++
			e.mu.Unlock()
			e.log.Info("request stalled; new circuit", "path", t.f.Path, "circuit", l.c.id)
			e.renew(l.c, "stalled")
		case errors.As(err, &tr) && tr.Conn:
			e.log.Info("cannot reach the source; new circuit", "circuit", l.c.id, "err", err)
			e.renew(l.c, "connection failed")
		}
		e.fail(t, err, progressed)
	}
	s, err := l.c.conn.Get(ctx, req)
	if err != nil {
		failed(err, false)
		return nil
	}
	defer s.Body.Close()
	ok, err := e.learn(t, s)
	if err != nil {
		failed(err, false)
		return nil
	}
	if !ok {
		return nil
	}
	h.Reset()
	if t.hinit != nil {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(t.hinit); err != nil {
			return fmt.Errorf("resuming the hash of %s: %w", t.f.Path, err)
		}
	}
	sum := func() (s [32]byte) {
		h.Sum(s[:0])
		h.Reset()
		return s
	}
	state := func() []byte {
		b, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		return b
	}
	bs := e.cfg.BlockSize
	blocks := 0
	from := t.cursor
	// A file of one block has its block's hash as its own: no running hash.
	whole := s.Size < 0 || s.Size > bs
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
			if err := e.limiter.Wait(ctx, n); err != nil && rerr == nil {
				rerr = err
			}
			if _, werr := t.part.WriteAt(buf[:n], t.cursor); werr != nil {
				if isDiskFull(werr) {
					return fmt.Errorf("%w: writing %s: %v", ErrDiskFull, t.f.Path, werr)
				}
				return fmt.Errorf("writing %s: %w", t.f.Path, werr)
			}
			h.Write(buf[:n])
			if whole {
				t.f.feedWhole(gen, t.cursor, buf[:n]) // t.cursor changes only on this goroutine
			}
			b, keep := e.received(t, int64(n), sum, state)
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
			if e.limit(t) < 0 {
				e.ended(t, sum)
				return nil
			}
			if e.limit(t) > 0 {
				failed(fmt.Errorf("%w at byte %d of %s", ErrShortBody, t.cursor, t.f.Path), blocks > 0 || t.cursor > from)
			}
			return nil
		default:
			failed(fmt.Errorf("reading %s at byte %d: %w", t.f.Path, t.cursor, rerr), blocks > 0 || t.cursor > from)
			return nil
		}
	}
}

// watch cancels a request that moves no byte for StallTimeout. Waiting
// for the answer's first byte may take twice that: a circuit may have to be
// built first.
func (e *Engine) watch(ctx context.Context, t *task) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	e.mu.Lock()
	t.cancel = cancel
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(max(e.cfg.StallTimeout/8, 50*time.Millisecond), time.Second))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			e.mu.Lock()
			idle := e.cfg.Now().Sub(t.lastMove)
			first := t.cursor == t.start
			// Nothing left to bring: a twin or a split took the rest, or the
			// file is finished, failed or restarted.
			moot := t.gen != t.f.gen || t.f.State != Pending || (t.f.Size >= 0 && t.end >= 0 && !t.probe &&
				(t.end <= t.cursor || e.allDone(t.f, t.cursor, t.end)))
			limit := e.stallLimit(t)
			e.mu.Unlock()
			if moot {
				cancel(errMoot)
				return
			}
			if first {
				limit *= 2
			}
			if idle > limit {
				cancel(ErrStalled)
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// stallLimit is how long t may move nothing: ten times what its remaining
// bytes should take at its circuit's measured rate, at least 5 s (or the
// stall timeout, if that is shorter) and at most the stall timeout. A
// 20 KB photo that normally takes a second is not left waiting 30 s.
// e.mu is held.
func (e *Engine) stallLimit(t *task) time.Duration {
	limit := e.cfg.StallTimeout
	if t.lane == nil || t.end < 0 {
		return limit
	}
	r, _ := e.scorer.Rate(t.lane.c.id)
	if r <= 0 {
		return limit
	}
	expected := time.Duration(float64(t.end-t.cursor) / r * float64(time.Second))
	return min(limit, max(10*expected, min(5*time.Second, limit)))
}

// errMoot cancels a request that has nothing left to bring; errCut one whose
// circuit is being replaced. Neither is the file's fault.
var (
	errMoot = errors.New("nothing left to fetch")
	errCut  = errors.New("circuit replaced")
)

// crawl fetches a listing and adds what Config.Expand finds in it. The
// listing is recorded as done in the same commit as its children, so a
// resumed job neither loses them nor fetches the listing again.
func (e *Engine) crawl(ctx context.Context, conn Conn, t *task) {
	e.mu.Lock()
	rec := t.f.File
	e.mu.Unlock()
	jobCtx := ctx
	ctx, stopWatch := e.watch(ctx, t)
	defer stopWatch()
	s, err := conn.Get(ctx, Request{URL: rec.URL, Range: span.Range{Start: 0, End: -1}, Size: -1})
	if err != nil {
		if jobCtx.Err() == nil {
			e.fail(t, err, false)
		}
		return
	}
	defer s.Body.Close()
	e.hostUp(hostOf(rec.URL))
	body, err := io.ReadAll(io.LimitReader(readFunc(func(p []byte) (int, error) {
		n, err := s.Body.Read(p)
		e.mu.Lock()
		t.lastMove = e.cfg.Now()
		e.mu.Unlock()
		return n, err
	}), e.cfg.ListingMax+1))
	e.mu.Lock()
	e.stats.fetched += int64(len(body))
	e.mu.Unlock()
	switch {
	case err != nil:
		if jobCtx.Err() == nil {
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
	e.changedFile(t.f)
	e.log.Info("listing read", "url", rec.URL, "entries", len(found), "new", n)
	e.broadcast()
}

// readFunc is a function as an io.Reader.
type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
