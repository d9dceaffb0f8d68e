package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/grab-ir/grab/fetch/jobdir"
)

var keyID = []byte("id")

// idRel is the marker beside the database that names the job the folder
// holds: a state.db brought in from another job's folder does not match it.
const idRel = jobdir.Name + "/job-id"

// checkLinks refuses a state folder or database that is a symbolic link
// (grab opens nothing of its own through one) or not what grab keeps
// there (a FIFO would hang whoever opens it).
func checkLinks(root *os.Root) error {
	for _, rel := range []string{jobdir.Name, jobdir.Name + "/state.db", idRel, jobdir.Name + "/pid"} {
		fi, err := root.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: %s is a symbolic link; grab opens nothing of its own through one", ErrDamaged, rel)
		}
		if want := rel == jobdir.Name; fi.IsDir() != want || !want && !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s is %s, not what grab keeps there", ErrDamaged, rel, jobdir.Kind(fi.Mode()))
		}
	}
	return nil
}

// identify checks that the database belongs to this folder's job, giving
// a new job its identity: the marker file is written first, so a crash in
// between leaves a job that still opens.
func (s *Store) identify(root *os.Root) error {
	marker, inDB, err := s.identities(root)
	if err != nil {
		return err
	}
	if err := foreign(marker, inDB); err != nil || inDB != "" {
		return err
	}
	if marker == "" {
		id := make([]byte, 8)
		rand.Read(id)
		marker = hex.EncodeToString(id)
		f, err := root.OpenFile(idRel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("writing %s: %w", idRel, err)
		}
		_, err = f.WriteString(marker + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", idRel, err)
		}
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyID, []byte(marker)) })
}

// identities are the job's identity as the folder records it and as
// state.db does ("" where none is).
func (s *Store) identities(root *os.Root) (marker, inDB string, err error) {
	b, err := jobdir.ReadFile(root, idRel, 4096)
	marker = strings.TrimSpace(string(b))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("reading %s: %w", idRel, err)
	}
	err = s.view(func(tx *bolt.Tx) error {
		inDB = string(tx.Bucket(bucketMeta).Get(keyID))
		return nil
	})
	return marker, inDB, err
}

// checkIdentity is identify for a reader: it refuses a state.db of
// another job the same way, and records nothing.
func (s *Store) checkIdentity(root *os.Root) error {
	marker, inDB, err := s.identities(root)
	if err != nil {
		return err
	}
	return foreign(marker, inDB)
}

// foreign refuses a state.db whose job is not the folder's.
func foreign(marker, inDB string) error {
	switch {
	case inDB != "" && marker == "":
		return fmt.Errorf("%w: its state.db is job %s's, and the folder has no record of that job (was state.db copied in from another job's folder?)", ErrForeign, inDB)
	case inDB != "" && marker != inDB:
		return fmt.Errorf("%w: its state.db is job %s's, the folder's job is %s", ErrForeign, inDB, marker)
	}
	return nil
}

// writePID records this process as the job's holder, never through a link.
func writePID(root *os.Root, pid int) error {
	rel := jobdir.Name + "/pid"
	root.Remove(rel)
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d\n", pid)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// view and update run a transaction; a damaged database (a bbolt panic, or
// a fault reading the mapped file) is an error naming it, never a crash.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.guard(func() error { return s.db.View(fn) })
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.guard(func() error { return s.db.Update(fn) })
}

func (s *Store) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamaged, s.path, r)
		}
	}()
	return fn()
}
