package rsyncsrc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/listing"
	"github.com/grab-ir/grab/fetch/rsync"
	"github.com/grab-ir/grab/fetch/rsync/rsynctest"
	"github.com/grab-ir/grab/fetch/rsyncsrc"
	"github.com/grab-ir/grab/fetch/span"
)

var _ fetch.Lister = (*rsyncsrc.Conn)(nil)

var tree = map[string][]byte{
	"dump/a b.bin":         fetchtest.Data("1", 1<<20+17),
	"dump/ü/%#?.txt":       []byte("odd name\n"),
	"dump/deep/x/y/z.txt":  []byte("deep\n"),
	"dump/empty":           {},
	"other/not listed.txt": []byte("outside\n"),
}

func setup(t *testing.T) (*rsynctest.Daemon, *rsyncsrc.Source) {
	d := rsynctest.Start(t)
	for n, b := range tree {
		d.WriteFile(t, n, b)
	}
	if err := os.Symlink("empty", filepath.Join(d.Root, "dump", "link")); err != nil {
		t.Fatal(err)
	}
	dl, err := dial.New("")
	if err != nil {
		t.Fatal(err)
	}
	return d, &rsyncsrc.Source{Dialer: dl, Password: func(host, module, user string) string { return rsynctest.Password }}
}

func rg(a, b int64) span.Range { return span.Range{Start: a, End: b} }

func fileURL(d *rsynctest.Daemon, module, name string) string {
	u := url.URL{Scheme: "rsync", Host: d.Addr, Path: "/" + module + "/" + name}
	return u.String()
}

func get(t *testing.T, c fetch.Conn, rawURL string, r span.Range) (*fetch.Stream, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Get(ctx, fetch.Request{URL: rawURL, Range: r, Size: -1})
	if err != nil {
		return nil, nil, err
	}
	defer s.Body.Close()
	b, err := io.ReadAll(s.Body)
	return s, b, err
}

func TestGetRanges(t *testing.T) {
	d, src := setup(t)
	c := src.Conn(0)
	defer c.Close()
	data := tree["dump/a b.bin"]
	u := fileURL(d, rsynctest.Plain, "dump/a b.bin")
	n := int64(len(data))
	for _, r := range []span.Range{rg(0, n), rg(0, 1000), rg(1, 2), rg(500_000, 900_001), rg(n-10, n), rg(n-10, -1)} {
		t.Run(r.String(), func(t *testing.T) {
			s, b, err := get(t, c, u, r)
			if err != nil {
				t.Fatal(err)
			}
			end := r.End
			if end < 0 {
				end = n
			}
			if s.Offset != r.Start || s.Len != end-r.Start || s.Size != n || s.Whole {
				t.Fatalf("stream %+v", s)
			}
			if !bytes.Equal(b, data[r.Start:end]) {
				t.Fatalf("bytes of %v differ", r)
			}
		})
	}
	// The validator is checked.
	s, _, _ := get(t, c, u, span.Range{Start: 0, End: 1})
	_, err := c.Get(context.Background(), fetch.Request{URL: u, Range: span.Range{Start: 5, End: 10}, Size: -1, Validator: s.Validator + "x"})
	var ce *fetch.ChangedError
	if !errors.As(err, &ce) || ce.Validator != s.Validator {
		t.Fatalf("changed validator: %v", err)
	}
}

