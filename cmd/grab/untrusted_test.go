package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/jobdir"
)

// A partial file in .grab/part that is a hard link to a file outside the
// output folder (planted by whoever could write the folder: the folder is
// untrusted) must not be written through: the resumed job's bytes would
// land in the outside file, and the evidence in the tree would share its
// inode, for whoever holds the outside name to change after grab checked it.
// O_NOFOLLOW stops symbolic links, not hard links: a part opened for
// writing must have one name, or it is replaced, as a symbolic link is.
// (Found by a red-team review.)
func TestLinkedPartNotWrittenThrough(t *testing.T) {
	for _, kind := range []string{"hard", "symbolic"} {
		t.Run(kind, func(t *testing.T) { linkedPart(t, kind) })
	}
}

func linkedPart(t *testing.T, kind string) {
	data := fetchtest.Data("x", 600_000)
	srv := fetchtest.New(map[string]*fetchtest.File{"/x.bin": {Data: data, Status: 503}})
	t.Cleanup(srv.Close)
	base := t.TempDir()
	dir := filepath.Join(base, "case")
	r := grab(t, srv.FileURL("/x.bin"), "-o", dir, "--retries", "0", "-q")
	if r.code == 0 {
		t.Fatalf("first run: exit 0 with a file answering 503")
	}
	parts, err := os.ReadDir(filepath.Join(dir, jobdir.PartsRel))
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts after the first run: %v %v", parts, err)
	}
	part := filepath.Join(dir, jobdir.PartsRel, parts[0].Name())
	// Someone with write access to the folder swaps the part for a link
	// to a file of theirs (or of anyone's) outside it.
	outside := filepath.Join(base, "outside.txt")
	victim := []byte("a file that is not grab's and lies outside the output folder\n")
	if err := os.WriteFile(outside, victim, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(part)
	link := os.Link
	if kind == "symbolic" {
		link = os.Symlink
	}
	if err := link(outside, part); err != nil {
		t.Skipf("cannot make a %s link: %v", kind, err)
	}
	srv.Update("/x.bin", func(f *fetchtest.File) { f.Status = 0 })
	if r := grab(t, "-o", dir, "-q"); r.code != 0 {
		t.Errorf("resume: exit %d: %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(outside)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, victim) {
		t.Errorf("the file outside the output folder was written: %d bytes now (was %d); equal to the evidence: %v",
			len(got), len(victim), bytes.Equal(got, data))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "x.bin")); !bytes.Equal(b, data) {
		t.Errorf("x.bin: %d bytes, not the file", len(b))
	}
	if fi, err := os.Stat(filepath.Join(dir, "x.bin")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			t.Errorf("the evidence shares its inode with a file outside the folder")
		}
	}
}

