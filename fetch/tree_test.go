package fetch_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/store"
)

// Links already in the output folder never take a write outside it: a
// folder that is a link out fails the files below it (the others land),
// and a link in grab's state folder stops the job before anything is
// written.
func TestLinksInTheFolder(t *testing.T) {
	a, b := fetchtest.Data("a", 5000), fetchtest.Data("b", 7000)
	j := newJob(t, map[string]*fetchtest.File{"/photos/a.jpg": {Data: a}, "/b.jpg": {Data: b}})
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(j.dir, "photos")); err != nil {
		t.Fatal(err)
	}
	e, err := j.run(t.Context(), nil, "/photos/a.jpg", "/b.jpg")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v, want ErrFailed", err)
	}
	j.want("/b.jpg", b)
	var failed fetch.File
	for _, f := range e.Files() {
		if f.Path == "photos/a.jpg" {
			failed = f
		}
	}
	if failed.State != fetch.Failed || !strings.Contains(failed.Err, "cannot place it in "+j.dir) || !strings.Contains(failed.Err, "verified copy is kept in") {
		t.Fatalf("photos/a.jpg: %v: %s", failed.State, failed.Err)
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Fatalf("written outside the folder through the link: %v", left)
	}

	for _, rel := range []string{".grab/part"} {
		j := newJob(t, map[string]*fetchtest.File{"/x": {Data: a}})
		os.MkdirAll(filepath.Join(j.dir, ".grab"), 0o700)
		if err := os.Symlink(outside, filepath.Join(j.dir, filepath.FromSlash(rel))); err != nil {
			t.Fatal(err)
		}
		cfg := j.cfg
		cfg.Dir, cfg.Journal = j.dir, nopJournal{}
		if _, err := fetch.New(cfg); !errors.Is(err, fetch.ErrLink) {
			t.Fatalf("%s as a link: %v", rel, err)
		}
	}
}

// A partial file planted as a link is never written through: its name
// goes, and the file is fetched into a partial file of grab's own.
func TestPartLinkRefused(t *testing.T) {
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: fetchtest.Data("x", 5000)}})
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	os.MkdirAll(filepath.Join(j.dir, ".grab", "part"), 0o700)
	if err := os.Symlink(victim, filepath.Join(j.dir, ".grab", "part", "0000000000000001")); err != nil {
		t.Fatal(err)
	}
	if _, err := j.run(t.Context(), nil, "/x"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("written through the link: %q", b)
	}
	j.want("/x", fetchtest.Data("x", 5000))
}

type nopJournal struct{}

func (nopJournal) Load() ([]fetch.Saved, error) { return nil, nil }
func (nopJournal) Save(*fetch.Batch) error      { return nil }

// Done means in the tree: on resume, a file recorded done that is gone
// is fetched again, and one changed since grab placed it is reported,
// never overwritten.
func TestDoneMeansInTheTree(t *testing.T) {
	a, b, c := fetchtest.Data("a", 5000), fetchtest.Data("b", 7000), fetchtest.Data("c", 900)
	j := newJob(t, map[string]*fetchtest.File{"/a": {Data: a}, "/b": {Data: b}, "/c": {Data: c}})
	if _, err := j.run(t.Context(), nil, "/a", "/b", "/c"); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(j.dir, "a"))
	os.WriteFile(filepath.Join(j.dir, "b"), []byte("tampered"), 0o644)
	e, err := j.run(t.Context(), nil)
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("resume: %v, want ErrFailed for the changed file", err)
	}
	j.want("/a", a)
	j.want("/c", c)
	if got, _ := os.ReadFile(filepath.Join(j.dir, "b")); string(got) != "tampered" {
		t.Fatalf("the changed file was overwritten: %q", got)
	}
	for _, f := range e.Files() {
		want := fetch.Done
		if f.Path == "b" {
			want = fetch.Failed
			if !strings.Contains(f.Err, "changed in the tree since grab placed it (8 bytes, was 7000); not overwritten") {
				t.Errorf("b: %s", f.Err)
			}
		}
		if f.State != want {
			t.Errorf("%s: %v, want %v", f.Path, f.State, want)
		}
	}
}

// A resume of a finished crawl reads no listing again (a listing recorded
// done has no place in the tree to check).
func TestResumeKeepsListingsDone(t *testing.T) {
	a := fetchtest.Data("a", 5000)
	j := newJob(t, map[string]*fetchtest.File{"/a": {Data: a}, "/d/": {Data: []byte("<a href=a>a</a>")}})
	j.cfg.Expand = func(l fetch.File, found *fetch.Listing) ([]fetch.File, error) {
		return []fetch.File{{URL: j.srv.FileURL("/a"), Path: "a", Size: -1, Estimate: -1}}, nil
	}
	listing := fetch.File{Kind: fetch.KindListing, URL: j.srv.FileURL("/d/"), Size: -1, Estimate: -1}
	run := func() *fetch.Engine {
		st, err := store.Open(j.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cfg := j.cfg
		cfg.Dir, cfg.Journal = j.dir, st
		e, err := fetch.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.Add([]fetch.File{listing})
		if err := e.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		return e
	}
	run()
	before := j.srv.Requests("/a") + j.srv.Requests("/d/")
	e := run()
	if n := j.srv.Requests("/a") + j.srv.Requests("/d/") - before; n != 0 {
		t.Fatalf("the resume sent %d requests", n)
	}
	for _, f := range e.Files() {
		if f.State != fetch.Done {
			t.Fatalf("%s (%v): %v", f.URL, f.Kind, f.State)
		}
	}
	j.want("/a", a)
}

// An expected digest other than SHA-256 is always computed and checked,
// also when the file's SHA-256 came from the hash kept while its bytes
// arrived in order (a regression: an expected xxh128, rsync's checksum,
// was skipped, so a file mixed from two versions could land).
func TestExpectedDigestAlwaysChecked(t *testing.T) {
	data := fetchtest.Data("x", 300*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data}})
	j.cfg.Workers, j.cfg.Streams = 1, 1
	st, err := store.Open(j.dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := j.cfg
	cfg.Dir, cfg.Journal = j.dir, st
	e, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := j.srv.FileURL("/x")
	e.Add([]fetch.File{{URL: url, Path: "x", Size: -1, Estimate: -1}})
	e.Expect(url, digest.Set{digest.XXH128: strings.Repeat("0", 32)})
	err = e.Run(t.Context())
	e.Close()
	st.Close()
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v, want the file failed", err)
	}
	if f := e.Files()[0]; !strings.Contains(f.Err, "digest mismatch: xxh128 is ") {
		t.Fatalf("%v: %s", f.State, f.Err)
	}
	if _, err := os.Stat(filepath.Join(j.dir, "x")); err == nil {
		t.Fatal("the file landed in the tree")
	}
}

// A partial file planted as a folder (or a socket: what O_RDWR cannot
// open) is replaced as a linked one is, not a stop of the whole job with
// "is a directory". (Found by a review.)
func TestPartFolderReplaced(t *testing.T) {
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: fetchtest.Data("x", 5000)}})
	if err := os.MkdirAll(filepath.Join(j.dir, ".grab", "part", "0000000000000001", "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := j.run(t.Context(), nil, "/x"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	j.want("/x", fetchtest.Data("x", 5000))
}
