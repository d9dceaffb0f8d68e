package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// prioritySpec sizes the priority scenario's dump.
type prioritySpec struct {
	archives           int
	archiveSize        int64
	photos, docs       int
	photoMin, photoMax int64
	docMin, docMax     int64
}

func priorityFor(quick bool) prioritySpec {
	if quick {
		return prioritySpec{archives: 2, archiveSize: 3e6, photos: 40, photoMin: 20e3, photoMax: 150e3,
			docs: 8, docMin: 50e3, docMax: 500e3}
	}
	return prioritySpec{archives: 2, archiveSize: 20e6, photos: 160, photoMin: 20e3, photoMax: 150e3,
		docs: 30, docMin: 50e3, docMax: 500e3}
}

// Folder names sort so that the listing (folders first, by name, as
// nginx) shows the archives first, then photos, then documents: the
// order of the listing is then also the order of grab's default classes
// after archives, so "--priority archives --order listing" is exactly
// the listing's order.
const (
	prioArchives = "a-archives/"
	prioPhotos   = "b-photos/"
	prioDocs     = "c-documents/"
)

// priorityDump is the dump of issue 3: big archives listed first, photos
// an investigator wants now, and documents.
func priorityDump(seed int64, sp prioritySpec) *demo.Dump {
	rng := rand.New(rand.NewPCG(uint64(seed), 5))
	between := func(lo, hi int64) int64 { return lo + rng.Int64N(hi-lo+1) }
	var files []demo.File
	names := []string{"backup-2023-01.zip", "mail-archive.7z", "db_dump.tar.gz"}
	for i := range sp.archives {
		name := fmt.Sprintf("archive-%03d.zip", i+1)
		if i < len(names) {
			name = names[i]
		}
		files = append(files, demo.File{Path: prioArchives + name, Size: sp.archiveSize})
	}
	for i := range sp.photos {
		files = append(files, demo.File{Path: fmt.Sprintf("%sIMG_%04d.jpg", prioPhotos, i+1), Size: between(sp.photoMin, sp.photoMax)})
	}
	for i := range sp.docs {
		files = append(files, demo.File{Path: fmt.Sprintf("%sreport_%03d.pdf", prioDocs, i+1), Size: between(sp.docMin, sp.docMax)})
	}
	return demo.NewDump(seed, files)
}

// landed is when each file of a run was seen complete at its final path,
// from the run's start; polled every landStep.
type landed struct {
	at map[string]time.Duration // by dump path
}

const landStep = 100 * time.Millisecond

// lastOf returns the latest landing among the paths with this prefix; ok
// is false if one never landed.
func (l landed) lastOf(files []demo.File, prefix string) (last time.Duration, ok bool) {
	for _, f := range files {
		if !strings.HasPrefix(f.Path, prefix) {
			continue
		}
		t, seen := l.at[f.Path]
		if !seen {
			return 0, false
		}
		last = max(last, t)
	}
	return last, true
}

// watchLanding polls dir every landStep for the dump's files, each
// complete when done says so, and returns a stop function that does a
// last pass and gives the landing times. A file first seen in the last
// pass lands at the moment stop was called.
func watchLanding(dir string, files []demo.File, start time.Time, done func(p string, size int64) bool) func() landed {
	l := landed{at: map[string]time.Duration{}}
	pass := func(now time.Time) {
		for _, f := range files {
			if _, ok := l.at[f.Path]; !ok && done(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Size) {
				l.at[f.Path] = now.Sub(start)
			}
		}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(landStep)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				pass(now)
			}
		}
	})
	return func() landed {
		close(quit)
		wg.Wait()
		pass(time.Now())
		return l
	}
}

// inPlace is grab's test: a file is renamed into the tree only when all
// its bytes are there and checked.
func inPlace(p string, size int64) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// aria2Done is aria2c's: it writes into the final name and keeps a
// NAME.aria2 control file while the download is incomplete.
func aria2Done(p string, size int64) bool {
	if _, err := os.Stat(p + ".aria2"); err == nil {
		return false
	}
	return inPlace(p, size)
}