// grab verify never follows a symbolic link met on the way to a file:
// with the tree's folder "sub" replaced by a link to a copy elsewhere, the
// evidence is not in the folder, and verify says so instead of re-hashing
// the copy and counting it ok. (Found by a red-team review.)
func TestVerifyNeverFollowsALinkedFolder(t *testing.T) {
	srv := serveDump(t, map[string][]byte{"top.jpg": fetchtest.Data("top", 5000), "sub/in.jpg": fetchtest.Data("in", 7000)})
	base := t.TempDir()
	dir := filepath.Join(base, "case")
	if r := grab(t, srv.URL+"/dump/", "-o", dir, "-q"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	elsewhere := filepath.Join(base, "elsewhere")
	if err := os.Rename(filepath.Join(dir, "sub"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	r := grab(t, "verify", "-o", dir)
	if out := r.stdout + r.stderr; r.code == 0 || strings.Contains(out, "2 ok") || !strings.Contains(out, "sub/in.jpg: sub is a symbolic link, not a folder") {
		t.Errorf("exit %d; sub/in.jpg read through a link out of the folder:\n%s", r.code, out)
	}
}

// setPath rewrites, in the job's state.db (untrusted: it is in the
// folder), the path of the file record whose path is from.
func setPath(t *testing.T, dir, from, to string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, jobdir.Name, "state.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("files"))
		return b.ForEach(func(k, v []byte) error {
			var m map[string]any
			if json.Unmarshal(v, &m) != nil || m["path"] != from {
				return nil
			}
			m["path"] = to
			nv, _ := json.Marshal(m)
			n++
			return b.Put(k, nv)
		})
	})
	if err != nil || n != 1 {
		t.Fatalf("rewriting %s: %v (%d records)", from, err, n)
	}
}

// Paths read back from state.db (in the folder, so untrusted) must be
// paths grab could have written: a record's path with control characters
// would make the resume create a tree name with ESC and BEL in it, one
// with ".." would make grab verify hash a file outside the output folder.
// Both refuse the state as damaged, with the hint. (Found by a red-team
// review.)
func TestStatePathsChecked(t *testing.T) {
	srv := serveDump(t, map[string][]byte{"a.jpg": fetchtest.Data("a", 5000), "b.jpg": fetchtest.Data("b", 6000)})
	base := t.TempDir()
	dir := filepath.Join(base, "case")
	if r := grab(t, srv.URL+"/dump/", "-o", dir, "-q"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	setPath(t, dir, "a.jpg", "a\x1b]0;owned\x07.jpg")
	os.Remove(filepath.Join(dir, "a.jpg"))
	r := grab(t, "-o", dir, "-q")
	if r.code != 1 || !strings.Contains(r.stderr, `has the path "a\x1b]0;owned\a.jpg", which grab never writes`) || !strings.Contains(r.stderr, "hint: move the folder's .grab aside") {
		t.Errorf("resume: exit %d, stderr %q", r.code, r.stderr)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.ContainsAny(e.Name(), "\x1b\x07") {
			t.Errorf("the resume created the tree name %q from state.db", e.Name())
		}
	}
	setPath(t, dir, "a\x1b]0;owned\x07.jpg", "a.jpg")
	os.WriteFile(filepath.Join(base, "b.jpg"), fetchtest.Data("b", 6000), 0o644)
	setPath(t, dir, "b.jpg", "../b.jpg")
	r = grab(t, "verify", "-o", dir)
	if r.code == 0 || !strings.Contains(r.stderr, `has the path "../b.jpg", which grab never writes`) {
		t.Errorf("verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The first-run mistake of the dump's URL without its trailing slash: the
// server redirects /dump to /dump/ (nginx, Apache, Python, Go's
// FileServer all do). The folder's listing page must never land as the one
// file "dump", "1 of 1 files done", exit 0: the file fails with the hint to
// add the slash, as rsync:// fails such a URL ("is a folder"). (Found by a
// red-team review.)
func TestFolderWithoutSlashIsNotAFile(t *testing.T) {
	srv := serveDump(t, map[string][]byte{"a.jpg": fetchtest.Data("a.jpg", 5000), "b.jpg": fetchtest.Data("b.jpg", 5000)})
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.URL+"/dump", "-o", dir)
	if _, err := os.Stat(filepath.Join(dir, "dump")); r.code != 3 || err == nil ||
		!strings.Contains(r.stderr, srv.URL+"/dump is a folder (it redirects to "+srv.URL+"/dump/): give the URL with its trailing / to fetch what it lists") {
		t.Errorf("exit %d, dump in the tree: %v; stderr: %s", r.code, err == nil, r.stderr)
	}
}

// A file whose name holds a backslash, listed by the server as "a%5Cb.txt"
// (Python's http.server, nginx, Apache on Linux), is a file of the dump:
// it lands as the mapper names it, "a_b.txt" (it had been left out with one
// warning, exit 0; found by a red-team review).
func TestBackslashNameKept(t *testing.T) {
	srv := serveDump(t, map[string][]byte{`a\b.txt`: []byte("evidence"), "plain.txt": []byte("x")})
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.URL+"/dump/", "-o", dir)
	if got, err := os.ReadFile(filepath.Join(dir, "a_b.txt")); r.code != 0 || string(got) != "evidence" {
		t.Errorf("exit %d, a_b.txt %q (%v):\n%s", r.code, got, err, r.stderr)
	}
}

// A FIFO planted where grab keeps a file of its own (the manifest, the
// job's identity, the pid file) never hangs a command: each says what is
// wrong; and a manifest hard-linked to a file outside the folder is never
// appended to. (Found by a red-team review: verify and the resume hung on
// a FIFO manifest, status on a FIFO job-id.)
func TestStateFilesMustBeGrabs(t *testing.T) {
	srv := serveDump(t, map[string][]byte{"a.jpg": fetchtest.Data("a", 5000)})
	run := func(args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, grabBin, args...).CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("grab %q still running after a minute (killed); output so far: %q", args, out)
		}
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	for _, name := range []string{"manifest.jsonl", "job-id", "pid"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "case")
			if out, code := run(srv.URL+"/dump/", "-o", dir, "-q"); code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			p := filepath.Join(dir, jobdir.Name, name)
			os.Remove(p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			for _, args := range [][]string{{"verify", "-o", dir}, {"status", "-o", dir}, {"-o", dir, "-q"}} {
				out, code := run(args...)
				// grab status reads no manifest; a stale pid file is
				// replaced by the one that takes the job.
				t.Logf("grab %q: exit %d: %s", args, code, out)
				reads := name == "job-id" || name == "manifest.jsonl" && args[0] != "status"
				if reads && (code == 0 || !strings.Contains(out, name)) {
					t.Errorf("grab %q with a FIFO %s: exit %d: %s", args, name, code, out)
				}
			}
		})
	}
	t.Run("manifest linked", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "case")
		if out, code := run(srv.URL+"/dump/", "-o", dir, "-q", "--only", "documents"); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		outside := filepath.Join(t.TempDir(), "outside.txt")
		os.WriteFile(outside, []byte("not grab's\n"), 0o644)
		man := filepath.Join(dir, jobdir.Name, "manifest.jsonl")
		os.Remove(man)
		if err := os.Link(outside, man); err != nil {
			t.Skipf("link: %v", err)
		}
		out, code := run("-o", dir, "-q", "--only", "photos")
		if b, _ := os.ReadFile(outside); string(b) != "not grab's\n" || code == 0 || !strings.Contains(out, "manifest.jsonl is not a file grab wrote (a file of 2 names)") {
			t.Errorf("exit %d, outside file %q: %s", code, b, out)
		}
	})
}

