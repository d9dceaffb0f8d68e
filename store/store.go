package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/localpath"
)

// Format is the record format this package writes.
const Format = 1

var (
	bucketMeta    = []byte("meta")
	bucketFiles   = []byte("files")
	bucketBlocks  = []byte("blocks")
	bucketPartial = []byte("partial")
	keyFormat     = []byte("format")
	keyJob        = []byte("job")
)

// Job is what a job was started with, so that `grab -o DIR` alone resumes it.
type Job struct {
	URLs     []string        `json:"urls"`
	Created  time.Time       `json:"created"`
	Settings json.RawMessage `json:"settings,omitempty"` // the command line's, owned by cmd/grab
}

// Store is an open job.
type Store struct {
	db      *bolt.DB
	path    string // of the database, for messages
	pidPath string
}

var _ fetch.Journal = (*Store)(nil)

// Path is where the database of the job in dir lives.
func Path(dir string) string { return jobdir.Dir(dir).DB() }

// Exists reports whether dir holds a job.
func Exists(dir string) bool {
	_, err := os.Stat(Path(dir))
	return err == nil
}

// Open opens or creates the job in dir and takes its lock.
func Open(dir string) (*Store, error) {
	path := Path(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}
	root, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := root.Mkdir(jobdir.Name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating state folder: %w", err)
	}
	pidPath := jobdir.Dir(dir).PID()
	db, err := openDB(path, 300*time.Millisecond)
	if errors.Is(err, bolterrors.ErrTimeout) {
		pid, _ := jobdir.Dir(dir).ReadPID()
		if pid > 0 && alive(pid) {
			return nil, &InUseError{PID: pid, Path: dir}
		}
		// No grab runs the job: the lock is a reader's (grab status or
		// ls while the job is stopped), which lets go once it has read.
		db, err = openDB(path, readerWait)
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, &InUseError{PID: pid, Path: dir}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	s := &Store{db: db, path: path, pidPath: pidPath}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.identify(root); err != nil {
		db.Close()
		return nil, err
	}
	if err := writePID(root, os.Getpid()); err != nil {
		db.Close()
		return nil, fmt.Errorf("writing pid file: %w", err)
	}
	return s, nil
}

// OpenReader opens the job in dir to read it (grab status, ls, verify
// while no grab runs it). Readers share the lock and write nothing, not
// even the pid file; a grab that starts meanwhile waits for them to let go
// (see Open).
func OpenReader(dir string) (*Store, error) {
	path := Path(dir)
	root, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	db, err := openDBWith(path, &bolt.Options{ReadOnly: true, Timeout: 300 * time.Millisecond, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		pid, _ := jobdir.Dir(dir).ReadPID()
		return nil, &InUseError{PID: pid, Path: dir}
	}
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	err = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: no job recorded", ErrFormat)
		}
		if v := meta.Get(keyFormat); string(v) != strconv.Itoa(Format) {
			return fmt.Errorf("%w %q: this grab reads format %d", ErrFormat, v, Format)
		}
		for _, b := range [][]byte{bucketFiles, bucketBlocks, bucketPartial} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrFormat, b)
			}
		}
		return nil
	})
	if err == nil {
		err = s.checkIdentity(root)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openFolder opens the output folder dir as a root and refuses a job
// folder or state file that is a link.
func openFolder(dir string) (*os.Root, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening output folder: %w", err)
	}
	if err := checkLinks(root); err != nil {
		root.Close()
		return nil, err
	}
	return root, nil
}

// readerWait is how long Open waits for a reader of a stopped job to let
// go of its lock.
const readerWait = 30 * time.Second

// alive reports whether process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// openDB opens the database, waiting up to wait for its lock; a file too
// damaged for bbolt to open is ErrDamaged, not a crash.
func openDB(path string, wait time.Duration) (*bolt.DB, error) {
	return openDBWith(path, &bolt.Options{Timeout: wait, FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmap})
}

