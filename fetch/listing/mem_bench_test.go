package listing

import (
	"bytes"
	"net/url"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
)

// BenchmarkParseBig parses one listing of a million files, as nginx's
// autoindex and Python's http.server print it (issue 10), and reports
// what the parse costs in memory: held-B/entry is the heap still in use
// with the entries returned (the body left out), peak-MB the heap's peak
// during the parse (the body included), alloc-MB everything allocated.
//
//	go test -run '^$' -bench ParseBig -benchtime 1x ./fetch/listing
func BenchmarkParseBig(b *testing.B) {
	const n = 1_000_000
	base, _ := url.Parse("http://dump.example.onion/dump/")
	for _, format := range []string{"nginx", "python"} {
		b.Run(format, func(b *testing.B) {
			var page bytes.Buffer
			if err := fetchtest.WriteListing(&page, format, n); err != nil {
				b.Fatal(err)
			}
			body := page.Bytes()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var held, peak, alloc float64
			for b.Loop() {
				runtime.GC()
				before := heapLive()
				a0 := heapAllocBytes()
				stop := watchPeak()
				entries, _, err := Parse(base, "text/html", body)
				p := stop()
				if err != nil {
					b.Fatal(err)
				}
				if len(entries) != n {
					b.Fatalf("%d entries, want %d", len(entries), n)
				}
				alloc = float64(heapAllocBytes() - a0)
				runtime.GC()
				held = float64(heapLive()) - float64(before)
				peak = float64(p) - float64(before) + float64(len(body))
				runtime.KeepAlive(entries)
			}
			b.ReportMetric(held/n, "held-B/entry")
			b.ReportMetric(peak/1e6, "peak-MB")
			b.ReportMetric(alloc/1e6, "alloc-MB")
			b.ReportMetric(float64(len(body))/n, "body-B/entry")
		})
	}
}

func heapLive() uint64 { return readMetric("/memory/classes/heap/objects:bytes") }

func heapAllocBytes() uint64 { return readMetric("/gc/heap/allocs:bytes") }

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchPeak samples the heap's objects every 10 ms until stop, which
// returns the largest seen.
func watchPeak() (stop func() uint64) {
	done, out := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var hwm uint64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			hwm = max(hwm, heapLive())
			select {
			case <-done:
				out <- max(hwm, heapLive())
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-out }
}
