package job_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
)

// awkward is a dump with names that break naive tools, files several
// folders down, an empty file and one large enough to be split.
var awkward = map[string][]byte{
	"plain.txt":                    []byte("plain"),
	"with space.jpg":               fetchtest.Data("1", 70000),
	"100% sure.pdf":                []byte("percent"),
	"hash#tag.jpg":                 []byte("hash"),
	"what?.doc":                    []byte("question"),
	`quote"d 'single'.txt`:         []byte("quotes"),
	"ünïcödé ファイル.jpg":             []byte("utf8"),
	"tab\there.txt":                []byte("tab"),
	"[brackets] (1) {x}.tif":       []byte("brackets"),
	"*star*.txt":                   []byte("glob"),
	"empty":                        nil,
	"deep/er/and/deeper/still.jpg": fetchtest.Data("2", 300000),
	"sub dir/inner file.zip":       fetchtest.Data("3", 3<<20+17),
}

func serveAwkward(t *testing.T) *rsynctest.Daemon {
	d := rsynctest.Start(t)
	for name, b := range awkward {
		d.WriteFile(t, "leak/"+name, b)
	}
	// Never created: a symlink out of the tree.
	if err := os.Symlink("/etc/passwd", filepath.Join(d.Root, "leak", "passwd")); err != nil {
		t.Fatal(err)
	}
	return d
}

// tree is fetchtest.Tree.
func tree(t *testing.T, dir string) map[string][]byte { return fetchtest.Tree(t, dir) }

func sameTree(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	var w, g []string
	for k := range want {
		w = append(w, k)
	}
	for k := range got {
		g = append(g, k)
	}
	sort.Strings(w)
	sort.Strings(g)
	if strings.Join(w, "\n") != strings.Join(g, "\n") {
		t.Fatalf("files:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Errorf("%q: %d bytes differ from the %d served", k, len(got[k]), len(v))
		}
	}
}

// runJob runs a job of urls into a new folder and returns the folder and
// the job's files.
func runJob(t *testing.T, s job.Settings, urls ...string) (string, []fetch.File, error) {
	t.Helper()
	if s.Output == "" {
		s.Output = filepath.Join(t.TempDir(), "case")
	}
	var us []*url.URL
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	j, err := job.Open(ctx, job.Options{Settings: s, URLs: us, Tune: func(c *fetch.Config) {
		c.BlockSize, c.ChunkSize, c.FirstChunk = 64<<10, 1<<20, 1<<20
		c.Backoff = fetch.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}
	}})
	if err != nil {
		return s.Output, nil, err
	}
	defer j.Close()
	err = j.Run(ctx)
	return s.Output, j.Files(), err
}

func settings() job.Settings {
	s := job.Defaults()
	s.Workers = 4
	return s
}

// The awkward tree from a real daemon, directly: byte-identical, sizes
// exact from the file list, the symlink never created.
func TestRsyncTree(t *testing.T) {
	d := serveAwkward(t)
	out, files, err := runJob(t, settings(), "rsync://"+d.Addr+"/plain/leak/")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, awkward, tree(t, out))
	for _, f := range files {
		if f.Kind == fetch.KindFile && f.Estimate != int64(len(awkward[f.Path])) {
			t.Errorf("%s: listed as %d bytes, want %d", f.Path, f.Estimate, len(awkward[f.Path]))
		}
	}
}

// Through a socks5h proxy the host name goes out unresolved, each worker
// on its own identity.
func TestRsyncTreeThroughSOCKS(t *testing.T) {
	d := serveAwkward(t)
	px := rsynctest.StartSOCKS(t, d.Addr)
	s := settings()
	s.Proxy = "socks5h://" + px.Addr
	out, _, err := runJob(t, s, "rsync://leak.invalid/plain/leak/")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, awkward, tree(t, out))
	for _, h := range px.Hosts() {
		if h != "leak.invalid:873" {
			t.Fatalf("proxy asked for %q", h)
		}
	}
	if px.Users() < 2 {
		t.Errorf("%d identities for 4 workers", px.Users())
	}
}

// One file: it lands under its own name.
func TestRsyncOneFile(t *testing.T) {
	d := serveAwkward(t)
	out, _, err := runJob(t, settings(), "rsync://"+d.Addr+"/plain/leak/sub%20dir/inner%20file.zip")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, map[string][]byte{"inner file.zip": awkward["sub dir/inner file.zip"]}, tree(t, out))
}

