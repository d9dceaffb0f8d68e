package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// The rsync scenario: a real rsync daemon behind the demo's circuits and
// link (demo.StartRelay), grab through the SOCKS side with one session
// per worker against rsync itself through one circuit (the direct side,
// where a TCP connection is a circuit), on one 64 MiB file and on a mixed
// dump; then grab killed with SIGKILL half-way through the dump and
// resumed. The demo cannot tell rsync's file bytes from its protocol, so
// refetched here is (all bytes the relay sent − payload) / payload: an
// upper bound that includes handshakes and file lists.

const rsyncModule = "leak"

// rsyncDaemon runs rsync --daemon on loopback serving root as one
// read-only module; it stops when ctx ends or stop is called.
func rsyncDaemon(ctx context.Context, scratch, root string) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(scratch, "rsyncd.conf")
	var b strings.Builder
	// The model delivers the CONNECTs of a burst of sessions (32 at the
	// start) within a millisecond: rsync's default backlog of 5 dropped
	// the SYNs of the rest, which waited on the kernel's retries (13-17
	// s). Through Tor they arrive spread over the circuits' latencies.
	fmt.Fprintf(&b, "address = 127.0.0.1\nport = %d\nlisten backlog = 64\nuse chroot = no\nlog file = %s\npid file = %s\n",
		port, filepath.Join(scratch, "rsyncd.log"), filepath.Join(scratch, "rsyncd.pid"))
	if os.Getuid() == 0 {
		b.WriteString("uid = root\ngid = root\n")
	}
	fmt.Fprintf(&b, "\n[%s]\n\tpath = %s\n\tread only = yes\n", rsyncModule, root)
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "rsync", "--daemon", "--no-detach", "--config="+conf)
	cmd.Env = childEnv()
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() { cmd.Process.Kill(); <-done }
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "@RSYNCD: ") {
				return addr, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("rsync daemon on %s did not start", addr)
}

// writeTree writes files of pseudo-random bytes below root and returns
// their total size.
func writeTree(root string, files map[string]int64, seed uint64) (int64, error) {
	var total int64
	r := rand.New(rand.NewPCG(seed, seed+1))
	for name, n := range files {
		b := make([]byte, n)
		for i := 0; i < len(b); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < len(b); j++ {
				b[i+j] = byte(v >> (8 * j))
			}
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// mixedTree is a leak-like dump: many photos and documents, a few
// archives.
func mixedTree(quick bool) map[string]int64 {
	r := rand.New(rand.NewPCG(7, 8))
	photos, docs, archives, big := 120, 30, 3, int64(6<<20)
	if quick {
		photos, docs, archives, big = 20, 6, 1, 1<<20
	}
	out := map[string]int64{}
	for i := range photos {
		out[fmt.Sprintf("mixed/photos/%02d/IMG_%04d.jpg", i%7, i)] = 20e3 + r.Int64N(200e3)
	}
	for i := range docs {
		out[fmt.Sprintf("mixed/docs/report %03d.pdf", i)] = 10e3 + r.Int64N(500e3)
	}
	for i := range archives {
		out[fmt.Sprintf("mixed/backup/part%d.7z", i)] = big
	}
	return out
}

// sameTree checks that every file below want is byte-identical below got.
func sameTree(want, got string) (int, error) {
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		a, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(a, b) {
			return fmt.Errorf("%s: %w (%v)", rel, demo.ErrNotIdentical, err)
		}
		n++
		return nil
	})
	return n, err
}