func TestRefusedAppendGivesWhole(t *testing.T) {
	d, src := setup(t)
	c := src.Conn(0)
	data := tree["dump/a b.bin"]
	s, b, err := get(t, c, fileURL(d, rsynctest.NoAppend, "dump/a b.bin"), span.Range{Start: 1000, End: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Whole || s.Offset != 0 || !bytes.Equal(b, data) {
		t.Fatalf("stream %+v, %d bytes", s, len(b))
	}
}

func TestErrors(t *testing.T) {
	d, src := setup(t)
	c := src.Conn(0)
	var perm *fetch.PermanentError
	for name, u := range map[string]string{
		"unknown module": fileURL(d, "nosuch", "x"),
		"missing file":   fileURL(d, rsynctest.Plain, "dump/nosuch"),
		"folder":         fileURL(d, rsynctest.Plain, "dump/deep"),
		"symlink":        fileURL(d, rsynctest.Plain, "dump/link"),
		"no password":    fileURL(d, rsynctest.Secret, "dump/empty"),
		"not rsync":      "http://" + d.Addr + "/plain/x",
	} {
		if _, _, err := get(t, c, u, span.Range{Start: 0, End: 10}); !errors.As(err, &perm) {
			t.Errorf("%s: %v, want a PermanentError", name, err)
		}
	}
	// With user and password in the URL.
	u := "rsync://" + rsynctest.User + "@" + d.Addr + "/" + rsynctest.Secret + "/dump/deep/x/y/z.txt"
	if _, b, err := get(t, c, u, span.Range{Start: 1, End: 3}); err != nil || string(b) != "ee" {
		t.Errorf("secret module: %q, %v", b, err)
	}
}

func TestBusy(t *testing.T) {
	d, src := setup(t)
	src.BusyWait = 200 * time.Millisecond
	var held []*fetch.Stream
	for i := range 2 {
		s, err := src.Conn(i).Get(context.Background(), fetch.Request{URL: fileURL(d, rsynctest.Busy, "dump/a b.bin"), Range: span.Range{Start: 0, End: -1}, Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	_, err := src.Conn(2).Get(context.Background(), fetch.Request{URL: fileURL(d, rsynctest.Busy, "dump/empty"), Size: -1})
	var te *fetch.TransientError
	if !errors.As(err, &te) || !errors.Is(err, rsyncsrc.ErrBusy) || !errors.Is(err, rsync.ErrTryAgain) || te.RetryAfter == 0 {
		t.Fatalf("third session: %v, want a TransientError with ErrBusy", err)
	}
	for _, s := range held {
		s.Body.Close()
	}
}

func TestList(t *testing.T) {
	d, src := setup(t)
	es, err := src.Entries(context.Background(), fileURL(d, rsynctest.Plain, "dump/"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]listing.Entry{}
	var urls []string
	for _, e := range es {
		u, err := url.Parse(e.URL)
		if err != nil {
			t.Fatalf("entry URL %q: %v", e.URL, err)
		}
		urls = append(urls, e.URL)
		got[u.Path] = e
	}
	sort.Strings(urls)
	want := []string{"dump/a b.bin", "dump/deep/x/y/z.txt", "dump/empty", "dump/ü/%#?.txt"}
	if len(es) != len(want) {
		t.Fatalf("%d entries: %q", len(es), urls)
	}
	for _, n := range want {
		e, ok := got["/"+rsynctest.Plain+"/"+n]
		if !ok {
			t.Errorf("%q missing: %q", n, urls)
			continue
		}
		fi, _ := os.Stat(filepath.Join(d.Root, n))
		if e.Size != int64(len(tree[n])) || !e.ModTime.Equal(fi.ModTime()) || e.Name != filepath.Base(n) || e.Dir {
			t.Errorf("%q: %+v", n, e)
		}
		// The URL fetches the file.
		_, b, err := get(t, src.Conn(1), e.URL, span.Range{Start: 0, End: e.Size})
		if err != nil || !bytes.Equal(b, tree[n]) {
			t.Errorf("fetching listed %s: %v", e.URL, err)
		}
	}
	if !slices.Contains(urls, fmt.Sprintf("rsync://%s/plain/dump/%%C3%%BC/%%25%%23%%3F.txt", d.Addr)) {
		t.Errorf("escaped URL missing: %q", urls)
	}
}

func TestChecksum(t *testing.T) {
	d, src := setup(t)
	for _, p := range []int{31, 29} {
		src.Protocol = p
		c := src.Conn(0).(*rsyncsrc.Conn)
		algo, sum, err := c.Checksum(context.Background(), fileURL(d, rsynctest.Plain, "dump/a b.bin"))
		if err != nil {
			t.Fatal(err)
		}
		var h interface {
			Write([]byte) (int, error)
			Sum([]byte) []byte
		}
		if p == 31 {
			if algo != rsync.XXH128 {
				t.Fatalf("algo %s", algo)
			}
			h, _ = rsync.NewFileHash(algo, 0)
		} else {
			var seed int32
			if _, err := fmt.Sscanf(algo, rsync.MD4Seeded+":%d", &seed); err != nil {
				t.Fatalf("algo %q: %v", algo, err)
			}
			h, _ = rsync.NewFileHash(rsync.MD4Seeded, seed)
		}
		h.Write(tree["dump/a b.bin"])
		if !bytes.Equal(sum, h.Sum(nil)) {
			t.Errorf("protocol %d: %s %x, want %x", p, algo, sum, h.Sum(nil))
		}
	}
}

// TestWarm: a warmed connection serves the first session; Renew drops it.
func TestWarm(t *testing.T) {
	d, src := setup(t)
	c := src.Conn(0).(*rsyncsrc.Conn)
	defer c.Close()
	u := fileURL(d, rsynctest.Plain, "dump/deep/x/y/z.txt")
	if err := c.Warm(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if _, b, err := get(t, c, u, span.Range{Start: 0, End: 5}); err != nil || string(b) != "deep\n" {
		t.Fatalf("%q, %v", b, err)
	}
	if err := c.Warm(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	c.Renew()
	if _, b, err := get(t, c, u, span.Range{Start: 1, End: 3}); err != nil || string(b) != "ee" {
		t.Fatalf("after Renew: %q, %v", b, err)
	}
}

// TestGetBatch fetches many small files in shared sessions.
func TestGetBatch(t *testing.T) {
	d, src := setup(t)
	d.WriteFile(t, "dump/deep/x/y/a b.bin", []byte("same base name, other folder"))
	want := map[string][]byte{}
	var reqs []fetch.Request
	for _, n := range []string{"dump/a b.bin", "dump/ü/%#?.txt", "dump/deep/x/y/z.txt", "dump/empty", "dump/deep/x/y/a b.bin"} {
		u := fileURL(d, rsynctest.Plain, n)
		reqs = append(reqs, fetch.Request{URL: u, Size: -1})
		want[u] = tree[n]
	}
	want[reqs[4].URL] = []byte("same base name, other folder")
	missing, folder := fileURL(d, rsynctest.Plain, "dump/nosuch"), fileURL(d, rsynctest.Plain, "dump/deep")
	changed := fileURL(d, rsynctest.Plain, "dump/deep/x/y/z.txt")
	reqs = append(reqs, fetch.Request{URL: missing, Size: -1}, fetch.Request{URL: folder, Size: -1},
		fetch.Request{URL: changed, Size: 1, Validator: "rsync:1:1"})
	c := src.Conn(0).(*rsyncsrc.Conn)
	seen := map[int]bool{}
	err := c.GetBatch(context.Background(), reqs, func(i int, s *fetch.Stream, err error) error {
		u := reqs[i].URL
		seen[i] = true
		var perm *fetch.PermanentError
		var ch *fetch.ChangedError
		switch {
		case i == 7:
			if !errors.As(err, &ch) || ch.Size != int64(len(tree["dump/deep/x/y/z.txt"])) {
				t.Errorf("%s asked at another size: %v, want a ChangedError with the size", u, err)
			}
			return nil
		case u == missing || u == folder:
			if !errors.As(err, &perm) {
				t.Errorf("%s: %v, want a PermanentError", u, err)
			}
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", u, err)
			return nil
		}
		b, err := io.ReadAll(s.Body)
		if err != nil || !bytes.Equal(b, want[u]) || s.Size != int64(len(want[u])) {
			t.Errorf("%s: %d bytes, %v", u, len(b), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(reqs) {
		t.Errorf("fn saw %d of %d requests", len(seen), len(reqs))
	}
	// Five files, two sessions (two "a b.bin"); the missing file, the
	// folder and the second "z.txt" join the second: the daemon logs one
	// "rsync on" line per session.
	if n := strings.Count(d.Log(), "rsync on plain/"); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

// Where the module refuses --append, a whole request with a basis (the
// blocks already on disk) has the daemon send only the rest: the stream
// is the whole file, the wire carries about what was missing. A basis
// that is wrong costs bytes, never the file.
func TestRefusedAppendSendsOnlyTheRest(t *testing.T) {
	d, src := setup(t)
	data := tree["dump/a b.bin"]
	var down atomic.Int64
	relay := fetchtest.Relay(t, d.Addr, nil, func(n int) { down.Add(int64(n)) })
	u := "rsync://" + relay + "/" + rsynctest.NoAppend + "/dump/a%20b.bin"
	fetchWith := func(basis []byte) ([]byte, int64) {
		t.Helper()
		before := down.Load()
		r := fetch.Request{URL: u, Range: span.Range{Start: 0, End: -1}, Size: -1}
		if basis != nil {
			r.Basis, r.BasisLen = bytes.NewReader(basis), int64(len(basis))
		}
		s, err := src.Conn(0).Get(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(s.Body)
		s.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(-1); n != down.Load(); time.Sleep(100 * time.Millisecond) {
			n = down.Load() // until the session's last bytes are through
		}
		return b, down.Load() - before
	}
	all, plain := fetchWith(nil)
	part, based := fetchWith(data[:768<<10])
	bad := append([]byte(nil), data[:768<<10]...)
	for i := range bad {
		bad[i] ^= 0x5a
	}
	wrong, _ := fetchWith(bad)
	for name, b := range map[string][]byte{"without basis": all, "with basis": part, "with a wrong basis": wrong} {
		if !bytes.Equal(b, data) {
			t.Errorf("%s: %d bytes, not the file", name, len(b))
		}
	}
	missing := int64(len(data) - 768<<10)
	t.Logf("daemon sent %d bytes without a basis, %d with %d of %d bytes in it", plain, based, 768<<10, len(data))
	if plain < int64(len(data)) || based > missing+64<<10 {
		t.Errorf("daemon sent %d bytes without a basis and %d with one; %d were missing", plain, based, missing)
	}
}
