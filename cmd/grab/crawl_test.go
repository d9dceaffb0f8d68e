package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// smallDump is a quick breach-like source: a few files of each class.
func smallDump(t *testing.T) *demo.Server {
	t.Helper()
	spec := demo.BreachSpec{Archives: 2, ArchiveSize: 600 << 10, Photos: 6, PhotoMin: 10e3, PhotoMax: 40e3,
		Docs: 3, DocMin: 5e3, DocMax: 20e3, Mail: 1, MailMin: 10e3, MailMax: 20e3, DB: 1, DBMin: 10e3, DBMax: 20e3}
	m := demo.Model{Median: 5e6, Sigma: 0.3, RTT: 5 * time.Millisecond, Build: 10 * time.Millisecond, Seed: 3}
	srv, err := demo.Start(t.Context(), demo.BreachDump(3, spec), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

type lsJSON struct {
	Files []struct {
		Path, URL, Class, State string
		Size                    int64
	}
	Totals []struct {
		Class string
		Files int
	}
}

func ls(t *testing.T, dir string) lsJSON {
	t.Helper()
	r := grab(t, "ls", "-o", dir, "--json")
	if r.code != 0 {
		t.Fatalf("grab ls: %d %s", r.code, r.stderr)
	}
	var out lsJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("grab ls --json: %v\n%s", err, r.stdout)
	}
	return out
}

// classesInOrder lists the classes of the pending files as they come.
func classesInOrder(l lsJSON) []string {
	var out []string
	for _, f := range l.Files {
		if len(out) == 0 || out[len(out)-1] != f.Class {
			out = append(out, f.Class)
		}
	}
	return out
}

// --dry-run crawls and plans; a resume with another --priority re-orders
// the plan; the real run then fetches everything.
func TestDryRunPlanAndPriorityOnResume(t *testing.T) {
	srv := smallDump(t)
	dir := filepath.Join(t.TempDir(), "case")
	proxy := "socks5h://" + srv.SOCKSAddr()
	r := grab(t, srv.BaseURL(), "-o", dir, "--proxy", proxy, "--dry-run", "--priority", "archives")
	if r.code != 0 {
		t.Fatalf("dry run: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "archives/backup") || !strings.Contains(r.stdout, "photos") {
		t.Fatalf("dry run printed no plan:\n%s", r.stdout)
	}
	if n := srv.Stats().RangeRequests; n != 0 {
		t.Fatalf("a dry run fetched files: %d range requests", n)
	}
	plan := ls(t, dir)
	if got := strings.Join(classesInOrder(plan), ","); got != "archives,photos,documents,email,databases" {
		t.Fatalf("plan order with --priority archives: %s", got)
	}
	for _, f := range plan.Files {
		if f.State != "pending" || f.Size <= 0 {
			t.Fatalf("planned file %+v: want pending with its listed size", f)
		}
	}
	before := srv.Stats().Requests
	if r := grab(t, "-o", dir, "--priority", "documents,email", "--dry-run"); r.code != 0 {
		t.Fatalf("second dry run: %d %s", r.code, r.stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Fatalf("the resumed crawl read %d listings again", n)
	}
	if got := strings.Join(classesInOrder(ls(t, dir)), ","); got != "documents,email,photos,databases,archives" {
		t.Fatalf("plan order after --priority documents,email: %s", got)
	}
	r = grab(t, "-o", dir)
	if r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	for _, f := range srv.Dump().Files() {
		sameAsSource(t, srv, filepath.Join(dir, filepath.FromSlash(f.Path)), f.Path)
	}
	for _, f := range ls(t, dir).Files {
		if f.State != "done" {
			t.Fatalf("%s is %s after the run", f.Path, f.State)
		}
	}
}

// -i reads URL lists (with comments, and "-" for stdin) beside URLs on the
// command line; each file lands at its base name.
func TestInputList(t *testing.T) {
	srv := smallDump(t)
	var photos []string
	for _, f := range srv.Dump().Files() {
		if strings.HasPrefix(f.Path, "photos/") {
			photos = append(photos, f.Path)
		}
	}
	url := func(p string) string { return srv.BaseURL() + demo.EscapePath(p) }
	list := filepath.Join(t.TempDir(), "urls.txt")
	os.WriteFile(list, []byte("# photos\n\n"+url(photos[0])+"\n  "+url(photos[1])+"  \n"), 0o644)
	dir := filepath.Join(t.TempDir(), "case")
	cmd := exec.Command(grabBin, "-i", list, "-i", "-", url(photos[3]), "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr())
	cmd.Stdin = strings.NewReader(url(photos[2]) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, p := range photos[:4] {
		sameAsSource(t, srv, filepath.Join(dir, filepath.Base(p)), p)
	}
}

func TestClassesCommand(t *testing.T) {
	r := grab(t, "classes", "--class", "plates=plt")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "photos     jpg") || !strings.Contains(r.stdout, "\nplates     plt\n") ||
		!strings.HasSuffix(r.stdout, "other      (everything else)\n") {
		t.Fatalf("grab classes: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = grab(t, "http://h/x/", "--priority", "photoz")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown class "photoz" (valid: photos, documents, email, databases, archives, media, other)`) {
		t.Fatalf("bad --priority: %d %s", r.code, r.stderr)
	}
}

// --checksums: a file whose SHA-256 contradicts the list stays out of the
// tree and is reported; the others land.
func TestChecksumsMismatch(t *testing.T) {
	srv := smallDump(t)
	var docs []demo.File
	for _, f := range srv.Dump().Files() {
		if strings.HasPrefix(f.Path, "documents/") {
			docs = append(docs, f)
		}
	}
	sums := ""
	for i, f := range docs {
		r, size, _ := srv.Dump().Open(f.Path)
		data := readAll(r, size)
		if i == 0 {
			data = append(data, 'x') // a wrong digest for the first
		}
		sums += fmt.Sprintf("%x  %s\n", sha256.Sum256(data), f.Path)
	}
	list := filepath.Join(t.TempDir(), "SHA256SUMS")
	os.WriteFile(list, []byte(sums), 0o644)
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.BaseURL()+"documents/", "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr(), "--checksums", list)
	bad := strings.TrimPrefix(docs[0].Path, "documents/")
	if r.code != exitFailed || !strings.Contains(r.stderr, "grab: failed: "+bad+": digest mismatch: sha256 is ") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, bad)); !os.IsNotExist(err) {
		t.Fatalf("%s entered the tree: %v", bad, err)
	}
	for _, f := range docs[1:] {
		sameAsSource(t, srv, filepath.Join(dir, strings.TrimPrefix(f.Path, "documents/")), f.Path)
	}
}

// A filter leaves files out, counted and listed with why; a resume that
// widens it fetches what it now admits without reading a listing again,
// and one that narrows it leaves the rest alone.
func TestFilterWidenedOnResume(t *testing.T) {
	srv := smallDump(t)
	dir := filepath.Join(t.TempDir(), "case")
	proxy := "socks5h://" + srv.SOCKSAddr()
	r := grab(t, srv.BaseURL(), "-o", dir, "--proxy", proxy, "--only", "photos")
	if r.code != 0 {
		t.Fatalf("--only photos: %d %s", r.code, r.stderr)
	}
	count := func(l lsJSON) map[string]int {
		n := map[string]int{}
		for _, f := range l.Files {
			n[f.Class+" "+f.State]++
		}
		return n
	}
	got := count(ls(t, dir))
	if got["photos done"] != 6 || got["documents skipped"] != 3 || got["archives skipped"] != 2 || got["documents done"] != 0 {
		t.Fatalf("after --only photos: %v", got)
	}
	if !strings.Contains(r.stderr, "grab: left out by filters and rules: 7 files, 0 folders (grab ls lists them, with why)\n") {
		t.Fatalf("summary does not count what was left out:\n%s", r.stderr)
	}
	plain := grab(t, "ls", "-o", dir)
	if !strings.Contains(plain.stdout, "skipped") || !strings.Contains(plain.stdout, "7 files left out by filters and rules") {
		t.Fatalf("grab ls:\n%s", plain.stdout)
	}
	listings := srv.Stats().Requests - srv.Stats().RangeRequests
	r = grab(t, "-o", dir, "--only", "photos,documents")
	if r.code != 0 {
		t.Fatalf("--only photos,documents: %d %s", r.code, r.stderr)
	}
	if want := "grab: resuming the job in " + dir + ": 6 of 9 files done; saved settings: --proxy " + proxy + "\n"; !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("resume says:\n%s\nwant first:\n%s", r.stderr, want)
	}
	if n := srv.Stats().Requests - srv.Stats().RangeRequests; n != listings {
		t.Fatalf("the resume read %d listings again", n-listings)
	}
	got = count(ls(t, dir))
	if got["photos done"] != 6 || got["documents done"] != 3 || got["archives skipped"] != 2 {
		t.Fatalf("after --only photos,documents: %v", got)
	}
	for _, f := range srv.Dump().Files() {
		if strings.HasPrefix(f.Path, "documents/") || strings.HasPrefix(f.Path, "photos/") {
			sameAsSource(t, srv, filepath.Join(dir, filepath.FromSlash(f.Path)), f.Path)
		} else if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err == nil {
			t.Fatalf("%s is in the tree, and no filter admits it", f.Path)
		}
	}
}

// --depth 0 reads the start listing only; its folders are left out,
// counted, and entered by a resume with a larger --depth.
func TestDepthZero(t *testing.T) {
	srv := smallDump(t)
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.BaseURL(), "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr(), "--depth", "0")
	if r.code != 0 {
		t.Fatalf("--depth 0: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "grab: 0 of 0 files done") || !strings.Contains(r.stderr, "grab: left out by filters and rules: 0 files, 5 folders") {
		t.Fatalf("--depth 0:\n%s", r.stderr)
	}
	if r = grab(t, "-o", dir, "--depth", "32"); r.code != 0 {
		t.Fatalf("--depth 32: %d %s", r.code, r.stderr)
	}
	for _, f := range srv.Dump().Files() {
		sameAsSource(t, srv, filepath.Join(dir, filepath.FromSlash(f.Path)), f.Path)
	}
}

// Two start URLs with a file at the same relative path: both land, the
// second under a numbered name, and nothing is refused as "exists already".
func TestStartURLsCollide(t *testing.T) {
	d := demo.NewDump(5, []demo.File{{Path: "a/x.jpg", Size: 3000}, {Path: "b/x.jpg", Size: 4000}, {Path: "b/y.jpg", Size: 10}})
	m := demo.Model{Median: 5e6, Sigma: 0.3, RTT: 5 * time.Millisecond, Build: 10 * time.Millisecond, Seed: 3}
	srv, err := demo.Start(t.Context(), d, m)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.BaseURL()+"a/", srv.BaseURL()+"b/", "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The listings are read at once: which x.jpg is found first, and keeps
	// the name, varies; grab ls says which URL each path holds.
	got := map[string]string{}
	for _, f := range ls(t, dir).Files {
		got[f.Path] = strings.TrimPrefix(f.URL, srv.BaseURL())
	}
	if len(got) != 3 || got["y.jpg"] != "b/y.jpg" || got["x.jpg"] == got["x (2).jpg"] || !strings.HasSuffix(got["x.jpg"], "/x.jpg") || !strings.HasSuffix(got["x (2).jpg"], "/x.jpg") {
		t.Fatalf("paths and URLs: %v", got)
	}
	for p, remote := range got {
		sameAsSource(t, srv, filepath.Join(dir, p), remote)
	}
	// A resume maps them the same way: nothing to fetch, nothing moved.
	if r := grab(t, "-o", dir); r.code != 0 || !strings.Contains(r.stderr, "3 of 3 files done") {
		t.Fatalf("resume: %d %s", r.code, r.stderr)
	}
}