// prioRun is one run of the priority scenario.
type prioRun struct {
	row
	photos, all time.Duration // last photo, last file in place
	first       time.Duration // first photo in place
	half, most  time.Duration // 50% and 90% of the photos in place
}

func (r prioRun) share() float64 { return r.photos.Seconds() / r.all.Seconds() }

func runPriority(ctx context.Context, b *bench) error {
	sp := priorityFor(b.opts.Quick)
	m := demo.DefaultModel()
	m.Seed = 1
	dump := priorityDump(m.Seed, sp)
	size := dump.TotalSize()
	var photoBytes int64
	for _, f := range dump.Files() {
		if strings.HasPrefix(f.Path, prioPhotos) {
			photoBytes += f.Size
		}
	}
	out := b.out
	fmt.Fprintf(out, "\n## priority: %d archives of %d MB listed first, %d photos of %d-%d KB, %d PDFs of %d-%d KB: %d bytes in all, photos %d (%.0f%%)\n\n",
		sp.archives, sp.archiveSize/1e6, sp.photos, sp.photoMin/1e3, sp.photoMax/1e3, sp.docs, sp.docMin/1e3, sp.docMax/1e3,
		size, photoBytes, 100*float64(photoBytes)/float64(size))
	fmt.Fprintf(out, "model: demo.DefaultModel (median %.0f kB/s, sigma %.1f, link %.2f MB/s, RTT %v, build %v), seed %d; "+
		"grab crawls the dump's root, whose listing shows %s, %s, %s in that order; aria2c gets the file URLs in that order\n\n",
		m.Median/1e3, m.Sigma, m.LinkCap/1e6, m.RTT, m.Build, m.Seed, prioArchives, prioPhotos, prioDocs)

	var runs []prioRun
	var notes []string
	for _, g := range []struct{ name, priority, order string }{
		{"grab --priority photos", "photos", ""},
		{"grab --priority archives --order listing (listing order)", "archives", "listing"},
	} {
		b.say("bench: priority: %s", g.name)
		r, p, err := b.priorityGrab(ctx, dump, m, g.name, g.priority, g.order)
		if err != nil {
			return err
		}
		r.startup = m.Build + 2*m.RTT
		runs = append(runs, r)
		notes = append(notes, g.name+": "+p.describe(m.LinkCap, size))
	}
	name := "aria2c -j16 -i URLS (listing order, direct HTTP)"
	if why := b.skip("priority", "aria2c"); why != "" {
		runs = append(runs, prioRun{row: row{tool: name, skipped: why}})
	} else {
		b.say("bench: priority: %s", name)
		r, p, err := b.priorityAria2(ctx, dump, m, name)
		if err != nil {
			return err
		}
		r.startup = 2 * m.RTT
		runs = append(runs, r)
		notes = append(notes, "aria2c: "+p.describe(m.LinkCap, size))
	}
	writePriorityTable(out, m.LinkCap, runs)
	fmt.Fprintf(out, "\nlast photo and all files: when the file was first seen complete at its final path (polled every %v; "+
		"grab renames a file into place once checked, aria2c drops its .aria2 control file). "+
		"photos share = last photo / all files. If photos went first at the link's speed they would be in place at %.0f%% "+
		"of the bytes. Utilisation and refetched as in single, over the last byte sent.\n\n",
		landStep, 100*float64(photoBytes)/float64(size))
	fmt.Fprintln(out, "where the time went:")
	for _, n := range notes {
		fmt.Fprintln(out, "- "+n)
	}
	fmt.Fprintf(out, "\ntarget: last photo at %.0f%% of the run with --priority photos: %s\n",
		100*runs[0].share(), verdict(runs[0].share() <= 0.30, "<= 30%"))
	return nil
}

func writePriorityTable(w io.Writer, link float64, runs []prioRun) {
	fmt.Fprintln(w, "| run | photos in place s: first, 50%, 90%, last | all files s | last photo: share of run | 90% of photos: share | last byte s | utilisation | refetched | note |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range runs {
		if r.skipped != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | | |\n", r.tool, r.skipped)
			continue
		}
		fmt.Fprintf(w, "| %s | %.1f, %.1f, %.1f, %.1f | %.1f | %.0f%% | %.0f%% | %.1f | %.2f | %s | %s |\n", r.tool, r.first.Seconds(),
			r.half.Seconds(), r.most.Seconds(), r.photos.Seconds(), r.all.Seconds(), 100*r.share(), 100*r.most.Seconds()/r.all.Seconds(),
			r.took.Seconds(), r.util(link), pct(r.refetched), r.note)
	}
	fmt.Fprintln(w, "| target (--priority photos) | | | | <= 30% | | | <= 2% | |")
}

