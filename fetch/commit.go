package fetch

import (
	"fmt"
	"maps"
	"os"
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
			return e.commit()
		}
	}
}

// commit makes finished blocks durable and then records them: partial files
// are fdatasynced before their block hashes reach the journal, so a
// recorded block always has its bytes on disk.
func (e *Engine) commit() error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.mu.Lock()
	b := &Batch{Resets: e.resets}
	e.resets = nil
	var parts []*os.File
	for _, f := range e.files {
		if f.dirty {
			rec := f.File
			rec.Expect = maps.Clone(f.Expect)
			b.Files = append(b.Files, rec)
			f.dirty = false
		}
		if f.part == nil || f.State != Pending {
			f.unsynced = nil
			continue
		}
		n := len(b.Blocks) + len(b.Partials)
		for _, i := range f.unsynced {
			b.Blocks = append(b.Blocks, BlockHash{File: f.ID, Index: i, Hash: f.hashes[i]})
		}
		f.unsynced = nil
		b.Partials = append(b.Partials, e.partials(f)...)
		if len(b.Blocks)+len(b.Partials) > n {
			parts = append(parts, f.part)
		}
	}
	e.mu.Unlock()
	if len(b.Resets)+len(b.Files)+len(b.Blocks)+len(b.Partials) == 0 {
		return nil
	}
	for _, p := range parts {
		if err := datasync(p); err != nil {
			if isDiskFull(err) {
				return fmt.Errorf("%w: syncing partial files: %v", ErrDiskFull, err)
			}
			return fmt.Errorf("syncing partial files: %w", err)
		}
	}
	if err := e.cfg.Journal.Save(b); err != nil {
		if isDiskFull(err) {
			return fmt.Errorf("%w: saving progress: %v", ErrDiskFull, err)
		}
		return fmt.Errorf("saving progress: %w", err)
	}
	return nil
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
