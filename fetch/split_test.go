package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

type memJournal struct{}

func (memJournal) Load() ([]Saved, error) { return nil, nil }
func (memJournal) Save(*Batch) error      { return nil }

type nopSource struct{}

func (nopSource) Conn(int) Conn { return nopConn{} }

type nopConn struct{}

func (nopConn) Get(context.Context, Request) (*Stream, error) { return nil, context.Canceled }
func (nopConn) Close() error                                  { return nil }

// clock is a settable time for the scheduler.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func testEngine(t *testing.T, circuits int) (*Engine, *clock, []*lane) {
	t.Helper()
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	e, err := New(Config{Dir: t.TempDir(), Source: nopSource{}, Journal: memJournal{}, Workers: circuits,
		BlockSize: 100, ChunkSize: 1000, FirstChunk: 1000, Now: c.Now, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	var lanes []*lane
	for i := range circuits {
		ci := &circ{id: i, conn: nopConn{}}
		e.circs = append(e.circs, ci)
		lanes = append(lanes, &lane{c: ci, bulk: true})
	}
	return e, c, lanes
}

// pickFor runs the scheduler for one lane as next() does.
func pickFor(t *testing.T, e *Engine, l *lane) *task {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	tk, _, err := e.pick(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tk != nil {
		tk.lane, tk.began, tk.lastMove = l, e.cfg.Now(), e.cfg.Now()
		l.c.active++
	}
	return tk
}

// advance moves a task's cursor as received() would, marking the whole
// blocks it passes done.
func advance(e *Engine, tk *task, to int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	bs := e.cfg.BlockSize
	for b := tk.cursor / bs; (b+1)*bs <= to; b++ {
		tk.f.done[b] = true
	}
	tk.cursor = to
}

// classOrder has e fetch classes in the order given.
func classOrder(e *Engine, classes ...string) {
	e.cfg.Less = func(a, b *File) bool {
		return slices.Index(classes, a.Class) < slices.Index(classes, b.Class)
	}
}

// steady has the scorer see circuit c move bps bytes a second, busy, for
// the 5 s from t0.
func steady(e *Engine, c int, t0 time.Time, bps int64) {
	for s := range int64(6) {
		e.scorer.Observe(c, t0.Add(time.Duration(s)*time.Second), s*bps, true)
	}
}

func rng(tk *task) [3]int64 { return [3]int64{tk.start, tk.cursor, tk.end} }

func TestSplitTakesTheBackHalf(t *testing.T) {
	e, _, lanes := testEngine(t, 3)
	e.Add([]File{{URL: "http://h/a", Path: "a", Size: 1000}})
	a := pickFor(t, e, lanes[0])
	if rng(a) != [3]int64{0, 0, 1000} {
		t.Fatalf("first task %v", rng(a))
	}
	b := pickFor(t, e, lanes[1])
	if rng(a) != [3]int64{0, 0, 500} || rng(b) != [3]int64{500, 500, 1000} {
		t.Fatalf("after a split: owner %v, thief %v", rng(a), rng(b))
	}
	// The owner is inside block 3; the thief's run is longer, so it is split
	// next, never closer than a block past the owner's cursor.
	advance(e, a, 350)
	advance(e, b, 650)
	c := pickFor(t, e, lanes[2])
	if rng(b) != [3]int64{500, 650, 900} || rng(c) != [3]int64{900, 900, 1000} {
		t.Fatalf("second split: %v and %v", rng(b), rng(c))
	}
	// b still has 250 bytes, two blocks or more: split once more, a block
	// past its cursor's block.
	d := pickFor(t, e, &lane{c: lanes[2].c, bulk: true})
	if d == nil || rng(b) != [3]int64{500, 650, 800} || rng(d) != [3]int64{800, 800, 900} {
		t.Fatalf("third split: %v and %v", rng(b), d)
	}
	// Now no task has two blocks left (MinSplit), and no circuit has a
	// measured rate for an end-game twin: nothing to do.
	if x := pickFor(t, e, &lane{c: lanes[2].c, bulk: true}); x != nil {
		t.Fatalf("split below MinSplit: %v", rng(x))
	}
}

// With both circuits' rates known, the thief takes a share of the range in
// proportion to its rate, so that owner and thief end together.
func TestSplitFollowsRates(t *testing.T) {
	e, clk, lanes := testEngine(t, 2)
	e.Add([]File{{URL: "http://h/a", Path: "a", Size: 1000}})
	a := pickFor(t, e, lanes[0])
	t0 := clk.now
	steady(e, 0, t0, 300)
	steady(e, 1, t0, 700)
	clk.now = t0.Add(5 * time.Second)
	b := pickFor(t, e, lanes[1])
	if b == nil || rng(a) != [3]int64{0, 0, 300} || rng(b) != [3]int64{300, 300, 1000} {
		t.Fatalf("owner at 300 B/s %v, thief at 700 B/s %v; want 300 and 700 bytes", rng(a), b)
	}
}

func TestTwinOnlyFromAFastIdleCircuit(t *testing.T) {
	e, clk, lanes := testEngine(t, 3)
	e.Add([]File{{URL: "http://h/a", Path: "a", Size: 200}})
	slow := pickFor(t, e, lanes[0])
	if rng(slow) != [3]int64{0, 0, 200} {
		t.Fatalf("task %v", rng(slow))
	}
	// Circuit 1 has moved 1000 B/s over 5 s; circuit 0 has its task, which
	// has brought 10 bytes, too few bytes left to split.
	t0 := clk.now
	steady(e, 1, t0, 1000)
	advance(e, slow, 10)
	clk.now = t0.Add(time.Second)
	if tk := pickFor(t, e, lanes[1]); tk != nil {
		t.Fatalf("twinned a task only 1s old: %v", rng(tk))
	}
	clk.now = t0.Add(3 * time.Second)
	// Circuit 2 has no measured rate: it is not trusted with a twin.
	if tk := pickFor(t, e, lanes[2]); tk != nil {
		t.Fatalf("twin on an unmeasured circuit: %v", rng(tk))
	}
	tw := pickFor(t, e, lanes[1])
	if tw == nil || rng(tw) != [3]int64{0, 0, 200} || tw.twin != slow || slow.twin != tw {
		t.Fatalf("twin %v", tw)
	}
	// Once the twin has every block, the original stops at its next read.
	e.mu.Lock()
	e.f(0).done[0], e.f(0).done[1] = true, true
	e.mu.Unlock()
	if n := e.limit(slow); n != 0 {
		t.Fatalf("original may still read %d bytes", n)
	}
}

func (e *Engine) f(i int) *fileState { return e.files[i] }

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	r := rand.New(rand.NewPCG(7, 7))
	for n, top := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 40: time.Minute} {
		for range 50 {
			if d := b.Delay(n, r); d < top/2 || d > top {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, top/2, top)
			}
		}
	}
	r1, r2 := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 10; n++ {
		if b.Delay(n, r1) != b.Delay(n, r2) {
			t.Fatal("the same seed gave different delays")
		}
	}
}