// A password module: the user from the URL, the password from
// --rsync-password-file or RSYNC_PASSWORD; a wrong one fails the listing
// with the daemon's words.
func TestRsyncPassword(t *testing.T) {
	d := serveAwkward(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(rsynctest.Password+"\nnot this line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := "rsync://" + rsynctest.User + "@" + d.Addr + "/" + rsynctest.Secret + "/leak/sub%20dir/"
	want := map[string][]byte{"inner file.zip": awkward["sub dir/inner file.zip"]}
	t.Run("file", func(t *testing.T) {
		s := settings()
		s.RsyncPasswordFile = pwFile
		out, _, err := runJob(t, s, u)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, want, tree(t, out))
		saved, _ := os.ReadFile(filepath.Join(out, ".grab", "job.db"))
		if bytes.Contains(saved, []byte(rsynctest.Password)) {
			t.Error("the password is in the job's state")
		}
	})
	t.Run("env", func(t *testing.T) {
		s := settings()
		s.RsyncPassword = rsynctest.Password
		out, _, err := runJob(t, s, u)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, want, tree(t, out))
	})
	t.Run("wrong", func(t *testing.T) {
		s := settings()
		s.RsyncPassword = "wrong"
		_, files, err := runJob(t, s, u)
		if !errors.Is(err, fetch.ErrFailed) {
			t.Fatalf("got %v, want %v", err, fetch.ErrFailed)
		}
		if len(files) != 1 || !strings.Contains(files[0].Err, "rsync: authentication failed: auth failed on module secret") {
			t.Fatalf("files %+v", files)
		}
	})
}

// A file fetched in pieces is checked against the daemon's whole-file
// checksum, which stays recorded with it.
func TestRsyncPiecesVerified(t *testing.T) {
	d := serveAwkward(t)
	_, files, err := runJob(t, settings(), "rsync://"+d.Addr+"/plain/leak/sub%20dir/")
	if err != nil {
		t.Fatal(err)
	}
	h := digest.NewHasher(digest.Set{digest.XXH128: ""})
	h.Write(awkward["sub dir/inner file.zip"])
	want := h.Sum()[digest.XXH128]
	if len(files) != 2 || files[1].Expect[digest.XXH128] != want {
		t.Fatalf("files %+v; want the xxh128 %s recorded", files, want)
	}
}

// changeSource replaces a file on the daemon after the first answer, as a
// server whose file changes mid-transfer.
type changeSource struct {
	fetch.Source
	once   sync.Once
	change func()
}

func (s *changeSource) Conn(w int) fetch.Conn { return &changeConn{s.Source.Conn(w), s} }

type changeConn struct {
	fetch.Conn
	s *changeSource
}

func (c *changeConn) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	st, err := c.Conn.Get(ctx, r)
	if err == nil {
		c.s.once.Do(c.s.change)
	}
	return st, err
}

func (c *changeConn) List(ctx context.Context, u string, max int64, moved func(int)) (*fetch.Listing, error) {
	return c.Conn.(fetch.Lister).List(ctx, u, max, moved)
}

