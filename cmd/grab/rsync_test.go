package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/store"
)

// grab ls rsync://HOST/ lists the daemon's modules.
func TestRsyncLsModules(t *testing.T) {
	d := rsynctest.Start(t)
	r := grab(t, "ls", "rsync://"+d.Addr+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, m := range []string{rsynctest.Plain, rsynctest.Secret, rsynctest.NoAppend, rsynctest.Busy} {
		want := regexp.MustCompile(`(?m)^` + m + ` +grab test module ` + m + ` +rsync://` + regexp.QuoteMeta(d.Addr) + `/` + m + `/$`)
		if !want.MatchString(r.stdout) {
			t.Errorf("module %s missing:\n%s", m, r.stdout)
		}
	}
	r = grab(t, "ls", "rsync://"+d.Addr+"/plain/x/")
	if r.code != exitUsage || !strings.Contains(r.stderr, "grab: error: grab ls takes an rsync://HOST/ URL") {
		t.Errorf("ls of a folder: %d %s", r.code, r.stderr)
	}
}

// --priority orders an rsync pull as an HTTP one: with one worker and one
// request at a time, the documents land first, then the photos.
func TestRsyncPriority(t *testing.T) {
	d := rsynctest.Start(t)
	files := map[string][]byte{
		"a/big.zip": fetchtest.Data("1", 300_000), "a/b/c/report.pdf": fetchtest.Data("2", 20_000), "x.jpg": fetchtest.Data("3", 10_000),
		"notes.doc": fetchtest.Data("4", 5_000), "y/z.png": fetchtest.Data("5", 40_000),
	}
	for n, b := range files {
		d.WriteFile(t, "leak/"+n, b)
	}
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, "-o", dir, "-v", "-w", "1", "--streams", "1", "--priority", "documents,photos", "rsync://"+d.Addr+"/plain/leak/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var order []string
	for _, m := range regexp.MustCompile(`file done.*path=(\S+)`).FindAllStringSubmatch(r.stderr, -1) {
		order = append(order, m[1])
	}
	if got, want := strings.Join(order, " "), "notes.doc a/b/c/report.pdf x.jpg y/z.png a/big.zip"; got != want {
		t.Errorf("order %q, want %q\n%s", got, want, r.stderr)
	}
	for n, b := range files {
		if got, _ := os.ReadFile(filepath.Join(dir, n)); !bytes.Equal(got, b) {
			t.Errorf("%s differs", n)
		}
	}
}

// A wrong password: the listing fails with the daemon's words and a hint.
func TestRsyncWrongPassword(t *testing.T) {
	d := rsynctest.Start(t)
	d.WriteFile(t, "leak/a.txt", []byte("a"))
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	r := grab(t, "-o", filepath.Join(t.TempDir(), "case"), "--rsync-password-file", pw, "rsync://"+rsynctest.User+"@"+d.Addr+"/secret/leak/")
	want := "grab: failed: rsync://grab@" + d.Addr + "/secret/leak/: rsync: authentication failed: auth failed on module secret (hint: put the user in the URL (rsync://user@host/module/) and give the password with --rsync-password-file FILE or RSYNC_PASSWORD)"
	if r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d:\n%s\nwant %q", r.code, r.stderr, want)
	}
	if strings.Contains(r.stderr, "wrong") {
		t.Error("the password was printed")
	}
}

// kill -9 in the middle of a big file, then the same command again: the
// file comes back byte-identical, and little is fetched twice.
func TestRsyncKill9Resume(t *testing.T) {
	d := rsynctest.Start(t)
	const size = 24 << 20
	data := fetchtest.Data("6", size)
	d.WriteFile(t, "big.bin", data)
	dir := filepath.Join(t.TempDir(), "case")
	args := []string{"-o", dir, "-w", "4", "--limit-rate", "4M", "rsync://" + d.Addr + "/plain/big.bin"}
	cmd, _ := start(t, args...)
	part := filepath.Join(dir, ".grab", "part")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && partBytes(part) < 8<<20 {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	recorded := recordedBytes(t, dir)
	if recorded == 0 {
		t.Fatal("nothing recorded before the kill")
	}
	r := grab(t, args[:len(args)-1]...) // resume: grab -o DIR
	if r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "big.bin")); !bytes.Equal(got, data) {
		t.Fatal("the resumed file differs")
	}
	m := regexp.MustCompile(`fetched (\S+ \S+) this run`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no summary:\n%s", r.stderr)
	}
	fetched, err := parseBytes(m[1])
	if err != nil {
		t.Fatal(err)
	}
	// What the resume fetched beyond what was missing: at most about a
	// block per worker (256 KiB each), plus the summary's rounding.
	twice := fetched - (size - recorded)
	t.Logf("recorded %d before the kill; the resume fetched %s, %d of it twice", recorded, m[1], twice)
	if twice > 4*256<<10+128<<10 {
		t.Errorf("fetched %d bytes twice after the kill, want at most about a block per worker", twice)
	}
}

// recordedBytes is how much of the job's files its journal holds.
func recordedBytes(t *testing.T, dir string) int64 {
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sv := range saved {
		n += int64(len(sv.Blocks)) * 256 << 10
		for b, p := range sv.Partials {
			n += p.Reached - b*256<<10
		}
	}
	return n
}

// parseBytes reads the summary's "18.7 MiB".
func parseBytes(s string) (int64, error) {
	var v float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g %s", &v, &unit); err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unit %q", s, unit)
	}
	return int64(v * mult), nil
}

// partBytes is how much the part files hold on disk.
func partBytes(dir string) int64 {
	var n int64
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if fi, err := e.Info(); err == nil {
			// What is written, not the size: with ranges a part file is
			// sparse, as large as its furthest range at once.
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			}
		}
	}
	return n
}
