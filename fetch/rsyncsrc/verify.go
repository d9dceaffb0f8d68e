package rsyncsrc

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/rsync"
)

// A file fetched in pieces is never read to its end in one session, so
// rsync's own check of a transfer does not cover it. Its whole-file
// checksum is asked for once (--append-verify with X = its size: no data,
// but the daemon reads the whole file in silence first) and announced in
// the Streams of the file as an expected digest; the engine's finish step
// checks it in the same pass as SHA-256, and it stays recorded with the
// file. Pieces ask in the background and carry the checksum once it is
// known; a piece that reaches the file's end waits for it, so the file
// never finishes without it. A file sent whole from 0 to its end is
// checked by the session.

// sumKey names one version of one file.
type sumKey struct{ url, validator string }

// sumEntry is a whole-file checksum, asked for once however many workers
// want it.
type sumEntry struct {
	done chan struct{}
	set  digest.Set
	err  error
}

// sumTimeout bounds the background ask for one whole-file checksum.
const sumTimeout = 30 * time.Minute

// sumFor returns the whole-file checksum of the version val of rawURL,
// asked of the daemon on c's circuit in the background if nobody asked
// yet. The ask is not bound to the request that started it: a request cut
// by the engine's stall watch while the daemon reads a huge file in
// silence does not lose it, and the retry finds it. An ask that failed is
// forgotten, so the next request asks again.
func (c *Conn) sumFor(ctx context.Context, rawURL, val string) *sumEntry {
	s := c.src
	k := sumKey{rawURL, val}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sums == nil {
		s.sums = map[sumKey]*sumEntry{}
	}
	if e := s.sums[k]; e != nil {
		return e
	}
	e := &sumEntry{done: make(chan struct{})}
	s.sums[k] = e
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), sumTimeout)
	go func() {
		defer cancel()
		e.set, e.err = c.askSum(bg, rawURL, val)
		if e.err != nil {
			s.mu.Lock()
			if s.sums[k] == e {
				delete(s.sums, k)
			}
			s.mu.Unlock()
		}
		close(e.done)
	}()
	return e
}

// wait returns the entry's digests once asked, or the request's end.
func (e *sumEntry) wait(ctx context.Context) (digest.Set, error) {
	select {
	case <-e.done:
		return e.set, e.err
	case <-ctx.Done():
		return nil, &fetch.TransientError{Err: fmt.Errorf("rsync: waiting for the whole-file checksum: %w", ctx.Err())}
	}
}

func (c *Conn) askSum(ctx context.Context, rawURL, val string) (digest.Set, error) {
	algo, sum, f, err := c.checksum(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if got := Validator(f); got != val {
		return nil, &fetch.ChangedError{Size: f.Size, Validator: got, Why: fmt.Sprintf("was %s, is %s (while asking its checksum)", val, got)}
	}
	set := sumSet(algo, sum)
	c.src.logger().Debug("rsync whole-file checksum", "url", redact(rawURL), "algo", algo, "sum", hex.EncodeToString(sum))
	return set, nil
}

// cachedSum is the whole-file checksum of a version if known already.
func (s *Source) cachedSum(rawURL, val string) digest.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.sums[sumKey{rawURL, val}]; e != nil {
		select {
		case <-e.done:
			return e.set
		default:
		}
	}
	return nil
}

// sumSet is a daemon's whole-file checksum as a digest.Set, keyed by
// digest's name for its algorithm (algo as Conn.Checksum gives it); empty
// for an algorithm digest cannot compute.
func sumSet(algo string, sum []byte) digest.Set {
	set := digest.Set{}
	switch {
	case algo == rsync.XXH128:
		set[digest.XXH128] = hex.EncodeToString(sum)
	case algo == rsync.MD5:
		set[digest.MD5] = hex.EncodeToString(sum)
	case algo == rsync.SHA1:
		set[digest.SHA1] = hex.EncodeToString(sum)
	case strings.HasPrefix(algo, digest.MD4Seeded+":"):
		set[algo] = hex.EncodeToString(sum)
	}
	return set
}

// checkedSum is Stream.Checked for a reply that carries the whole file:
// the daemon's checksum once the session compared it with the data.
func checkedSum(s *rsync.Session, rep *rsync.Reply) func() digest.Set {
	return func() digest.Set {
		if !rep.Verified() {
			return nil
		}
		algo, sum := rep.Checksum()
		if algo == rsync.MD4Seeded {
			algo = digest.SeededMD4(s.Seed())
		}
		return sumSet(algo, sum)
	}
}