// A file that changes on the server mid-transfer never lands as a mix of
// two versions: replaced with a new size and mtime it starts over and
// lands as the new version; rewritten in place with the same size and
// mtime (under a session reading it) the whole-file checksum keeps it
// out of the tree, and says so, unless every byte and the checksum came
// from one version.
func TestRsyncChangedMidTransfer(t *testing.T) {
	old := fetchtest.Data("7", 3<<20)
	for _, c := range []struct {
		name     string
		new      []byte
		sameTime bool
	}{
		{"new-size", fetchtest.Data("8", 3<<20+5), false},
		{"same-size-and-mtime", fetchtest.Data("9", 3<<20), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := rsynctest.Start(t)
			d.WriteFile(t, "f.bin", old)
			p := filepath.Join(d.Root, "f.bin")
			fi, _ := os.Stat(p)
			change := func() {
				if c.sameTime { // rewritten in place, under the open session
					d.WriteFile(t, "f.bin", c.new)
					os.Chtimes(p, fi.ModTime(), fi.ModTime())
					return
				}
				// Replaced by a rename: the open session still reads the old one.
				d.WriteFile(t, "f.bin.tmp", c.new)
				os.Chtimes(p+".tmp", fi.ModTime().Add(time.Hour), fi.ModTime().Add(time.Hour))
				if err := os.Rename(p+".tmp", p); err != nil {
					t.Error(err)
				}
			}
			s := settings()
			if c.sameTime {
				// One worker: the pieces after the first are asked for
				// after the change (with several, the daemons may have
				// sent the whole old file into socket buffers already).
				s.Workers = 1
			}
			s.Output = filepath.Join(t.TempDir(), "case")
			u, _ := url.Parse("rsync://" + d.Addr + "/plain/f.bin")
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			j, err := job.Open(ctx, job.Options{Settings: s, URLs: []*url.URL{u}, Tune: func(cfg *fetch.Config) {
				cfg.BlockSize, cfg.ChunkSize, cfg.FirstChunk = 64<<10, 512<<10, 512<<10
				cfg.Source = &changeSource{Source: cfg.Source, change: change}
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			err = j.Run(ctx)
			got := tree(t, s.Output)
			if !c.sameTime {
				if err != nil {
					t.Fatalf("%v: %s", err, j.Files()[0].Err)
				}
				sameTree(t, map[string][]byte{"f.bin": c.new}, got)
				return
			}
			// Either the checksum was read from one version and the
			// pieces from both: kept out, and said so; or everything,
			// checksum included, came from one version: that version.
			f := j.Files()[0]
			if err == nil {
				if b := got["f.bin"]; len(got) != 1 || !bytes.Equal(b, old) && !bytes.Equal(b, c.new) {
					t.Fatalf("landed, but as neither version (%d files)", len(got))
				}
				return
			}
			// The daemon may also refuse to send the file while it is
			// being rewritten ("file not sent"): kept out, and said so.
			if !errors.Is(err, fetch.ErrFailed) || len(got) != 0 ||
				!strings.Contains(f.Err, "digest mismatch: xxh128 is ") && !strings.Contains(f.Err, "rsync: file not sent") {
				t.Fatalf("run: %v; tree %d files; file: %s %q", err, len(got), f.State, f.Err)
			}
		})
	}
}

// A module with "max connections = 2" and four workers: the refusals
// lower the number of sessions, and the job completes.
func TestRsyncMaxConnections(t *testing.T) {
	d := serveAwkward(t)
	out, _, err := runJob(t, settings(), "rsync://"+d.Addr+"/"+rsynctest.Busy+"/leak/")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, awkward, tree(t, out))
}

// A module that refuses --append: each file comes whole, on one session.
func TestRsyncRefusedAppend(t *testing.T) {
	d := serveAwkward(t)
	out, _, err := runJob(t, settings(), "rsync://"+d.Addr+"/"+rsynctest.NoAppend+"/leak/")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, awkward, tree(t, out))
}

// A big file over several sessions (--append ranges), one of which dies
// mid-range: the file still lands byte-identical.
func TestRsyncRangeCut(t *testing.T) {
	d := rsynctest.Start(t)
	data := fetchtest.Data("11", 6<<20+3)
	d.WriteFile(t, "big.bin", data)
	px := rsynctest.StartSOCKS(t, d.Addr)
	px.CutOnce(512 << 10) // half-way through a 1 MiB range
	s := settings()
	s.Proxy = "socks5h://" + px.Addr
	out, files, err := runJob(t, s, "rsync://leak.invalid/plain/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, map[string][]byte{"big.bin": data}, tree(t, out))
	if files[0].Expect[digest.XXH128] == "" {
		t.Error("no whole-file checksum recorded")
	}
}

// A daemon that answers with garbage: its file fails with a clear error,
// and the job's other files land.
func TestRsyncGarbage(t *testing.T) {
	d := serveAwkward(t)
	fake := rsynctest.StartFake(t, func(c net.Conn) {
		// The client sends its greeting, module and arguments without
		// waiting for the answers; what it sends is read only after the
		// garbage, to its close, so that no reset loses the garbage.
		io.WriteString(c, "@RSYNCD: 31.0\n@RSYNCD: OK\n")
		c.Write(bytes.Repeat([]byte{0xff}, 4096))
		io.Copy(io.Discard, c)
	})
	s := settings()
	s.Retries = 1
	out, files, err := runJob(t, s, "rsync://"+d.Addr+"/plain/leak/plain.txt", "rsync://"+fake.Addr+"/plain/x.bin")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("got %v, want %v", err, fetch.ErrFailed)
	}
	sameTree(t, map[string][]byte{"plain.txt": awkward["plain.txt"]}, tree(t, out))
	var bad fetch.File
	for _, f := range files {
		if strings.HasSuffix(f.URL, "x.bin") {
			bad = f
		}
	}
	if bad.State != fetch.Failed || !strings.Contains(bad.Err, "rsync: protocol error") || !strings.Contains(bad.Err, "hint: the daemon sent what rsync never sends") {
		t.Fatalf("garbage daemon's file: %s %q", bad.State, bad.Err)
	}
}

