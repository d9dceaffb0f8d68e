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

	"github.com/grab-ir/grab/fetch/rate"
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
		if t.batch != nil {
			if err := e.runBatch(ctx, l, t.batch, buf, h); err != nil {
				return err
			}
			continue
		}
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
	if n := t.f.donePrefix(e.cfg.BlockSize); t.whole && t.start == 0 && n > 0 {
		req.Basis, req.BasisLen = t.part, n
	}
	e.mu.Unlock()
	jobCtx := ctx
	ctx, stopWatch := e.watch(ctx, t)
	defer stopWatch()
	s, err := l.c.conn.Get(ctx, req)
	stop, _ := e.take(jobCtx, ctx, l, t, s, err, buf, h)
	return stop
}

// take reads the answer to t's request into its file: stream s, or the
// request's error. ctx is the request's, jobCtx the job's. Every stream
// passes here, alone (run) or one of a batch (runBatch). Problems with
// the source are handled here; the returned error stops the job (the
// local disk failed). blamed reports a failure that was put on the file's
// account or its circuit's, other than one of the file's own (permanent,
// changed): a batch puts one such on no more than one of its files.
func (e *Engine) take(jobCtx, ctx context.Context, l *lane, t *task, s *Stream, err error, buf []byte, h hash.Hash) (stop error, blamed bool) {
	e.mu.Lock()
	gen := t.gen
	e.mu.Unlock()
	blocks := 0 // completed by this request
	failed := func(err error, progressed bool) {
		if jobCtx.Err() != nil {
			return // the job is stopping: not the source's fault
		}
		if c := context.Cause(ctx); errors.Is(c, errMoot) || errors.Is(c, errCut) || errors.Is(c, errYield) {
			return // its range is back in the pool, progress kept
		}
		var tr *TransientError
		var perm *PermanentError
		var changed *ChangedError
		blamed = !errors.As(err, &perm) && !errors.As(err, &changed)
		progressed = progressed && e.further(t)
		switch {
		case errors.Is(context.Cause(ctx), ErrStalled):
			// The circuit's fault, most likely; but a file that stalls on
			// every circuit counts against --retries like any failure,
			// unless the request at least completed a block.
			progressed = progressed && blocks > 0
			err = fmt.Errorf("%w for %v at byte %d of %s", ErrStalled, e.cfg.StallTimeout, t.cursor, t.f.Path)
			if se := (*slowError)(nil); errors.As(context.Cause(ctx), &se) {
				err = fmt.Errorf("%w at byte %d of %s", se, t.cursor, t.f.Path)
			}
			blamed = true
			e.mu.Lock()
			e.stats.stalls++
			e.mu.Unlock()
			e.log.Info("request stalled; new circuit", "path", t.f.Path, "circuit", l.c.id)
			e.renew(l.c, "stalled")
		case errors.As(err, &tr) && tr.Local:
			// this side's fault (no proxy, TLS): a new circuit cannot help
		case errors.As(err, &tr) && tr.Conn:
			e.renew(l.c, "connection failed")
		}
		e.fail(t, err, progressed)
	}
	if err != nil {
		failed(err, false)
		return nil, blamed
	}
	defer s.Body.Close()
	e.proven(l.c)
	ok, err := e.learn(t, s)
	if errors.Is(err, ErrDiskFull) {
		return err, false
	}
	if err != nil {
		failed(err, false)
		return nil, blamed
	}
	if !ok {
		return nil, false
	}
	h.Reset()
	if t.hinit != nil {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(t.hinit); err != nil {
			return fmt.Errorf("resuming the hash of %s: %w", t.f.Path, err), false
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
	from := t.cursor
	// A file of one block has its block's hash as its own: no running hash.
	whole := s.Size < 0 || s.Size > bs
	for {
		lim := e.limit(t)
		if lim == 0 {
			if end := e.announcedEnd(t, s); end >= 0 {
				// All it announced has arrived: one byte more is a lie.
				if n, _ := s.Body.Read(buf[:1]); n > 0 {
					failed(&PermanentError{Err: fmt.Errorf("%w: %s goes on past byte %d", ErrOverflow, t.f.Path, end)}, true)
					return nil, blamed
				}
			}
			e.checked(t, s, gen, from)
			return nil, blamed
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
					return fmt.Errorf("%w: writing %s: %v", ErrDiskFull, t.f.Path, werr), false
				}
				return fmt.Errorf("writing %s: %w", t.f.Path, werr), false
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
				e.checked(t, s, gen, from)
				return nil, blamed
			}
			if b >= 0 {
				if why := e.outgrown(t); why != "" {
					failed(&PermanentError{Err: errors.New(why)}, true)
					return nil, blamed
				}
			}
		}
		switch {
		case rerr == nil:
			continue
		case errors.Is(rerr, io.EOF):
			if e.limit(t) < 0 {
				e.ended(t, sum)
				e.checked(t, s, gen, from)
				return nil, blamed
			}
			if e.limit(t) > 0 {
				failed(fmt.Errorf("%w at byte %d of %s", ErrShortBody, t.cursor, t.f.Path), blocks > 0 || t.cursor > from)
				return nil, blamed
			}
			e.checked(t, s, gen, from)
			return nil, blamed
		default:
			failed(fmt.Errorf("reading %s at byte %d: %w", t.f.Path, t.cursor, rerr), blocks > 0 || t.cursor > from)
			return nil, blamed
		}
	}
}

