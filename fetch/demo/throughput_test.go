package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// fetchAll downloads every URL once, each on its own SOCKS identity, all at
// once, and returns the bytes read and the time taken.
func fetchAll(t testing.TB, srv *Server, urls []string) (int64, time.Duration) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		errs  []error
	)
	start := time.Now()
	for i, u := range urls {
		d, err := proxy.SOCKS5("tcp", srv.SOCKSAddr(), &proxy.Auth{User: fmt.Sprint("c", i)}, proxy.Direct)
		if err != nil {
			t.Fatal(err)
		}
		tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext, DisableKeepAlives: true}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(u)
			if err == nil {
				var n int64
				n, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				total += n
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return total, time.Since(start)
}

// TestPacingRespectsCaps checks only lower bounds on time, with room for the
// buckets' bursts: pacing may run slow on a busy machine, never fast.
func TestPacingRespectsCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 2.5 s of paced transfer")
	}
	const size = 1e6
	files := []File{{Path: "a", Size: size}, {Path: "b", Size: size}, {Path: "c", Size: size}}
	srv := startServer(t, NewDump(1, files), Model{Median: 1e6, LinkCap: 2e6})
	urls := srv.URLs()

	// One circuit alone: its speed, 1 MB/s, is the limit.
	n, took := fetchAll(t, srv, urls[:1])
	if n != size || took < 900*time.Millisecond {
		t.Errorf("one circuit: %d bytes in %v, want %v bytes in at least 0.9 s", n, took, size)
	}
	// Three circuits: the 2 MB/s link is the limit.
	n, took = fetchAll(t, srv, urls)
	if n != 3*size || took < 1350*time.Millisecond {
		t.Errorf("three circuits: %d bytes in %v, want %v bytes in at least 1.35 s", n, took, 3*size)
	}
}

// BenchmarkLinkCap reports how close the aggregate comes to the link cap
// (link-ratio, ideally just under 1) with eight circuits whose speeds sum to
// more than the cap.
func BenchmarkLinkCap(b *testing.B) {
	var files []File
	for i := range 8 {
		files = append(files, File{Path: fmt.Sprint("f", i), Size: 2e6})
	}
	m := Model{Median: 1e6, Sigma: 0.3, LinkCap: 4e6, Seed: 3}
	srv, err := Start(context.Background(), NewDump(1, files), m)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	var bytes int64
	var took time.Duration
	for b.Loop() {
		n, d := fetchAll(b, srv, srv.URLs())
		bytes += n
		took += d
	}
	b.ReportMetric(float64(bytes)/took.Seconds()/m.LinkCap, "link-ratio")
}

// BenchmarkCircuitSpeed reports a lone circuit's throughput as a ratio of
// its drawn speed (circuit-ratio, ideally just under 1: the request's
// round trip is the only other cost).
func BenchmarkCircuitSpeed(b *testing.B) {
	m := Model{Median: 2e6, Sigma: 0.8, RTT: 10 * time.Millisecond, Seed: 4}
	srv, err := Start(context.Background(), SingleFile(1, "f", 4e6), m)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	var bytes int64
	var took time.Duration
	for b.Loop() {
		n, d := fetchAll(b, srv, srv.URLs())
		bytes += n
		took += d
	}
	b.ReportMetric(float64(bytes)/took.Seconds()/m.CircuitSpeed("c0", 1), "circuit-ratio")
}
