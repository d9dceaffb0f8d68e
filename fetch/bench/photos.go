package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// photosDump is n photos of 8-40 KB, with sizes drawn from a generator
// seeded by seed.
func photosDump(seed int64, n int) *demo.Dump {
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	files := make([]demo.File, n)
	for i := range files {
		files[i] = demo.File{Path: fmt.Sprintf("photos/IMG_%04d.jpg", i+1), Size: 8000 + rng.Int64N(32001)}
	}
	return demo.NewDump(seed, files)
}

func runPhotos(ctx context.Context, b *bench) error {
	n := 600
	if b.opts.Quick {
		n = 100
	}
	m := singleModel()
	dump := photosDump(m.Seed, n)
	size := dump.TotalSize()
	out := b.out
	fmt.Fprintf(out, "\n## photos: %d photos of 8-40 KB, %d bytes in all\n\n", n, size)
	fmt.Fprintf(out, "model: as single (median %.0f kB/s, sigma %.1f, link %.2f MB/s, RTT %v, build %v, seed %d)\n\n",
		m.Median/1e3, m.Sigma, m.LinkCap/1e6, m.RTT, m.Build, m.Seed)

	var rows []row
	var notes []string
	b.say("bench: photos: grab in-process, %d workers through the demo's SOCKS proxy", benchWorkers)
	r, p, err := b.photosGrab(ctx, dump, m)
	if err != nil {
		return err
	}
	r.startup = m.Build + 2*m.RTT
	rows = append(rows, r)
	notes = append(notes, "grab: "+p.describe(m.LinkCap, size))

	name := "aria2c -j16 -i URLS (direct HTTP)"
	if why := b.skip("photos", "aria2c"); why != "" {
		rows = append(rows, row{tool: name, skipped: why})
	} else {
		b.say("bench: photos: %s", name)
		r, p, err := b.photosAria2(ctx, dump, m, name)
		if err != nil {
			return err
		}
		r.startup = 2 * m.RTT
		rows = append(rows, r)
		notes = append(notes, "aria2c: "+p.describe(m.LinkCap, size))
		piped := "aria2c -j16 --enable-http-pipelining -i URLS (direct HTTP)"
		b.say("bench: photos: %s", piped)
		r, p, err = b.photosAria2(ctx, dump, m, piped, "--enable-http-pipelining=true")
		if err != nil {
			return err
		}
		r.startup = 2 * m.RTT
		rows = append(rows, r)
		notes = append(notes, "aria2c with pipelining: "+p.describe(m.LinkCap, size))
	}
	writeTable(out, m.LinkCap, rows)
	perFile := m.RTT + time.Duration(float64(size)/float64(n)/m.Median*float64(time.Second))
	fmt.Fprintf(out, "\nMeasures as in single. Small files are bound by round trips: one request per file costs "+
		"at least RTT + size/circuit speed ≈ %v at the median, so %d connections with one request each (aria2c) fetch at most "+
		"~%.0f files/s ≈ %.2f MB/s here; grab keeps up to --streams requests in flight per circuit (default 4), "+
		"which lifts that bound to the circuits' bandwidth.\n\n",
		perFile.Round(time.Millisecond), benchWorkers, benchWorkers/perFile.Seconds(), benchWorkers/perFile.Seconds()*float64(size)/float64(n)/1e6)
	fmt.Fprintln(out, "where the time went:")
	for _, n := range notes {
		fmt.Fprintln(out, "- "+n)
	}
	return nil
}

func (b *bench) photosGrab(ctx context.Context, dump *demo.Dump, m demo.Model) (row, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("photos-grab")
	if err != nil {
		return row{}, phases{}, err
	}
	o, given := benchSettings(dir, srv)
	p, err := b.grabRun(ctx, srv, o, given, srv.URLs(), "grab in-process")
	if err != nil {
		return row{}, phases{}, err
	}
	size := dump.TotalSize()
	return row{tool: fmt.Sprintf("grab -w %d (SOCKS, in-process)", benchWorkers), took: p.last, bytes: size,
		refetched: p.refetched(size), note: "byte-identical"}, p, nil
}

// photosAria2 runs aria2c -j16 on a list of the photos' URLs over direct
// HTTP, with extra options after the common ones.
func (b *bench) photosAria2(ctx context.Context, dump *demo.Dump, m demo.Model, name string, extra ...string) (row, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return row{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("photos-aria2c")
	if err != nil {
		return row{}, phases{}, err
	}
	var list strings.Builder
	for _, f := range dump.Files() {
		fmt.Fprintf(&list, "%s%s\n  out=%s\n", srv.HTTPURL(), demo.EscapePath(f.Path), path.Base(f.Path))
	}
	input := filepath.Join(dir, "urls.txt")
	if err := os.WriteFile(input, []byte(list.String()), 0o644); err != nil {
		return row{}, phases{}, err
	}
	w := openWindow(srv)
	args := append([]string{"--no-conf", "-j16", "-i", input, "--allow-overwrite=true",
		"--auto-file-renaming=false", "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--show-console-readout=false", "-d", dir}, extra...)
	timedOut, out, err := tool(ctx, 30*time.Minute, "aria2c", args...)
	if err != nil || timedOut {
		return row{}, phases{}, fmt.Errorf("aria2c (timed out: %v): %v\n%s", timedOut, err, strings.TrimSpace(out))
	}
	p := w.phases()
	for _, f := range dump.Files() {
		if err := dump.Same(filepath.Join(dir, path.Base(f.Path)), f.Path); err != nil {
			return row{}, phases{}, fmt.Errorf("aria2c: %w", err)
		}
	}
	size := dump.TotalSize()
	return row{tool: name, took: p.last, bytes: size, refetched: p.refetched(size),
		note: "byte-identical"}, p, nil
}
