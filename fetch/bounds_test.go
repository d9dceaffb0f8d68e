package fetch_test

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/store"
)

// answers serves each URL the stream its function makes.
type answers map[string]func(r fetch.Request) (*fetch.Stream, error)

func (a answers) Conn(int) fetch.Conn { return a }
func (a answers) Close() error        { return nil }
func (a answers) Get(_ context.Context, r fetch.Request) (*fetch.Stream, error) {
	return a[r.URL](r)
}

func body(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

func failedWith(t *testing.T, e *fetch.Engine, want map[string]string) {
	t.Helper()
	for _, f := range e.Files() {
		w, ok := want[f.URL]
		if !ok {
			continue
		}
		if w == "" && f.State != fetch.Done {
			t.Errorf("%s: %v %s, want done", f.URL, f.State, f.Err)
		}
		if w != "" && (f.State != fetch.Failed || f.Err != w) {
			t.Errorf("%s: %v %q, want failed with %q", f.URL, f.State, f.Err, w)
		}
	}
}

// Sizes no file has, from the source or a listing, size nothing: the file
// fails with the reason, or (a listing's) is taken as a hint the source
// corrects; a body longer than announced, or endless, fails its file.
func TestSizesBounded(t *testing.T) {
	src := answers{
		"http://h/range": func(r fetch.Request) (*fetch.Stream, error) { // 206 bytes 0-0/2^63-1
			return &fetch.Stream{Body: body("x"), Offset: 0, Len: 1, Size: math.MaxInt64}, nil
		},
		"http://h/length": func(r fetch.Request) (*fetch.Stream, error) { // 200, Content-Length 2^62
			return &fetch.Stream{Body: body("x"), Len: 1 << 62, Size: 1 << 62, Whole: true}, nil
		},
		"http://h/listed": func(r fetch.Request) (*fetch.Stream, error) { // a listing said 2^63-1
			return &fetch.Stream{Body: body("hello"), Len: 5, Size: 5, Whole: true}, nil
		},
		"http://h/more": func(r fetch.Request) (*fetch.Stream, error) { // chunked, after a listing said 5
			return &fetch.Stream{Body: body("hello, and more"), Len: -1, Size: -1, Whole: true}, nil
		},
		"http://h/endless": func(r fetch.Request) (*fetch.Stream, error) {
			return &fetch.Stream{Body: io.NopCloser(endless{}), Len: -1, Size: -1, Whole: true}, nil
		},
	}
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := fetch.New(fetch.Config{Dir: dir, Journal: st, Source: src, Workers: 2, Streams: 1, BlockSize: 1024,
		MaxBody: 1 << 20, FreeSpace: func(string) (int64, bool) { return 4500, true }})
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]fetch.File{
		{URL: "http://h/range", Path: "range", Size: -1},
		{URL: "http://h/length", Path: "length", Size: -1},
		{URL: "http://h/listed", Path: "listed", Size: math.MaxInt64},
		{URL: "http://h/more", Path: "more", Size: 5},
		{URL: "http://h/endless", Path: "endless", Size: -1},
	})
	e.Run(t.Context())
	failedWith(t, e, map[string]string{
		"http://h/range":   "file too large: the source announces 9223372036854775807 bytes, more than the limit of 1.0 MiB",
		"http://h/length":  "file too large: the source announces 4611686018427387904 bytes, more than the limit of 1.0 MiB",
		"http://h/listed":  "",
		"http://h/more":    "the source sent more than it announced: more goes on past byte 5",
		"http://h/endless": "file too large: its size is unknown, and it goes on past 1.0 MiB",
	})
}

