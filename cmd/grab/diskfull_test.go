package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mountTmpfs mounts a tmpfs of the given size (mount option syntax, "2m")
// at a new folder, or skips the test where mounting is not allowed (it is
// required in CI, which runs as root).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := "cannot mount a small tmpfs to fill (needs root): " + strings.TrimSpace(string(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// A full disk stops the job with a clear error; once space is freed the
// same command completes it, byte-identical.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	srv := slowSource(t, 5<<20)
	dir := filepath.Join(mnt, "case")
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr(), "-w", "4"}
	r := grab(t, args...)
	hint := "grab: hint: free some space, then run the same command again: nothing recorded is lost\n"
	if r.code != exitError || !strings.Contains(r.stderr, "grab: error: disk full: ") || !strings.HasSuffix(r.stderr, hint) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=32m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("growing the tmpfs: %v %s", err, out)
	}
	r = grab(t, args...)
	if r.code != 0 {
		t.Fatalf("after freeing space: exit %d: %s", r.code, r.stderr)
	}
	sameAsSource(t, srv, filepath.Join(dir, "evidence.7z"), "dump/evidence.7z")
}
