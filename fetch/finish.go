package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/span"
)

// finish checks a file that has all its blocks and marks it done; the
// next commit syncs it, records it and moves it into the tree. Blocks whose
// bytes on disk no longer match their hash go back to pending. A file
// whose digest contradicts a known one stays out of the tree. It returns
// only errors that stop the job.
func (e *Engine) finish(f *fileState) error {
	e.mu.Lock()
	gen, part, size, expect := f.gen, f.part, f.Size, maps.Clone(f.Expect)
	hashes := append([][32]byte(nil), f.hashes...)
	e.mu.Unlock()
	running, vouched := f.wholeSum(gen, size), f.vouched(gen)

	if part != nil {
		// Bytes past the end (from an earlier version never recorded)
		// must not reach the tree.
		if err := part.Truncate(size); err != nil {
			return e.localErr(f, "truncating", err)
		}
	}
	var bad []int64
	got := digest.NewHasher(expect, e.cfg.Hashes...).Sum() // the digests of no bytes
	if size > 0 {
		bad, got = e.verify(part, size, hashes, expect, running)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if f.gen != gen || f.State != Pending {
		f.finishing = false
		e.broadcast()
		return nil
	}
	if len(bad) > 0 {
		e.log.Warn("blocks changed on disk before the file was finished; fetching them again", "path", f.Path, "blocks", len(bad))
		for _, b := range bad {
			f.done[b] = false
			f.doneBytes -= span.Block(b, e.cfg.BlockSize, size).Len()
			f.scanFrom = min(f.scanFrom, b)
		}
		f.spoilWhole()
		f.finishing = false
		e.broadcast()
		return nil
	}
	if err := digest.Check(expect, got); err != nil {
		e.failFile(f, fmt.Sprintf("%v; the bytes are kept in %s", err, e.partPath(f.ID)), false)
		f.finishing = false
		e.broadcast()
		return nil
	}
	for alg, v := range vouched {
		// What the source checked, recorded as if announced: the bytes
		// on disk are those it checked (their blocks' hashes say so).
		// The file is done: no restart will need to forget them.
		if _, ok := got[alg]; !ok {
			got[alg] = v
		}
		if _, ok := f.Expect[alg]; !ok {
			if f.Expect == nil {
				f.Expect = digest.Set{}
			}
			f.Expect[alg] = v
		}
	}
	f.State, f.SHA256, f.dirty, f.finishing = Done, got[digest.SHA256], true, false
	if delete(got, digest.SHA256); len(got) > 0 {
		f.thisRun().Digests = got // (a map of SHA-256 alone is 300 bytes, held by each file until the commit)
	}
	f.unsynced, f.hashes, f.done = nil, nil, nil // a done file needs neither: it may be one of 500,000
	f.restartWhole(f.gen)
	e.resets = append(e.resets, f.ID) // block hashes are no longer needed
	e.changedFile(f)
	e.finished = append(e.finished, f)
	e.placing(f, 1)
	if len(e.finished) > maxFinishedOpen && e.fsDir != nil && f.part != nil {
		// The commit is behind (a big one, a slow disk): files finish by
		// the thousand, and each would hold its part open until the
		// commit moved it (20,000 reached the limit of open files at
		// 500,000 files). The commit's syncfs covers it closed.
		f.part.Close()
		f.part, f.closedBy = nil, true
	}
	if e.q.nearlyEmpty() {
		e.broadcast() // perhaps the last: idle lanes see that all is settled
	}
	return nil
}

// smallBuf is the size of the buffers that check files up to that size.
const smallBuf = 32 << 10

// verify reads a finished file once: it checks every block against its
// hash and computes the file's digests. A file of one block, or one whose
// SHA-256 was computed as its bytes arrived in order (running, "" if not)
// and no other digest is wanted, needs no hash but the blocks'; those are
// checked on every core. Otherwise one reader feeds the whole-file digests
// in order and hands the blocks to the other cores to check.
func (e *Engine) verify(part *os.File, size int64, hashes [][32]byte, expect digest.Set, running string) (bad []int64, got digest.Set) {
	onlySHA256 := len(e.cfg.Hashes) == 0
	for alg := range expect {
		if alg != digest.SHA256 {
			onlySHA256 = false // any other expected digest needs the pass
		}
	}
	if onlySHA256 && (len(hashes) == 1 || running != "") {
		bad = e.checkBlocks(part, size, hashes, nil)
		if running == "" {
			running = hex.EncodeToString(hashes[0][:]) // one block: the file's hash
		}
		return bad, digest.Set{digest.SHA256: running}
	}
	h := digest.NewHasher(expect, e.cfg.Hashes...)
	bad = e.checkBlocks(part, size, hashes, h)
	return bad, h.Sum()
}

// checkBlocks reads every block of part and returns those that do not
// hash to hashes. With whole set, one goroutine reads the blocks in order
// and writes them to whole as well, and the others hash them; otherwise
// every goroutine reads and hashes blocks of its own.
func (e *Engine) checkBlocks(part *os.File, size int64, hashes [][32]byte, whole io.Writer) []int64 {
	bs := e.cfg.BlockSize
	n := int64(len(hashes))
	var mu sync.Mutex
	var bad []int64
	mark := func(i int64) {
		mu.Lock()
		bad = append(bad, i)
		mu.Unlock()
	}
	read := func(buf []byte, i int64) []byte {
		r := span.Block(i, bs, size)
		k, err := part.ReadAt(buf[:r.Len()], r.Start)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == r.Len()) {
			return nil
		}
		return buf[:k]
	}
	workers := int64(min(runtime.GOMAXPROCS(0), 8))
	if n < 4 || workers < 2 {
		pool, want := &e.blockBufs, bs
		if size <= smallBuf {
			pool, want = &e.smallBufs, smallBuf // most small files: 64 lanes of 256 KiB were 8 MB
		}
		buf, _ := pool.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		defer pool.Put(buf)
		if int64(len(*buf)) < want {
			*buf = make([]byte, want)
		}
		for i := range n {
			buf := *buf
			b := read(buf, i)
			if b == nil || sha256.Sum256(b) != hashes[i] {
				mark(i)
			}
			if b != nil && whole != nil {
				whole.Write(b)
			}
		}
		slices.Sort(bad)
		return bad
	}
	var wg sync.WaitGroup
	if whole == nil {
		var next atomic.Int64
		for range workers {
			wg.Go(func() {
				buf := make([]byte, bs)
				for {
					i := next.Add(1) - 1
					if i >= n {
						return
					}
					if b := read(buf, i); b == nil || sha256.Sum256(b) != hashes[i] {
						mark(i)
					}
				}
			})
		}
		wg.Wait()
		slices.Sort(bad)
		return bad
	}
	// One reader, in order, for the whole-file digests; the blocks go to
	// the others. Buffers go round: free → reader → hashers → free.
	type job struct {
		i   int64
		buf []byte
		b   []byte
	}
	free := make(chan []byte, 2*workers)
	for range 2 * workers {
		free <- make([]byte, bs)
	}
	jobs := make(chan job, 2*workers)
	for range workers - 1 {
		wg.Go(func() {
			for j := range jobs {
				if j.b == nil || sha256.Sum256(j.b) != hashes[j.i] {
					mark(j.i)
				}
				free <- j.buf
			}
		})
	}
	for i := range n {
		buf := <-free
		b := read(buf, i)
		if b != nil {
			whole.Write(b)
		}
		jobs <- job{i, buf, b}
	}
	close(jobs)
	wg.Wait()
	slices.Sort(bad)
	return bad
}

