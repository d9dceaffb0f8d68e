package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/jobdir"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	job := Job{URLs: []string{"http://h/a", "http://h/b"}, Created: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Settings: json.RawMessage(`{"workers":16}`)}
	if _, err := s.Job(); !errors.Is(err, ErrNoJob) {
		t.Fatalf("Job on a new store: %v", err)
	}
	if err := s.SetJob(job); err != nil {
		t.Fatal(err)
	}
	a := fetch.File{ID: 1, URL: "http://h/a", Root: "http://h/", Class: "photos", Estimate: 614400, Path: "a", Size: 600 << 10, Validator: `"abc"`, Expect: digest.Set{"sha256": "00ff"}}
	b := fetch.File{ID: 2, URL: "http://h/b", Path: "d/b", Size: 5, State: fetch.Done, SHA256: "aa"}
	c := fetch.File{ID: 3, Kind: fetch.KindListing, Depth: 2, URL: "http://h/c/", Path: "c", Size: -1, State: fetch.Failed, Err: "404 Not Found"}
	h1, h2 := [32]byte{1}, [32]byte{2}
	err = s.Save(&fetch.Batch{Files: []fetch.File{a, b, c}, Blocks: []fetch.BlockHash{{File: 1, Index: 0, Hash: h1}, {File: 1, Index: 2, Hash: h2}, {File: 2, Index: 0, Hash: h1}}})
	if err != nil {
		t.Fatal(err)
	}
	// A reset drops block records before the batch's own blocks are added.
	if err := s.Save(&fetch.Batch{Resets: []uint64{2}}); err != nil {
		t.Fatal(err)
	}
	// A partial block is kept until the block itself is saved.
	p3 := fetch.Partial{File: 1, Block: 3, Reached: 3*256<<10 + 1000, State: []byte("state-3")}
	p4 := fetch.Partial{File: 1, Block: 4, Reached: 4*256<<10 + 10, State: []byte("state-4")}
	if err := s.Save(&fetch.Batch{Partials: []fetch.Partial{p3, p4}}); err != nil {
		t.Fatal(err)
	}
	h4 := [32]byte{4}
	if err := s.Save(&fetch.Batch{Blocks: []fetch.BlockHash{{File: 1, Index: 4, Hash: h4}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gotJob, err := s.Job()
	if err != nil || !reflect.DeepEqual(gotJob, job) {
		t.Fatalf("Job = %+v, %v", gotJob, err)
	}
	saved, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []fetch.Saved{
		{File: a, Blocks: map[int64][32]byte{0: h1, 2: h2, 4: h4}, Partials: map[int64]fetch.Partial{3: p3}},
		{File: b},
		{File: c},
	}
	if !reflect.DeepEqual(saved, want) {
		t.Fatalf("Load =\n%+v\nwant\n%+v", saved, want)
	}
}

func TestSecondOpenNamesPID(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second Open: %v", err)
	}
	if want := "job in use by pid " + strconv.Itoa(os.Getpid()) + " (" + dir + ")"; err.Error() != want {
		t.Fatalf("error text %q, want %q", err, want)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, ".grab", "state.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("2")) })
	db.Close()
	_, err = Open(dir)
	if !errors.Is(err, ErrFormat) || err.Error() != `unsupported state format "2": this grab reads format 1` {
		t.Fatalf("Open of format 2: %v", err)
	}
}

// Readers of a stopped job share its lock and leave no pid behind; a
// grab that starts while one reads waits for it instead of failing, even
// when the pid file names a grab killed earlier.
func TestReaderDoesNotBlockAStart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetJob(Job{URLs: []string{"http://h/"}}); err != nil {
		t.Fatal(err)
	}
	s.db.Close() // as kill -9 would leave it: the pid file stays
	pidPath := jobdir.Dir(dir).PID()
	if err := os.WriteFile(pidPath, []byte("999999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r1, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := OpenReader(dir)
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	if j, err := r2.Job(); err != nil || j.URLs[0] != "http://h/" {
		t.Fatalf("Job: %+v %v", j, err)
	}
	r2.Close()
	if b, _ := os.ReadFile(pidPath); string(b) != "999999999\n" {
		t.Fatalf("a reader wrote the pid file: %q", b)
	}
	opened := make(chan error, 1)
	go func() {
		w, err := Open(dir)
		if err == nil {
			w.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("Open did not wait for the reader: %v", err)
	case <-time.After(500 * time.Millisecond): // past the first try's 300 ms
	}
	r1.Close()
	if err := <-opened; err != nil {
		t.Fatalf("Open after the reader let go: %v", err)
	}
}

// A reader of a job a grab runs is told who runs it.
func TestReaderOfARunningJob(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenReader(dir)
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Fatalf("OpenReader: %v", err)
	}
}
