package rsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/rsync"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
)

var protocols = []int{31, 30, 29, 27}

// tree is the awkward tree every protocol lists and fetches.
var tree = map[string][]byte{
	"plain.txt":                 []byte("hello rsync\n"),
	"with space.bin":            fetchtest.Data("1", 100_000),
	"ünïcödé/файл.dat":          fetchtest.Data("2", 70_001),
	"pct%20and#hash?q.txt":      []byte("percent, hash, question\n"),
	"deep/a/b/c/d/e/f/leaf.bin": fetchtest.Data("3", 300_000),
	"deep/a/zz.txt":             []byte("zz"),
	"deep/a-b.txt":              []byte("dash sorts before slash"),
	"empty":                     {},
	"big.bin":                   fetchtest.Data("4", 3<<20+12345),
	"ctl\x01\x1b[1m\nname":      []byte("control characters in the name"),
	"bad utf8 \xff\xfe":         []byte("not UTF-8"),
}

func startTree(t *testing.T) *rsynctest.Daemon {
	d := rsynctest.Start(t)
	for name, b := range tree {
		d.WriteFile(t, name, b)
	}
	if err := os.Symlink("plain.txt", filepath.Join(d.Root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d.Root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func start(t *testing.T, d *rsynctest.Daemon, module, path string, opt rsync.Options) *rsync.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := rsync.Start(ctx, d.Dial(t), module, path, opt)
	if err != nil {
		t.Fatalf("Start(%s, %s, protocol %d): %v", module, path, opt.Protocol, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func byName(t *testing.T, s *rsync.Session) map[string]rsync.File {
	m := map[string]rsync.File{}
	for _, f := range s.Files() {
		m[f.Name] = f
	}
	return m
}

func TestListModules(t *testing.T) {
	d := rsynctest.Start(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			mods, motd, err := rsync.ListModules(context.Background(), d.Dial(t), rsync.Options{Protocol: p})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(motd, "\n"); got != rsynctest.MOTD {
				t.Errorf("MOTD %q, want %q", got, rsynctest.MOTD)
			}
			var names []string
			for _, m := range mods {
				names = append(names, m.Name)
				if m.Comment != "grab test module "+m.Name {
					t.Errorf("module %s: comment %q", m.Name, m.Comment)
				}
			}
			want := []string{rsynctest.Plain, rsynctest.Secret, rsynctest.NoAppend, rsynctest.Busy}
			if !slices.Equal(names, want) {
				t.Errorf("modules %q, want %q", names, want)
			}
		})
	}
}

func TestListTree(t *testing.T) {
	d := startTree(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "/", rsync.Options{Protocol: p})
			if got := strings.Join(s.MOTD(), "\n"); got != rsynctest.MOTD {
				t.Errorf("MOTD %q, want %q", got, rsynctest.MOTD)
			}
			if s.Protocol() != p {
				t.Errorf("protocol %d, want %d", s.Protocol(), p)
			}
			files := byName(t, s)
			for name, b := range tree {
				f, ok := files[name]
				if !ok {
					t.Errorf("%q missing from the list", name)
					continue
				}
				if f.Type() != rsync.Regular || f.Size != int64(len(b)) {
					t.Errorf("%q: %v of %d bytes, want a file of %d", name, f.Type(), f.Size, len(b))
				}
				fi, err := os.Stat(filepath.Join(d.Root, name))
				if err != nil {
					t.Fatal(err)
				}
				want := fi.ModTime().Truncate(time.Second)
				if p >= 31 {
					want = fi.ModTime()
				}
				if !f.ModTime.Equal(want) {
					t.Errorf("%q: mtime %v, want %v", name, f.ModTime, want)
				}
			}
			for name, typ := range map[string]rsync.Type{".": rsync.Dir, "deep/a/b": rsync.Dir, "emptydir": rsync.Dir, "link": rsync.Symlink} {
				if f, ok := files[name]; !ok || f.Type() != typ {
					t.Errorf("%q: %v (listed %v), want %v", name, f.Type(), ok, typ)
				}
			}
			// Indexes are positions in the sorted list.
			for i, f := range s.Files() {
				if f.Ndx != int32(i) {
					t.Fatalf("entry %d (%q) has index %d", i, f.Name, f.Ndx)
				}
			}
			if _, err := s.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
		})
	}
}

