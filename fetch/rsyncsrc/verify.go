package rsyncsrc

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/rsync"
)

// A file fetched in pieces is never read to its end in one session, so
// rsync's own check of a transfer does not cover it. Its whole-file
// checksum is asked for once (--append-verify with X = its size: no data,
// but the daemon reads the whole file in silence first) and announced in
// every Stream of the file as an expected digest; the engine's finish step
// checks it in the same pass as SHA-256, and it stays recorded with the
// file. A file sent whole from 0 to its end is checked by the session.

// sumKey names one version of one file.
type sumKey struct{ url, validator string }

// sumEntry is a whole-file checksum, asked for once however many workers
// want it.
type sumEntry struct {
	done chan struct{}
	set  digest.Set
	err  error
}

// wholeSum returns the expected digests of the version val of rawURL:
// from the cache, or asked of the daemon on c's circuit. An empty set
// means the daemon's checksum cannot be checked locally (MD4 seeded, from
// protocols before 30).
func (c *Conn) wholeSum(ctx context.Context, rawURL, val string) (digest.Set, error) {
	s := c.src
	k := sumKey{rawURL, val}
	s.mu.Lock()
	if s.sums == nil {
		s.sums = map[sumKey]*sumEntry{}
	}
	e := s.sums[k]
	owner := e == nil
	if owner {
		e = &sumEntry{done: make(chan struct{})}
		s.sums[k] = e
	}
	s.mu.Unlock()
	if !owner {
		select {
		case <-e.done:
			if e.err == nil {
				return e.set, nil
			}
			// The asker failed (its circuit, its deadline): ask again.
			return c.wholeSum(ctx, rawURL, val)
		case <-ctx.Done():
			return nil, &fetch.TransientError{Err: ctx.Err()}
		}
	}
	e.set, e.err = c.askSum(ctx, rawURL, val)
	s.mu.Lock()
	if e.err != nil {
		delete(s.sums, k)
	}
	s.mu.Unlock()
	close(e.done)
	return e.set, e.err
}

func (c *Conn) askSum(ctx context.Context, rawURL, val string) (digest.Set, error) {
	algo, sum, f, err := c.checksum(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if got := Validator(f); got != val {
		return nil, &fetch.ChangedError{Size: f.Size, Validator: got, Why: fmt.Sprintf("was %s, is %s (while asking its checksum)", val, got)}
	}
	set := digest.Set{}
	switch algo {
	case rsync.XXH128:
		set[digest.XXH128] = hex.EncodeToString(sum)
	case rsync.MD5:
		set[digest.MD5] = hex.EncodeToString(sum)
	case rsync.SHA1:
		set[digest.SHA1] = hex.EncodeToString(sum)
	}
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
