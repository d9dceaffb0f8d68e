package fetch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/span"
)

// finish checks a file that has all its blocks and moves it into the output
// tree. Blocks whose bytes on disk no longer match their hash go back to
// pending. A file whose digest contradicts a known one stays out of the
// tree. It returns only errors that stop the job.
func (e *Engine) finish(f *fileState) error {
	e.mu.Lock()
	gen, part, size, expect := f.gen, f.part, f.Size, maps.Clone(f.Expect)
	hashes := append([][32]byte(nil), f.hashes...)
	e.mu.Unlock()

	var bad []int64
	h := digest.NewHasher(expect, e.cfg.Hashes...)
	if part != nil {
		// Bytes past the end (from an earlier version never recorded)
		// must not reach the tree.
		if err := part.Truncate(size); err != nil {
			return e.localErr(f, "truncating", err)
		}
	}
	if size > 0 {
		if err := part.Sync(); err != nil {
			return e.localErr(f, "syncing", err)
		}
		buf := make([]byte, e.cfg.BlockSize)
		for i := range hashes {
			r := span.Block(int64(i), e.cfg.BlockSize, size)
			n, err := part.ReadAt(buf[:r.Len()], r.Start)
			if err != nil && !(errors.Is(err, io.EOF) && int64(n) == r.Len()) {
				bad = append(bad, int64(i))
				continue
			}
			if sha256.Sum256(buf[:n]) != hashes[i] {
				bad = append(bad, int64(i))
			}
			h.Write(buf[:n])
		}
	}
	got := h.Sum()

	e.mu.Lock()
	if f.gen != gen || f.State != Pending {
		f.finishing = false
		e.broadcast()
		e.mu.Unlock()
		return nil
	}
	if len(bad) > 0 {
		e.log.Warn("blocks changed on disk before the file was finished; fetching them again", "path", f.Path, "blocks", len(bad))
		for _, b := range bad {
			f.done[b] = false
			f.doneBytes -= span.Block(b, e.cfg.BlockSize, size).Len()
			f.scanFrom = min(f.scanFrom, b)
		}
		f.finishing = false
		e.broadcast()
		e.mu.Unlock()
		return nil
	}
	if err := digest.Check(expect, got); err != nil {
		e.failFile(f, fmt.Sprintf("%v; the bytes are kept in %s", err, e.partPath(f.ID)))
		f.finishing = false
		e.broadcast()
		e.mu.Unlock()
		return nil
	}
	f.State, f.SHA256, f.dirty, f.finishing = Done, got[digest.SHA256], true, false
	f.Digests = got
	f.unsynced = nil
	e.resets = append(e.resets, f.ID) // block hashes are no longer needed
	e.mu.Unlock()

	// Record the file as done before it appears in the tree: after a crash
	// in between, the resume completes the move (finishMove).
	if err := e.commit(); err != nil {
		return err
	}
	e.log.Info("file done", "path", f.Path, "size", size, "sha256", f.SHA256)
	err := e.finishMove(f)
	e.mu.Lock()
	e.broadcast()
	rec, placed := f.File, f.State == Done
	e.mu.Unlock()
	if err == nil && placed && e.cfg.Finished != nil {
		e.cfg.Finished(rec)
	}
	return err
}

// finishMove puts a done file's partial file at its place in the tree.
func (e *Engine) finishMove(f *fileState) error {
	src := e.partPath(f.ID)
	dst := filepath.Join(e.cfg.Dir, filepath.FromSlash(f.Path))
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		if f.Size == 0 {
			return e.placeEmpty(f, dst)
		}
		return nil // moved already
	}
	if _, err := os.Lstat(dst); err == nil {
		e.mu.Lock()
		e.failFile(f, fmt.Sprintf("%s exists already and was not written by this job; grab's copy is kept in %s", dst, src))
		f.State = Failed
		e.mu.Unlock()
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return e.localErr(f, "creating folder for", err)
	}
	if err := os.Rename(src, dst); err != nil {
		return e.localErr(f, "moving into place", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	e.mu.Lock()
	if f.part != nil {
		f.part.Close()
		f.part = nil
	}
	e.mu.Unlock()
	return nil
}

// placeEmpty creates an empty file that was never opened for writing.
func (e *Engine) placeEmpty(f *fileState, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return e.localErr(f, "creating folder for", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return e.localErr(f, "creating", err)
	}
	return out.Close()
}

func (e *Engine) localErr(f *fileState, doing string, err error) error {
	if isDiskFull(err) {
		return fmt.Errorf("%w: %s %s: %v", ErrDiskFull, doing, f.Path, err)
	}
	return fmt.Errorf("%s %s: %w", doing, f.Path, err)
}
