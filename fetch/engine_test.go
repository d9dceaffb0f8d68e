package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

const kib = 1 << 10

// job is a test job against a fake server.
type job struct {
	t   *testing.T
	dir string
	srv *fetchtest.Server
	cfg fetch.Config
}

func newJob(t *testing.T, files map[string]*fetchtest.File) *job {
	srv := fetchtest.New(files)
	t.Cleanup(srv.Close)
	d, err := dial.New("")
	if err != nil {
		t.Fatal(err)
	}
	return &job{t: t, dir: t.TempDir(), srv: srv, cfg: fetch.Config{
		Workers: 4, Streams: 1, BlockSize: 64 * kib, ChunkSize: 512 * kib, FirstChunk: 512 * kib, CommitEvery: 50 * time.Millisecond,
		Retries: 3, Backoff: fetch.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
		Source: &httpsrc.Source{Dialer: d},
	}}
}

// run opens the store, adds the paths and runs the engine until done or
// until stop returns true for a status.
func (j *job) run(ctx context.Context, stop func(fetch.Status) bool, paths ...string) (*fetch.Engine, error) {
	j.t.Helper()
	st, err := store.Open(j.dir)
	if err != nil {
		j.t.Fatal(err)
	}
	defer st.Close()
	cfg := j.cfg
	cfg.Dir, cfg.Journal = j.dir, st
	e, err := fetch.New(cfg)
	if err != nil {
		j.t.Fatal(err)
	}
	var files []fetch.File
	for _, p := range paths {
		files = append(files, fetch.File{URL: j.srv.FileURL(p), Path: strings.TrimPrefix(p, "/"), Size: -1})
	}
	e.Add(files)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stop != nil {
		go func() {
			for ctx.Err() == nil {
				if stop(e.Status()) {
					cancel()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return e, e.Run(ctx)
}

func (j *job) want(path string, data []byte) {
	j.t.Helper()
	got, err := os.ReadFile(filepath.Join(j.dir, filepath.FromSlash(strings.TrimPrefix(path, "/"))))
	if err != nil {
		j.t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		j.t.Fatalf("%s: %d bytes differ from the %d served", path, len(got), len(data))
	}
}

func (j *job) absent(path string) {
	j.t.Helper()
	if _, err := os.Stat(filepath.Join(j.dir, strings.TrimPrefix(path, "/"))); !errors.Is(err, os.ErrNotExist) {
		j.t.Fatalf("%s is in the output tree: %v", path, err)
	}
}

func TestRangedDownload(t *testing.T) {
	data := fetchtest.Data("a", 3*1024*kib+123)
	j := newJob(t, map[string]*fetchtest.File{"/big.bin": {Data: data}, "/empty": {}, "/small": {Data: []byte("hi")}})
	e, err := j.run(t.Context(), nil, "/big.bin", "/empty", "/small")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/big.bin", data)
	j.want("/empty", nil)
	j.want("/small", []byte("hi"))
	ranges := j.srv.Ranges()
	if !slices.Contains(ranges, "bytes=0-524287") {
		t.Errorf("no first request for bytes=0-524287 (no HEAD, no open-ended range): %q", ranges)
	}
	for _, r := range ranges {
		if r == "" {
			t.Errorf("a request without Range: %q", ranges)
		}
	}
	st := e.Status()
	if st.Done != 3 || st.DoneBytes != int64(len(data))+2 || st.Wasted != 0 || st.Fetched != int64(len(data))+2 {
		t.Errorf("status %+v", st)
	}
	for _, f := range e.Files() {
		if f.State != fetch.Done || len(f.SHA256) != 64 {
			t.Errorf("%s: %v %q", f.Path, f.State, f.SHA256)
		}
	}
	if _, err := os.Stat(filepath.Join(j.dir, ".grab", "part")); err != nil {
		t.Error(err)
	}
	if parts, _ := os.ReadDir(filepath.Join(j.dir, ".grab", "part")); len(parts) != 0 {
		t.Errorf("partial files left: %d", len(parts))
	}
}

func TestServerIgnoresRanges(t *testing.T) {
	data := fetchtest.Data("b", 1500*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, NoRanges: true}})
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/x", data)
	if f := e.Files()[0]; !f.Whole {
		t.Error("file not marked as whole-stream")
	}
	// Idle workers may have guessed ranges before the first answer; those
	// answers (200s too) are closed unread.
	if n := j.srv.Requests("/x"); n < 1 || n > j.cfg.Workers {
		t.Errorf("%d requests, want 1 to %d", n, j.cfg.Workers)
	}
	if st := e.Status(); st.Fetched != int64(len(data)) || st.Wasted != 0 {
		t.Errorf("fetched %d, wasted %d", st.Fetched, st.Wasted)
	}
}

func TestWrongContentRange(t *testing.T) {
	j := newJob(t, map[string]*fetchtest.File{
		"/small": {Data: fetchtest.Data("c", 300*kib), ShiftRange: 100},
		"/big":   {Data: fetchtest.Data("c", 3000*kib), ShiftRange: 100},
	})
	j.cfg.Workers = 1 // exact request counts: no guessed ranges
	e, err := j.run(t.Context(), nil, "/small", "/big")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v", err)
	}
	for i, want := range []string{
		`giving up after 4 tries: source sent a different range: asked bytes=0-524287, got "bytes 100-307299/307200"`,
		`giving up after 4 tries: source sent a different range: asked bytes=0-524287, got "bytes 100-524387/3072000"`,
	} {
		if f := e.Files()[i]; f.State != fetch.Failed || f.Err != want {
			t.Errorf("%s: state %v, err %q\nwant %q", f.Path, f.State, f.Err, want)
		}
	}
	j.absent("/small")
	j.absent("/big")
	// Four tries each; pipelined in a batch, a request sent behind an
	// answer whose body is too long to skip goes again on a new
	// connection (its first sending never answered): at most twice here.
	if small, big := j.srv.Requests("/small"), j.srv.Requests("/big"); small < 4 || big < 4 || small+big > 10 {
		t.Errorf("%d and %d requests, want 4 each, and 2 more at most", small, big)
	}
}

func TestChangedFileRestarts(t *testing.T) {
	v0 := fetchtest.Data("v0", 2048*kib)
	v1 := fetchtest.Data("v1", 2048*kib+5)
	for _, noETag := range []bool{false, true} {
		j := newJob(t, map[string]*fetchtest.File{"/x": {Data: v0, Versions: [][]byte{v1}, ChangeAfter: 2, NoETag: noETag}})
		e, err := j.run(t.Context(), nil, "/x")
		if err != nil {
			t.Fatal(err)
		}
		j.want("/x", v1)
		// Every byte fetched that is not in the file is counted wasted:
		// the old version's done blocks and its blocks in progress alike.
		if st := e.Status(); st.Wasted == 0 || st.Fetched-st.Wasted != int64(len(v1)) {
			t.Errorf("noETag=%v: fetched %d, wasted %d, for a file of %d", noETag, st.Fetched, st.Wasted, len(v1))
		}
	}
}

func TestCutBodies(t *testing.T) {
	data := fetchtest.Data("d", 3*1024*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, CutAfter: 100000, CutTimes: 5}})
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/x", data)
	// Each cut response delivered one whole 64 KiB block and 34464 bytes
	// of the next; the next request resumes that block where it was cut,
	// with its hash state, so not one byte is fetched twice.
	st := e.Status()
	if st.Wasted != 0 || st.Fetched != int64(len(data)) {
		t.Fatalf("wasted %d, fetched %d; want 0 and %d", st.Wasted, st.Fetched, len(data))
	}
	resumed := 0
	for _, r := range j.srv.Ranges() {
		if start, _, _ := strings.Cut(strings.TrimPrefix(r, "bytes="), "-"); start != "" && start[len(start)-1] != '0' && !strings.HasSuffix(start, "536") {
			resumed++
		}
	}
	if resumed < 5 {
		t.Fatalf("%d requests resumed mid-block, want 5: %q", resumed, j.srv.Ranges())
	}
}

