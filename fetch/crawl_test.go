package fetch

import (
	"context"
	"fmt"
	"testing"

	"github.com/grab-ir/grab/fetch/listing"
)

// listSource lists n files in every folder.
type listSource struct{ n int }

func (s listSource) Conn(int) Conn { return listConn(s) }

type listConn struct{ n int }

func (listConn) Get(context.Context, Request) (*Stream, error) { return nil, context.Canceled }
func (listConn) Close() error                                  { return nil }
func (c listConn) List(_ context.Context, url string, _ int64, _ func(int)) (*Listing, error) {
	l := &Listing{URL: url}
	for i := range c.n {
		l.Entries = append(l.Entries, listing.Entry{URL: fmt.Sprintf("%s%d", url, i), Size: 1})
	}
	return l, nil
}

// A listing of more entries than expandBatch is expanded a slice at a
// time, in order, each entry once, and recorded read once all are added.
func TestCrawlExpandsInSlices(t *testing.T) {
	const n = 2*expandBatch + 10
	j := &batchJournal{}
	var calls []int
	e, err := New(Config{Dir: t.TempDir(), Source: listSource{n}, Journal: j, CrawlOnly: true, Workers: 1, Streams: 1,
		Expand: func(l File, found *Listing) ([]File, error) {
			calls = append(calls, len(found.Entries))
			var out []File
			for _, en := range found.Entries {
				out = append(out, File{URL: en.URL, Path: en.URL[len(l.URL):], Size: en.Size})
			}
			return out, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.Add([]File{{Kind: KindListing, URL: "http://h/d/", Size: -1}})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != fmt.Sprint([]int{expandBatch, expandBatch, 10}) {
		t.Fatalf("Expand called with %v entries", calls)
	}
	files := e.Files()
	if len(files) != n+1 {
		t.Fatalf("%d items, want %d", len(files), n+1)
	}
	recorded := map[string]File{}
	for _, b := range j.batches {
		for _, f := range b.Files {
			recorded[f.URL] = f
		}
	}
	if len(recorded) != n+1 || recorded["http://h/d/"].State != Done {
		t.Fatalf("%d records, the listing %v; want %d, done", len(recorded), recorded["http://h/d/"].State, n+1)
	}
	for i := range n {
		if f, ok := recorded[fmt.Sprintf("http://h/d/%d", i)]; !ok || f.Path != fmt.Sprint(i) || f.Size != 1 {
			t.Fatalf("entry %d recorded as %+v", i, f)
		}
	}
}

// The listing limit is 256 MiB unless set.
func TestListingLimitDefault(t *testing.T) {
	e, err := New(Config{Dir: t.TempDir(), Source: nopSource{}, Journal: memJournal{}})
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.ListingMax != 256<<20 || DefaultListingMax != 256<<20 {
		t.Fatalf("listing limit %d (DefaultListingMax %d), want 256 MiB", e.cfg.ListingMax, DefaultListingMax)
	}
}