func runRsync(ctx context.Context, b *bench) error {
	if why := b.skip("rsync", "rsync"); strings.HasPrefix(why, "skipped") {
		fmt.Fprintf(b.out, "\n## rsync\n\n%s\n", why)
		return nil
	}
	bigSize, rsyncLimit := int64(64<<20), 60*time.Second
	if b.opts.Quick {
		bigSize, rsyncLimit = 8<<20, 10*time.Second
	}
	root, err := b.dir("rsync-source")
	if err != nil {
		return err
	}
	if _, err := writeTree(root, map[string]int64{"big/evidence.7z": bigSize}, 1); err != nil {
		return err
	}
	mixedSize, err := writeTree(root, mixedTree(b.opts.Quick), 2)
	if err != nil {
		return err
	}
	addr, stop, err := rsyncDaemon(ctx, b.scratch, root)
	if err != nil {
		return err
	}
	defer stop()
	m := singleModel()
	out := b.out
	fmt.Fprintf(out, "\n## rsync: a real rsync daemon behind the demo's circuits\n\n")
	fmt.Fprintf(out, "model: %d circuits for grab (one per worker), median %.0f kB/s, sigma %.1f, link %.2f MB/s, RTT %v, build %v, seed %d\n\n",
		benchWorkers, m.Median/1e3, m.Sigma, m.LinkCap/1e6, m.RTT, m.Build, m.Seed)
	socksStart := m.Build + 2*m.RTT
	directStart := 2 * m.RTT
	var verdicts, notes []string
	for _, c := range []struct {
		name, dir string
		size      int64
		kill      bool
	}{
		{fmt.Sprintf("one %d MiB file", bigSize>>20), "big", bigSize, false},
		{fmt.Sprintf("mixed dump, %d files, %d MiB", len(mixedTree(b.opts.Quick)), mixedSize>>20), "mixed", mixedSize, true},
	} {
		fmt.Fprintf(out, "### %s\n\n", c.name)
		var rows []row
		b.say("bench: rsync: %s: grab in-process, %d workers through the demo's SOCKS proxy", c.name, benchWorkers)
		r, p, err := b.rsyncGrab(ctx, addr, m, root, c.dir, c.size)
		if err != nil {
			return err
		}
		// Through the relay a stream is a TCP connection: an rsync session.
		notes = append(notes, fmt.Sprintf("%s, grab: %s", c.name, p.describe(m.LinkCap, c.size)))
		r.startup = socksStart
		rows = append(rows, r)
		if c.kill && b.opts.Exe != "" {
			b.say("bench: rsync: %s: grab killed with SIGKILL at ~50%% of the bytes, then resumed", c.name)
			r, err := b.rsyncKill(ctx, addr, m, root, c.dir, c.size)
			if err != nil {
				return err
			}
			r.startup = 2 * socksStart
			rows = append(rows, r)
			verdicts = append(verdicts, fmt.Sprintf("%s: refetched after a kill -9 %s: %s", c.name, pct(r.refetched), verdict(r.refetched <= 0.02, "<= 2%")))
		}
		line := fmt.Sprintf("%s: grab utilisation %.2f (net %.2f): %s", c.name,
			rows[0].util(m.LinkCap), rows[0].utilNet(m.LinkCap), verdict(rows[0].utilNet(m.LinkCap) >= 0.85, ">= 0.85 net of start-up"))
		if b.opts.GrabOnly {
			rows = append(rows, row{tool: "rsync -r, one circuit (direct)", skipped: "not run (--grab-only)"})
		} else {
			b.say("bench: rsync: %s: rsync itself through one circuit (at most %v)", c.name, rsyncLimit)
			rr, err := b.rsyncTool(ctx, addr, m, root, c.dir, c.size, rsyncLimit)
			if err != nil {
				return err
			}
			rr.startup = directStart
			rows = append(rows, rr)
			ratio := rows[0].util(m.LinkCap) / rr.util(m.LinkCap)
			line += fmt.Sprintf("; %.1fx rsync through one circuit: %s", ratio, verdict(ratio >= 8, ">= 8x"))
		}
		writeTable(out, m.LinkCap, rows)
		fmt.Fprintln(out)
		verdicts = append(verdicts, line)
	}
	fmt.Fprintf(out, "utilisation = payload bytes / (link %.2f MB/s × seconds from the start to the last byte the relay sent); net of start-up "+
		"takes out circuit build + 2 round trips = %.1f s through SOCKS (twice for the kill test's two runs), 2 round trips = %.1f s direct. "+
		"refetched = (all bytes the relay sent, protocol included − payload) / payload. rsync runs `rsync -r --inplace` over the direct "+
		"listener, one TCP connection = one circuit; when it does not finish in time its rate is over the time it ran.\n\n",
		m.LinkCap/1e6, socksStart.Seconds(), directStart.Seconds())
	fmt.Fprintln(out, "where the time went (a stream is a TCP connection through the relay: one rsync session):")
	for _, n := range notes {
		fmt.Fprintln(out, "- "+n)
	}
	fmt.Fprintln(out)
	for _, v := range verdicts {
		fmt.Fprintln(out, "- "+v)
	}
	return nil
}

