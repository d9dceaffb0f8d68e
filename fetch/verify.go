package fetch

import (
	"context"
	"sync/atomic"

	"github.com/grab-ir/grab/fetch/span"
)

// verifyState is the check of the blocks a job recorded before it was
// stopped. A resume of hundreds of GB must read all of them again; it runs
// in Run, each file's blocks hashed on every core, while the files that
// need no check are fetched. A file joins the queue once checked.
type verifyState struct {
	files []toVerify   // to check, in the order loaded; taken by Run
	left  int          // files not checked yet, under e.mu
	total int64        // bytes recorded in them
	done  atomic.Int64 // bytes read back so far
}

type toVerify struct {
	f        *fileState
	blocks   map[int64][32]byte
	partials map[int64]Partial
}

// recordedBytes is how many bytes a resume reads back to check s.
func recordedBytes(s Saved, bs int64) int64 {
	var n int64
	for i := range s.Blocks {
		if s.File.Size >= 0 && i >= 0 && i < span.Blocks(s.File.Size, bs) {
			n += span.Block(i, bs, s.File.Size).Len()
		}
	}
	for b, p := range s.Partials {
		if p.Reached > b*bs {
			n += min(p.Reached-b*bs, bs)
		}
	}
	return n
}

// verifyAll checks the recorded blocks of the files loaded, one file at a
// time (its blocks in parallel), queueing each when done. It stops early
// when ctx ends: what it did not check stays as the journal has it.
func (e *Engine) verifyAll(ctx context.Context) error {
	e.mu.Lock()
	files := e.resume.files
	e.resume.files = nil
	e.mu.Unlock()
	for _, v := range files {
		if ctx.Err() != nil {
			return nil
		}
		if err := e.reverify(v.f, v.blocks, v.partials); err != nil {
			return err
		}
		e.mu.Lock()
		e.resume.left--
		e.enqueue(v.f)
		e.broadcast()
		e.mu.Unlock()
	}
	return nil
}
