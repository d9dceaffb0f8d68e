package rsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/rsync"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
)

func find(t *testing.T, s *rsync.Session, name string) rsync.File {
	t.Helper()
	f, ok := byName(t, s)[name]
	if !ok {
		t.Fatalf("%q not listed", name)
	}
	return f
}

// TestRange reads [X, Y) with --append and stops at Y: one session per
// range, closed at its end.
func TestRange(t *testing.T) {
	d := startTree(t)
	data := tree["big.bin"]
	ranges := [][2]int64{{0, 10}, {1, 131072}, {131071, 131073}, {2_000_001, 2_000_001 + 700_000}, {int64(len(data)) - 5, int64(len(data))}}
	for _, p := range protocols {
		for _, rg := range ranges {
			t.Run(fmt.Sprintf("%d/%d-%d", p, rg[0], rg[1]), func(t *testing.T) {
				conn := d.Dial(t)
				s, err := rsync.Start(context.Background(), conn, rsynctest.Plain, "big.bin", rsync.Options{Protocol: p, Append: 1})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				f := find(t, s, "big.bin")
				if err := s.Request(rsync.Request{File: f, Offset: rg[0]}); err != nil {
					t.Fatal(err)
				}
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if r.Offset != rg[0] {
					t.Fatalf("data starts at %d, want %d", r.Offset, rg[0])
				}
				got := make([]byte, rg[1]-rg[0])
				if _, err := io.ReadFull(r, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data[rg[0]:rg[1]]) {
					t.Fatalf("range [%d,%d) differs", rg[0], rg[1])
				}
				if rg[1] == int64(len(data)) {
					// At the end the checksum follows: of the range from
					// protocol 30, of the whole file (seeded MD4) before.
					if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
						t.Fatalf("after the end: %d, %v", n, err)
					}
					_, sum := r.Checksum()
					h, _ := rsync.NewFileHash(s.Checksum(), s.Seed())
					if p >= 30 {
						h.Write(data[rg[0]:])
					} else {
						h.Write(data)
					}
					if !bytes.Equal(sum, h.Sum(nil)) {
						t.Errorf("checksum %x, want %x", sum, h.Sum(nil))
					}
					if _, err := s.Finish(); err != nil {
						t.Fatalf("Finish: %v", err)
					}
				}
				conn.Close()
			})
		}
	}
}

// TestAppendVerifyChecksum asks for the checksum of a whole file with
// --append-verify and an offset equal to its size: no data comes back.
func TestAppendVerifyChecksum(t *testing.T) {
	d := startTree(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "/", rsync.Options{Protocol: p, Append: 2})
			names := []string{"big.bin", "with space.bin", "empty", "plain.txt"}
			for _, name := range names {
				f := find(t, s, name)
				if err := s.Request(rsync.Request{File: f, Offset: f.Size}); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range names {
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != 0 {
					t.Fatalf("%q: %d bytes of data, %v", name, n, err)
				}
				algo, sum := r.Checksum()
				h, err := rsync.NewFileHash(algo, s.Seed())
				if err != nil {
					t.Fatal(err)
				}
				h.Write(tree[name])
				if !bytes.Equal(sum, h.Sum(nil)) {
					t.Errorf("%q: %s %x, want %x", name, algo, sum, h.Sum(nil))
				}
			}
			if _, err := s.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAppendVerifyWithBasis checks the whole-file checksum of an
// --append-verify transfer against the local prefix.
func TestAppendVerifyWithBasis(t *testing.T) {
	d := startTree(t)
	data := tree["deep/a/b/c/d/e/f/leaf.bin"]
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "deep/", rsync.Options{Protocol: p, Append: 2})
			f := find(t, s, "a/b/c/d/e/f/leaf.bin")
			x := int64(123_457)
			if err := s.Request(rsync.Request{File: f, Offset: x, Basis: bytes.NewReader(data[:x]), BasisLen: x}); err != nil {
				t.Fatal(err)
			}
			r, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[x:]) || !r.Verified() {
				t.Fatalf("tail differs or unverified (%d bytes, verified %v)", len(got), r.Verified())
			}
			// A wrong prefix fails the checksum.
			g := find(t, s, "a/zz.txt")
			if err := s.Request(rsync.Request{File: g, Offset: 1, Basis: bytes.NewReader([]byte("y")), BasisLen: 1}); err != nil {
				t.Fatal(err)
			}
			r, err = s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(r); !errors.Is(err, rsync.ErrChecksum) {
				t.Fatalf("wrong prefix: %v, want ErrChecksum", err)
			}
			if _, err := s.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestResumeWithBasis resumes without append: block sums of a local
// prefix go up, only the rest comes back as data.
func TestResumeWithBasis(t *testing.T) {
	d := startTree(t)
	data := tree["big.bin"]
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			s := start(t, d, rsynctest.Plain, "big.bin", rsync.Options{Protocol: p})
			f := find(t, s, "big.bin")
			have := int64(2_500_000)
			if err := s.Request(rsync.Request{File: f, Basis: bytes.NewReader(data[:have]), BasisLen: have}); err != nil {
				t.Fatal(err)
			}
			r, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) || !r.Verified() {
				t.Fatalf("resumed file differs or unverified")
			}
			// All whole blocks of the prefix match; the rest is data.
			if r.Matched() < have-(1<<17) || r.Literal() > int64(len(data))-have+(1<<17) {
				t.Errorf("matched %d, literal %d of %d (had %d)", r.Matched(), r.Literal(), len(data), have)
			}
			if _, err := s.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPassword(t *testing.T) {
	d := startTree(t)
	digests := [][]string{nil, {"md5"}, {"md4"}, {"sha1"}, {"sha256"}, {"sha512"}}
	for _, p := range protocols {
		for _, dg := range digests {
			if p < 30 && dg != nil {
				continue // lists are offered from 30
			}
			t.Run(fmt.Sprint(p, dg), func(t *testing.T) {
				opt := rsync.Options{Protocol: p, User: rsynctest.User, Password: rsynctest.Password, AuthDigests: dg}
				s := start(t, d, rsynctest.Secret, "plain.txt", opt)
				f := find(t, s, "plain.txt")
				s.Request(rsync.Request{File: f})
				r, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, tree["plain.txt"]) {
					t.Fatalf("%q, %v", got, err)
				}
				if _, err := s.Finish(); err != nil {
					t.Fatal(err)
				}

				opt.Password = "wrong"
				_, err = rsync.Start(context.Background(), d.Dial(t), rsynctest.Secret, "plain.txt", opt)
				var de *rsync.DaemonError
				if !errors.Is(err, rsync.ErrAuthFailed) || !errors.As(err, &de) {
					t.Fatalf("wrong password: %v, want ErrAuthFailed", err)
				}
			})
		}
	}
	_, err := rsync.Start(context.Background(), d.Dial(t), rsynctest.Secret, "", rsync.Options{})
	if !errors.Is(err, rsync.ErrAuthFailed) {
		t.Fatalf("no password: %v, want ErrAuthFailed", err)
	}
}