// openDBWith is openDB with bbolt's options.
func openDBWith(path string, o *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrDamaged, path, r)
		}
	}()
	// The freelist is written with every transaction: without it
	// (NoFreelistSync) bbolt rebuilds it at open in a goroutine of its own,
	// where a damaged file panics beyond any recover, and a damaged state
	// must be an error, never a crash.
	//
	// The writer's map is made large at once (address space, not
	// memory): each time bbolt has to map the file anew, every node a
	// transaction has touched copies its keys and values out of the old
	// map, which for the transaction recording a listing of a million
	// entries was 600 MB on the heap.
	o.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		// The database is a file of grab's own: never a link, a FIFO, or
		// (to be written) a file with a name outside the folder.
		root, err := os.OpenRoot(filepath.Dir(name))
		if err != nil {
			return nil, err
		}
		defer root.Close()
		return jobdir.Open(root, filepath.Base(name), flag, mode)
	}
	db, err = bolt.Open(path, 0o600, o)
	if errors.Is(err, jobdir.ErrNotOwn) {
		err = fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		err = fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return db, err
}

// initialMmap is the size of bbolt's first map of the file: 1 GiB where
// addresses have 64 bits (a job of millions of files), bbolt's own
// minimum elsewhere.
const initialMmap = 1 << 30 >> (64 - strconv.IntSize)

func (s *Store) init() error {
	return s.update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keyFormat); v != nil {
			n, err := strconv.Atoi(string(v))
			if err != nil || n != Format {
				return fmt.Errorf("%w %q: this grab reads format %d", ErrFormat, v, Format)
			}
		} else if err := meta.Put(keyFormat, []byte(strconv.Itoa(Format))); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketFiles, bucketBlocks, bucketPartial} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Written is how many bytes the job's transactions have written to the
// database since it was opened (pages, meta pages included).
func (s *Store) Written() int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite() * int64(s.db.Info().PageSize)
}

// Close releases the job.
func (s *Store) Close() error {
	if s.pidPath != "" { // a reader's is ""
		os.Remove(s.pidPath)
	}
	return s.db.Close()
}

// Job returns the saved job, or ErrNoJob.
func (s *Store) Job() (Job, error) {
	var j Job
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyJob)
		if v == nil {
			return ErrNoJob
		}
		return json.Unmarshal(v, &j)
	})
	return j, err
}

// SetJob saves the job description.
func (s *Store) SetJob(j Job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyJob, v) })
}

// record is the stored form of a file, format 1. Field names are part of
// the format: see docs/state.md.
type record struct {
	Kind      string            `json:"kind,omitempty"` // "" for a file, "listing"
	URL       string            `json:"url"`
	Root      string            `json:"root,omitempty"`
	Depth     int               `json:"depth,omitempty"`
	Class     string            `json:"class,omitempty"`
	Estimate  int64             `json:"estimate,omitempty"`
	Path      string            `json:"path"`
	Size      int64             `json:"size"`
	Validator string            `json:"validator,omitempty"`
	Whole     bool              `json:"whole,omitempty"`
	Expect    map[string]string `json:"expect,omitempty"`
	State     string            `json:"state"`
	SHA256    string            `json:"sha256,omitempty"`
	Err       string            `json:"err,omitempty"`
	Again     bool              `json:"again,omitempty"`
	Named     bool              `json:"named,omitempty"`
}

func toRecord(f fetch.File) record {
	kind := ""
	if f.Kind == fetch.KindListing {
		kind = "listing"
	}
	return record{Kind: kind, Root: f.Root, Depth: f.Depth, Class: f.Class, Estimate: f.Estimate, URL: f.URL, Path: f.Path, Size: f.Size, Validator: f.Validator, Whole: f.Whole,
		Expect: f.Expect, State: f.State.String(), SHA256: f.SHA256, Err: f.Err, Again: f.Again, Named: f.Named}
}

