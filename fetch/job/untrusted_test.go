package job

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/jobdir"
	"golang.org/x/sys/unix"
)

// grab status and grab ls ask DIR/.grab/status.sock before they read the
// job's own state: a link to a socket elsewhere, or a socket whose process
// is not the one the pid file names, planted in the untrusted folder, must
// not make a job with a failed file read "done, 1000 of 1000 files".
// (Found by a red-team review.)
func TestStatusSocketMustBeTheJobs(t *testing.T) {
	srv := fetchtest.New(map[string]*fetchtest.File{
		"/ok.bin":   {Data: fetchtest.Data("ok", 5000)},
		"/gone.bin": {Data: fetchtest.Data("gone", 5000), Status: 404},
	})
	t.Cleanup(srv.Close)
	urls, err := ParseURLs([]string{srv.FileURL("/ok.bin"), srv.FileURL("/gone.bin")})
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Output, s.Workers = filepath.Join(t.TempDir(), "case"), 2
	ctx := context.Background()
	j, err := Open(ctx, Options{Settings: s, URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	j.Run(ctx) // one file fails
	j.Close()
	r, err := Inspect(ctx, s.Output)
	if err != nil || r.State != StateFailed {
		t.Fatalf("before: %v %+v", err, r.State)
	}

	// A socket elsewhere (another job's, anyone's), linked into the folder.
	other := filepath.Join(t.TempDir(), "s")
	lieDone(t, other)
	sock := filepath.Join(s.Output, jobdir.Name, "status.sock")
	if err := os.Symlink(other, sock); err != nil {
		t.Fatal(err)
	}
	r, err = Inspect(ctx, s.Output)
	if err != nil || r.State != StateFailed {
		t.Errorf("through a link: %v, %q, %d of %d files done", err, r.State, r.FilesDone, r.FilesTotal)
	}
	// The socket itself, answered by a process that is not the job: the
	// pid file names another (the test's parent, alive).
	os.Remove(sock)
	lieDone(t, sock)
	os.WriteFile(filepath.Join(s.Output, jobdir.Name, "pid"), []byte(strconv.Itoa(os.Getppid())+"\n"), 0o600)
	err = ask(ctx, s.Output, askStatus, &Report{})
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), fmt.Sprintf("answered by pid %d, not the job's %d", os.Getpid(), os.Getppid())) {
		t.Errorf("a socket of another process: %v", err)
	}
	r, err = Inspect(ctx, s.Output)
	if err != nil || r.State != StateFailed {
		t.Errorf("a socket of another process: %v, %q, %d of %d files done", err, r.State, r.FilesDone, r.FilesTotal)
	}
}

// lieDone answers every request on a unix socket at path with a report
// of a job done, 1000 of 1000 files.
func lieDone(t *testing.T, path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			json.NewEncoder(c).Encode(Report{State: StateDone, Running: true, FilesDone: 1000, FilesTotal: 1000})
			c.Close()
		}
	}()
}

// A job whose start URLs never reached its state (the first commit failed
// on a full disk, or grab was killed before it) must not read "done" in
// grab status for 0 of 0 files. (Found by a red-team review, with a 2 MiB
// tmpfs and 40 files of 100 kB.) Here the same state is made by opening a
// job and closing it before it runs.
func TestNothingRecordedIsNotDone(t *testing.T) {
	srv := fetchtest.New(map[string]*fetchtest.File{"/a.bin": {Data: fetchtest.Data("a", 5000)}})
	t.Cleanup(srv.Close)
	urls, err := ParseURLs([]string{srv.FileURL("/a.bin")})
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Output = filepath.Join(t.TempDir(), "case")
	ctx := context.Background()
	j, err := Open(ctx, Options{Settings: s, URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	j.Close() // as if killed, or the disk filled, before the first commit
	r, err := Inspect(ctx, s.Output)
	if err != nil || r.State != StateStopped {
		t.Errorf("a job that has fetched nothing of its start URL reads %q (%d of %d files)", r.State, r.FilesDone, r.FilesTotal)
	}
}

// grab verify opens each file in one step that follows no link on the
// way: a folder swapped for a link after an earlier file of it was read
// never has its later files hashed elsewhere and counted ok. Here the
// tree's sub/ is tampered with and, once verify has read a file of it,
// replaced by a link to the original bytes kept in .grab (which verify's
// walk skips). (Found by a review.)
func TestVerifyFolderSwappedAfterItsCheck(t *testing.T) {
	t.Run("openat2", verifyFolderSwapped)
	t.Run("folder by folder", func(t *testing.T) {
		openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
		t.Cleanup(func() { openat2 = unix.Openat2 })
		verifyFolderSwapped(t)
	})
}

func verifyFolderSwapped(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "dump", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "dump", "sub", "a.jpg"), fetchtest.Data("a", 5000), 0o644)
	os.WriteFile(filepath.Join(src, "dump", "sub", "b.jpg"), fetchtest.Data("b", 5000), 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	t.Cleanup(srv.Close)
	urls, err := ParseURLs([]string{srv.URL + "/dump/"})
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Output = filepath.Join(t.TempDir(), "case")
	ctx := context.Background()
	j, err := Open(ctx, Options{Settings: s, URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(ctx); err != nil {
		t.Fatal(err)
	}
	j.Close()
	dir := s.Output
	// The original bytes go where verify's walk does not look; the tree's
	// copies are tampered with.
	orig := filepath.Join(dir, ".grab", "orig")
	os.MkdirAll(orig, 0o755)
	for _, n := range []string{"a.jpg", "b.jpg"} {
		b, _ := os.ReadFile(filepath.Join(dir, "sub", n))
		os.WriteFile(filepath.Join(orig, n), b, 0o644)
		os.WriteFile(filepath.Join(dir, "sub", n), []byte("tampered"), 0o644)
	}
	seen := 0
	var second string
	a, err := Verify(ctx, dir, func(p string) {
		if !strings.HasPrefix(p, "sub/") {
			return
		}
		if seen++; seen == 2 { // sub was looked at for the first
			second = p
			os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, ".grab", "tampered"))
			if err := os.Symlink(filepath.Join(".grab", "orig"), filepath.Join(dir, "sub")); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if second == "" {
		t.Fatalf("no second file in sub/: %+v", a)
	}
	for _, m := range a.Mismatched {
		if strings.HasPrefix(m, second+":") {
			return
		}
	}
	t.Errorf("%s, read through a link to a copy in .grab, was counted ok (ok %d, mismatched %q)", second, a.OK, a.Mismatched)
}
