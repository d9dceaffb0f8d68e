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

// bigListSource's listings each read 10 MiB (reported through moved, as
// an HTTP listing reports what it decoded) and record how many are past
// bigListing at once.
type bigListSource struct {
	mu       sync.Mutex
	now, max int
	done     int
}

func (s *bigListSource) Conn(int) Conn { return bigListConn{s} }

type bigListConn struct{ s *bigListSource }

func (bigListConn) Get(context.Context, Request) (*Stream, error) { return nil, context.Canceled }
func (bigListConn) Close() error                                  { return nil }
func (c bigListConn) List(ctx context.Context, url string, _ int64, moved func(int)) (*Listing, error) {
	past := false
	for i := range 10 {
		moved(1 << 20)
		if !past && (i+1)<<20 > bigListing && ctx.Err() == nil {
			past = true
			c.s.mu.Lock()
			c.s.now++
			c.s.max = max(c.s.max, c.s.now)
			c.s.mu.Unlock()
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.s.mu.Lock()
	if past {
		c.s.now--
	}
	c.s.done++
	c.s.mu.Unlock()
	return &Listing{URL: url}, nil
}

// A listing is held whole while read and parsed (up to ListingMax, 256
// MiB; a gzip bomb of ~300 KB on the wire decodes to it): with 16 workers
// x 4 streams a hostile server linking 64 big folders would have 16 GiB in
// memory at once. Past bigListing a listing waits for one of a few places
// (listingBudget), its stall watch suspended; small ones never wait, and
// every listing is read. (Found by a review.)
func TestBigListingsAtOnceBounded(t *testing.T) {
	src := &bigListSource{}
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	places := cap(e.bigListings)
	if places != 3 || src.max > places || src.done != 64 {
		t.Errorf("%d listings past %d MiB at once with %d places (want 3), %d of 64 read", src.max, bigListing>>20, places, src.done)
	}
	if got := int64(64)*bigListing + int64(places)*e.cfg.ListingMax; got > listingBudget {
		t.Errorf("listings may hold %d MiB at once, over %d", got>>20, listingBudget>>20)
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
