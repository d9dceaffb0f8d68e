package fetch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

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
	h := digest.NewHasher(expect)
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

// finishMove puts a done file's partial file at its place in the tree,
// beneath the output folder: a link there that leads out of it makes the
// file fail (grab's copy stays in the state folder), never a write outside.
func (e *Engine) finishMove(f *fileState) error {
	if f.Kind != KindFile {
		return nil // a listing has no place in the tree
	}
	src, dst := partRel(f.ID), filepath.FromSlash(f.Path)
	root := e.tree.root
	if _, err := root.Lstat(src); errors.Is(err, os.ErrNotExist) {
		fi, err := root.Lstat(dst)
		switch {
		case f.Size == 0:
			return e.placeEmpty(f, dst)
		case e.inTree(f):
			return nil // moved already
		case err == nil:
			// grab placed it, and it changed since: reported, never
			// overwritten (grab verify lists it too).
			e.mu.Lock()
			e.failFile(f, fmt.Sprintf("%s changed in the tree since grab placed it (%d bytes, was %d); not overwritten", filepath.Join(e.cfg.Dir, dst), fi.Size(), f.Size))
			e.mu.Unlock()
			return nil
		}
		// Neither in the tree nor in the state folder (deleted while it
		// ran): its bytes are gone, so is "done".
		e.log.Warn("the partial file vanished before it could be placed: fetching it again", "path", f.Path)
		e.mu.Lock()
		e.reopen(f)
		e.mu.Unlock()
		return nil
	}
	if _, err := root.Lstat(dst); err == nil {
		return e.cannotPlace(f, fmt.Errorf("%s exists already and was not written by this job", filepath.Join(e.cfg.Dir, dst)))
	}
	if err := root.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return e.placeErr(f, "creating its folder", err)
	}
	if err := root.Rename(src, dst); err != nil {
		return e.placeErr(f, "moving it into place", err)
	}
	if d, err := root.Open(filepath.Dir(dst)); err == nil {
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

// inTree reports whether a file is in the tree at its path with its size.
func (e *Engine) inTree(f *fileState) bool {
	fi, err := e.tree.root.Lstat(filepath.FromSlash(f.Path))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == f.Size
}

// reopen makes a file recorded done pending again, from nothing. e.mu is
// held, or the engine is not running yet.
func (e *Engine) reopen(f *fileState) {
	f.State, f.SHA256, f.Err = Pending, "", ""
	e.restart(f, f.Size, f.Validator)
	i, _ := slices.BinarySearchFunc(e.queue, f, e.compare)
	e.queue = slices.Insert(e.queue, i, f)
	e.broadcast()
}

// placeEmpty creates an empty file that was never opened for writing.
func (e *Engine) placeEmpty(f *fileState, dst string) error {
	root := e.tree.root
	if _, err := root.Lstat(dst); err == nil {
		return nil
	}
	if err := root.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return e.placeErr(f, "creating its folder", err)
	}
	out, err := root.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return e.placeErr(f, "creating it", err)
	}
	return out.Close()
}

// placeErr is a failure to put one file in the tree: a full disk stops
// the job; anything else (a link out of the folder, a name the file
// system refuses) fails that file alone.
func (e *Engine) placeErr(f *fileState, doing string, err error) error {
	if isDiskFull(err) {
		return e.localErr(f, doing, err)
	}
	return e.cannotPlace(f, fmt.Errorf("%s: %w", doing, err))
}

// cannotPlace fails a file that is complete and verified but cannot land.
func (e *Engine) cannotPlace(f *fileState, err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failFile(f, fmt.Sprintf("cannot place it in %s: %v; grab's verified copy is kept in %s", e.cfg.Dir, err, e.partPath(f.ID)))
	if f.part != nil {
		f.part.Close()
		f.part = nil
	}
	e.log.Warn("file not placed", "path", f.Path, "err", err)
	return nil
}

func (e *Engine) localErr(f *fileState, doing string, err error) error {
	if isDiskFull(err) {
		return fmt.Errorf("%w: %s %s: %v", ErrDiskFull, doing, f.Path, err)
	}
	return fmt.Errorf("%s %s: %w", doing, f.Path, err)
}
