package fetch

import (
	"context"
	"fmt"
)

// crawl reads a listing and adds what Config.Expand finds in it. The
// listing is recorded as done in the same commit as its children, so a
// resumed job neither loses them nor reads the listing again (many
// children are recorded ahead in batches of their own: commit.go).
func (e *Engine) crawl(ctx context.Context, conn Conn, t *task) {
	e.mu.Lock()
	rec := t.f.File
	e.mu.Unlock()
	lister, ok := conn.(Lister)
	switch {
	case e.cfg.Expand == nil:
		e.fail(t, &PermanentError{Err: fmt.Errorf("%s is a listing, and this job does not crawl", rec.URL)}, false)
		return
	case !ok:
		e.fail(t, &PermanentError{Err: fmt.Errorf("%s is a folder, and its source cannot list folders", rec.URL)}, false)
		return
	}
	jobCtx := ctx
	ctx, stopWatch := e.watch(ctx, t)
	defer stopWatch()
	found, err := lister.List(ctx, rec.URL, e.cfg.ListingMax, func(n int) {
		e.mu.Lock()
		t.lastMove = e.cfg.Now()
		t.listed += int64(n)
		e.stats.fetched += int64(n)
		e.mu.Unlock()
	})
	if err != nil {
		if jobCtx.Err() == nil {
			e.fail(t, err, false)
		}
		return
	}
	e.hostUp(hostOf(rec.URL))
	if t.lane != nil {
		e.proven(t.lane.c)
	}
	if found.URL == "" {
		found.URL = rec.URL
	}
	files, err := e.cfg.Expand(rec, found)
	found.Entries = nil // a million of them would stay alive beside their items
	if err != nil {
		e.fail(t, &PermanentError{Err: err}, false)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.gen != t.f.gen || t.f.State != Pending {
		return
	}
	n := e.add(files)
	t.f.State, t.f.dirty = Done, true
	e.changedFile(t.f)
	e.log.Info("listing read", "url", rec.URL, "entries", len(files), "new", n)
	e.broadcast()
}
