package crawl_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// The whole engine against the onion-like demo with streams that stall
// and streams that are cut: the tree must come back byte-identical.
func TestDemoWithStallsAndCuts(t *testing.T) {
	spec := demo.BreachSpec{Archives: 1, ArchiveSize: 6 << 20, Photos: 40, PhotoMin: 8e3, PhotoMax: 40e3, Docs: 5, DocMin: 10e3, DocMax: 100e3}
	m := demo.Model{Median: 2e6, Sigma: 1.0, LinkCap: 8e6, RTT: 20 * time.Millisecond, Build: 50 * time.Millisecond,
		StallProb: 0.2, CutProb: 0.3, Seed: 11} // circuits are drawn anew each run: with at least 46 answers, none cut is under 0.7^46 (7e-8)
	srv, err := demo.Start(t.Context(), demo.BreachDump(11, spec), m)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out := t.TempDir()
	st, err := store.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, _ := dial.New("socks5h://" + srv.SOCKSAddr())
	c := crawl.New(crawl.Options{})
	e, err := fetch.New(fetch.Config{Dir: out, Workers: 8, Streams: 2, StallTimeout: 500 * time.Millisecond, Retries: 50,
		Backoff: fetch.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		Source:  &httpsrc.Source{Dialer: d}, Journal: st, Expand: c.Expand})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := url.Parse(srv.BaseURL())
	items, _ := c.Start([]*url.URL{root})
	e.Add(items)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range srv.Dump().Files() {
		r, size, _ := srv.Dump().Open(f.Path)
		want := make([]byte, size)
		r.ReadAt(want, 0)
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: not identical (%v)", f.Path, err)
		}
	}
	ds, es := srv.Stats(), e.Status()
	if ds.Stalls == 0 || ds.Cuts == 0 {
		t.Fatalf("the model stalled %d and cut %d streams: the test proves nothing", ds.Stalls, ds.Cuts)
	}
	t.Logf("%d files; the source stalled %d and cut %d streams; grab cancelled %d stalled requests, replaced %d circuits, wasted %d bytes",
		len(srv.Dump().Files()), ds.Stalls, ds.Cuts, es.Stalls, es.Renewals, es.Wasted)
}
