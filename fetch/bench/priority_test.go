package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/demo"
)

// The dump lists archives first, then photos, then documents, each in the
// class its folder is named after, so that "--priority archives --order
// listing" is the listing's order.
func TestPriorityDump(t *testing.T) {
	sp := priorityFor(false)
	d := priorityDump(1, sp)
	cs, err := class.NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	ranks, err := cs.Order("archives")
	if err != nil {
		t.Fatal(err)
	}
	files := d.Files()
	if len(files) != sp.archives+sp.photos+sp.docs {
		t.Fatalf("%d files", len(files))
	}
	last := -1
	for i, f := range files {
		want, lo, hi := "archives", sp.archiveSize, sp.archiveSize
		switch {
		case i >= sp.archives+sp.photos:
			want, lo, hi = "documents", sp.docMin, sp.docMax
		case i >= sp.archives:
			want, lo, hi = "photos", sp.photoMin, sp.photoMax
		}
		if got := cs.Classify(f.Path); got != want || f.Size < lo || f.Size > hi {
			t.Errorf("%s: class %s, size %d; want %s, %d-%d", f.Path, got, f.Size, want, lo, hi)
		}
		if r := ranks[cs.Classify(f.Path)]; r < last {
			t.Errorf("%s: listed after a file of a later class", f.Path)
		} else {
			last = r
		}
	}
	if files[0].Path != "a-archives/backup-2023-01.zip" || files[2].Path != "b-photos/IMG_0001.jpg" ||
		files[len(files)-1].Path != "c-documents/report_030.pdf" {
		t.Errorf("first, third and last: %s %s %s", files[0].Path, files[2].Path, files[len(files)-1].Path)
	}
}

// A file lands when the watcher first sees it complete; the last pass at
// stop catches what the ticks missed, and aria2c's control file holds a
// file back.
func TestWatchLanding(t *testing.T) {
	dir := t.TempDir()
	files := []demo.File{{Path: "b-photos/a.jpg", Size: 3}, {Path: "b-photos/b.jpg", Size: 2}, {Path: "x.zip", Size: 1}}
	os.MkdirAll(filepath.Join(dir, "b-photos"), 0o755)
	os.WriteFile(filepath.Join(dir, "b-photos/a.jpg"), []byte("abc"), 0o644)
	os.WriteFile(filepath.Join(dir, "b-photos/b.jpg"), []byte("a"), 0o644) // short
	os.WriteFile(filepath.Join(dir, "x.zip"), []byte("z"), 0o644)
	os.WriteFile(filepath.Join(dir, "x.zip.aria2"), nil, 0o644)
	start := time.Now().Add(-time.Hour)
	l := watchLanding(dir, files, start, aria2Done)()
	if _, ok := l.at["b-photos/a.jpg"]; !ok || len(l.at) != 1 {
		t.Fatalf("landed %v, want only a.jpg", l.at)
	}
	if l.at["b-photos/a.jpg"] < time.Hour {
		t.Errorf("landed at %v, want at least the hour since start", l.at["b-photos/a.jpg"])
	}
	if _, ok := l.lastOf(files, prioPhotos); ok {
		t.Error("lastOf photos ok with b.jpg short")
	}
	l = watchLanding(dir, files, start, inPlace)()
	if len(l.at) != 2 {
		t.Errorf("inPlace landed %v, want a.jpg and x.zip", l.at)
	}
}

func TestPriorityTable(t *testing.T) {
	l := landed{at: map[string]time.Duration{
		"a-archives/x.zip": 20 * time.Second, "b-photos/1.jpg": 4 * time.Second, "b-photos/2.jpg": 6 * time.Second,
	}}
	files := []demo.File{{Path: "a-archives/x.zip"}, {Path: "b-photos/1.jpg"}, {Path: "b-photos/2.jpg"}}
	r := prioRun{row: row{tool: "grab", took: 19 * time.Second, bytes: 30e6, refetched: 0.011, note: "byte-identical"}}
	if err := landedRun(&r, l, files); err != nil {
		t.Fatal(err)
	}
	if r.first != 4*time.Second || r.half != 4*time.Second || r.most != 6*time.Second || r.photos != 6*time.Second || r.all != 20*time.Second || math.Abs(r.share()-0.3) > 1e-12 {
		t.Errorf("run %+v", r)
	}
	var b bytes.Buffer
	writePriorityTable(&b, 3e6, []prioRun{r, {row: row{tool: "aria2c", skipped: "skipped: aria2c not installed"}}})
	want := "| run | photos in place s: first, 50%, 90%, last | all files s | last photo: share of run | 90% of photos: share | last byte s | utilisation | refetched | note |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---|\n" +
		"| grab | 4.0, 4.0, 6.0, 6.0 | 20.0 | 30% | 30% | 19.0 | 0.53 | 1.10% | byte-identical |\n" +
		"| aria2c | skipped: aria2c not installed | | | | | | | |\n" +
		"| target (--priority photos) | | | | <= 30% | | | <= 2% | |\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	delete(l.at, "b-photos/2.jpg")
	if err := landedRun(&r, l, files); err == nil || !strings.Contains(err.Error(), "a photo never landed") {
		t.Errorf("missing photo: %v", err)
	}
}