// A file whose every block was recorded before a crash (while it was being
// verified, say) is finished on resume without fetching anything.
func TestResumeWithEveryBlockRecorded(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 250)
	for i := range data {
		data[i] = byte(i)
	}
	os.MkdirAll(filepath.Join(dir, ".grab", "part"), 0o700)
	os.WriteFile(filepath.Join(dir, ".grab", "part", "0000000000000001"), data, 0o600)
	blocks := map[int64][32]byte{}
	for b := int64(0); b < 3; b++ {
		blocks[b] = sha256.Sum256(data[b*100 : min(b*100+100, 250)])
	}
	j := savedJournal{{File: File{ID: 1, URL: "http://h/a", Path: "a", Size: 250}, Blocks: blocks}}
	e, err := New(Config{Dir: dir, Source: nopSource{}, Journal: j, BlockSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "a"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("finished file: %v", err)
	}
}

type savedJournal []Saved

func (s savedJournal) Load() ([]Saved, error) { return s, nil }
func (savedJournal) Save(*Batch) error        { return nil }

// Before a fast circuit starts on a lower class, it races a straggler of a
// higher class that a slow circuit holds.
func TestPriorityTwinBeforeLowerClass(t *testing.T) {
	e, clk, lanes := testEngine(t, 3)
	classOrder(e, "photos", "archives")
	e.Add([]File{
		{URL: "http://h/big.zip", Path: "big.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/p.jpg", Path: "p.jpg", Size: 200, Class: "photos"},
	})
	photo := pickFor(t, e, lanes[0])
	if photo.f.Path != "p.jpg" {
		t.Fatalf("first pick %s, want the photo", photo.f.Path)
	}
	t0 := clk.now
	steady(e, 1, t0, 1000)
	clk.now = t0.Add(3 * time.Second)
	advance(e, photo, 10)
	tw := pickFor(t, e, lanes[1])
	if tw == nil || tw.f.Path != "p.jpg" || tw.twin != photo {
		t.Fatalf("got %v, want a twin of the slow photo", tw)
	}
	// A circuit that carries a photo starts no archive while it does; one
	// that carries none goes on to the archive.
	if next := pickFor(t, e, &lane{c: lanes[1].c, bulk: true}); next != nil {
		t.Fatalf("circuit 1 carries the photo's twin, yet took %s", next.f.Path)
	}
	if next := pickFor(t, e, lanes[2]); next == nil || next.f.Path != "big.zip" {
		t.Fatalf("then %v, want the archive", next)
	}
}