func TestPermanentAndTransientErrors(t *testing.T) {
	ok := fetchtest.Data("e", 100*kib)
	j := newJob(t, map[string]*fetchtest.File{
		"/forbidden": {Status: 403},
		"/busy":      {Data: ok, FailFirst: 3, RetryAfter: "0"},
	})
	j.cfg.Workers = 1 // exact request counts: no guessed ranges
	e, err := j.run(t.Context(), nil, "/missing", "/forbidden", "/busy")
	if !errors.Is(err, fetch.ErrFailed) || err.Error() != "some files failed: 2 of 3" {
		t.Fatalf("Run: %v", err)
	}
	j.want("/busy", ok)
	byPath := map[string]fetch.File{}
	for _, f := range e.Files() {
		byPath[f.Path] = f
	}
	if f := byPath["missing"]; f.State != fetch.Failed || f.Err != j.srv.FileURL("/missing")+": 404 Not Found" {
		t.Errorf("missing: %v %q", f.State, f.Err)
	}
	if f := byPath["forbidden"]; f.State != fetch.Failed || !strings.HasSuffix(f.Err, ": 403 Forbidden") {
		t.Errorf("forbidden: %v %q", f.State, f.Err)
	}
	if n := j.srv.Requests("/missing") + j.srv.Requests("/forbidden"); n != 2 {
		t.Errorf("permanent errors were retried: %d requests", n)
	}
	if n := j.srv.Requests("/busy"); n != 4 {
		t.Errorf("/busy: %d requests, want 4", n)
	}
}

