package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/store"
)

// batchSource is a fake Batcher: files in memory, every GetBatch and Get
// recorded. A URL in cut has its batch's session break after that many
// bytes of it, once; one in gone fails with a PermanentError.
type batchSource struct {
	mu      sync.Mutex
	files   map[string][]byte
	cut     map[string]int64
	gone    map[string]bool
	batches [][]string
	gets    []fetch.Request
}

var _ fetch.Batcher = (*batchSource)(nil)

func (s *batchSource) Conn(int) fetch.Conn { return s }
func (s *batchSource) Close() error        { return nil }

func (s *batchSource) Get(_ context.Context, r fetch.Request) (*fetch.Stream, error) {
	s.mu.Lock()
	s.gets = append(s.gets, r)
	s.mu.Unlock()
	if s.gone[r.URL] {
		return nil, &fetch.PermanentError{Err: errors.New("gone")}
	}
	data := s.files[r.URL]
	end := int64(len(data))
	if r.Range.End >= 0 && r.Range.End < end {
		end = r.Range.End
	}
	b := data[r.Range.Start:end]
	return &fetch.Stream{Body: io.NopCloser(bytes.NewReader(b)), Offset: r.Range.Start, Len: int64(len(b)), Size: int64(len(data)), URL: r.URL}, nil
}

// brokenBody gives n bytes, then the session's failure.
type brokenBody struct{ r io.Reader }

func (b *brokenBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = errors.New("session broken")
	}
	return n, err
}
func (b *brokenBody) Close() error { return nil }

