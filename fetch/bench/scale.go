package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/job"
)

// Scale measures grab's cost on many small files against wget and aria2c
// (issue #13). For each count it writes a tree of that many files of
// 2–20 KB in 50 folders, serves it with nginx (autoindex, loopback, no
// proxy) and fetches it three times: with grab's engine in this process
// (crawling the listings, as `grab URL` does), with `wget -r -np -nH` and
// with `aria2c -j16 -i` (a URL list, no crawl). It prints, per tool, the
// wall time, CPU seconds per 1000 files, peak RSS, bytes written to disk
// per byte of payload, and grab's ratios to the others. A tool that is not
// installed is left out, and both with grabOnly; nginx is required.
//
// The figures are meant to be compared within a run: the machine's cost of
// creating a file (which every tool pays once per file) is in all of them.
func Scale(ctx context.Context, w io.Writer, counts []int, grabOnly bool) (err error) {
	tb := &scaleTB{}
	defer tb.cleanup()
	defer func() {
		if r := recover(); r != nil {
			if s, ok := r.(scaleStop); ok {
				err = errors.New(string(s))
				return
			}
			panic(r)
		}
	}()
	fmt.Fprintf(w, "%8s  %-7s %8s %10s %9s %9s %9s %7s %10s %10s\n",
		"files", "tool", "wall s", "CPU s/1k", "RSS MB", "heap MB", "written", "files", "grab÷wall", "grab÷CPU")
	for _, n := range counts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := scaleOne(ctx, w, tb, n, grabOnly); err != nil {
			return err
		}
	}
	return nil
}

// scaleResult is one tool's run.
type scaleResult struct {
	tool    string
	wall    time.Duration
	cpu     time.Duration
	rssMB   float64 // -1 if not measured
	heapMB  float64 // peak of the Go heap's objects, live or not yet swept; grab only, -1 otherwise
	written int64   // bytes written to disk, -1 if not measured
	files   int     // files of the tree found in place afterwards
}

func scaleOne(ctx context.Context, w io.Writer, tb *scaleTB, n int, grabOnly bool) error {
	work, err := os.MkdirTemp("", "grab-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	defer tb.cleanup() // nginx stops before its tree goes
	root := filepath.Join(work, "tree")
	paths, payload, err := writeScaleTree(root, n)
	if err != nil {
		return err
	}

	base := fetchtest.Nginx(tb, root, "html", "", "")

	var results []scaleResult
	g, err := scaleGrab(ctx, filepath.Join(work, "grab"), base, paths)
	if err != nil {
		return fmt.Errorf("grab, %d files: %w", n, err)
	}
	results = append(results, g)
	if _, err := exec.LookPath("wget"); err == nil && !grabOnly {
		dir := filepath.Join(work, "wget")
		r, err := scaleCmd(ctx, "wget", dir, paths, "wget", "-q", "-r", "-np", "-nH", "-e", "robots=off", "-l", "inf", "-P", dir, base)
		if err != nil {
			return fmt.Errorf("wget, %d files: %w", n, err)
		}
		results = append(results, r)
	}
	if _, err := exec.LookPath("aria2c"); err == nil && !grabOnly {
		dir := filepath.Join(work, "aria2c")
		list := filepath.Join(work, "urls")
		if err := writeURLList(list, base, paths); err != nil {
			return err
		}
		r, err := scaleCmd(ctx, "aria2c", dir, paths, "aria2c", "-q", "-j16", "--file-allocation=none",
			"--auto-file-renaming=false", "--allow-overwrite=true", "--deferred-input=true", "-d", dir, "-i", list)
		if err != nil {
			return fmt.Errorf("aria2c, %d files: %w", n, err)
		}
		results = append(results, r)
	}
	for _, r := range results {
		rss, heap, written := "-", "-", "-"
		if r.rssMB >= 0 {
			rss = fmt.Sprintf("%.0f", r.rssMB)
		}
		if r.heapMB >= 0 {
			heap = fmt.Sprintf("%.0f", r.heapMB)
		}
		if r.written >= 0 {
			written = fmt.Sprintf("%.2fx", float64(r.written)/float64(payload))
		}
		ratio, cpuRatio := "", ""
		if r.tool != "grab" {
			ratio = fmt.Sprintf("%.2f", g.wall.Seconds()/r.wall.Seconds())
			cpuRatio = fmt.Sprintf("%.2f", g.cpu.Seconds()/r.cpu.Seconds())
		}
		fmt.Fprintf(w, "%8d  %-7s %8.1f %10.2f %9s %9s %9s %7d %10s %10s\n", n, r.tool, r.wall.Seconds(),
			r.cpu.Seconds()/float64(n)*1000, rss, heap, written, r.files, ratio, cpuRatio)
	}
	return nil
}

// writeScaleTree writes n files of 2–20 KB of random bytes in 50 folders below
// root and returns their paths (slash-separated) and total size.
func writeScaleTree(root string, n int) ([]string, int64, error) {
	rng := rand.New(rand.NewPCG(uint64(n), 13))
	paths := make([]string, n)
	var total int64
	buf := make([]byte, 20<<10)
	for i := range n {
		p := fmt.Sprintf("d%02d/f%07d.jpg", i%50, i)
		if i < 50 {
			if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%02d", i)), 0o755); err != nil {
				return nil, 0, err
			}
		}
		size := 2<<10 + rng.IntN(18<<10)
		for j := 0; j < size; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < size; k++ {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(p)), buf[:size], 0o644); err != nil {
			return nil, 0, err
		}
		paths[i] = p
		total += int64(size)
	}
	return paths, total, nil
}

