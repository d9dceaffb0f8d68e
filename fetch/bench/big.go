package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
)

// runBig is the big scenario (issue 13, not in "all"): one file of each
// size served by nginx on loopback, fetched by the grab binary (its
// final check included), by aria2c -x4 and by curl, each as a child
// process, in turn; wall and CPU time, peak RSS, and grab's ratios. Then
// grab is killed with SIGKILL half-way through the file and started
// again, with the page cache warm and (where this process may drop it)
// cold: how long the resume takes before it fetches again, and in all.
func runBig(ctx context.Context, b *bench) error {
	sizes := b.opts.Sizes
	switch {
	case len(sizes) > 0:
	case b.opts.Quick:
		sizes = []int64{64 << 20}
	default:
		sizes = []int64{512 << 20, 8 << 30}
	}
	fmt.Fprintf(b.out, "\n## big: one file on loopback (nginx), grab against aria2c -x4 and curl\n\n")
	fmt.Fprintf(b.out, "| size | tool | wall s | MB/s | CPU s | peak RSS MB | grab÷tool wall | grab÷tool CPU |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	tb := &scaleTB{}
	defer tb.cleanup()
	var resumes []string
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				s, ok := r.(scaleStop)
				if !ok {
					panic(r)
				}
				err = errors.New(string(s))
			}
		}()
		for _, size := range sizes {
			lines, err := b.bigOne(ctx, tb, size)
			if err != nil {
				return err
			}
			resumes = append(resumes, lines...)
		}
		return nil
	}()
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "\nresume after a kill -9 half-way (the grab binary, same file):\n\n")
	fmt.Fprintf(b.out, "| size | recorded | cache | until fetching again s | whole resume s |\n|---|---:|---|---:|---:|\n")
	for _, l := range resumes {
		fmt.Fprintln(b.out, l)
	}
	return nil
}

// bigRun is one tool's fetch of the file.
type bigRun struct {
	tool      string
	wall, cpu time.Duration
	rssMB     float64
}

func (b *bench) bigOne(ctx context.Context, tb *scaleTB, size int64) ([]string, error) {
	work, err := os.MkdirTemp(b.scratch, "big-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "tree")
	b.say("bench: big: writing a file of %s", rate.Bytes(size))
	want, err := writeBigFile(filepath.Join(root, "big.bin"), size)
	if err != nil {
		return nil, err
	}
	url := fetchtest.Nginx(tb, root, "html", "", "") + "big.bin"
	check := func(tool, got string) error {
		sum, err := sumFile(got)
		if err != nil {
			return fmt.Errorf("%s: %w", tool, err)
		}
		if sum != want {
			return fmt.Errorf("%s: %s is not identical to the source", tool, got)
		}
		return nil
	}

	var runs []bigRun
	gdir := filepath.Join(work, "grab")
	b.say("bench: big: grab, %s", rate.Bytes(size))
	g, err := bigChild(ctx, "grab", work, b.opts.Exe, url, "-o", gdir, "--quiet")
	if err != nil {
		return nil, err
	}
	if err := check("grab", filepath.Join(gdir, "big.bin")); err != nil {
		return nil, err
	}
	runs = append(runs, g)
	if !b.opts.GrabOnly {
		if _, err := exec.LookPath("aria2c"); err == nil {
			dir := filepath.Join(work, "aria2c")
			b.say("bench: big: aria2c -x4, %s", rate.Bytes(size))
			r, err := bigChild(ctx, "aria2c -x4 -s4 -k1M", work, "aria2c", "-q", "-x4", "-s4", "-k1M", "--file-allocation=none",
				"--allow-overwrite=true", "-d", dir, "-o", "big.bin", url)
			if err != nil {
				return nil, err
			}
			if err := check("aria2c", filepath.Join(dir, "big.bin")); err != nil {
				return nil, err
			}
			runs = append(runs, r)
			os.RemoveAll(dir)
		} else {
			b.skip("big", "aria2c")
		}
		if _, err := exec.LookPath("curl"); err == nil {
			got := filepath.Join(work, "curl.bin")
			b.say("bench: big: curl, %s", rate.Bytes(size))
			r, err := bigChild(ctx, "curl", work, "curl", "-s", "-o", got, url)
			if err != nil {
				return nil, err
			}
			if err := check("curl", got); err != nil {
				return nil, err
			}
			runs = append(runs, r)
			os.Remove(got)
		} else {
			b.skip("big", "curl")
		}
	}
	for _, r := range runs {
		ratio, cpu := "", ""
		if r.tool != "grab" {
			ratio = fmt.Sprintf("%.2f", g.wall.Seconds()/r.wall.Seconds())
			cpu = fmt.Sprintf("%.2f", g.cpu.Seconds()/r.cpu.Seconds())
		}
		fmt.Fprintf(b.out, "| %s | %s | %.1f | %.0f | %.1f | %.0f | %s | %s |\n", rate.Bytes(size), r.tool, r.wall.Seconds(),
			float64(size)/r.wall.Seconds()/1e6, r.cpu.Seconds(), r.rssMB, ratio, cpu)
	}
	os.RemoveAll(gdir)

	var lines []string
	for _, cold := range []bool{false, true} {
		cache := "warm"
		if cold {
			cache = "cold"
		}
		dir := filepath.Join(work, "resume-"+cache)
		args := []string{url, "-o", dir, "--quiet"}
		recorded, err := b.killHalfWay(ctx, size, args)
		if err != nil {
			return nil, err
		}
		if cold {
			syscall.Sync()
			if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
				lines = append(lines, fmt.Sprintf("| %s | %s | cold | cannot drop the page cache here (%v) | |", rate.Bytes(size), rate.Bytes(recorded), err))
				os.RemoveAll(dir)
				continue
			}
		}
		b.say("bench: big: resuming %s with %s recorded, %s cache", rate.Bytes(size), rate.Bytes(recorded), cache)
		again, whole, err := b.resumeTimes(ctx, args, dir, recorded)
		if err != nil {
			return nil, err
		}
		if err := check("grab resumed", filepath.Join(dir, "big.bin")); err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %.2f | %.1f |", rate.Bytes(size), rate.Bytes(recorded), cache, again.Seconds(), whole.Seconds()))
		os.RemoveAll(dir)
	}
	return lines, nil
}