// rsyncGrab runs grab's job in this process on rsync://ONION/leak/DIR/.
func (b *bench) rsyncGrab(ctx context.Context, daemon string, m demo.Model, root, sub string, size int64) (row, phases, error) {
	srv, err := demo.StartRelay(ctx, daemon, 873, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("rsync-grab-" + sub)
	if err != nil {
		return row{}, phases{}, err
	}
	o, given := benchSettings(dir, srv)
	p, err := b.grabRun(ctx, srv, o, given, []string{"rsync://" + srv.Host() + "/" + rsyncModule + "/" + sub + "/"}, "grab on rsync")
	if err != nil {
		return row{}, phases{}, err
	}
	n, err := sameTree(filepath.Join(root, sub), dir)
	if err != nil {
		return row{}, phases{}, fmt.Errorf("grab on rsync: %w", err)
	}
	return row{tool: fmt.Sprintf("grab -w %d (SOCKS, in-process)", benchWorkers), took: p.last, bytes: size,
		refetched: float64(p.sent-size) / float64(size), note: fmt.Sprintf("%d files byte-identical", n)}, p, nil
}

// rsyncKill runs the grab binary, kills it half-way, and resumes it.
func (b *bench) rsyncKill(ctx context.Context, daemon string, m demo.Model, root, sub string, size int64) (row, error) {
	srv, err := demo.StartRelay(ctx, daemon, 873, m)
	if err != nil {
		return row{}, err
	}
	defer srv.Close()
	dir, err := b.dir("rsync-kill-" + sub)
	if err != nil {
		return row{}, err
	}
	args := []string{"rsync://" + srv.Host() + "/" + rsyncModule + "/" + sub + "/", "-o", dir,
		"--proxy", "socks5h://" + srv.SOCKSAddr(), "-w", fmt.Sprint(benchWorkers)}
	w := openWindow(srv)
	if err := b.killAt(ctx, srv, size/2, args); err != nil {
		return row{}, err
	}
	timedOut, out, err := tool(ctx, b.limit(), b.opts.Exe, args...)
	if err != nil || timedOut {
		return row{}, fmt.Errorf("rsync kill test: the resumed grab did not finish (timed out: %v): %v\n%s", timedOut, err, out)
	}
	p := w.phases()
	n, err := sameTree(filepath.Join(root, sub), dir)
	if err != nil {
		return row{}, fmt.Errorf("rsync kill test: %w", err)
	}
	return row{tool: "grab, kill -9 at 50%, resumed (2 runs)", took: p.last, bytes: size,
		refetched: float64(p.sent-size) / float64(size), note: fmt.Sprintf("%d files byte-identical; time includes a restart", n)}, nil
}

// rsyncTool runs rsync itself over the relay's direct listener.
func (b *bench) rsyncTool(ctx context.Context, daemon string, m demo.Model, root, sub string, size int64, limit time.Duration) (row, error) {
	srv, err := demo.StartRelay(ctx, daemon, 873, m)
	if err != nil {
		return row{}, err
	}
	defer srv.Close()
	dir, err := b.dir("rsync-rsync-" + sub)
	if err != nil {
		return row{}, err
	}
	w := openWindow(srv)
	timedOut, out, err := toolGroup(ctx, limit, "rsync", "-r", "--inplace", "rsync://"+srv.DirectAddr()+"/"+rsyncModule+"/"+sub+"/", dir+"/")
	p := w.phases()
	if err != nil {
		return row{}, fmt.Errorf("rsync: %w\n%s", err, strings.TrimSpace(out))
	}
	r := row{tool: "rsync -r, one circuit (direct)", took: p.last, bytes: size, refetched: float64(p.sent-size) / float64(size)}
	if timedOut {
		got := int64(0)
		filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					got += fi.Size()
				}
			}
			return nil
		})
		r.bytes, r.refetched = got, float64(p.sent-got)/float64(max(got, 1))
		r.note = fmt.Sprintf("stopped after %v: %d of %d bytes; rate over that time", limit, got, size)
		return r, nil
	}
	n, err := sameTree(filepath.Join(root, sub), dir)
	if err != nil {
		return row{}, fmt.Errorf("rsync: %w", err)
	}
	r.note = fmt.Sprintf("%d files byte-identical", n)
	return r, nil
}

// toolGroup is tool for a program that forks (rsync's receiver and
// generator): at limit its whole process group is killed.
func toolGroup(ctx context.Context, limit time.Duration, name string, args ...string) (timedOut bool, out string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return false, "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err = <-done:
		return false, buf.String(), err
	case <-t.C:
		timedOut = true
	case <-ctx.Done():
		err = ctx.Err()
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return timedOut, buf.String(), err
}