// A lane about to start a lower class first takes over the back of a long
// request of the higher class still under way.
func TestLowerClassWaitsForASplitOfTheHigher(t *testing.T) {
	e, _, lanes := testEngine(t, 2)
	classOrder(e, "archives", "photos")
	e.Add([]File{
		{URL: "http://h/a.zip", Path: "a.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/p.jpg", Path: "p.jpg", Size: 100, Class: "photos"},
	})
	a := pickFor(t, e, lanes[0])
	b := pickFor(t, e, lanes[1])
	if a.f.Path != "a.zip" || b == nil || b.f.Path != "a.zip" || rng(a) != [3]int64{0, 0, 500} || rng(b) != [3]int64{500, 500, 1000} {
		t.Fatalf("got %s %v and %v, want a.zip split in two", a.f.Path, rng(a), b)
	}
}

// A slow circuit starts fewer small files at once than a fast one: more
// requests than cover its round trip would only share its bandwidth.
func TestSlowCircuitHoldsFewerSmallFiles(t *testing.T) {
	e, clk, lanes := testEngine(t, 2)
	var files []File
	for i := range 5 {
		files = append(files, File{URL: fmt.Sprintf("http://h/p%d.jpg", i), Path: fmt.Sprintf("p%d.jpg", i), Size: 130})
	}
	e.Add(files)
	t0 := clk.now
	steady(e, 0, t0, 100)
	steady(e, 1, t0, 1000)
	clk.now = t0.Add(5 * time.Second)
	e.mu.Lock()
	e.circs[0].firstByte(600 * time.Millisecond)
	e.circs[1].firstByte(600 * time.Millisecond)
	e.mu.Unlock()
	// Circuit 0: 1 + 0.6 s × 100 B/s / 130 B < 2 requests; circuit 1:
	// 1 + 0.6 × 1000 / 130 ≈ 5.6.
	if tk := pickFor(t, e, lanes[0]); tk == nil {
		t.Fatal("an idle slow circuit took nothing")
	}
	if tk := pickFor(t, e, &lane{c: lanes[0].c}); tk != nil {
		t.Fatalf("the slow circuit took a second photo, %s", tk.f.Path)
	}
	for i := range 4 {
		if tk := pickFor(t, e, &lane{c: lanes[1].c, bulk: i == 0}); tk == nil {
			t.Fatalf("the fast circuit took only %d photos", i)
		}
	}
}

// Two requests stopped inside blocks 2 and 6 of a file: the range taken
// next runs from the first one's stopping point up to block 6 and no
// further, and the one after resumes block 6 where it stopped, so no
// byte that arrived is fetched again.
func TestRangesStopAtPartialBlocks(t *testing.T) {
	e, _, lanes := testEngine(t, 2)
	e.Add([]File{{URL: "http://h/a", Path: "a", Size: 1000}})
	e.mu.Lock()
	f := e.f(0)
	e.own(f)
	f.partial = map[int64]*partialState{
		2: {reached: 250, state: []byte("state at 250")},
		6: {reached: 640, state: []byte("state at 640")},
	}
	f.scanFrom = 2
	e.mu.Unlock()
	a := pickFor(t, e, lanes[0])
	b := pickFor(t, e, &lane{c: lanes[0].c, bulk: true})
	if rng(a) != [3]int64{250, 250, 600} || string(a.hinit) != "state at 250" {
		t.Fatalf("first range %v (hash state %q), want from 250 to block 6", rng(a), a.hinit)
	}
	if b == nil || rng(b) != [3]int64{640, 640, 1000} || string(b.hinit) != "state at 640" {
		t.Fatalf("second range %v, want block 6 resumed at 640", b)
	}
}

// A twin of a request that has gone silent starts where the original has
// got to, from the hash state of its block so far, and fetches only what
// is missing.
func TestTwinStartsAtTheOriginalsCursor(t *testing.T) {
	e, clk, lanes := testEngine(t, 2)
	e.Add([]File{{URL: "http://h/a", Path: "a", Size: 150}})
	slow := pickFor(t, e, lanes[0])
	t0 := clk.now
	steady(e, 1, t0, 1000)
	advance(e, slow, 120)
	e.mu.Lock()
	slow.hstate = []byte("state at 120")
	e.mu.Unlock()
	clk.now = t0.Add(3 * time.Second)
	tw := pickFor(t, e, lanes[1])
	if tw == nil || rng(tw) != [3]int64{120, 120, 150} || string(tw.hinit) != "state at 120" || tw.twin != slow {
		t.Fatalf("twin %v, want bytes 120-150 from the original's hash state", tw)
	}
	// The twin brings the last 30 bytes first; then the original does too:
	// those 30 bytes, not the 50 of the block it fetched, were fetched twice.
	sum := func() [32]byte { return [32]byte{1} }
	state := func() []byte { return nil }
	if b, _ := e.received(tw, 30, sum, state); b != 1 {
		t.Fatalf("the twin completed block %d, want 1", b)
	}
	e.received(slow, 30, sum, state)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stats.wasted != 30 {
		t.Fatalf("counted %d bytes fetched twice, want 30", e.stats.wasted)
	}
}
