package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"

	"github.com/grab-ir/grab/fetch/digest"
)

// wholeHash is the SHA-256 of a file's bytes from its start, fed by the
// request whose bytes continue it as they arrive. When a file's blocks
// arrive in order (the usual case: one request after the other, a split
// handing over where the first stops) it is the file's SHA-256 when the
// last block lands, and the final check need not hash the file a second
// time. Its own mutex, not e.mu, guards it: the hashing happens outside
// e.mu, and only requests of the same file meet here. Lock order: e.mu
// before wholeHash.mu.
type wholeHash struct {
	mu      sync.Mutex
	gen     int // the generation of the file it hashes
	h       hash.Hash
	reached int64      // bytes hashed
	spoiled bool       // bytes may have been written twice, differently: not to be trusted
	checked digest.Set // digests a source checked over the whole file's bytes (Stream.Checked)
}

// feedWhole adds p, written at off by a request of generation gen, if it
// continues the running hash.
func (f *fileState) feedWhole(gen int, off int64, p []byte) {
	w := &f.whole
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.spoiled || w.gen != gen || off != w.reached {
		return
	}
	if w.h == nil {
		w.h = sha256.New()
	}
	w.h.Write(p)
	w.reached += int64(len(p))
}

// wholeSum is the hex SHA-256 of the file if the running hash covers all
// size bytes of generation gen, else "".
func (f *fileState) wholeSum(gen int, size int64) string {
	w := &f.whole
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.spoiled || w.gen != gen || w.reached != size || w.h == nil {
		return ""
	}
	return hex.EncodeToString(w.h.Sum(nil))
}

// spoilWhole stops the running hash: the same bytes may have been fetched
// twice (a twin, a whole stream over ranges) and may differ, or blocks are
// fetched again. The final check then hashes the file.
func (f *fileState) spoilWhole() {
	f.whole.mu.Lock()
	f.whole.spoiled = true
	f.whole.mu.Unlock()
}

// restartWhole starts the running hash over for generation gen.
func (f *fileState) restartWhole(gen int) {
	w := &f.whole
	w.mu.Lock()
	w.gen, w.h, w.reached, w.spoiled, w.checked = gen, nil, 0, false, nil
	w.mu.Unlock()
}

// vouch keeps the digests a source checked over every byte of the file,
// written by one stream of generation gen.
func (f *fileState) vouch(gen int, set digest.Set) {
	w := &f.whole
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen == gen && !w.spoiled {
		w.checked = set
	}
}

// vouched is what vouch kept for generation gen, nil if another request
// may have written to the file since.
func (f *fileState) vouched(gen int) digest.Set {
	w := &f.whole
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen != gen || w.spoiled {
		return nil
	}
	return w.checked
}

// donePrefix is how many bytes from the file's start are in done blocks
// one after the other: what a whole stream may take as its basis (see
// Request.Basis). e.mu is held.
func (f *fileState) donePrefix(bs int64) int64 {
	n := int64(0)
	for _, d := range f.done {
		if !d {
			break
		}
		n += bs
	}
	if f.Size >= 0 {
		n = min(n, f.Size)
	}
	return n
}
