package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/grab-ir/grab/fetch"
)

// Same checks a downloaded file, got, against the bytes of the file at
// path in the dump; an error wraps ErrNotIdentical when they differ.
func (dump *Dump) Same(got, path string) error {
	r, size, ok := dump.Open(path)
	if !ok {
		return fmt.Errorf("%s is not in the dump", path)
	}
	f, err := os.Open(got)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != size {
		return fmt.Errorf("%w: %s has %d bytes, the source %d", ErrNotIdentical, got, fi.Size(), size)
	}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(a)) {
		n := int(min(int64(len(a)), size-off))
		if _, err := io.ReadFull(f, a[:n]); err != nil {
			return err
		}
		if _, err := r.ReadAt(b[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("%w: %s differs from the source in bytes %d-%d", ErrNotIdentical, got, off, off+int64(n)-1)
		}
	}
	return nil
}

// Check compares every file of a job in dir with the server's dump and
// returns how many matched.
func (srv *Server) Check(dir string, files []fetch.File) (int, error) {
	n := 0
	for _, f := range files {
		if f.Kind != fetch.KindFile {
			continue
		}
		rel, err := url.PathUnescape(strings.TrimPrefix(f.URL, srv.BaseURL()))
		if err != nil {
			return n, err
		}
		if err := srv.Dump().Same(filepath.Join(dir, filepath.FromSlash(f.Path)), rel); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