func TestDigestMismatchStaysOut(t *testing.T) {
	data := fetchtest.Data("f", 200*kib)
	j := newJob(t, map[string]*fetchtest.File{"/bad": {Data: data, ReprDigest: true, BadDigest: true}, "/good": {Data: data, ReprDigest: true}})
	e, err := j.run(t.Context(), nil, "/bad", "/good")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v", err)
	}
	j.absent("/bad")
	j.want("/good", data)
	f := e.Files()[0]
	if f.State != fetch.Failed || !strings.HasPrefix(f.Err, "digest mismatch: sha256 is ") {
		t.Fatalf("bad: %v %q", f.State, f.Err)
	}
	kept, err := os.ReadFile(filepath.Join(j.dir, ".grab", "part", "0000000000000001"))
	if err != nil || !bytes.Equal(kept, data) {
		t.Fatalf("quarantined copy: %v", err)
	}
}

// A block corrupted on disk while the job was stopped is caught by the
// re-hash on resume and fetched again; nothing else is.
func TestResumeCatchesCorruptBlock(t *testing.T) {
	data := fetchtest.Data("g", 1024*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, StopAfter: 2}})
	j.cfg.Workers, j.cfg.ChunkSize, j.cfg.Retries = 1, 128*kib, 1000
	_, err := j.run(t.Context(), func(s fetch.Status) bool { return s.DoneBytes == 256*kib }, "/x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	part := filepath.Join(j.dir, ".grab", "part", "0000000000000001")
	fh, err := os.OpenFile(part, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteAt([]byte{data[70*kib] ^ 0xff}, 70*kib) // inside block 1
	fh.Close()

	j.srv.Update("/x", func(f *fetchtest.File) { f.StopAfter = 0 })
	sent := j.srv.Sent()
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/x", data)
	st := e.Status()
	if st.Rehashed != 1 || st.Resumed != 192*kib {
		t.Fatalf("rehashed %d blocks, resumed %d bytes: %+v", st.Rehashed, st.Resumed, st)
	}
	if got := j.srv.Sent() - sent; got != int64(len(data))-192*kib {
		t.Fatalf("second run fetched %d bytes, want %d", got, len(data)-192*kib)
	}
}

func TestSecondJobOnSameDir(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = store.Open(dir)
	var inUse *store.InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second open: %v", err)
	}
}

// Idle workers guess ranges of a file whose size is not known yet, while
// its first request is slow to answer; guesses past the end get a 416 and
// cost no byte.
func TestSpeculativeRanges(t *testing.T) {
	data := fetchtest.Data("s", 1300*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, HoldStart: 300 * time.Millisecond}})
	j.cfg.Workers, j.cfg.ChunkSize = 8, 256*kib
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/x", data)
	if st := e.Status(); st.Wasted != 0 || st.Fetched != int64(len(data)) {
		t.Fatalf("fetched %d, wasted %d", st.Fetched, st.Wasted)
	}
	first := j.srv.Ranges()[:8]
	sort.Strings(first)
	var want []string
	for i := range 8 {
		want = append(want, fmt.Sprintf("bytes=%d-%d", i*256*kib, (i+1)*256*kib-1))
	}
	sort.Strings(want)
	if strings.Join(first, " ") != strings.Join(want, " ") {
		t.Fatalf("first requests %q\nwant %q", first, want)
	}
}

