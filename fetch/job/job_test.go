package job

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/jobdir"
)

// requireTool skips a test when a tool is missing, except in CI.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI=true", name)
		}
		t.Skipf("%s is not installed: skipping (apt-get install %s)", name, name)
	}
	return p
}

var testFiles = map[string][]byte{
	"/photo.jpg":  fetchtest.Data("photo", 300_000),
	"/notes.txt":  fetchtest.Data("notes", 5_000),
	"/dump.sql":   fetchtest.Data("dump", 1_200_000),
	"/empty.json": {},
}

// runJob fetches testFiles into a new job folder with --md5 --sha1; the
// notes have no ETag (Last-Modified only), the dump has a Repr-Digest.
func runJob(t *testing.T, open func(*Job)) string {
	t.Helper()
	files := map[string]*fetchtest.File{}
	for p, b := range testFiles {
		files[p] = &fetchtest.File{Data: b}
	}
	files["/notes.txt"].NoETag = true
	files["/dump.sql"].ReprDigest = true
	srv := fetchtest.New(files)
	t.Cleanup(srv.Close)
	var raw []string
	for p := range testFiles {
		raw = append(raw, srv.FileURL(p))
	}
	urls, err := ParseURLs(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Output, s.Workers, s.MD5, s.SHA1 = t.TempDir(), 2, true, true
	ctx := context.Background()
	j, err := Open(ctx, Options{Settings: s, URLs: urls, Given: map[string]bool{"md5": true, "sha1": true}})
	if err != nil {
		t.Fatal(err)
	}
	if open != nil {
		open(j)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Output
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func TestManifest(t *testing.T) {
	dir := runJob(t, nil)
	entries, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(testFiles) {
		t.Fatalf("%d entries, want %d: %+v", len(entries), len(testFiles), entries)
	}
	for _, e := range entries {
		b := testFiles["/"+e.Path]
		s256, m5, s1 := sha256.Sum256(b), md5.Sum(b), sha1.Sum(b)
		if e.Size != int64(len(b)) || e.SHA256 != hexOf(s256[:]) || e.MD5 != hexOf(m5[:]) || e.SHA1 != hexOf(s1[:]) {
			t.Errorf("%s: %+v", e.Path, e)
		}
		if e.Version != Version || !strings.HasSuffix(e.URL, "/"+e.Path) || e.Finished.IsZero() || e.Requests < 1 {
			t.Errorf("%s: version, url or time: %+v", e.Path, e)
		}
		if len(b) > 0 && (e.FirstByte.IsZero() || e.LastByte.Before(e.FirstByte) || e.Finished.Before(e.LastByte)) {
			t.Errorf("%s: byte times %v %v, finished %v", e.Path, e.FirstByte, e.LastByte, e.Finished)
		}
		switch e.Path {
		case "notes.txt":
			want := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			if !e.LastModified.Equal(want) || e.ETag != "" {
				t.Errorf("notes: last modified %v, etag %q", e.LastModified, e.ETag)
			}
			fi, err := os.Stat(filepath.Join(dir, "notes.txt"))
			if err != nil || !fi.ModTime().Equal(want) {
				t.Errorf("notes.txt mtime %v, want the server's %v (%v)", fi.ModTime(), want, err)
			}
		case "dump.sql":
			if e.Server[digest.SHA256] != e.SHA256 || e.ETag == "" {
				t.Errorf("dump: server digests %v, etag %q", e.Server, e.ETag)
			}
			// With an ETag as validator, the Last-Modified still reaches
			// the file, as curl -R and wget -N do.
			want := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			fi, err := os.Stat(filepath.Join(dir, "dump.sql"))
			if !e.LastModified.Equal(want) || err != nil || !fi.ModTime().Equal(want) {
				t.Errorf("dump: last modified %v, mtime %v (%v)", e.LastModified, fi.ModTime(), err)
			}
		}
	}

	// sha256sum -c accepts the sha256sum form, run in DIR.
	var buf bytes.Buffer
	if err := WriteManifest(&buf, entries, FormatSHA256Sum); err != nil {
		t.Fatal(err)
	}
	sums := filepath.Join(t.TempDir(), "SUMS")
	os.WriteFile(sums, buf.Bytes(), 0o644)
	cmd := exec.Command(requireTool(t, "sha256sum"), "-c", "--strict", sums)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK\n") != len(testFiles) {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	// The simple form is still written at the end of a run.
	if b, err := os.ReadFile(jobdir.Dir(dir).Sums()); err != nil || !bytes.Equal(b, buf.Bytes()) {
		t.Fatalf("SHA256SUMS differs from the sha256sum form:\n%s\n%s", b, buf.Bytes())
	}

	buf.Reset()
	if err := WriteManifest(&buf, entries, FormatCSV); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != len(testFiles)+1 || !strings.HasPrefix(lines[0], "path,size,sha256,md5,sha1,") {
		t.Fatalf("csv:\n%s", buf.String())
	}
}

func TestManifestHashdeep(t *testing.T) {
	hd := requireTool(t, "hashdeep")
	dir := runJob(t, nil)
	entries, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteManifest(&buf, entries, FormatHashdeep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,sha256,filename\n") {
		t.Fatalf("header:\n%s", buf.String())
	}
	known := filepath.Join(t.TempDir(), "known.hashdeep")
	os.WriteFile(known, buf.Bytes(), 0o644)
	args := []string{"-a", "-k", known, "-l"}
	for _, e := range entries {
		args = append(args, e.Path)
	}
	cmd := exec.Command(hd, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Audit passed") {
		t.Fatalf("hashdeep -a: %v\n%s", err, out)
	}
}

func TestVerify(t *testing.T) {
	dir := runJob(t, nil)
	ctx := context.Background()
	a, err := Verify(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Clean() || a.Checked != len(testFiles) || a.OK != len(testFiles) {
		t.Fatalf("fresh tree: %+v", a)
	}
	// One byte changed, one file gone, one file added.
	p := filepath.Join(dir, "dump.sql")
	b, _ := os.ReadFile(p)
	b[1000] ^= 1
	os.WriteFile(p, b, 0o644)
	os.Remove(filepath.Join(dir, "notes.txt"))
	os.WriteFile(filepath.Join(dir, "planted.txt"), []byte("x"), 0o644)
	if a, err = Verify(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	if a.Clean() || len(a.Mismatched) != 1 || !strings.HasPrefix(a.Mismatched[0], "dump.sql: SHA-256 ") ||
		strings.Join(a.Missing, ",") != "notes.txt" || strings.Join(a.Extra, ",") != "planted.txt" || a.OK != 2 {
		t.Fatalf("damaged tree: %+v", a)
	}
}

// While a job is open, another client gets its status and its files from
// the socket (the store's lock keeps it out of the database); once it is
// closed, from the store.
func TestStatusSocket(t *testing.T) {
	ctx := context.Background()
	var during Report
	var files []fetch.File
	dir := runJob(t, func(j *Job) {
		var err error
		if during, err = Inspect(ctx, j.Settings().Output); err != nil {
			t.Fatal(err)
		}
		if files, err = Plan(ctx, j.Settings().Output); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(jobdir.Dir(j.Settings().Output).Socket())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("socket: %v %v", fi.Mode(), err)
		}
	})
	if !during.Running || during.PID != os.Getpid() || during.State != StateStarting || during.FilesTotal != len(testFiles) ||
		during.Version != Version || during.ETASeconds != nil || len(during.Workers) != 0 {
		t.Fatalf("status while open: %+v", during)
	}
	if len(files) != len(testFiles) {
		t.Fatalf("files while open: %d", len(files))
	}
	if _, err := os.Stat(jobdir.Dir(dir).Socket()); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
	after, err := Inspect(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, b := range testFiles {
		total += int64(len(b))
	}
	if after.Running || after.State != StateDone || after.FilesDone != len(testFiles) || after.BytesDone != total || after.BytesTotal != total {
		t.Fatalf("status after: %+v", after)
	}
	if len(after.Classes) == 0 || after.Classes[0].FilesDone+after.Classes[len(after.Classes)-1].FilesDone == 0 {
		t.Fatalf("classes after: %+v", after.Classes)
	}
}