// fetchAll requests every regular file of the tree in reverse order (so
// that a wrong index would fetch the wrong file) and checks the bytes.
func TestFetchWhole(t *testing.T) {
	d := startTree(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "/", rsync.Options{Protocol: p})
			var want []rsync.File
			for _, f := range slices.Backward(s.Files()) {
				if f.Type() == rsync.Regular {
					want = append(want, f)
				}
			}
			for _, f := range want {
				if err := s.Request(rsync.Request{File: f}); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range want {
				r, err := s.Next()
				if err != nil {
					t.Fatalf("Next for %q: %v", f.Name, err)
				}
				if r.File.Name != f.Name {
					t.Fatalf("reply for %q, want %q", r.File.Name, f.Name)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("%q: %v", f.Name, err)
				}
				if !bytes.Equal(got, tree[f.Name]) {
					t.Fatalf("%q: %d bytes differ from the %d sent", f.Name, len(got), len(tree[f.Name]))
				}
				if !r.Verified() {
					t.Errorf("%q: checksum not verified", f.Name)
				}
			}
			if _, err := s.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			wantSum := map[int]string{31: rsync.XXH128, 30: rsync.XXH128, 29: rsync.MD4Seeded, 27: rsync.MD4Seeded}[p]
			if s.Checksum() != wantSum {
				t.Errorf("checksum %s, want %s", s.Checksum(), wantSum)
			}
		})
	}
}

// TestPipelineInterleaved adds requests while replies are being read, and
// refuses a file asked for twice.
func TestPipelineInterleaved(t *testing.T) {
	d := startTree(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "/", rsync.Options{Protocol: p})
			var regs []rsync.File
			for _, f := range s.Files() {
				if f.Type() == rsync.Regular {
					regs = append(regs, f)
				}
			}
			next := 0
			for range 2 {
				s.Request(rsync.Request{File: regs[next]})
				next++
			}
			for done := 0; done < len(regs); done++ {
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if r.File.Name != regs[done].Name {
					t.Fatalf("reply %d is %q, want %q", done, r.File.Name, regs[done].Name)
				}
				half := make([]byte, len(tree[r.File.Name])/2)
				if _, err := io.ReadFull(r, half); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(half, tree[r.File.Name][:len(half)]) {
					t.Fatalf("%q differs", r.File.Name)
				}
				// The rest is drained by the next Next.
				if next < len(regs) {
					if err := s.Request(rsync.Request{File: regs[next]}); err != nil {
						t.Fatal(err)
					}
					next++
				}
			}
			if err := s.Request(rsync.Request{File: regs[0]}); !errors.Is(err, rsync.ErrRequest) {
				t.Errorf("second request of %q: %v, want ErrRequest", regs[0].Name, err)
			}
			st, err := s.Finish()
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, f := range regs {
				total += f.Size
			}
			if st.Size < total {
				t.Errorf("daemon's total size %d, files %d", st.Size, total)
			}
		})
	}
}

// TestGlobNames: the daemon glob-expands the path it is given; names
// with wildcard characters still name exactly one file.
func TestGlobNames(t *testing.T) {
	d := rsynctest.Start(t)
	names := []string{"a[1].txt", "a1.txt", "q?.txt", "qx.txt", "star*.txt", `back\slash`, `mix\?[x]`, "mix", "new\nline"}
	for _, n := range names {
		d.WriteFile(t, n, []byte("content of "+n))
	}
	for _, p := range protocols {
		for _, n := range names {
			if p < 30 && strings.Contains(n, "\n") {
				continue
			}
			s := start(t, d, rsynctest.Plain, n, rsync.Options{Protocol: p})
			if fs := s.Files(); len(fs) != 1 || fs[0].Name != n {
				t.Errorf("%d: path %q lists %+v", p, n, fs)
				continue
			}
			s.Request(rsync.Request{File: s.Files()[0]})
			r, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if b, err := io.ReadAll(r); err != nil || string(b) != "content of "+n {
				t.Errorf("%d: %q: %q, %v", p, n, b, err)
			}
			s.Close()
		}
	}
}

// TestStartPaths lists several files of different folders in one
// session and fetches them in one pipeline.
func TestStartPaths(t *testing.T) {
	d := startTree(t)
	paths := []string{"plain.txt", "deep/a/zz.txt", "ünïcödé/файл.dat", "deep/a/b/c/d/e/f/leaf.bin", "pct%20and#hash?q.txt"}
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			ctx := context.Background()
			s, err := rsync.StartPaths(ctx, d.Dial(t), rsynctest.Plain, paths, rsync.Options{Protocol: p})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if len(s.Files()) != len(paths) {
				t.Fatalf("%d entries: %+v", len(s.Files()), s.Files())
			}
			files := byName(t, s)
			for _, path := range paths {
				f, ok := files[filepath.Base(path)]
				if !ok {
					t.Fatalf("%q not listed", path)
				}
				s.Request(rsync.Request{File: f})
			}
			for _, path := range paths {
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, tree[path]) || r.File.Name != filepath.Base(path) {
					t.Fatalf("%q: reply for %q, %v", path, r.File.Name, err)
				}
			}
			if _, err := s.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
