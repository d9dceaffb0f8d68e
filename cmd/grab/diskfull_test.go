package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch/fetchtest"
)

// A file larger than the free disk fails alone, with the space it needs
// and what to do; once space is freed the same command fetches it,
// byte-identical.
func TestFileLargerThanDisk(t *testing.T) {
	mnt := fetchtest.Tmpfs(t, "2m")
	srv := slowSource(t, 5<<20)
	dir := filepath.Join(mnt, "case")
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr(), "-w", "4"}
	r := grab(t, args...)
	if r.code != exitFailed || !strings.Contains(r.stderr, "evidence.7z: does not fit the free disk: it needs 5.0 MiB more, and ") ||
		!strings.Contains(r.stderr, "; free space and run grab again to resume it") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	fetchtest.Resize(t, mnt, "32m")
	r = grab(t, args...)
	if r.code != 0 {
		t.Fatalf("after freeing space: exit %d: %s", r.code, r.stderr)
	}
	sameAsSource(t, srv, filepath.Join(dir, "evidence.7z"), "dump/evidence.7z")
}

// When the disk fills, the summary's done files are those in the tree,
// never the ones verified in memory whose commit could not land them.
// (Found by a red-team review: "20 of 40 files done", none in the tree.)
func TestDiskFullSummaryCountsTheTree(t *testing.T) {
	mnt := fetchtest.Tmpfs(t, "2m")
	files := map[string][]byte{}
	for i := range 40 {
		files[fmt.Sprintf("f%02d.bin", i)] = fetchtest.Data(strconv.Itoa(i), 100_000)
	}
	srv := serveDump(t, files)
	dir := filepath.Join(mnt, "case")
	r := grab(t, srv.URL+"/dump/", "-o", dir)
	m := regexp.MustCompile(`grab: (\d+) of 40 files done`).FindStringSubmatch(r.stderr)
	if r.code == 0 || m == nil {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	inTree := 0
	for i := range 40 {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("f%02d.bin", i))); err == nil {
			inTree++
		}
	}
	if m[1] != strconv.Itoa(inTree) {
		t.Errorf("the summary says %s of 40 done, the tree holds %d:\n%s", m[1], inTree, r.stderr)
	}
}
