package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// dataSource serves files from memory, by URL, ranges included.
type dataSource map[string][]byte

func (s dataSource) Conn(int) Conn { return dataConn{s} }

type dataConn struct{ s dataSource }

func (dataConn) Close() error { return nil }
func (c dataConn) Get(_ context.Context, r Request) (*Stream, error) {
	b, ok := c.s[r.URL]
	if !ok {
		return nil, &PermanentError{Err: errors.New("no such file")}
	}
	start, end := min(r.Range.Start, int64(len(b))), int64(len(b))
	if r.Range.End >= 0 {
		end = min(r.Range.End, end)
	}
	return &Stream{Body: io.NopCloser(bytes.NewReader(b[start:end])), Offset: start, Len: end - start,
		Size: int64(len(b)), Validator: `"v"`}, nil
}

// Files a run brought are in the tree byte for byte, and once settled
// hold no state of their own beyond the record: each is back to idle,
// and a file that wanted only SHA-256 hands Finished no map of digests.
func TestSettledFilesGoIdle(t *testing.T) {
	src := dataSource{}
	var files []File
	for i := range 300 {
		u := fmt.Sprintf("http://h/f%03d", i)
		src[u] = bytes.Repeat([]byte{byte(i)}, 1+i*37)
		files = append(files, File{URL: u, Path: fmt.Sprintf("f%03d", i), Size: -1})
	}
	var mu sync.Mutex
	finished := map[string]File{}
	dir := t.TempDir()
	e, err := New(Config{Dir: dir, Source: src, Journal: memJournal{}, Workers: 4, BlockSize: 4096,
		Finished: func(f File) { mu.Lock(); finished[f.URL] = f; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	e.Add(files)
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.files {
		b, err := os.ReadFile(filepath.Join(dir, f.Path))
		if f.State != Done || err != nil || !bytes.Equal(b, src[f.URL]) {
			t.Fatalf("%s: %v, %v", f.Path, f.State, err)
		}
		if f.active != idle {
			t.Fatalf("%s: done, yet it holds its own active", f.Path)
		}
		sum := sha256.Sum256(src[f.URL])
		if got := finished[f.URL]; got.SHA256 != hex.EncodeToString(sum[:]) || got.Run == nil || got.Run.Digests != nil {
			t.Fatalf("%s finished as %+v, run %+v", f.Path, got, got.Run)
		}
	}
	if len(finished) != len(files) {
		t.Fatalf("%d files finished, want %d", len(finished), len(files))
	}
}
