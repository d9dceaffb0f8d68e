package fetch

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/span"
)

// A task's life once it runs, and what it does to its file: bytes
// received and blocks completed, the end of a request, its release, and
// the file's failures, restarts and what a stream tells about it. Which
// lane gets which task is sched.go's.

// received accounts n bytes written at t.cursor with the block hash state
// of the caller: it advances the cursor and returns the index of the block
// completed by these bytes, or -1. Blocks complete one at a time because the
// worker never writes across a block boundary in one call.
func (e *Engine) received(t *task, n int64, sum func() [32]byte, state func() []byte) (completed int64, keep bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := t.f
	e.stats.fetched += n
	if t.lane != nil {
		t.lane.c.bytes += n
		if t.cursor == t.start && !t.began.IsZero() && !t.pipelined {
			t.lane.c.firstByte(e.cfg.Now().Sub(t.began))
		}
	}
	t.lastMove = e.cfg.Now()
	r := f.thisRun()
	if r.FirstByte.IsZero() {
		r.FirstByte = t.lastMove
	}
	r.LastByte = t.lastMove
	if t.gen != f.gen {
		e.stats.wasted += n // of a version thrown away, or of a failed file
		return -1, false
	}
	f.runBytes += n
	t.cursor += n
	bs := e.cfg.BlockSize
	if t.cursor%bs != 0 && t.cursor != f.Size {
		if f.Size > 0 {
			t.hstate = state()
			e.changedFile(f) // a partial block to record
		}
		return -1, true
	}
	t.hstate = nil
	return e.completeWith(t, sum), true
}

// ended closes a whole stream of unknown length at its EOF: the file's size
// is now known and its last, partial block complete.
func (e *Engine) ended(t *task, sum func() [32]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := t.f
	if t.gen != f.gen || f.Size >= 0 {
		return
	}
	f.Size, f.dirty = t.cursor, true
	e.changedFile(f)
	if t.cursor%e.cfg.BlockSize != 0 {
		e.completeWith(t, sum)
	}
	f.done = f.done[:span.Blocks(f.Size, e.cfg.BlockSize)]
	f.hashes = f.hashes[:len(f.done)]
}

// completeWith marks the block that ends at t.cursor done, with the hash
// sum gives. e.mu is held.
func (e *Engine) completeWith(t *task, sum func() [32]byte) int64 {
	f := t.f
	bs := e.cfg.BlockSize
	b := (t.cursor - 1) / bs
	if b >= int64(len(f.done)) { // whole stream of unknown length grows
		f.done = append(f.done, make([]bool, b+1-int64(len(f.done)))...)
		f.hashes = append(f.hashes, make([][32]byte, b+1-int64(len(f.hashes)))...)
	}
	delete(f.partial, b)
	e.changedFile(f)
	if !f.done[b] {
		f.done[b] = true
		f.hashes[b] = sum()
		f.doneBytes += t.cursor - b*bs
		f.unsynced = append(f.unsynced, b)
	} else {
		e.waste(f, t.cursor-max(t.start, b*bs, t.twinFrom)) // fetched twice (a twin, or a whole stream over done blocks)
		if h := sum(); h != f.hashes[b] {
			f.spoilWhole()
			f.hashes[b] = h
			f.unsynced = append(f.unsynced, b)
		}
	}
	f.fails = 0
	return b
}

// limit is how many bytes the task may still write from its cursor; -1 for
// no limit. It returns 0 when the task has been cut short or superseded.
func (e *Engine) limit(t *task) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.gen != t.f.gen || t.f.State != Pending {
		return 0
	}
	if t.end < 0 {
		return -1
	}
	if t.twinned && e.allDone(t.f, t.cursor, t.end) {
		return 0 // the twin brought the rest
	}
	return t.end - t.cursor
}

// allDone reports whether every block overlapping [from, to) is done.
func (e *Engine) allDone(f *fileState, from, to int64) bool {
	bs := e.cfg.BlockSize
	for b := from / bs; b*bs < to && b < int64(len(f.done)); b++ {
		if !f.done[b] {
			return false
		}
	}
	return true
}