// finishMove puts a done file's partial file at its place in the tree,
// beneath the output folder, and adds its folder to dirs for the caller to
// sync: a link there that leads out of it makes the file fail (grab's copy
// stays in the state folder), never a write outside.
func (e *Engine) finishMove(f *fileState, dirs map[string]bool) error {
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
			e.failFile(f, fmt.Sprintf("%s changed in the tree since grab placed it (%d bytes, was %d); not overwritten", filepath.Join(e.cfg.Dir, dst), fi.Size(), f.Size), false)
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
	dirs[filepath.Join(e.cfg.Dir, filepath.Dir(dst))] = true
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
	e.q.remove(f) // before its record changes: the index compares it
	f.State, f.SHA256, f.Err = Pending, "", ""
	e.restart(f, f.Size, f.Validator)
	e.enqueue(f)
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
	e.failFile(f, fmt.Sprintf("cannot place it in %s: %v; grab's verified copy is kept in %s", e.cfg.Dir, err, e.partPath(f.ID)), true)
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

// placing counts f (d = 1) as done but not yet in the tree, or (d = -1)
// no longer. e.mu is held.
func (e *Engine) placing(f *fileState, d int) {
	if e.unplaced == nil {
		e.unplaced = map[string]ClassStatus{}
	}
	c := e.unplaced[f.Class]
	c.Done += d
	c.DoneBytes += int64(d) * f.Size
	if c.Done == 0 {
		delete(e.unplaced, f.Class)
		return
	}
	e.unplaced[f.Class] = c
}
