package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/digest"
)

// batchJournal keeps the batches saved.
type batchJournal struct{ batches []*Batch }

func (j *batchJournal) Load() ([]Saved, error) { return nil, nil }
func (j *batchJournal) Save(b *Batch) error {
	j.batches = append(j.batches, b)
	return nil
}

// A commit records only the files that changed since the last one.
func TestCommitWritesOnlyWhatChanged(t *testing.T) {
	j := &batchJournal{}
	e, err := New(Config{Dir: t.TempDir(), Source: nopSource{}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	for i := range 100 {
		files = append(files, File{URL: fmt.Sprintf("http://h/%d", i), Path: fmt.Sprint(i), Size: -1})
	}
	e.Add(files)
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	if len(j.batches) != 1 || len(j.batches[0].Files) != 100 {
		t.Fatalf("first commit: %d batches", len(j.batches))
	}
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	if len(j.batches) != 1 {
		t.Fatalf("a commit with nothing changed saved %+v", j.batches[1])
	}
	e.Expect("http://h/42", digest.Set{digest.SHA256: "00"})
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	if len(j.batches) != 2 || len(j.batches[1].Files) != 1 || j.batches[1].Files[0].URL != "http://h/42" {
		t.Fatalf("after one change: %+v", j.batches[1:])
	}
	if len(e.changed) != 0 {
		t.Fatalf("%d files still listed as changed", len(e.changed))
	}
}

// The running SHA-256 follows bytes that continue it, ignores others, and
// is not trusted once spoiled.
func TestRunningHash(t *testing.T) {
	data := []byte("0123456789abcdefghij")
	want := sha256.Sum256(data)
	f := &fileState{active: &active{}}
	f.feedWhole(0, 0, data[:5])
	f.feedWhole(0, 10, data[10:15]) // ahead of it: not hashed
	f.feedWhole(0, 5, data[5:10])
	f.feedWhole(1, 10, data[10:15]) // another generation
	if got := f.wholeSum(0, 20); got != "" {
		t.Fatalf("sum of 10 of 20 bytes: %s", got)
	}
	f.feedWhole(0, 10, data[10:])
	if got := f.wholeSum(0, 20); got != hex.EncodeToString(want[:]) {
		t.Fatalf("running hash %s, want %x", got, want)
	}
	f.spoilWhole()
	if got := f.wholeSum(0, 20); got != "" {
		t.Fatalf("spoiled hash used: %s", got)
	}
	f.restartWhole(1)
	f.feedWhole(1, 0, data)
	if got := f.wholeSum(1, 20); got != hex.EncodeToString(want[:]) {
		t.Fatalf("after a restart: %s", got)
	}
}

// A resume reads the recorded blocks back in Run and says how far it got.
func TestResumeVerificationInStatus(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 2500)
	for i := range data {
		data[i] = byte(i * 7)
	}
	os.MkdirAll(filepath.Join(dir, ".grab", "part"), 0o700)
	os.WriteFile(filepath.Join(dir, ".grab", "part", "0000000000000001"), data, 0o600)
	blocks := map[int64][32]byte{}
	for b := int64(0); b < 25; b++ {
		blocks[b] = sha256.Sum256(data[b*100 : b*100+100])
	}
	blocks[3] = [32]byte{1} // changed on disk since
	j := savedJournal{{File: File{ID: 1, URL: "http://h/a", Path: "a", Size: 2500}, Blocks: blocks}}
	e, err := New(Config{Dir: dir, Source: nopSource{}, Journal: j, BlockSize: 100, Retries: 1,
		Backoff: Backoff{Base: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if s := e.Status(); s.Verifying != 1 || s.VerifyTotal != 2500 || s.VerifyDone != 0 || s.DoneBytes != 0 {
		t.Fatalf("before Run: %+v", s)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	e.Run(ctx) // block 3 cannot be fetched from nopSource: the file fails
	if s := e.Status(); s.Verifying != 0 || s.VerifyDone != 2500 || s.Rehashed != 1 || s.Resumed != 2400 {
		t.Fatalf("after Run: %+v", s)
	}
}

// A commit of more new items than aheadBatch records them ahead, a batch
// at a time, and the listing that found them, read, in its last Save.
func TestCommitRecordsManyNewItemsAhead(t *testing.T) {
	j := &batchJournal{}
	e, err := New(Config{Dir: t.TempDir(), Source: nopSource{}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]File{{Kind: KindListing, URL: "http://h/d/", Size: -1}})
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	j.batches = nil
	const n = 2*aheadBatch + 100
	var files []File
	for i := range n {
		files = append(files, File{URL: fmt.Sprintf("http://h/d/%d", i), Path: fmt.Sprint(i), Size: -1})
	}
	e.mu.Lock() // as crawl does: the children, then the listing read
	l := e.byURL["http://h/d/"]
	e.add(files)
	l.State, l.dirty = Done, true
	e.changedFile(l)
	e.mu.Unlock()
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	if len(j.batches) != 4 {
		t.Fatalf("%d batches, want 3 ahead and the last", len(j.batches))
	}
	seen := map[string]bool{}
	for i, b := range j.batches {
		for _, f := range b.Files {
			if seen[f.URL] {
				t.Fatalf("%s recorded twice", f.URL)
			}
			seen[f.URL] = true
			if f.Kind == KindListing && (i != len(j.batches)-1 || f.State != Done) {
				t.Fatalf("batch %d of %d holds the listing as %v", i, len(j.batches), f.State)
			}
		}
		if i < len(j.batches)-1 && len(b.Files) > aheadBatch {
			t.Fatalf("batch %d: %d records", i, len(b.Files))
		}
	}
	if len(seen) != n+1 {
		t.Fatalf("%d records, want %d", len(seen), n+1)
	}
	j.batches = nil
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	if len(j.batches) != 0 {
		t.Fatalf("nothing changed, yet %d batches", len(j.batches))
	}
}

// crashJournal applies batches to records in memory; the Save numbered
// failAt fails, as a crash there would leave it.
type crashJournal struct {
	files  map[uint64]File
	saves  int
	failAt int
}

func (j *crashJournal) Load() ([]Saved, error) {
	var out []Saved
	for id := uint64(1); len(out) < len(j.files); id++ {
		if f, ok := j.files[id]; ok {
			out = append(out, Saved{File: f})
		}
	}
	return out, nil
}

func (j *crashJournal) Save(b *Batch) error {
	j.saves++
	if j.saves == j.failAt {
		return fmt.Errorf("crash")
	}
	for _, f := range b.Files {
		j.files[f.ID] = f
	}
	return nil
}

// A crash among the Saves of records that go ahead, before the last,
// leaves the listing unread: read again, it finds every item once.
func TestCommitCrashAfterRecordsAhead(t *testing.T) {
	j := &crashJournal{files: map[uint64]File{}}
	dir := t.TempDir()
	e, err := New(Config{Dir: dir, Source: nopSource{}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]File{{Kind: KindListing, URL: "http://h/d/", Size: -1}})
	if err := e.commit(); err != nil {
		t.Fatal(err)
	}
	const n = aheadBatch + 10
	var files []File
	for i := range n {
		files = append(files, File{URL: fmt.Sprintf("http://h/d/%d", i), Path: fmt.Sprint(i), Size: -1})
	}
	e.mu.Lock()
	l := e.byURL["http://h/d/"]
	e.add(files)
	l.State, l.dirty = Done, true
	e.changedFile(l)
	e.mu.Unlock()
	j.failAt = j.saves + 2 // the second Save ahead (the last 10), before the last Save
	if err := e.commit(); err == nil {
		t.Fatal("the last Save failed, the commit did not")
	}
	e2, err := New(Config{Dir: dir, Source: nopSource{}, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	e2.mu.Lock()
	l2, ok := e2.byURL["http://h/d/"]
	added := e2.add(files)
	e2.mu.Unlock()
	if !ok || l2.State != Pending {
		t.Fatalf("listing after the crash: %v", l2)
	}
	if added != n-aheadBatch || len(e2.files) != n+1 {
		t.Fatalf("read again: %d new, %d items; want %d new, %d items", added, len(e2.files), n-aheadBatch, n+1)
	}
}