// A Content-Disposition name of a query link never takes the name of a
// remote folder listed beside it: "dl.php?id=1" named "sub" is the one
// numbered, and sub/y.bin lands at its remote path, whenever the folder's
// listing is read (an order the server chooses; here its listing fails the
// first run, and the resume reads it). (Found by a red-team review.)
func TestDispositionNeverTakesAFoldersName(t *testing.T) {
	var listingUp atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dump/":
			w.Write([]byte(`<html><body><a href="dl.php?id=1">1</a> <a href="sub/">sub/</a></body></html>`))
		case "/dump/sub/":
			if !listingUp.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(`<html><body><a href="y.bin">y.bin</a></body></html>`))
		case "/dump/sub/y.bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("evidence y"))
		case "/dump/dl.php":
			w.Header().Set("Content-Disposition", `attachment; filename="sub"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("a download"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "out")
	if r := grab(t, srv.URL+"/dump/", "-o", dir, "-q", "--retries", "0"); r.code == 0 {
		t.Fatalf("first run: exit 0 with a listing answering 503")
	}
	listingUp.Store(true)
	if r := grab(t, "-o", dir, "-q"); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sub", "y.bin"))
	d, derr := os.ReadFile(filepath.Join(dir, "sub (2)"))
	if err != nil || string(b) != "evidence y" || derr != nil || string(d) != "a download" {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the remote file sub/y.bin is not at sub/y.bin (%v); the tree holds %q", err, names)
	}
}

// serveDump serves files (paths below dump/, slash-separated) from a
// folder with Go's file server, which lists folders as nginx does and
// redirects a folder asked without its slash.
func serveDump(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	root := t.TempDir()
	for name, b := range files {
		p := filepath.Join(root, "dump", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	return srv
}

// A file the server lists with an encoded slash in its name (AC%2FDC.mp3,
// a name a database-backed server holds) is never asked for (the server
// would take it as a path): it fails as "an unsafe name", so the job does
// not exit 0 ("0: every file is done", docs/usage.md). (Found by a
// review.)
func TestUnsafeNameIsNotDone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/dump/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><a href="ok.txt">ok.txt</a> <a href="AC%2FDC.mp3">AC/DC.mp3</a></body></html>`)
		case "/dump/ok.txt", "/dump/AC%2FDC.mp3":
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprint(w, "some bytes")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.URL+"/dump/", "-o", dir)
	if r.code != exitFailed || !strings.Contains(r.stderr, "an unsafe name: unsafe path segment \"AC%2FDC.mp3\": decodes to a name with a slash") {
		t.Errorf("exit %d with a listed file not in the tree:\n%s", r.code, r.stderr)
	}
}
