package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// singleModel is the network of issue 2's targets.
func singleModel() demo.Model {
	return demo.Model{
		Median: 200e3, Sigma: 0.8, LinkCap: 3e6,
		RTT: 600 * time.Millisecond, Build: 1500 * time.Millisecond,
		CircuitIdle: 10 * time.Minute, Seed: 1,
	}
}

const singlePath = "evidence.7z"

// benchWorkers is grab's --workers in every scenario, and aria2c's
// connections.
const benchWorkers = 16

func runSingle(ctx context.Context, b *bench) error {
	size, curlLimit := int64(48<<20), 10*time.Minute
	if b.opts.Quick {
		size, curlLimit = 4<<20, 5*time.Second
	}
	m := singleModel()
	dump := demo.SingleFile(m.Seed, singlePath, size)
	out := b.out
	fmt.Fprintf(out, "\n## single: one %d-byte file (%d MiB)\n\n", size, size>>20)
	fmt.Fprintf(out, "model: %d circuits for grab (one per worker), median %.0f kB/s, sigma %.1f, link %.2f MB/s, RTT %v, build %v, seed %d\n\n",
		benchWorkers, m.Median/1e3, m.Sigma, m.LinkCap/1e6, m.RTT, m.Build, m.Seed)

	var rows []row
	var notes []string
	socksStart := m.Build + 2*m.RTT
	directStart := 2 * m.RTT

	b.say("bench: single: grab in-process, %d workers through the demo's SOCKS proxy", benchWorkers)
	title := fmt.Sprintf("grab -w %d, one %d MiB file: bytes/s per circuit (1 s steps), link %.1f MB/s", benchWorkers, size>>20, m.LinkCap/1e6)
	r, p, err := b.singleGrab(ctx, dump, m, size, "single-grab", b.opts.SVG, title)
	if err != nil {
		return err
	}
	r.startup = socksStart
	rows = append(rows, r)
	notes = append(notes, "grab: "+p.describe(m.LinkCap, size))

	b.say("bench: single: grab killed with SIGKILL at ~33%% and ~66%% of the bytes, then resumed")
	r, p, err = b.singleKill(ctx, dump, m, size)
	if err != nil {
		return err
	}
	r.startup = 3 * socksStart
	rows = append(rows, r)
	notes = append(notes, "grab, kill -9 twice: "+p.describe(m.LinkCap, size))
	b.say("bench: single: the kill test's file is byte-identical to the source after 2 kills and a resume")

	direct := []struct {
		name, bin string
		limit     time.Duration
		args      func(dir, url string) []string
	}{
		{"aria2c -x16 -s16 -k1M (direct HTTP)", "aria2c", 10 * time.Minute, func(dir, url string) []string {
			return []string{"--no-conf", "-x16", "-s16", "-k1M", "--allow-overwrite=true", "--auto-file-renaming=false",
				"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn", "--show-console-readout=false",
				"-d", dir, "-o", singlePath, url}
		}},
		{"curl, one stream (direct HTTP)", "curl", curlLimit, func(dir, url string) []string {
			return []string{"-q", "--noproxy", "*", "-sS", "-f", "--max-time", fmt.Sprint(int(curlLimit.Seconds())),
				"-o", filepath.Join(dir, singlePath), url}
		}},
	}
	for _, t := range direct {
		if why := b.skip("single", t.bin); why != "" {
			rows = append(rows, row{tool: t.name, skipped: why})
			continue
		}
		b.say("bench: single: %s", t.name)
		r, p, err := b.singleTool(ctx, dump, m, size, t.name, t.bin, t.limit, t.args)
		if err != nil {
			return err
		}
		r.startup = directStart
		rows = append(rows, r)
		notes = append(notes, t.bin+": "+p.describe(m.LinkCap, size))
	}

	writeTable(out, m.LinkCap, rows)
	fmt.Fprintf(out, "\nutilisation = payload bytes / (link %.2f MB/s × seconds from the start to the last byte sent by the source). "+
		"Net of start-up takes out the unavoidable start: circuit build + SOCKS connect round trip + first request round trip "+
		"= %.1f s through SOCKS (three times for the kill test's three runs), 2 round trips = %.1f s over direct HTTP, "+
		"which has no circuit build. refetched = (file body bytes the source sent − payload) / payload, counted by the demo "+
		"(listings and headers excluded). grab/tool divides grab's utilisation by the tool's.\n\n",
		m.LinkCap/1e6, socksStart.Seconds(), directStart.Seconds())
	fmt.Fprintln(out, "where the time went:")
	for _, n := range notes {
		fmt.Fprintln(out, "- "+n)
	}
	fmt.Fprintf(out, "\ntargets: grab utilisation %.2f (net %.2f): %s; refetched after two kills %s: %s\n",
		rows[0].util(m.LinkCap), rows[0].utilNet(m.LinkCap), verdict(rows[0].util(m.LinkCap) >= 0.9, ">= 0.90"),
		pct(rows[1].refetched), verdict(rows[1].refetched <= 0.02, "<= 2%"))
	return nil
}

func verdict(ok bool, target string) string {
	if ok {
		return "meets " + target
	}
	return "MISSES " + target
}

