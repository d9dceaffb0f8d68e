package crawl_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/crawl"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
)

// rsyncDaemon serves the awkward tree, plus a symlink and a FIFO that
// must never be created, from a real rsync daemon.
func rsyncDaemon(t *testing.T) (*rsynctest.Daemon, map[string][]byte) {
	d := rsynctest.Start(t)
	want := tree(t, awkwardTree(t))
	for name, data := range want {
		d.WriteFile(t, "dump/"+name, data)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(d.Root, "dump", "link")); err != nil {
		t.Fatal(err)
	}
	return d, want
}

func rsyncSource(d *dial.Dialer) func(*fetch.Config) {
	return func(c *fetch.Config) { c.Source = &rsyncsrc.Source{Dialer: d} }
}

// The daemon's recursive file list names files several folders deep in
// one listing: the tree comes back byte-identical, and the symlink is
// left out.
func TestRsyncAwkwardTree(t *testing.T) {
	d, want := rsyncDaemon(t)
	dl, _ := dial.New("")
	out, e, err := crawlJob(t, "rsync://"+d.Addr+"/plain/dump/", crawl.Options{}, rsyncSource(dl))
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, want, tree(t, out))
	if _, err := os.Lstat(filepath.Join(out, "link")); !os.IsNotExist(err) {
		t.Errorf("the symlink was created: %v", err)
	}
	if st := e.Status(); st.Listings != 1 || st.ListingsDone != 1 {
		t.Errorf("listings %d/%d, want one file list", st.ListingsDone, st.Listings)
	}
	for _, f := range e.Files() {
		if f.Kind == fetch.KindFile && f.Estimate != int64(len(want[f.Path])) {
			t.Errorf("%s: listed size %d, want %d", f.Path, f.Estimate, len(want[f.Path]))
		}
	}
}

// --depth applies to files a recursive list names deep down as it does to
// the folders of an HTTP crawl.
func TestRsyncDepth(t *testing.T) {
	d, want := rsyncDaemon(t)
	dl, _ := dial.New("")
	out, _, err := crawlJob(t, "rsync://"+d.Addr+"/plain/dump/", crawl.Options{MaxDepth: 1}, rsyncSource(dl))
	if err != nil {
		t.Fatal(err)
	}
	delete(want, "deep/er/and/deeper/still.jpg") // 4 folders down
	checkSame(t, want, tree(t, out))
}