// A file announced larger than the free disk fails alone, before a byte
// of it is written; the files that fit land, and a resume once space is
// freed tries it again.
func TestFileLargerThanFreeDisk(t *testing.T) {
	src := answers{
		"http://h/disk": func(r fetch.Request) (*fetch.Stream, error) {
			return &fetch.Stream{Body: body("abcde"), Len: 5, Size: 5000, Whole: true}, nil
		},
		"http://h/small": func(r fetch.Request) (*fetch.Stream, error) {
			return &fetch.Stream{Body: body("small"), Len: 5, Size: 5, Whole: true}, nil
		},
	}
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	free := int64(4500)
	cfg := fetch.Config{Dir: dir, Journal: st, Source: src, Workers: 2, Streams: 1, BlockSize: 1024,
		FreeSpace: func(string) (int64, bool) { return free, true }}
	e, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]fetch.File{{URL: "http://h/disk", Path: "disk", Size: -1}, {URL: "http://h/small", Path: "small", Size: -1}})
	if err := e.Run(t.Context()); !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v, want ErrFailed", err)
	}
	want := "does not fit the free disk: it needs 4.9 KiB more, and 4.4 KiB are free on the disk of " + dir + "; free space and run grab again to resume it"
	byPath := map[string]fetch.File{}
	for _, f := range e.Files() {
		byPath[f.Path] = f
	}
	if f := byPath["disk"]; f.State != fetch.Failed || f.Err != want || !f.Again {
		t.Fatalf("disk: %v %q again=%v", f.State, f.Err, f.Again)
	}
	if f := byPath["small"]; f.State != fetch.Done {
		t.Fatalf("small: %v %q", f.State, f.Err)
	}
	if got := e.Status().Fetched; got != 5 {
		t.Fatalf("fetched %d bytes, want the 5 of small: nothing of disk", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "disk")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("disk is in the tree: %v", err)
	}

	// Space freed (the source now tells the truth about the size too).
	free = 1 << 30
	src["http://h/disk"] = func(r fetch.Request) (*fetch.Stream, error) {
		return &fetch.Stream{Body: body("abcde"), Len: 5, Size: 5, Whole: true}, nil
	}
	e, err = fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "disk")); err != nil || string(b) != "abcde" {
		t.Fatalf("disk after the resume: %q %v", b, err)
	}
}

// A size recorded by an earlier grab that believed it fails the file on
// resume instead of sizing a block map.
func TestRecordedHugeSizeOnResume(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Save(&fetch.Batch{Files: []fetch.File{{ID: 1, URL: "http://h/x", Path: "x", Size: math.MaxInt64}}})
	e, err := fetch.New(fetch.Config{Dir: dir, Journal: st, Source: answers{}})
	if err != nil {
		t.Fatal(err)
	}
	if f := e.Files()[0]; f.State != fetch.Failed || !strings.HasPrefix(f.Err, "file too large: the source announces 9223372036854775807 bytes") {
		t.Fatalf("%v %q", f.State, f.Err)
	}
}

// A disk that fills while a file is written (its size fitted when it was
// announced) stops the job as a full disk: nothing else can land. Once
// space is freed the job resumes and completes, byte-identical.
func TestDiskFillsWhileWriting(t *testing.T) {
	data := fetchtest.Data("big", 3<<20)
	j := newJob(t, map[string]*fetchtest.File{"/big": {Data: data}})
	j.dir = fetchtest.Tmpfs(t, "1m")
	j.cfg.FreeSpace = func(string) (int64, bool) { return 1 << 40, true } // as though someone else filled it
	e, err := j.run(t.Context(), nil, "/big")
	e.Close() // the tree's folder stays open until then, and the tmpfs busy
	if !errors.Is(err, fetch.ErrDiskFull) {
		t.Fatalf("Run: %v, want ErrDiskFull", err)
	}
	fetchtest.Resize(t, j.dir, "16m")
	e, err = j.run(t.Context(), nil, "/big")
	e.Close()
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	j.want("/big", data)
}

// cutBody gives n bytes of data, then fails.
type cutBody struct {
	r io.Reader
}

func (c cutBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}
func (cutBody) Close() error { return nil }

// A whole stream that starts over (a source without ranges, rsync where
// append is refused) is handed the verified blocks it has from the start
// of the file as its basis, so that a source may send only the rest.
func TestWholeStreamGetsBasis(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 500))
	var bases []int64
	var basisOK []bool
	src := answers{"http://h/w": func(r fetch.Request) (*fetch.Stream, error) {
		bases = append(bases, r.BasisLen)
		if r.BasisLen > 0 {
			got := make([]byte, r.BasisLen)
			_, err := r.Basis.ReadAt(got, 0)
			basisOK = append(basisOK, err == nil && string(got) == string(data[:r.BasisLen]))
		}
		if len(bases) == 1 {
			return &fetch.Stream{Body: cutBody{strings.NewReader(string(data[:3000]))}, Len: 5000, Size: 5000, Whole: true}, nil
		}
		return &fetch.Stream{Body: body(string(data)), Len: 5000, Size: 5000, Whole: true}, nil
	}}
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := fetch.New(fetch.Config{Dir: dir, Journal: st, Source: src, Workers: 1, Streams: 1, BlockSize: 1024,
		Backoff: fetch.Backoff{Base: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Add([]fetch.File{{URL: "http://h/w", Path: "w", Size: -1}})
	if err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(bases) != 2 || bases[0] != 0 || bases[1] != 2048 || len(basisOK) != 1 || !basisOK[0] {
		t.Fatalf("bases %v, read back right: %v; want the 2 blocks done before the cut", bases, basisOK)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "w")); string(b) != string(data) {
		t.Fatalf("w: %d bytes, not the source's", len(b))
	}
}
