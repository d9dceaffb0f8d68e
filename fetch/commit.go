package fetch

import (
	"fmt"
	"maps"
	"os"
	"sync"
	"time"
)

// commitLoop records progress every CommitEvery until stop is closed, then
// once more.
func (e *Engine) commitLoop(stop <-chan struct{}) error {
	tick := time.NewTicker(e.cfg.CommitEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := e.commit(); err != nil {
				e.stop(err)
				<-stop
				return err
			}
		case <-stop:
			if err := e.commit(); err != nil {
				return err
			}
			// Moving finished files into the tree may have failed some
			// (a file in the way): record that too.
			return e.commit()
		}
	}
}

// commit makes progress durable and then records it, in one batch:
//
//  1. the partial files with new blocks or partial blocks, and those of
//     files finished since the last commit, are fdatasynced (several at a
//     time, so that the file system can put them in one journal commit),
//     and the folder of partial files once if files were created in it;
//  2. one Journal.Save records the blocks, partials and records;
//  3. the finished files are renamed into the tree, and each folder they
//     went to is synced once.
//
// A recorded block or finished file therefore always has its bytes on
// disk; a crash between 2 and 3 is completed on resume (finishMove). It
// looks only at the files that changed since the last commit.
func (e *Engine) commit() error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	b := &Batch{Resets: e.resets}
	e.resets = nil
	var parts []*os.File
	dirty, unsaved := 0, 0
	for _, f := range e.changed {
		if f.dirty {
			dirty++
			if untouched(f) {
				unsaved++
			}
		}
	}
	// Many new items (a listing of a million) are recorded ahead, a
	// batch at a time: one transaction of all of them held about 1 KB
	// each on the heap at once.
	var ahead []File
	if unsaved <= aheadBatch {
		unsaved = 0
	} else {
		ahead = make([]File, 0, unsaved)
	}
	if dirty > unsaved {
		b.Files = make([]File, 0, dirty-unsaved) // not twice that: a million records is 168 MB
	}
	for _, f := range e.changed {
		f.listed = false
		if f.dirty {
			rec := f.File
			rec.Expect = maps.Clone(f.Expect)
			if ahead != nil && untouched(f) {
				ahead = append(ahead, rec)
			} else {
				b.Files = append(b.Files, rec)
			}
			f.dirty, f.unsaved = false, false
		}
		if f.part == nil || f.State != Pending {
			if f.unsynced != nil {
				f.unsynced = nil
			}
			continue // (idle is never written)
		}
		n := len(b.Blocks) + len(b.Partials)
		for _, i := range f.unsynced {
			b.Blocks = append(b.Blocks, BlockHash{File: f.ID, Index: i, Hash: f.hashes[i]})
		}
		if f.unsynced != nil {
			f.unsynced = nil
		}
		b.Partials = append(b.Partials, e.partials(f)...)
		if len(b.Blocks)+len(b.Partials) > n {
			parts = append(parts, f.part)
		}
	}
	clear(e.changed)
	e.changed = e.changed[:0]
	finished := e.finished
	e.finished = nil
	var closed []uint64 // finished, their part closed unsynced
	for _, f := range finished {
		if f.part != nil {
			parts = append(parts, f.part)
		} else if f.closedBy {
			closed = append(closed, f.ID)
		}
		f.closedBy = false
	}
	newParts := e.newParts
	e.newParts = false
	e.mu.Unlock()
	if len(b.Resets)+len(b.Files)+len(b.Blocks)+len(b.Partials) == 0 && len(finished) == 0 {
		return nil
	}
	if err := e.syncParts(parts, closed, newParts); err != nil {
		if isDiskFull(err) {
			return fmt.Errorf("%w: syncing partial files: %v", ErrDiskFull, err)
		}
		return fmt.Errorf("syncing partial files: %w", err)
	}
	for len(ahead) > 0 {
		n := min(len(ahead), aheadBatch)
		if err := e.cfg.Journal.Save(&Batch{Files: ahead[:n:n]}); err != nil {
			if isDiskFull(err) {
				return fmt.Errorf("%w: saving progress: %v", ErrDiskFull, err)
			}
			return fmt.Errorf("saving progress: %w", err)
		}
		ahead = ahead[n:]
	}
	if err := e.cfg.Journal.Save(b); err != nil {
		if isDiskFull(err) {
			return fmt.Errorf("%w: saving progress: %v", ErrDiskFull, err)
		}
		return fmt.Errorf("saving progress: %w", err)
	}
	if len(finished) == 0 {
		return nil
	}
	dirs := map[string]bool{}
	var placed []File
	for _, f := range finished {
		e.log.Info("file done", "path", f.Path, "size", f.Size, "sha256", f.SHA256)
		if err := e.finishMove(f, dirs); err != nil {
			return err
		}
		e.mu.Lock()
		e.placing(f, -1)
		if f.State == Done {
			placed = append(placed, f.File)
			f.Run = nil // Finished gets it; a job may hold 500,000 done files
		}
		e.mu.Unlock()
	}
	if e.fsDir != nil && len(dirs) > syncfsDirs {
		if err := syncfs(e.fsDir); err != nil {
			return fmt.Errorf("syncing the moves into the tree: %w", err)
		}
	} else if err := syncDirs(dirs); err != nil {
		return err
	}
	if e.cfg.Finished != nil {
		for _, f := range placed {
			e.cfg.Finished(f)
		}
	}
	return nil
}

