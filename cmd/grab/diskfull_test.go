package main

import (
	"path/filepath"
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