// release ends a task. A task that ended with unreceived bytes leaves them
// pending again; a partial block it was in the middle of is counted wasted.
// It reports whether the file now has all its blocks and should be finished
// by the caller.
func (e *Engine) release(t *task) (finish bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := t.f
	delete(f.tasks, t)
	if t.lane != nil && t.batch == nil {
		t.lane.c.active-- // (a batch holds one for all its files: runBatch)
	}
	if t.twin != nil && t.twin.twin == t {
		t.twin.twin = nil // the other goes on alone
	}
	if t.gen == f.gen {
		bs := e.cfg.BlockSize
		if part := t.cursor % bs; part != 0 && (f.Size < 0 || t.cursor < f.Size) {
			b := t.cursor / bs
			switch old := f.partial[b]; {
			case t.hstate == nil || f.Size < 0 || f.Whole || f.done[b]:
				e.waste(f, max(t.cursor-max(t.start, b*bs, t.twinFrom), 0))
			case old != nil && old.reached >= t.cursor:
				// a twin got further
			default:
				// the next task resumes this block where it stopped
				if f.partial == nil {
					f.partial = map[int64]*partialState{}
				}
				f.partial[b] = &partialState{reached: t.cursor, state: t.hstate, saved: t.savedAt == t.cursor}
				e.changedFile(f)
			}
		}
		if b := t.cursor / bs; b < f.scanFrom {
			f.scanFrom = b
		}
	}
	if t.gen != f.gen || t.end < 0 || t.cursor < t.end || t.twin != nil {
		// Work went back to the pool (or its twin goes on alone). A task
		// that brought all it was asked frees nothing another lane could
		// take: its own lane looks again at once, so the others sleep on.
		e.broadcast()
	}
	if f.State != Pending && f.where == inNone {
		// Failed or left out while this request ran, and swept out of
		// the queue meanwhile: nobody else settles it.
		f.settle()
	}
	if f.State != Pending || f.finishing || len(f.tasks) > 0 || f.Size < 0 || f.doneBytes < f.Size {
		return false
	}
	f.finishing = true
	return true
}

// fail handles a task's error: the file backs off, restarts or fails.
func (e *Engine) fail(t *task, err error, progressed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := t.f
	if t.gen != f.gen || f.State != Pending {
		return
	}
	f.thisRun().Failures++
	f.lastErr = err.Error()
	var perm *PermanentError
	var changed *ChangedError
	var tr *TransientError
	switch {
	case errors.As(err, &perm):
		e.failFile(f, err.Error(), false)
	case errors.As(err, &changed) && changed.Size > e.maxBody():
		e.failFile(f, e.tooLarge(changed.Size), false)
	case errors.As(err, &changed):
		e.log.Warn("remote file changed, starting it over", "path", f.Path, "why", changed.Why)
		e.restart(f, changed.Size, changed.Validator)
	case errors.As(err, &tr) && tr.Local && !e.answered:
		e.stopLocked(err) // nothing has ever answered: waiting cannot cure it
		return
	case errors.As(err, &tr) && tr.Conn:
		e.hostDown(f.host, err)
	default:
		if !progressed {
			f.fails++
		}
		if f.fails > e.cfg.Retries {
			e.failFile(f, fmt.Sprintf("giving up after %d tries: %v", f.fails, err), true)
			return
		}
		if progressed && !(errors.As(err, &tr) && tr.RetryAfter > 0) {
			break // it was moving: carry on at once
		}
		d := e.cfg.Backoff.Delay(max(f.fails, 1), e.cfg.Rand)
		if errors.As(err, &tr) && tr.RetryAfter > d {
			d = tr.RetryAfter
		}
		f.notBefore = e.cfg.Now().Add(d)
		e.log.Debug("retrying later", "path", f.Path, "in", d.Round(time.Millisecond), "err", err)
	}
	e.broadcast()
}

// failFile gives f up. again marks a failure of the moment, which a
// resume tries again (File.Again). e.mu is held.
func (e *Engine) failFile(f *fileState, why string, again bool) {
	f.State, f.Err, f.Again, f.dirty = Failed, why, again, true
	e.changedFile(f)
	f.gen++ // running tasks of this file stop at their next write
	e.log.Error("file failed", "path", f.Path, "err", why)
}

// restart throws away everything fetched of f: the remote file is another
// version now. Old tasks keep writing to the old partial file, which is
// unlinked, until they notice the new generation.
func (e *Engine) restart(f *fileState, size int64, validator string) {
	e.own(f)
	f.gen++
	f.restartWhole(f.gen)
	f.Size, f.Validator, f.Whole, f.dirty = size, validator, false, true
	e.changedFile(f)
	f.forgetLearned()
	// Every byte of the old version this run brought is thrown away:
	// its done blocks and its blocks in progress alike.
	e.waste(f, f.runBytes-f.runWasted)
	f.runBytes, f.runWasted = 0, 0
	f.doneBytes, f.scanFrom, f.unsynced, f.partial = 0, 0, nil, nil
	f.done = make([]bool, max(span.Blocks(size, e.cfg.BlockSize), 0))
	f.hashes = make([][32]byte, len(f.done))
	e.resets = append(e.resets, f.ID)
	if f.part != nil {
		f.more().stale = append(f.more().stale, f.part)
		f.part = nil
	}
	e.tree.removePart(f.ID) // also bytes of an earlier run that were never recorded
}

