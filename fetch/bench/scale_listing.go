package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/job"
)

// ScaleListing measures what crawling one huge listing costs grab's whole
// job (issue 10): for each count it serves a listing of that many files
// at /dump/, as nginx's autoindex and as Python's http.server print it,
// from a server in this process that writes the page as it sends it
// (fetchtest.WriteListing: it holds nothing), and runs `grab --dry-run
// http://127.0.0.1:PORT/dump/`: the crawl reads the listing, maps and
// records every file, fetches none. It prints the listing's size, the
// wall time, the process's peak RSS, the Go heap's peak and the bytes
// allocated, each per entry too, and the heap live with the job's every
// item in it, per entry.
// The listing limit is the engine's default (256 MiB): a million
// entries in either format are within it.
func ScaleListing(ctx context.Context, w io.Writer, counts []int) error {
	fmt.Fprintf(w, "%9s  %-7s %9s %8s %9s %9s %10s %9s %9s %9s %9s\n",
		"entries", "format", "listingMB", "wall s", "RSS MB", "heap MB", "alloc MB", "RSS B/e", "heap B/e", "live B/e", "files")
	for _, n := range counts {
		for _, format := range []string{"nginx", "python"} {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := scaleListingOne(ctx, w, n, format); err != nil {
				return fmt.Errorf("listing of %d entries (%s): %w", n, format, err)
			}
		}
	}
	return nil
}

func scaleListingOne(ctx context.Context, w io.Writer, n int, format string) error {
	size := countingWriter{}
	if err := fetchtest.WriteListing(&size, format, n); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: fetchtest.ListingHandler(format, n)}
	go srv.Serve(ln)
	defer srv.Close()
	dir, err := os.MkdirTemp("", "grab-scale-listing-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	urls, err := job.ParseURLs([]string{"http://" + ln.Addr().String() + "/dump/"})
	if err != nil {
		return err
	}

	runtime.GC()
	resetPeakRSS()
	peakHeap := watchHeap(20*time.Millisecond, nil)
	allocs0 := heapAllocs()
	start := time.Now()
	s := job.Defaults()
	s.Output, s.DryRun = dir, true
	j, err := job.Open(ctx, job.Options{Settings: s, URLs: urls})
	if err != nil {
		return err
	}
	err = j.Run(ctx)
	st := j.Status()
	runtime.GC()
	live := heapLive() // what the job holds with every item in it
	cerr := j.Close()
	wall := time.Since(start)
	allocs := heapAllocs() - allocs0
	heap := peakHeap()
	rss := peakRSS()
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if st.Files != n {
		return fmt.Errorf("the crawl found %d files of %d", st.Files, n)
	}
	fmt.Fprintf(w, "%9d  %-7s %9.1f %8.1f %9.0f %9.0f %10.0f %9.0f %9.0f %9.0f %9d\n", n, format, float64(size.n)/1e6,
		wall.Seconds(), rss, float64(heap)/1e6, float64(allocs)/1e6, rss*1e6/float64(n), float64(heap)/float64(n),
		float64(live)/float64(n), st.Files)
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// heapLive is the bytes of heap objects the last collection found
// live.
func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapAllocs is the bytes allocated on the heap since the process
// started.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// runScaleListing is the listing points of the scale scenario.
func runScaleListing(ctx context.Context, b *bench) error {
	fmt.Fprintf(b.out, "\n## scale: one listing of many entries (grab --dry-run), issue 10\n\n")
	return ScaleListing(ctx, b.out, b.opts.ListingEntries)
}