// A stop in the middle of a block records how far the block got, with its
// hash state; the resume checks those bytes and asks only for the rest.
// Bytes that changed on disk meanwhile void the record.
func TestResumeMidBlock(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		data := fetchtest.Data("m", 512*kib)
		j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, CutAfter: 100000, StopAfter: 1}})
		j.cfg.Workers, j.cfg.Retries = 1, 1000
		_, err := j.run(t.Context(), func(s fetch.Status) bool { return j.srv.Requests("/x") >= 2 }, "/x")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: %v", err)
		}
		if corrupt {
			fh, _ := os.OpenFile(filepath.Join(j.dir, ".grab", "part", "0000000000000001"), os.O_RDWR, 0)
			fh.WriteAt([]byte{data[90000] ^ 1}, 90000) // in block 1, before the cut
			fh.Close()
		}
		j.srv.Update("/x", func(f *fetchtest.File) { f.StopAfter, f.CutAfter = 0, 0 })
		sent := j.srv.Sent()
		e, err := j.run(t.Context(), nil, "/x")
		if err != nil {
			t.Fatal(err)
		}
		j.want("/x", data)
		st := e.Status()
		wantResumed, wantRehashed := int64(100000), int64(0)
		if corrupt {
			wantResumed, wantRehashed = 64*kib, 1
		}
		if st.Resumed != wantResumed || st.Rehashed != wantRehashed || j.srv.Sent()-sent != int64(len(data))-wantResumed {
			t.Fatalf("corrupt=%v: resumed %d, rehashed %d, second run sent %d; want %d, %d, %d",
				corrupt, st.Resumed, st.Rehashed, j.srv.Sent()-sent, wantResumed, wantRehashed, int64(len(data))-wantResumed)
		}
	}
}

// A stream that stops moving but stays open is cancelled after the stall
// timeout; its range goes back to the pool and its circuit is replaced.
func TestStallIsCancelled(t *testing.T) {
	data := fetchtest.Data("st", 1024*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, StallAfter: 100000, StallTimes: 2}})
	j.cfg.Workers, j.cfg.StallTimeout = 1, 200*time.Millisecond
	e, err := j.run(t.Context(), nil, "/x")
	if err != nil {
		t.Fatal(err)
	}
	j.want("/x", data)
	st := e.Status()
	if st.Stalls != 2 || st.Renewals != 2 || st.Wasted != 0 {
		t.Fatalf("stalls %d, renewals %d, wasted %d; want 2, 2, 0", st.Stalls, st.Renewals, st.Wasted)
	}
}

// While the source cannot be reached through the proxy the job waits,
// says why and when it tries next, and fails no file.
func TestSourceUnreachableWaits(t *testing.T) {
	proxy := socksReplying(t, 0x04)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: []byte("x")}})
	d, _ := dial.New("socks5h://" + proxy)
	j.cfg.Source = &httpsrc.Source{Dialer: d}
	j.cfg.Backoff = fetch.Backoff{Base: 100 * time.Millisecond, Max: 400 * time.Millisecond}
	var waiting fetch.Status
	e, err := j.run(t.Context(), func(s fetch.Status) bool {
		if !s.WaitingUntil.IsZero() {
			waiting = s
			return true
		}
		return false
	}, "/x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if f := e.Files()[0]; f.State != fetch.Pending {
		t.Fatalf("file %v: %s", f.State, f.Err)
	}
	if strings.HasPrefix(waiting.WaitingWhy, "Get ") || !strings.Contains(waiting.WaitingWhy, "proxy: host unreachable (SOCKS reply 0x04)") {
		t.Fatalf("waiting because %q", waiting.WaitingWhy)
	}
}

// Bytes an earlier run wrote but never recorded, from a longer version of
// the file, must not survive at the end of the new version.
func TestChangedFileLeavesNoStaleTail(t *testing.T) {
	v2 := fetchtest.Data("v2", 2000)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: v2}})
	st, err := store.Open(j.dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Save(&fetch.Batch{Files: []fetch.File{{ID: 1, URL: j.srv.FileURL("/x"), Path: "x", Size: 9000, Validator: `"old"`}}})
	st.Close()
	os.WriteFile(filepath.Join(j.dir, ".grab", "part", "0000000000000001"), bytes.Repeat([]byte("J"), 9000), 0o600)
	if _, err := j.run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	j.want("/x", v2)
}

// A block in progress is recorded with how far it got even when no whole
// block has finished since the last commit.
func TestPartialAloneIsRecorded(t *testing.T) {
	data := fetchtest.Data("p", 600*kib)
	j := newJob(t, map[string]*fetchtest.File{"/x": {Data: data, StallAfter: 100000}})
	j.cfg.Workers, j.cfg.BlockSize, j.cfg.ChunkSize, j.cfg.FirstChunk = 1, 256*kib, 512*kib, 512*kib
	_, err := j.run(t.Context(), func(s fetch.Status) bool { return s.Fetched >= 100000 }, "/x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	st, err := store.Open(j.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved, _ := st.Load()
	if p, ok := saved[0].Partials[0]; !ok || p.Reached != 100000 {
		t.Fatalf("partials %+v", saved[0].Partials)
	}
}
