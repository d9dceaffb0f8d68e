package fetch_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// BenchmarkEngineDemo downloads one file through the demo's SOCKS proxy
// with a fast model (8 circuits of about 2 MB/s against an 8 MB/s link,
// 5 ms round trips, 20 ms builds) and reports link-ratio: file bytes /
// (link cap × time of Run), ideally just under 1. Each iteration has a
// fresh source, so every circuit is built again, and a fresh job folder.
//
//	go test -run '^$' -bench EngineDemo -benchtime 3x ./fetch
func BenchmarkEngineDemo(b *testing.B) {
	const size = 16 << 20
	m := demo.Model{Median: 2e6, Sigma: 0.5, LinkCap: 8e6, RTT: 5 * time.Millisecond, Build: 20 * time.Millisecond, Seed: 5}
	dump := demo.SingleFile(5, "dump.bin", size)
	var total int64
	var took time.Duration
	for b.Loop() {
		n, d := engineDemoRun(b, dump, m, 8, filepath.Join(b.TempDir(), "job"))
		total += n
		took += d
	}
	b.ReportMetric(float64(total)/took.Seconds()/m.LinkCap, "link-ratio")
	b.ReportMetric(float64(total)/took.Seconds()/1e6, "MB/s")
}

// BenchmarkEngineSlowlink is part (a) of grab bench's slowlink scenario
// for the engine alone: one 64 MiB file over 16 circuits of the default
// model with sigma 1.0 and stalls and cuts at 5% (median 200 kB/s, 3 MB/s
// link, 600 ms round trips, 1.5 s builds). An iteration takes about 30 s;
// each draws new circuit speeds and faults, so run several. link-ratio is
// over the whole Run, start-up included (2.7 s of unavoidable circuit
// build and round trips: the best possible is about 0.89).
//
//	go test -run '^$' -bench EngineSlowlink -benchtime 3x ./fetch
func BenchmarkEngineSlowlink(b *testing.B) {
	const size = 64 << 20
	m := demo.DefaultModel()
	m.Seed, m.Sigma, m.StallProb, m.CutProb = 1, 1.0, 0.05, 0.05
	dump := demo.SingleFile(1, "dump.bin", size)
	var total int64
	var took time.Duration
	for b.Loop() {
		n, d := engineDemoRun(b, dump, m, 16, filepath.Join(b.TempDir(), "job"))
		b.Logf("%.1f s: %.2f of the link", d.Seconds(), float64(n)/d.Seconds()/m.LinkCap)
		total += n
		took += d
	}
	b.ReportMetric(float64(total)/took.Seconds()/m.LinkCap, "link-ratio")
	b.ReportMetric(float64(total)/took.Seconds()/1e6, "MB/s")
}

// engineDemoRun fetches the dump's one file into dir and checks it; it
// returns the file's size and how long the engine ran.
func engineDemoRun(b *testing.B, dump *demo.Dump, m demo.Model, workers int, dir string) (int64, time.Duration) {
	b.Helper()
	srv, err := demo.Start(context.Background(), dump, m)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	d, err := dial.New("socks5h://" + srv.SOCKSAddr())
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e, err := fetch.New(fetch.Config{Dir: dir, Workers: workers, Source: &httpsrc.Source{Dialer: d}, Journal: st})
	if err != nil {
		b.Fatal(err)
	}
	e.Add([]fetch.File{{URL: srv.URLs()[0], Path: "dump.bin", Size: -1}})
	start := time.Now()
	err = e.Run(context.Background())
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	r, size, _ := dump.Open("dump.bin")
	want := make([]byte, size)
	if _, err := r.ReadAt(want, 0); err != nil && err != io.EOF {
		b.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "dump.bin"))
	if err != nil || !bytes.Equal(got, want) {
		b.Fatalf("dump.bin: %d bytes, not identical to the %d-byte source (%v)", len(got), size, err)
	}
	return size, took
}