func writeURLList(name, base string, paths []string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, p := range paths {
		fmt.Fprintf(bw, "%s%s\n  out=%s\n", base, p, p)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scaleGrab runs grab's engine in this process the way `grab URL -o dir`
// does: a store, an HTTP source without proxy, the crawler and the
// default fetch order (class, then size).
func scaleGrab(ctx context.Context, dir, base string, paths []string) (scaleResult, error) {
	r := scaleResult{tool: "grab", rssMB: -1, heapMB: -1, written: -1}
	urls, err := job.ParseURLs([]string{base})
	if err != nil {
		return r, err
	}
	syscall.Sync() // what was written before (the tree) is not counted against grab
	resetPeakRSS()
	peakHeap := watchHeap(20*time.Millisecond, nil)
	ru0 := rusage(syscall.RUSAGE_SELF)
	start := time.Now()
	s := job.Defaults()
	s.Output = dir
	j, err := job.Open(ctx, job.Options{Settings: s, URLs: urls})
	if err != nil {
		return r, err
	}
	err = j.Run(ctx)
	cerr := j.Close()
	r.wall = time.Since(start)
	ru1 := rusage(syscall.RUSAGE_SELF)
	r.heapMB = float64(peakHeap()) / 1e6
	if err != nil {
		return r, err
	}
	if cerr != nil {
		return r, cerr
	}
	r.cpu = cpuOf(ru1) - cpuOf(ru0)
	if hwm := peakRSS(); hwm > 0 {
		r.rssMB = hwm
	}
	r.written = (ru1.Oublock - ru0.Oublock) * 512
	r.files, err = checkTree(filepath.Join(filepath.Dir(dir), "tree"), dir, paths)
	return r, err
}

func scaleCmd(ctx context.Context, tool, dir string, paths []string, name string, args ...string) (scaleResult, error) {
	r := scaleResult{tool: tool, heapMB: -1}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	syscall.Sync() // nor what the tools before it wrote
	c, out, err := measureChild(ctx, dir, name, args...)
	r.wall, r.rssMB = c.wall, c.rssMB
	if err != nil && c.usage == nil {
		return r, err
	}
	if err != nil {
		// wget exits 8 when a server error occurred on some URL; the
		// file count below tells whether that matters.
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || tool != "wget" || ee.ExitCode() != 8 {
			return r, fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
		}
	}
	r.cpu = cpuOf(*c.usage)
	r.written = c.usage.Oublock * 512
	r.files, err = checkTree(filepath.Join(filepath.Dir(dir), "tree"), dir, paths)
	return r, err
}

// checkTree counts the files of paths found in dir with the bytes they
// have in root; every 97th is compared in full, the others by size.
func checkTree(root, dir string, paths []string) (int, error) {
	n := 0
	for i, p := range paths {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		want, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return n, err
		}
		if st.Size() != want.Size() {
			continue
		}
		if i%97 == 0 {
			a, err1 := hashFile(filepath.Join(dir, filepath.FromSlash(p)))
			b, err2 := hashFile(filepath.Join(root, filepath.FromSlash(p)))
			if err1 != nil || err2 != nil || a != b {
				continue
			}
		}
		n++
	}
	return n, nil
}

func hashFile(name string) ([32]byte, error) {
	b, err := os.ReadFile(name)
	return sha256.Sum256(b), err
}

func rusage(who int) syscall.Rusage {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return ru
}

func cpuOf(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS starts this process's peak RSS (VmHWM) over, where Linux
// allows it.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is this process's VmHWM in MB, 0 if unknown.
func peakRSS() float64 { return peakRSSOf("self") }

// peakRSSOf is the VmHWM of process pid in MB, 0 if unknown.
func peakRSSOf(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// scaleTB is the part of testing.TB that realsrv uses, for running nginx
// outside a test: a failure or skip stops Scale with an error; clean-ups
// run when Scale returns.
type scaleTB struct {
	testing.TB // nil: other methods are not used
	cleanups   []func()
	dirs       []string
}

type scaleStop string

func (t *scaleTB) Helper()                      {}
func (t *scaleTB) Name() string                 { return "scale" }
func (t *scaleTB) Fatal(args ...any)            { panic(scaleStop(fmt.Sprint(args...))) }
func (t *scaleTB) Fatalf(f string, args ...any) { panic(scaleStop(fmt.Sprintf(f, args...))) }
func (t *scaleTB) Skip(args ...any)             { panic(scaleStop(fmt.Sprint(args...))) }
func (t *scaleTB) Skipf(f string, args ...any)  { panic(scaleStop(fmt.Sprintf(f, args...))) }
func (t *scaleTB) Log(...any)                   {}
func (t *scaleTB) Logf(string, ...any)          {}
func (t *scaleTB) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (t *scaleTB) TempDir() string              { return t.tempDir() }
func (t *scaleTB) tempDir() string {
	d, err := os.MkdirTemp("", "grab-scale-srv-")
	if err != nil {
		panic(scaleStop(err.Error()))
	}
	t.dirs = append(t.dirs, d)
	return d
}

func (t *scaleTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
	for _, d := range t.dirs {
		os.RemoveAll(d)
	}
	t.dirs = nil
}

// runScale is the scale scenario of grab bench.
func runScale(ctx context.Context, b *bench) error {
	counts := b.opts.Counts
	switch {
	case len(b.opts.ListingEntries) > 0:
		if len(counts) > 0 {
			if err := runScaleFiles(ctx, b, counts); err != nil {
				return err
			}
		}
		return runScaleListing(ctx, b)
	case len(counts) > 0:
	case b.opts.Quick:
		counts = []int{2000, 5000}
	default:
		counts = []int{5000, 20000, 50000}
	}
	return runScaleFiles(ctx, b, counts)
}

func runScaleFiles(ctx context.Context, b *bench, counts []int) error {
	fmt.Fprintf(b.out, "\n## scale: small files on loopback (nginx), grab against wget -r and aria2c -j16\n\n")
	return Scale(ctx, b.out, counts, b.opts.GrabOnly)
}
