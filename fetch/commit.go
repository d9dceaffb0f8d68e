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
		if len(f.unsynced) > 0 && f.part != nil && f.State == Pending {
			for _, i := range f.unsynced {
				b.Blocks = append(b.Blocks, BlockHash{File: f.ID, Index: i, Hash: f.hashes[i]})
			}
			parts = append(parts, f.part)
		}
		f.unsynced = nil
	}
	e.mu.Unlock()
	if len(b.Resets)+len(b.Files)+len(b.Blocks) == 0 {
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
