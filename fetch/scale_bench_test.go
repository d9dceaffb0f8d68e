package fetch_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// BenchmarkEngineManySmall fetches N files of 2–20 KB in 50 folders from
// an in-process HTTP server, with the command line's defaults (16
// circuits, 4 streams each) and a real store, and reports the cost per
// file. The engine's cost should not grow with N: compare ns/file and
// allocs/file across the sub-benchmarks (the exponent of n is
// log(ns50k/ns5k)/log(10) + 1). state-B/file is what the store wrote,
// written/payload what the process had written to storage (4 KiB pages:
// files of 2–20 KB alone come to about 1.2).
//
//	go test -run '^$' -bench EngineManySmall -benchtime 1x ./fetch
func BenchmarkEngineManySmall(b *testing.B) {
	for _, n := range []int{5000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchManySmall(b, n) })
	}
}

func benchManySmall(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(uint64(n), 13))
	bodies := map[string][]byte{}
	var files []fetch.File
	modTime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := fmt.Sprintf("d%02d/f%06d.jpg", i%50, i)
		body := make([]byte, 2<<10+rng.IntN(18<<10))
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		bodies["/"+p] = body
		files = append(files, fetch.File{URL: p, Path: p, Class: "photos", Estimate: int64(len(body)), Size: -1})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, r.URL.Path, modTime, bytes.NewReader(body))
	}))
	defer srv.Close()
	for i := range files {
		files[i].URL = srv.URL + "/" + files[i].URL
	}
	d, err := dial.New("")
	if err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	var stateWritten, written, payload int64
	for _, body := range bodies {
		payload += int64(len(body))
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "job")
		st, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		e, err := fetch.New(fetch.Config{Dir: dir, Source: &httpsrc.Source{Dialer: d}, Journal: st})
		if err != nil {
			b.Fatal(err)
		}
		e.Add(files)
		syscall.Sync()
		w0 := ioWritten()
		start := time.Now()
		err = e.Run(context.Background())
		syscall.Sync()
		written += ioWritten() - w0
		took += time.Since(start)
		stateWritten += st.Written()
		st.Close()
		if err != nil {
			b.Fatal(err)
		}
		if s := e.Status(); s.Done != n {
			b.Fatalf("%d of %d files done", s.Done, n)
		}
		b.StopTimer()
		for _, f := range files[:50] {
			checkFile(b, filepath.Join(dir, f.Path), bodies["/"+strings.TrimPrefix(f.URL, srv.URL+"/")])
		}
		b.StartTimer()
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(took.Nanoseconds())/float64(b.N)/float64(n), "ns/file")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/float64(n), "allocs/file")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/float64(n), "B/file")
	b.ReportMetric(float64(stateWritten)/float64(b.N)/float64(n), "state-B/file")
	if ioWritten() >= 0 {
		b.ReportMetric(float64(written)/float64(b.N)/float64(payload), "written/payload")
	}
	b.ReportMetric(0, "ns/op")
}

func checkFile(b *testing.B, path string, want []byte) {
	b.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		b.Fatalf("%s: %d bytes, not the %d served (%v)", path, len(got), len(want), err)
	}
}

// ioWritten is what this process has had written to storage
// (/proc/self/io write_bytes), -1 if unknown.
func ioWritten() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}