// learn takes in what a stream says about its file. It may switch the file
// to whole-stream mode or restart it. It returns false if the task should
// stop reading this stream.
func (e *Engine) learn(t *task, s *Stream) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := t.f
	e.hostUpLocked(f.host)
	if t.gen != f.gen || f.State != Pending {
		return false, nil
	}
	if s.Size >= 0 && s.Size != f.Size {
		if why := e.tooLarge(s.Size); why != "" {
			return false, &PermanentError{Err: errors.New(why)}
		}
		if why := e.fits(f, s.Size); why != "" {
			e.failFile(f, why, true) // the rest of the job may fit
			return false, nil
		}
	}
	if f.Kind == KindFile && isPage(s.Type) && slashed(f.URL, s.URL) {
		// "grab http://h/dump": the server sends the folder's page. It is
		// not the file asked for, and never lands as one.
		return false, &PermanentError{Err: fmt.Errorf("%s %w (it redirects to %s): give the URL with its trailing / to fetch what it lists", f.URL, ErrFolder, s.URL)}
	}
	e.changedFile(f) // if nothing changed, the commit finds it clean
	if query := strings.IndexByte(f.URL, '?') >= 0; query && f.Kind == KindFile {
		switch {
		case s.Filename != "" && !f.Named && e.cfg.Rename != nil:
			p, err := e.cfg.Rename(&f.File, s.Filename)
			if err != nil {
				e.log.Info("the name the source gives is not used", "path", f.Path, "name", s.Filename, "err", err)
			} else if p != f.Path {
				e.log.Info("named by its source", "path", p, "was", f.Path)
				f.Path = p
			}
			f.Named, f.dirty = true, true
		case s.Filename == "" && f.Root != "" && isPage(s.Type):
			f.State, f.Err, f.dirty = Skipped, NotAFile, true
			f.gen++ // its other tasks stop at their next write
			e.log.Info("left out", "path", f.Path, "why", NotAFile)
			e.broadcast()
			return false, nil
		}
	}
	if !s.Modified.IsZero() {
		f.thisRun().Modified = s.Modified
	}
	if len(s.Digests) > 0 && f.learnDigests(s.Digests) {
		f.dirty = true
	}
	if f.Size >= 0 && s.Size >= 0 && s.Size != f.Size {
		e.restart(f, s.Size, s.Validator)
		return false, nil
	}
	if f.Validator != "" && s.Validator != "" && s.Validator != f.Validator {
		e.restart(f, s.Size, s.Validator)
		return false, nil
	}
	if f.Size < 0 && s.Size >= 0 {
		// Speculative tasks may have completed blocks already: keep them.
		f.Size, f.dirty = s.Size, true
		n := span.Blocks(f.Size, e.cfg.BlockSize)
		done, hashes := make([]bool, n), make([][32]byte, n)
		copy(done, f.done)
		copy(hashes, f.hashes)
		f.done, f.hashes = done, hashes
	}
	if f.Validator == "" && s.Validator != "" {
		f.Validator, f.dirty = s.Validator, true
	}
	if s.Whole {
		if !f.Whole {
			e.log.Info("source ignores byte ranges, fetching as one stream", "path", f.Path)
			f.Whole, f.dirty = true, true
			f.spoilWhole()
			// Every other task of this file would get the whole file too.
			for o := range f.tasks {
				if o != t {
					o.gen = -1
				}
			}
		}
		t.start, t.cursor, t.end, t.probe, t.whole = 0, 0, f.Size, false, true
		t.hinit, t.hstate, t.savedAt = nil, nil, -1
		return true, nil
	}
	if s.Offset != t.start {
		return false, fmt.Errorf("%w: asked from %d, got from %d", ErrBadRange, t.start, s.Offset)
	}
	if t.probe {
		t.probe = false
		if f.Size >= 0 {
			t.end = max(min(t.end, f.Size), t.start)
		}
	}
	if s.Len >= 0 && t.start+s.Len < t.end {
		t.end = t.start + s.Len // the source sends less than asked: the rest stays pending
	}
	if f.Size < 0 || t.end < f.Size || t.start > 0 {
		e.broadcast() // the size may have opened up work
	}
	return true, nil
}

// slashed reports whether got is asked with a slash added to its path
// (on the same host, its default port written or not): where a server
// sends a folder asked for without one.
func slashed(asked, got string) bool {
	a, err1 := url.Parse(asked)
	g, err2 := url.Parse(got)
	return err1 == nil && err2 == nil && a.Hostname() == g.Hostname() && !strings.HasSuffix(a.Path, "/") && g.Path == a.Path+"/"
}

// isPage reports whether a media type is a web page's.
func isPage(contentType string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	mt = strings.TrimSpace(mt)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// waste counts n bytes of f fetched in this run as fetched twice or
// thrown away. e.mu is held.
func (e *Engine) waste(f *fileState, n int64) {
	e.stats.wasted += n
	f.runWasted += n
}
