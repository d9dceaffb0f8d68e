package fetch

import (
	"context"
	"fmt"
)

// crawl reads a listing and adds what Config.Expand finds in it, a slice
// of its entries at a time. The listing is recorded as done in the same
// commit as its last children, so a resumed job never loses them; a crash
// before that commit leaves it unread, with children recorded ahead: a
// resume reads it again and finds them (a URL is one item).
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
		wait := t.listed > bigListing && !t.big
		t.held = wait
		e.mu.Unlock()
		if wait {
			// Past what any listing may hold: it goes on only with a
			// place of its own, the stall watch suspended meanwhile.
			select {
			case e.bigListings <- struct{}{}:
				e.mu.Lock()
				t.big, t.held, t.lastMove = true, false, e.cfg.Now()
				e.mu.Unlock()
			case <-ctx.Done():
			}
		}
	})
	e.mu.Lock()
	if t.big {
		<-e.bigListings
	}
	t.big, t.held = false, false
	e.mu.Unlock()
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
	// Expanded and added a slice at a time: a million entries at once
	// would be a million File (176 bytes each) beside their items.
	entries, total, added := found.Entries, 0, 0
	found.Entries = nil
	for len(entries) > 0 {
		k := min(len(entries), expandBatch)
		files, err := e.cfg.Expand(rec, &Listing{URL: found.URL, Entries: entries[:k:k]})
		clear(entries[:k]) // its entries' strings live on in the items only
		entries = entries[k:]
		if err != nil {
			e.fail(t, &PermanentError{Err: err}, false)
			return
		}
		e.mu.Lock()
		if t.gen != t.f.gen || t.f.State != Pending {
			e.mu.Unlock()
			return
		}
		total += len(files)
		added += e.add(files)
		e.broadcast()
		e.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.gen != t.f.gen || t.f.State != Pending {
		return
	}
	t.f.State, t.f.dirty = Done, true
	e.changedFile(t.f)
	e.log.Info("listing read", "url", rec.URL, "entries", total, "new", added)
	e.broadcast()
}

// expandBatch is how many entries of a listing are expanded and added at
// once.
const expandBatch = 4096