// aheadBatch is the most new items a commit records in one Save with
// the rest of its changes; beyond it, new items are recorded first, this
// many at a time, each in a Save of its own (each Save syncs: with 8,192
// the records of 500,000 files took 61 syncs, during which finished files
// kept their partial files open, 20,000 of them on a busy disk). They are items nothing has
// been fetched of, so a crash between those Saves and the last only
// leaves items a resume finds again: the listing that found them is
// recorded as read in the last Save, with what else changed, and is read
// again.
const aheadBatch = 65536

// untouched reports whether f is new since the last commit and nothing
// has happened to it since: a record that may go ahead. e.mu is held.
func untouched(f *fileState) bool {
	return f.unsaved && (f.State == Skipped || isFresh(f))
}

// maxFinishedOpen is how many files finished since the last commit keep
// their partial file open for it; the others close theirs, and the
// commit's syncfs makes them durable all the same.
const maxFinishedOpen = 1024

// Batches from which a commit syncs the whole file system at once
// (syncfs) rather than file by file, where it can.
const (
	syncfsFiles = 8 // partial files
	syncfsDirs  = 2 // folders of the tree
)

// syncParts makes the bytes of parts durable, and with newParts the
// folder of partial files. The partial files and the output folder share
// one file system (finished files are renamed from one to the other), so
// one syncfs covers a large batch.
func (e *Engine) syncParts(parts []*os.File, closed []uint64, newParts bool) error {
	if e.fsDir != nil && len(parts)+len(closed) >= syncfsFiles {
		return syncfs(e.fsDir)
	}
	for _, id := range closed { // not reached: parts are closed early only beyond maxFinishedOpen, with syncfs
		p, err := e.tree.openPart(id, os.O_RDONLY)
		if err != nil {
			return err
		}
		err = datasync(p)
		p.Close()
		if err != nil {
			return err
		}
	}
	if err := syncAll(parts); err != nil {
		return err
	}
	if newParts {
		if err := syncDir(e.partDir()); err != nil {
			return fmt.Errorf("the folder of partial files: %w", err)
		}
	}
	return nil
}

// syncAll fdatasyncs files, several at a time.
func syncAll(files []*os.File) error {
	if len(files) <= 1 {
		for _, f := range files {
			if err := datasync(f); err != nil {
				return err
			}
		}
		return nil
	}
	var g errgroup
	g.limit(min(len(files), 16))
	for _, f := range files {
		g.do(func() error { return datasync(f) })
	}
	return g.wait()
}

// syncDir fsyncs a folder, making the entries made in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// syncDirs syncs each folder of dirs once.
func syncDirs(dirs map[string]bool) error {
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("syncing %s: %w", d, err)
		}
	}
	return nil
}

// errgroup runs functions with at most n at a time and keeps the first
// error.
type errgroup struct {
	wg   sync.WaitGroup
	sem  chan struct{}
	once sync.Once
	err  error
}

func (g *errgroup) limit(n int) { g.sem = make(chan struct{}, n) }

func (g *errgroup) do(f func() error) {
	g.sem <- struct{}{}
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem; g.wg.Done() }()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

func (g *errgroup) wait() error {
	g.wg.Wait()
	return g.err
}

// partials lists f's unfinished blocks whose progress is not recorded yet:
// those of running tasks and those left by tasks that ended mid-block.
// e.mu is held.
func (e *Engine) partials(f *fileState) []Partial {
	var out []Partial
	bs := e.cfg.BlockSize
	for t := range f.tasks {
		if t.gen != f.gen || t.hstate == nil || t.cursor%bs == 0 || t.cursor == t.savedAt || t.part != f.part {
			continue
		}
		if b := t.cursor / bs; b < int64(len(f.done)) && !f.done[b] {
			out = append(out, Partial{File: f.ID, Block: b, Reached: t.cursor, State: t.hstate})
			t.savedAt = t.cursor
		}
	}
	for b, p := range f.partial {
		if !p.saved {
			out = append(out, Partial{File: f.ID, Block: b, Reached: p.reached, State: p.state})
			p.saved = true
		}
	}
	return out
}