func (s *batchSource) GetBatch(_ context.Context, reqs []fetch.Request, fn func(int, *fetch.Stream, error) error) error {
	var urls []string
	for _, r := range reqs {
		if r.Range.Start != 0 || r.Range.End != r.Size {
			return fmt.Errorf("not a whole file: %+v", r)
		}
		urls = append(urls, r.URL)
	}
	s.mu.Lock()
	s.batches = append(s.batches, urls)
	s.mu.Unlock()
	for i, r := range reqs {
		if s.gone[r.URL] {
			if err := fn(i, nil, &fetch.PermanentError{Err: errors.New("gone")}); err != nil {
				return err
			}
			continue
		}
		data := s.files[r.URL]
		s.mu.Lock()
		n, cut := s.cut[r.URL]
		delete(s.cut, r.URL)
		s.mu.Unlock()
		var body io.ReadCloser = io.NopCloser(bytes.NewReader(data))
		if cut {
			body = &brokenBody{bytes.NewReader(data[:n])}
		}
		st := &fetch.Stream{Body: body, Len: int64(len(data)), Size: int64(len(data)), URL: r.URL}
		if err := fn(i, st, nil); err != nil {
			return err
		}
		if cut {
			for j := i + 1; j < len(reqs); j++ {
				if err := fn(j, nil, &fetch.TransientError{Err: errors.New("session broken")}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return nil
}

// runBatched runs an engine of one lane over src's files, in the order
// of names, and returns it with Run's error.
func runBatched(t *testing.T, src *batchSource, names []string) (*fetch.Engine, error) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := fetch.New(fetch.Config{Dir: dir, Journal: st, Source: src, Workers: 1, Streams: 1,
		BlockSize: 16 * kib, FirstChunk: 256 * kib, ChunkSize: 256 * kib, CommitEvery: 20 * time.Millisecond,
		Backoff: fetch.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	var files []fetch.File
	for _, n := range names {
		u := "rsync://h/m/" + n
		files = append(files, fetch.File{URL: u, Path: n, Size: int64(len(src.files[u]))})
	}
	e.Add(files)
	err = e.Run(t.Context())
	for _, f := range e.Files() {
		if f.State != fetch.Done {
			continue
		}
		got, rerr := os.ReadFile(filepath.Join(dir, f.Path))
		if rerr != nil || !bytes.Equal(got, src.files[f.URL]) {
			t.Errorf("%s: %d bytes differ from the %d served (%v)", f.Path, len(got), len(src.files[f.URL]), rerr)
		}
	}
	return e, err
}

func smallFiles(n int) (*batchSource, []string) {
	src := &batchSource{files: map[string][]byte{}, cut: map[string]int64{}, gone: map[string]bool{}}
	var names []string
	for i := range n {
		name := fmt.Sprintf("f%02d", i)
		names = append(names, name)
		src.files["rsync://h/m/"+name] = fetchtest.Data(name, 5*kib+i*700)
	}
	return src, names
}

// TestBatchedSmallFiles: small whole files go in batches, in fetch
// order, each file once, byte-identical.
func TestBatchedSmallFiles(t *testing.T) {
	src, names := smallFiles(40)
	e, err := runBatched(t, src, names)
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.Done != len(names) {
		t.Fatalf("%d of %d done", st.Done, len(names))
	}
	if len(src.batches) == 0 || len(src.batches) >= len(names)/4 {
		t.Errorf("%d batches for %d files (and %d single requests), want a few", len(src.batches), len(names), len(src.gets))
	}
	var order []string
	for _, b := range src.batches {
		order = append(order, b...)
	}
	for _, r := range src.gets {
		order = append(order, r.URL)
	}
	if !slices.IsSorted(order) || len(order) != len(names) {
		t.Errorf("files asked out of fetch order, or more than once: %q", order)
	}
}

// TestBatchBrokenMidway: a batch whose session breaks in the middle of a
// file keeps what arrived of it; that file and the ones after it go back
// to the pool and are fetched by later requests.
func TestBatchBrokenMidway(t *testing.T) {
	src, names := smallFiles(40)
	cut := "rsync://h/m/" + names[2]
	src.files[cut] = fetchtest.Data("cut", 40*kib)
	src.cut[cut] = 20 * kib // a block and a bit
	e, err := runBatched(t, src, names)
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.Done != len(names) {
		t.Fatalf("%d of %d done", st.Done, len(names))
	}
	if len(src.batches) < 2 || !slices.Contains(src.batches[0], cut) || src.batches[0][len(src.batches[0])-1] == cut {
		t.Fatalf("the cut file is not in the middle of the first batch: %q", src.batches)
	}
	// The rest of the cut file resumes where the break came, inside its
	// second block (whose hash state was kept): nothing is fetched twice.
	resumed := false
	for _, r := range src.gets {
		if r.URL == cut && r.Range.Start == 20*kib {
			resumed = true
		}
	}
	if !resumed {
		t.Errorf("the cut file was not resumed where it broke: %+v", src.gets)
	}
	// The files after it in the broken batch come again.
	after := src.batches[0][slices.Index(src.batches[0], cut)+1:]
	again := 0
	for _, b := range src.batches[1:] {
		for _, u := range b {
			if slices.Contains(after, u) {
				again++
			}
		}
	}
	if again != len(after) {
		t.Errorf("%d of the %d files after the break asked again in batches", again, len(after))
	}
	if st := e.Status(); st.Wasted != 0 {
		t.Errorf("%d bytes wasted", st.Wasted)
	}
}

// TestBatchPermanentErrorFailsOneFile: a file the source says is gone
// fails alone; the batch carries on with the others.
func TestBatchPermanentErrorFailsOneFile(t *testing.T) {
	src, names := smallFiles(20)
	gone := "rsync://h/m/" + names[1]
	src.gone[gone] = true
	e, err := runBatched(t, src, names)
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v, want ErrFailed", err)
	}
	for _, f := range e.Files() {
		want := fetch.Done
		if f.URL == gone {
			want = fetch.Failed
		}
		if f.State != want {
			t.Errorf("%s: %v (%s), want %v", f.Path, f.State, f.Err, want)
		}
	}
	if len(src.batches) == 0 || len(src.batches[0]) < 3 || src.batches[0][1] != gone {
		t.Errorf("the gone file is not inside the first batch: %q", src.batches)
	}
	for _, b := range src.batches[1:] {
		if slices.Contains(b, gone) {
			t.Errorf("the gone file was asked again: %q", src.batches)
		}
	}
}
