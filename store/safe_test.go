package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
)

// newJob makes a job in a new folder with a few files and returns the
// folder.
func newJob(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []fetch.File
	for i := range 200 {
		files = append(files, fetch.File{ID: uint64(i + 1), URL: "http://h/" + strings.Repeat("x", 100) + string(rune('a'+i%26)), Path: "p", Size: 10})
	}
	if err := s.Save(&fetch.Batch{Files: files}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetJob(Job{URLs: []string{"http://h/"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

// A state.db of garbage, or with its data pages overwritten, is reported
// as damaged, naming the file; it never panics or faults.
func TestDamagedDatabase(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".grab"), 0o700)
	os.WriteFile(Path(dir), []byte(strings.Repeat("not a bbolt file ", 2000)), 0o600)
	if _, err := Open(dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("garbage: %v", err)
	}

	dir = newJob(t)
	b, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	for i := 2 * page; i < len(b); i++ { // keep the two meta pages, ruin the rest
		b[i] = 0xA5
	}
	os.WriteFile(Path(dir), b, 0o600)
	s, err := Open(dir)
	if err == nil {
		_, err = s.Load()
		s.Close()
	}
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), Path(dir)) {
		t.Fatalf("ruined data pages: %v", err)
	}
}

// A state.db brought in from another job's folder is refused; the whole
// .grab folder moved along is the same job.
func TestForeignDatabase(t *testing.T) {
	a := newJob(t)
	b := t.TempDir()
	os.MkdirAll(filepath.Join(b, ".grab"), 0o700)
	data, _ := os.ReadFile(Path(a))
	os.WriteFile(Path(b), data, 0o600)
	if _, err := Open(b); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "copied in from another job's folder") {
		t.Fatalf("state.db alone: %v", err)
	}
	other := newJob(t)
	os.WriteFile(Path(other), data, 0o600)
	if _, err := Open(other); !errors.Is(err, ErrForeign) {
		t.Fatalf("state.db over another job's: %v", err)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(a, moved); err != nil {
		t.Fatal(err)
	}
	s, err := Open(moved)
	if err != nil {
		t.Fatalf("a job moved whole: %v", err)
	}
	s.Close()
}

// Links where grab keeps its state are refused, and nothing is written
// through them.
func TestStateLinksRefused(t *testing.T) {
	for _, name := range []string{"state.db", "pid", "job-id"} {
		dir := newJob(t)
		outside := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(outside, []byte("precious"), 0o600)
		p := filepath.Join(dir, ".grab", name)
		os.Remove(p)
		if err := os.Symlink(outside, p); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s as a link: %v", name, err)
		}
		if b, _ := os.ReadFile(outside); string(b) != "precious" {
			t.Errorf("%s as a link: the file it points to now holds %q", name, b)
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, ".grab")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrDamaged) {
		t.Errorf(".grab as a link: %v", err)
	}
}

// A state.db that is a hard link to a file outside the folder is never
// written through (bbolt would format it, or commit to another job's
// before its identity is compared): it is refused as damaged, as the
// job-id, manifest and part files with other names are. (Found by a
// review.)
func TestStateDBHardLinkNotWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".grab"), 0o700)
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, nil, 0o600); err != nil { // an empty file of the user's
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(dir, ".grab", "state.db")); err != nil {
		t.Skip(err)
	}
	s, err := Open(dir)
	if err == nil {
		s.Close()
	}
	if fi, _ := os.Stat(outside); fi.Size() != 0 || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "state.db is not a file grab wrote (a file of 2 names)") {
		t.Errorf("a file outside the folder, hard-linked as state.db: %d bytes now (Open: %v)", fi.Size(), err)
	}
}