// Where the module refuses --append, a job stopped mid-file resumes with
// the blocks already in as the whole stream's basis: the daemon sends
// about the rest, not the file again.
func TestRsyncRefusedAppendResumesByBasis(t *testing.T) {
	d := rsynctest.Start(t)
	data := fetchtest.Data("12", 6<<20+5)
	d.WriteFile(t, "big.bin", data)
	// The first run is stopped (as Ctrl-C: progress is saved) once 4 MiB
	// are in. The relay stops it, at its next write, and then holds back
	// the rest until the run has ended; it writes 32 KiB a millisecond at
	// most, so that little is in the sockets meanwhile: on loopback the
	// file would otherwise be in before a stop from outside lands.
	var down atomic.Int64
	var mu sync.Mutex
	var first *job.Job
	var stopFirst context.CancelFunc
	var hold sync.Once
	released := make(chan struct{})
	relay := fetchtest.Relay(t, d.Addr, nil, func(n int) {
		down.Add(int64(n))
		mu.Lock()
		j, stop := first, stopFirst
		mu.Unlock()
		if j == nil {
			return
		}
		time.Sleep(time.Millisecond)
		if j.Status().Fetched >= 4<<20 {
			hold.Do(func() { stop(); <-released })
		}
	})
	s := settings()
	s.Workers = 1 // one stream at a time
	s.Output = filepath.Join(t.TempDir(), "case")
	u, _ := url.Parse("rsync://" + relay + "/" + rsynctest.NoAppend + "/big.bin")
	run := func(stopped bool) error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		j, err := job.Open(ctx, job.Options{Settings: s, URLs: []*url.URL{u}, Tune: func(c *fetch.Config) {
			c.BlockSize, c.ChunkSize, c.FirstChunk = 64<<10, 1<<20, 1<<20
		}})
		if err != nil {
			return err
		}
		defer j.Close()
		if stopped {
			mu.Lock()
			first, stopFirst = j, cancel
			mu.Unlock()
			defer func() {
				mu.Lock()
				first = nil
				mu.Unlock()
			}()
		}
		return j.Run(ctx)
	}
	err := run(true)
	close(released)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	before := down.Load()
	if err := run(false); err != nil {
		t.Fatalf("resume: %v", err)
	}
	sameTree(t, map[string][]byte{"big.bin": data}, tree(t, s.Output))
	t.Logf("the resume had the daemon send %d bytes of a %d-byte file", down.Load()-before, len(data))
	if n := down.Load() - before; n > int64(len(data))-2<<20 {
		t.Errorf("the resume had the daemon send %d bytes of a %d-byte file", n, len(data))
	}
}

// Many small files share sessions: the daemon logs one "rsync on" line
// per session, and 120 files in six folders take a handful of them
// (one for the listing), not one each; every file lands byte-identical.
func TestRsyncSmallFilesBatched(t *testing.T) {
	d := rsynctest.Start(t)
	want := map[string][]byte{}
	for i := range 120 {
		name := fmt.Sprintf("photos/%02d/IMG_%04d.jpg", i%6, i)
		want[name] = fetchtest.Data(strconv.Itoa(100+i), 2000+i*150)
		d.WriteFile(t, "leak/"+name, want[name])
	}
	out, files, err := runJob(t, settings(), "rsync://"+d.Addr+"/plain/leak/")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, tree(t, out))
	sessions := strings.Count(d.Log(), "rsync on plain/")
	if sessions > 12 {
		t.Errorf("%d sessions for %d files, want a few", sessions, len(want))
	}
	requests := 0
	for _, f := range files {
		if f.Run != nil {
			requests += f.Run.Requests
		}
	}
	t.Logf("%d files in %d sessions (%d requests)", len(want), sessions, requests)
}

