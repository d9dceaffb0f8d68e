package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// concListSource records how many List calls run at once; each holds
// (as an HTTP listing does, io.ReadAll of up to ListingMax bytes) until
// the test lets go or a second has passed.
type concListSource struct {
	mu       sync.Mutex
	now, max int
}

func (s *concListSource) Conn(int) Conn { return concListConn{s} }

type concListConn struct{ s *concListSource }

func (concListConn) Get(context.Context, Request) (*Stream, error) { return nil, context.Canceled }
func (concListConn) Close() error                                  { return nil }
func (c concListConn) List(ctx context.Context, url string, _ int64, _ func(int)) (*Listing, error) {
	c.s.mu.Lock()
	c.s.now++
	c.s.max = max(c.s.max, c.s.now)
	c.s.mu.Unlock()
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	c.s.mu.Lock()
	c.s.now--
	c.s.mu.Unlock()
	return &Listing{URL: url}, nil
}

// review3: an HTTP listing is held whole in memory while read and parsed
// (up to ListingMax, 256 MiB since branch mem; a gzip bomb of ~300 KB on
// the wire decodes to it). With the default 16 workers x 4 streams, a
// hostile server that links 64 folders has 64 of them read at once: 16 GiB
// of bodies before parsing, the process OOM-killed ("never crash"). The
// listings in memory at once must be bounded to a few ListingMax.
func TestReview3ListingsInMemoryAtOnceBounded(t *testing.T) {
	src := &concListSource{}
	e, err := New(Config{Dir: t.TempDir(), Source: src, Journal: memJournal{}, CrawlOnly: true, Workers: 16, Streams: 4,
		Expand: func(l File, found *Listing) ([]File, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	var items []File
	for i := range 64 {
		items = append(items, File{Kind: KindListing, URL: fmt.Sprintf("http://h/d%d/", i), Size: -1})
	}
	e.Add(items)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	const budget = 1 << 30 // 1 GiB of listing bodies at most
	if got := int64(src.max) * e.cfg.ListingMax; got > budget {
		t.Errorf("%d listings read at once, up to %d MiB of bodies in memory; want at most %d MiB", src.max, got>>20, budget>>20)
	}
}

// A file that fails (or is left out) while its request is under way, and
// is swept out of the queue by another lane's look before its task is
// released (fail and release are two holds of e.mu), still gives up its
// active (block maps: 40 MB for a 300 GB file) once released. (Found by a
// review.)
func TestFailedFilesGoIdle(t *testing.T) {
	src := dataSource{}
	var files []File
	for i := range 2000 {
		u := fmt.Sprintf("http://h/f%04d", i)
		if i%2 == 0 {
			src[u] = bytes.Repeat([]byte{byte(i)}, 1+i*7)
		}
		files = append(files, File{URL: u, Path: fmt.Sprintf("f%04d", i), Size: -1})
	}
	e, err := New(Config{Dir: t.TempDir(), Source: src, Journal: memJournal{}, Workers: 8, BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	e.Add(files)
	if err := e.Run(context.Background()); !errors.Is(err, ErrFailed) {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := 0
	for _, f := range e.files {
		if f.State != Pending && f.active != idle {
			kept++
		}
	}
	if kept > 0 {
		t.Errorf("%d settled files hold an active of their own after the run", kept)
	}
}