// landedRun fills a run's landing times.
func landedRun(r *prioRun, l landed, files []demo.File) error {
	var ok bool
	if r.photos, ok = l.lastOf(files, prioPhotos); !ok {
		return errors.New("a photo never landed")
	}
	if r.all, ok = l.lastOf(files, ""); !ok {
		return errors.New("a file never landed")
	}
	var at []time.Duration
	for _, f := range files {
		if strings.HasPrefix(f.Path, prioPhotos) {
			at = append(at, l.at[f.Path])
		}
	}
	slices.Sort(at)
	// at is not empty: lastOf found the photos.
	r.first, r.half, r.most = at[0], at[(len(at)-1)/2], at[(len(at)*9+9)/10-1]
	return nil
}

func (b *bench) priorityGrab(ctx context.Context, dump *demo.Dump, m demo.Model, name, priority, order string) (prioRun, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return prioRun{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("priority-grab-" + priority)
	if err != nil {
		return prioRun{}, phases{}, err
	}
	o, given := benchSettings(dir, srv)
	o.Priority, given["priority"] = priority, true
	if order != "" {
		o.Order, given["order"] = order, true
	}
	stop := watchLanding(dir, dump.Files(), time.Now(), inPlace)
	p, err := b.grabRun(ctx, srv, o, given, []string{srv.BaseURL()}, name)
	l := stop()
	if err != nil {
		return prioRun{}, phases{}, err
	}
	size := dump.TotalSize()
	r := prioRun{row: row{tool: name, took: p.last, bytes: size, refetched: p.refetched(size), note: "byte-identical"}}
	if err := landedRun(&r, l, dump.Files()); err != nil {
		return prioRun{}, phases{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, p, nil
}

func (b *bench) priorityAria2(ctx context.Context, dump *demo.Dump, m demo.Model, name string) (prioRun, phases, error) {
	srv, err := demo.Start(ctx, dump, m)
	if err != nil {
		return prioRun{}, phases{}, err
	}
	defer srv.Close()
	dir, err := b.dir("priority-aria2c")
	if err != nil {
		return prioRun{}, phases{}, err
	}
	var list strings.Builder
	for _, f := range dump.Files() { // sorted by path: the listing's order here
		fmt.Fprintf(&list, "%s%s\n  out=%s\n", srv.HTTPURL(), demo.EscapePath(f.Path), f.Path)
	}
	input := filepath.Join(b.scratch, "priority-urls.txt")
	if err := os.WriteFile(input, []byte(list.String()), 0o644); err != nil {
		return prioRun{}, phases{}, err
	}
	w := openWindow(srv)
	stop := watchLanding(dir, dump.Files(), time.Now(), aria2Done)
	timedOut, out, err := tool(ctx, 30*time.Minute, "aria2c", "--no-conf", "-j16", "-i", input, "--allow-overwrite=true",
		"--auto-file-renaming=false", "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--show-console-readout=false", "-d", dir)
	l := stop()
	if err != nil || timedOut {
		return prioRun{}, phases{}, fmt.Errorf("aria2c (timed out: %v): %v\n%s", timedOut, err, strings.TrimSpace(out))
	}
	p := w.phases()
	for _, f := range dump.Files() {
		if err := dump.Same(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Path); err != nil {
			return prioRun{}, phases{}, fmt.Errorf("aria2c: %w", err)
		}
	}
	size := dump.TotalSize()
	r := prioRun{row: row{tool: name, took: p.last, bytes: size, refetched: p.refetched(size), note: "byte-identical"}}
	if err := landedRun(&r, l, dump.Files()); err != nil {
		return prioRun{}, phases{}, fmt.Errorf("aria2c: %w", err)
	}
	return r, p, nil
}