// Bytes changed on the way that only the daemon's checksum can tell: the
// file is fetched again, not taken, alone and in a batch of small ones.
func TestRsyncChecksumMismatchRefetches(t *testing.T) {
	for _, small := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", small), func(t *testing.T) {
			d := rsynctest.Start(t)
			want := map[string][]byte{}
			marked := append(fetchtest.Data("31", 5000), []byte("the original words")...)
			want["marked.txt"] = marked
			if small {
				for i := range 10 {
					name := fmt.Sprintf("other%02d.txt", i) // of marked.txt's class: one batch
					want[name] = fetchtest.Data(strconv.Itoa(40+i), 3000)
				}
			}
			for name, b := range want {
				d.WriteFile(t, "leak/"+name, b)
			}
			px := rsynctest.StartSOCKS(t, d.Addr)
			px.FlipOnce([]byte("the original words"), []byte("THE FORGED WORDS!!"))
			s := settings()
			s.Workers = 1
			s.Proxy = "socks5h://" + px.Addr
			out, _, err := runJob(t, s, "rsync://leak.invalid/plain/leak/")
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, want, tree(t, out)) // the changed bytes were not taken: marked.txt came again
			if n := strings.Count(d.Log(), "rsync on plain/"); small && n > 4 {
				t.Errorf("%d sessions for %d files: not batched", n, len(want))
			}
		})
	}
}

// Every file is recorded with the daemon's own whole-file checksum, in
// every protocol offered: a file fetched whole takes the one its session
// checked, a file fetched in pieces the one asked for at its end. Before
// protocol 30 the checksum is MD4 seeded per session, and the name says
// which seed. The manifest shows them. (An empty file needs no session.)
// Every copy takes the mtime of the daemon's file list, as rsync -t does.
func TestRsyncChecksumsRecorded(t *testing.T) {
	d := serveAwkward(t)
	mtime := map[string]time.Time{}
	at := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	for name := range awkward {
		at = at.Add(time.Hour + time.Second)
		if err := os.Chtimes(filepath.Join(d.Root, "leak", filepath.FromSlash(name)), at, at); err != nil {
			t.Fatal(err)
		}
		mtime[name] = at
	}
	for _, p := range []int{31, 30, 29, 27} {
		t.Run(strconv.Itoa(p), func(t *testing.T) {
			s := settings()
			s.Output = filepath.Join(t.TempDir(), "case")
			us := []*url.URL{{Scheme: "rsync", Host: d.Addr, Path: "/plain/leak/"}}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			j, err := job.Open(ctx, job.Options{Settings: s, URLs: us, Tune: func(c *fetch.Config) {
				c.BlockSize, c.ChunkSize, c.FirstChunk = 64<<10, 1<<20, 1<<20
				rs, ok := c.Source.(*rsyncsrc.Source)
				if !ok {
					t.Fatalf("source %T", c.Source)
				}
				rs.Protocol = p
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if err := j.Run(ctx); err != nil {
				t.Fatal(err)
			}
			man, err := job.ReadManifest(s.Output)
			if err != nil {
				t.Fatal(err)
			}
			byPath := map[string]job.Entry{}
			for _, e := range man {
				byPath[e.Path] = e
			}
			done := 0
			for _, f := range j.Files() {
				data, ok := awkward[f.Path]
				if !ok || f.State != fetch.Done {
					continue // the symlink, left out
				}
				done++
				if fi, err := os.Stat(filepath.Join(s.Output, filepath.FromSlash(f.Path))); err != nil || !fi.ModTime().Equal(mtime[f.Path]) {
					t.Errorf("%s: mtime %v (%v), want %v", f.Path, fi.ModTime(), err, mtime[f.Path])
				}
				if got := byPath[f.Path].LastModified; !got.Equal(mtime[f.Path]) {
					t.Errorf("%s: manifest's last_modified %v, want %v", f.Path, got, mtime[f.Path])
				}
				if len(data) == 0 {
					continue // nothing to ask the daemon: no session is opened
				}
				if len(f.Expect) != 1 {
					t.Errorf("%s: expected digests %v, want the daemon's one", f.Path, f.Expect)
					continue
				}
				for alg, v := range f.Expect {
					want := digest.XXH128
					if p < 30 {
						want = digest.MD4Seeded + ":"
					}
					if !strings.HasPrefix(alg, want) {
						t.Errorf("%s: algorithm %s, want %s", f.Path, alg, want)
					}
					h := digest.NewHasher(digest.Set{alg: ""})
					h.Write(data)
					if got := h.Sum()[alg]; got != v {
						t.Errorf("%s: %s recorded %s, the data's is %s", f.Path, alg, v, got)
					}
					if byPath[f.Path].Server[alg] != v {
						t.Errorf("%s: manifest has %v, want %s %s", f.Path, byPath[f.Path].Server, alg, v)
					}
				}
			}
			if done != len(awkward) {
				t.Errorf("%d files done, want %d", done, len(awkward))
			}
		})
	}
}