func TestErrors(t *testing.T) {
	d := startTree(t)
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			ctx := context.Background()
			_, err := rsync.Start(ctx, d.Dial(t), "nosuch", "", rsync.Options{Protocol: p})
			if !errors.Is(err, rsync.ErrUnknownModule) {
				t.Errorf("unknown module: %v", err)
			}
			_, err = rsync.Start(ctx, d.Dial(t), rsynctest.NoAppend, "plain.txt", rsync.Options{Protocol: p, Append: 1})
			if !errors.Is(err, rsync.ErrRefused) {
				t.Errorf("refused append: %v", err)
			}
			_, err = rsync.Start(ctx, d.Dial(t), rsynctest.Plain, "no/such/file", rsync.Options{Protocol: p})
			if !errors.Is(err, rsync.ErrNotFound) {
				t.Errorf("missing path: %v", err)
			}
			// The module without append serves whole files.
			s := start(t, d, rsynctest.NoAppend, "plain.txt", rsync.Options{Protocol: p})
			if _, err := s.Finish(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	d := startTree(t)
	ctx := context.Background()
	for range 2 {
		s := start(t, d, rsynctest.Busy, "plain.txt", rsync.Options{})
		t.Cleanup(func() { s.Close() })
	}
	_, err := rsync.Start(ctx, d.Dial(t), rsynctest.Busy, "plain.txt", rsync.Options{})
	if !errors.Is(err, rsync.ErrTryAgain) {
		t.Fatalf("third connection: %v, want ErrTryAgain", err)
	}
}

// TestVanished asks for a file removed after the list was sent.
func TestVanished(t *testing.T) {
	for _, p := range protocols {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			d := rsynctest.Start(t)
			d.WriteFile(t, "a.txt", []byte("a"))
			d.WriteFile(t, "gone.txt", []byte("gone"))
			d.WriteFile(t, "z.txt", []byte("z"))
			s := start(t, d, rsynctest.Plain, "/", rsync.Options{Protocol: p})
			files := byName(t, s)
			if err := removeFile(d, "gone.txt"); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"a.txt", "gone.txt", "z.txt"} {
				s.Request(rsync.Request{File: files[n]})
			}
			if p < 30 {
				s.CloseRequests()
			}
			for _, n := range []string{"a.txt", "gone.txt", "z.txt"} {
				r, err := s.Next()
				if n == "gone.txt" {
					if !errors.Is(err, rsync.ErrVanished) || r.File.Name != n {
						t.Fatalf("%s: %v", n, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				got, err := io.ReadAll(r)
				if err != nil || string(got) != n[:1] {
					t.Fatalf("%s: %q, %v", n, got, err)
				}
			}
			if _, err := s.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCancel: the session's context cuts a blocked read.
func TestCancel(t *testing.T) {
	f := rsynctest.StartFake(t, func(c netConn) {
		c.Write([]byte("@RSYNCD: 31.0\n"))
		io.Copy(io.Discard, c) // then silence
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := rsync.Start(ctx, dialFake(t, f), rsynctest.Plain, "", rsync.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}