func fromRecord(id uint64, r record) (fetch.File, error) {
	f := fetch.File{ID: id, Root: r.Root, Depth: r.Depth, Class: r.Class, Estimate: r.Estimate, URL: r.URL, Path: r.Path, Size: r.Size, Validator: r.Validator, Whole: r.Whole,
		Expect: digest.Set(r.Expect), SHA256: r.SHA256, Err: r.Err, Again: r.Again, Named: r.Named}
	if r.Path != "" {
		// The folder is untrusted, its state too: a path grab never wrote
		// (a "..", a control character, .grab itself) is never opened.
		if err := localpath.Check(r.Path); err != nil {
			return f, fmt.Errorf("%w: file %d has the path %q, which grab never writes (%v)", ErrDamaged, id, r.Path, err)
		}
	}
	switch r.Kind {
	case "":
	case "listing":
		f.Kind = fetch.KindListing
	default:
		return f, fmt.Errorf("%w: file %d has kind %q", ErrFormat, id, r.Kind)
	}
	switch r.State {
	case "pending":
		f.State = fetch.Pending
	case "done":
		f.State = fetch.Done
	case "failed":
		f.State = fetch.Failed
	case "skipped":
		f.State = fetch.Skipped
	default:
		return f, fmt.Errorf("%w: file %d has state %q", ErrFormat, id, r.State)
	}
	return f, nil
}

func key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Load implements fetch.Journal.
func (s *Store) Load() ([]fetch.Saved, error) {
	var out []fetch.Saved
	err := s.view(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(bucketBlocks)
		partial := tx.Bucket(bucketPartial)
		return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: file key of %d bytes", ErrFormat, len(k))
			}
			id := binary.BigEndian.Uint64(k)
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: file %d: %v", ErrFormat, id, err)
			}
			f, err := fromRecord(id, r)
			if err != nil {
				return err
			}
			sv := fetch.Saved{File: f}
			if b := blocks.Bucket(k); b != nil {
				sv.Blocks = map[int64][32]byte{}
				err := b.ForEach(func(bk, bv []byte) error {
					if len(bk) != 8 || len(bv) != 32 {
						return fmt.Errorf("%w: block record of file %d", ErrFormat, id)
					}
					sv.Blocks[int64(binary.BigEndian.Uint64(bk))] = [32]byte(bv)
					return nil
				})
				if err != nil {
					return err
				}
			}
			if pb := partial.Bucket(k); pb != nil {
				sv.Partials = map[int64]fetch.Partial{}
				err := pb.ForEach(func(bk, bv []byte) error {
					if len(bk) != 8 || len(bv) < 8 {
						return fmt.Errorf("%w: partial record of file %d", ErrFormat, id)
					}
					b := int64(binary.BigEndian.Uint64(bk))
					sv.Partials[b] = fetch.Partial{File: id, Block: b, Reached: int64(binary.BigEndian.Uint64(bv)),
						State: append([]byte(nil), bv[8:]...)}
					return nil
				})
				if err != nil {
					return err
				}
			}
			out = append(out, sv)
			return nil
		})
	})
	return out, err
}

// Save implements fetch.Journal.
func (s *Store) Save(b *fetch.Batch) error {
	return s.update(func(tx *bolt.Tx) error {
		files, blocks, partial := tx.Bucket(bucketFiles), tx.Bucket(bucketBlocks), tx.Bucket(bucketPartial)
		for _, id := range b.Resets {
			for _, bk := range []*bolt.Bucket{blocks, partial} {
				if err := bk.DeleteBucket(key(id)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
					return err
				}
			}
		}
		for _, f := range b.Files {
			v, err := json.Marshal(toRecord(f))
			if err != nil {
				return err
			}
			if err := files.Put(key(f.ID), v); err != nil {
				return err
			}
		}
		for _, bh := range b.Blocks {
			fb, err := blocks.CreateBucketIfNotExists(key(bh.File))
			if err != nil {
				return err
			}
			if err := fb.Put(key(uint64(bh.Index)), bh.Hash[:]); err != nil {
				return err
			}
			if pb := partial.Bucket(key(bh.File)); pb != nil {
				if err := pb.Delete(key(uint64(bh.Index))); err != nil {
					return err
				}
			}
		}
		for _, p := range b.Partials {
			pb, err := partial.CreateBucketIfNotExists(key(p.File))
			if err != nil {
				return err
			}
			if err := pb.Put(key(uint64(p.Block)), append(key(uint64(p.Reached)), p.State...)); err != nil {
				return err
			}
		}
		return nil
	})
}