// checked keeps what the source checked of a stream that brought the
// whole file, from its first byte to its last (Stream.Checked).
func (e *Engine) checked(t *task, s *Stream, gen int, from int64) {
	if s.Checked == nil || from != 0 || s.Offset != 0 || s.Size < 0 || t.cursor != s.Size {
		return
	}
	if set := s.Checked(); len(set) > 0 {
		t.f.vouch(gen, set)
	}
}

// watch cancels a request that moves no byte for its stall limit, or,
// from its first byte on, fewer than MinRate bytes a second over a window
// of that length: a trickle of a byte every few seconds is a stall too.
// Waiting for the answer's first byte may take twice the limit: a circuit
// may have to be built first.
func (e *Engine) watch(ctx context.Context, t *task) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	e.mu.Lock()
	t.cancel = cancel
	e.mu.Unlock()
	stop := e.watchOver(func() *task { return t }, cancel, true)
	return ctx, func() { stop(); cancel(nil) }
}

// watchOver is the stall watch of watch over the task cur returns (with
// e.mu held; nil for none), which may change: the files of a batch take
// turns on one request. It cancels with cancel. moot also cancels a task
// that has nothing left to bring (a batch reads past such a file
// instead). stop ends it.
func (e *Engine) watchOver(cur func() *task, cancel context.CancelCauseFunc, moot bool) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(max(e.cfg.StallTimeout/8, 50*time.Millisecond), time.Second))
		defer tick.Stop()
		var last *task
		var winStart time.Time // of the rate window, once the first byte is in
		var winFrom int64
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			e.mu.Lock()
			t := cur()
			if t == nil {
				e.mu.Unlock()
				continue
			}
			if t != last {
				last, winStart = t, time.Time{}
			}
			if t.held { // a listing waiting for room, not for its source
				winStart = time.Time{}
				e.mu.Unlock()
				continue
			}
			now := e.cfg.Now()
			idle := now.Sub(t.lastMove)
			first := t.cursor == t.start && t.listed == 0
			moved := t.cursor + t.listed - winFrom
			if first || winStart.IsZero() || moved < 0 { // (a whole stream starts again from byte 0)
				winStart, winFrom, moved = now, t.cursor+t.listed, 0
			}
			// Nothing left to bring: a twin or a split took the rest, or the
			// file is finished, failed or restarted.
			isMoot := moot && (t.gen != t.f.gen || t.f.State != Pending || (t.f.Size >= 0 && t.end >= 0 && !t.probe &&
				(t.end <= t.cursor || e.allDone(t.f, t.cursor, t.end))))
			limit := e.stallLimit(t)
			e.mu.Unlock()
			if isMoot {
				cancel(errMoot)
				return
			}
			window := limit
			if first {
				limit *= 2
			}
			if idle > limit {
				cancel(ErrStalled)
				return
			}
			if el := now.Sub(winStart); el >= window {
				if float64(moved) < e.cfg.MinRate*el.Seconds() {
					cancel(&slowError{moved: moved, in: el, min: e.cfg.MinRate})
					return
				}
				e.mu.Lock()
				winStart, winFrom = now, t.cursor+t.listed
				e.mu.Unlock()
			}
		}
	}()
	return func() { close(done) }
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

// announcedEnd is the offset where stream s said it ends, when t has read
// up to exactly there; -1 otherwise (t was cut short, or s named no end).
func (e *Engine) announcedEnd(t *task, s *Stream) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	end := int64(-1)
	switch {
	case t.gen != t.f.gen || t.f.State != Pending:
	case s.Len >= 0:
		end = s.Offset + s.Len
	case s.Whole && t.f.Size >= 0:
		end = t.f.Size
	}
	if t.cursor != end {
		return -1
	}
	return end
}

// outgrown says why a body of unknown length must stop growing: past the
// job's largest file, or the disk is all but full. "" while it may grow.
func (e *Engine) outgrown(t *task) string {
	e.mu.Lock()
	unknown, at := t.end < 0 && t.f.Size < 0, t.cursor
	e.mu.Unlock()
	if !unknown {
		return ""
	}
	if at > e.maxBody() {
		return fmt.Sprintf("%v: its size is unknown, and it goes on past %s", ErrTooLarge, rate.Bytes(e.maxBody()))
	}
	if free, ok := e.cfg.FreeSpace(e.cfg.Dir); ok && free < 4*e.cfg.BlockSize {
		return fmt.Sprintf("%v: its size is unknown, and after %s it has filled the disk", ErrTooLarge, rate.Bytes(at))
	}
	return ""
}

// further reports whether a task that brought bytes brought the file
// further: a whole stream (it restarts from byte 0 every time) only if it
// passed the furthest point of the streams before it.
func (e *Engine) further(t *task) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !t.whole {
		return true
	}
	if t.cursor <= t.f.wholeBest {
		return false
	}
	t.f.wholeBest = t.cursor
	return true
}

// slowError is a stall by rate: bytes arrive, too few of them. It is an
// ErrStalled.
type slowError struct {
	moved int64
	in    time.Duration
	min   float64
}

func (e *slowError) Error() string {
	return fmt.Sprintf("stalled: under %.0f B/s (%d bytes in %v)", e.min, e.moved, e.in.Round(100*time.Millisecond))
}

func (e *slowError) Is(target error) bool { return target == ErrStalled }