// bigChild runs one tool as a child process and measures it.
func bigChild(ctx context.Context, tool, dir, name string, args ...string) (bigRun, error) {
	c, out, err := measureChild(ctx, dir, name, args...)
	r := bigRun{tool: tool, wall: c.wall, rssMB: c.rssMB}
	if err != nil {
		return r, fmt.Errorf("%s: %w\n%s", tool, err, out)
	}
	r.cpu = cpuOf(*c.usage)
	return r, nil
}

// child is what measureChild saw of a process.
type child struct {
	wall  time.Duration
	rssMB float64
	usage *syscall.Rusage // nil if it did not run
}

// measureChild runs name in dir and measures it: wall time, peak RSS and
// its rusage; out is what it wrote.
func measureChild(ctx context.Context, dir, name string, args ...string) (c child, out string, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, childEnv()
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return c, "", err
	}
	// The child's own rusage counts the RSS of this process at the fork
	// (Linux carries the high-water mark over exec), so its peak is read
	// from /proc while it runs.
	stop := make(chan struct{})
	peak := make(chan float64, 1)
	go func() { peak <- watchPeak(cmd.Process.Pid, stop) }()
	err = cmd.Wait()
	c.wall = time.Since(start)
	close(stop)
	c.rssMB = <-peak
	if cmd.ProcessState != nil {
		c.usage = cmd.ProcessState.SysUsage().(*syscall.Rusage)
	}
	return c, b.String(), err
}

// watchPeak samples a child's peak RSS until stop is closed: its own
// rusage would count this process's at the fork.
func watchPeak(pid int, stop chan struct{}) float64 {
	hwm := 0.0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if v := peakRSSOf(strconv.Itoa(pid)); v > hwm {
			hwm = v
		}
		select {
		case <-stop:
			return hwm
		case <-tick.C:
		}
	}
}

// killHalfWay runs the grab binary until its job has about half of size
// done, then kills it with SIGKILL, and returns what its state records.
func (b *bench) killHalfWay(ctx context.Context, size int64, args []string) (int64, error) {
	cmd := exec.CommandContext(ctx, b.opts.Exe, args...)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	dir := args[2]
	for {
		select {
		case err := <-done:
			return 0, fmt.Errorf("big: grab ended before half the file: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if r, err := job.Inspect(ctx, dir); err == nil && r.BytesDone >= size/2 {
			_ = cmd.Process.Kill()
			<-done
			break
		}
	}
	r, err := job.Inspect(ctx, dir)
	if err != nil {
		return 0, err
	}
	return r.BytesDone, nil
}

// resumeTimes runs the grab binary on a job with recorded bytes: how long
// until its job is fetching again (its recorded blocks verified), and
// until it ends.
func (b *bench) resumeTimes(ctx context.Context, args []string, dir string, recorded int64) (again, whole time.Duration, err error) {
	cmd := exec.CommandContext(ctx, b.opts.Exe, args...)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for again == 0 {
		select {
		case err := <-done:
			whole = time.Since(start)
			if err != nil {
				return 0, 0, fmt.Errorf("big: resume: %w\n%s", err, out.String())
			}
			return whole, whole, nil
		case <-time.After(20 * time.Millisecond):
		}
		r, err := job.Inspect(ctx, dir)
		if err == nil && r.Running && r.State == job.StateRunning && r.Verifying == nil && r.BytesDone > recorded {
			again = time.Since(start)
		}
	}
	if err := <-done; err != nil {
		return 0, 0, fmt.Errorf("big: resume: %w\n%s", err, out.String())
	}
	return again, time.Since(start), nil
}

// writeBigFile writes size random bytes to name and returns their SHA-256.
func writeBigFile(name string, size int64) ([32]byte, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return [32]byte{}, err
	}
	f, err := os.Create(name)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	src := rand.NewChaCha8([32]byte{13})
	if _, err := io.CopyN(io.MultiWriter(f, h), src, size); err != nil {
		f.Close()
		return [32]byte{}, err
	}
	if err := f.Close(); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

// sumFile is the SHA-256 of a file, read as a stream.
func sumFile(name string) ([32]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}