// singleGrab runs grab's engine in this process through the demo's SOCKS
// proxy, with a fresh source and output folder (scratch/name), and plots
// bytes/s per circuit to svg under title unless svg is empty.
func (b *bench) singleGrab(ctx context.Context, dump *demo.Dump, m demo.Model, size int64, name, svg, title string) (row, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir(name)
	if err != nil {
		return row{}, phases{}, err
	}
	o, given := benchSettings(dir, srv)
	p, err := b.grabRun(ctx, srv, o, given, srv.URLs(), "grab in-process")
	if err != nil {
		return row{}, phases{}, err
	}
	if svg != "" {
		if err := writeSVG(svg, title, srv.Timeline(time.Second), p.from, m.LinkCap); err != nil {
			return row{}, phases{}, err
		}
		b.say("bench: wrote %s", svg)
	}
	return row{tool: fmt.Sprintf("grab -w %d (SOCKS, in-process)", benchWorkers), took: p.last, bytes: size,
		refetched: p.refetched(size)}, p, nil
}

// singleKill runs the grab binary as a child, kills it with SIGKILL twice
// while bytes flow, then lets a third run finish, and checks the result.
func (b *bench) singleKill(ctx context.Context, dump *demo.Dump, m demo.Model, size int64) (row, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("single-kill")
	if err != nil {
		return row{}, phases{}, err
	}
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr(), "-w", fmt.Sprint(benchWorkers)}
	w := openWindow(srv)
	for _, at := range []int64{size / 3, size * 2 / 3} {
		if err := b.killAt(ctx, srv, at, args); err != nil {
			return row{}, phases{}, err
		}
	}
	timedOut, out, err := tool(ctx, b.limit(), b.opts.Exe, args...)
	if err != nil || timedOut {
		return row{}, phases{}, fmt.Errorf("kill test: the resumed grab did not finish (timed out: %v): %v\n%s", timedOut, err, out)
	}
	p := w.phases()
	got, err := manifestPath(dir)
	if err != nil {
		return row{}, phases{}, fmt.Errorf("kill test: %w", err)
	}
	if err := dump.Same(filepath.Join(dir, filepath.FromSlash(got)), singlePath); err != nil {
		return row{}, phases{}, fmt.Errorf("kill test: %w", err)
	}
	return row{tool: "grab, kill -9 at 33% and 66%, resumed (3 runs)", took: p.last, bytes: size,
		refetched: p.refetched(size), note: "byte-identical; time includes 2 restarts"}, p, nil
}

// killAt starts grab and kills it with SIGKILL once the source has sent
// at least at bytes in all.
func (b *bench) killAt(ctx context.Context, srv *demo.Server, at int64, args []string) error {
	ctx, cancel := context.WithTimeout(ctx, b.limit())
	defer cancel()
	cmd := exec.CommandContext(ctx, b.opts.Exe, args...)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kill test: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return fmt.Errorf("kill test: grab ended before the source sent %d bytes: %v\n%s", at, err, out.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("kill test: the source had not sent %d bytes after %v: %w\n%s", at, b.limit(), ctx.Err(), out.String())
		case <-tick.C:
			if srv.Stats().BytesSent >= at {
				_ = cmd.Process.Kill() // SIGKILL: no chance to save anything
				<-done
				return nil
			}
		}
	}
}

// singleTool runs aria2c or curl over the demo's direct HTTP listener,
// where every TCP connection is its own circuit.
func (b *bench) singleTool(ctx context.Context, dump *demo.Dump, m demo.Model, size int64,
	name, bin string, limit time.Duration, args func(dir, url string) []string) (row, phases, error) {
	return b.singleToolIn(ctx, "single-"+bin, dump, m, size, name, bin, limit, args)
}

// singleToolIn is singleTool with the scratch folder's name.
func (b *bench) singleToolIn(ctx context.Context, folder string, dump *demo.Dump, m demo.Model, size int64,
	name, bin string, limit time.Duration, args func(dir, url string) []string) (row, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir(folder)
	if err != nil {
		return row{}, phases{}, err
	}
	w := openWindow(srv)
	timedOut, out, err := tool(ctx, limit+time.Minute, bin, args(dir, srv.HTTPURL()+demo.EscapePath(singlePath))...)
	p := w.phases()
	got := filepath.Join(dir, singlePath)
	r := row{tool: name, took: p.last, bytes: size, refetched: p.refetched(size)}
	if ee := (*exec.ExitError)(nil); bin == "curl" && errors.As(err, &ee) && ee.ExitCode() == 28 {
		timedOut, err = true, nil // curl's --max-time
	}
	if err != nil {
		return row{}, phases{}, fmt.Errorf("%s: %w\n%s", bin, err, strings.TrimSpace(out))
	}
	if timedOut {
		fi, err := os.Stat(got)
		if err != nil {
			return row{}, phases{}, fmt.Errorf("%s: %w", bin, err)
		}
		r.bytes, r.refetched = fi.Size(), math.NaN()
		r.note = fmt.Sprintf("stopped after %v: %d of %d bytes; rate over that time", limit, fi.Size(), size)
		return r, p, nil
	}
	if err := dump.Same(got, singlePath); err != nil {
		return row{}, phases{}, fmt.Errorf("%s: %w", bin, err)
	}
	r.note = "byte-identical"
	return r, p, nil
}
