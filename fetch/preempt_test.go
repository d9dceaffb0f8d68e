package fetch

import (
	"errors"
	"testing"
	"time"
)

// cancelRecorder gives a picked task a cancel func as run() does, and
// keeps the cause it was cancelled with.
func cancelRecorder(e *Engine, tk *task) *error {
	var cause error
	e.mu.Lock()
	tk.cancel = func(err error) { cause = err }
	e.mu.Unlock()
	return &cause
}

// Photos found while archives run take lanes from the archives at once:
// one archive request is stopped per waiting photo, on the fastest
// circuit first, and what the request fetched stays.
func TestWaitingPhotosStopArchiveRequests(t *testing.T) {
	e, clk, lanes := testEngine(t, 3)
	classOrder(e, "photos", "archives")
	e.Add([]File{{URL: "http://h/a.zip", Path: "a.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/b.zip", Path: "b.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/c.zip", Path: "c.zip", Size: 1000, Class: "archives"}})
	var arch []*task
	var causes []*error
	for _, l := range lanes {
		tk := pickFor(t, e, l)
		if tk == nil || tk.f.Class != "archives" {
			t.Fatalf("lane %d: %v", l.c.id, tk)
		}
		arch = append(arch, tk)
		causes = append(causes, cancelRecorder(e, tk))
	}
	// Circuit 2 is the fastest, circuit 0 the slowest, circuit 1 has no
	// rate yet. Each archive request has brought 150 bytes.
	t0 := clk.now
	steady(e, 0, t0, 10)
	steady(e, 2, t0, 50)
	clk.now = t0.Add(5 * time.Second)
	for _, tk := range arch {
		advance(e, tk, 150)
	}
	e.mu.Lock()
	if n := e.preempt(); n != 0 {
		t.Fatalf("stopped %d requests with nothing of a higher class waiting", n)
	}
	e.mu.Unlock()

	e.Add([]File{{URL: "http://h/p.jpg", Path: "p.jpg", Size: 200, Class: "photos"}})
	e.mu.Lock()
	first := e.preempt()
	n := e.preempt()
	again := e.preempt()
	e.mu.Unlock()
	if first != 0 || n != 1 || again != 0 {
		t.Fatalf("stopped %d, %d, then %d; want none at first sight of the photo (a free lane may take it), then 1, then none while it is on its way", first, n, again)
	}
	if !errors.Is(*causes[2], errYield) || *causes[0] != nil || *causes[1] != nil {
		t.Fatalf("causes %v %v %v: want the fastest circuit's (2) request stopped", *causes[0], *causes[1], *causes[2])
	}
	// The stopped request ends as run() ends it, in the middle of block 1;
	// its lane takes the photo, and the rest of its archive range goes
	// back to the pool, to resume from where it stopped.
	e.mu.Lock()
	arch[2].hstate = []byte("hash state at 150")
	e.mu.Unlock()
	e.release(arch[2])
	if tk := pickFor(t, e, lanes[2]); tk == nil || tk.f.Path != "p.jpg" {
		t.Fatalf("circuit 2 then took %v, want the photo", tk)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := arch[2].f
	if p := c.partial[1]; p == nil || p.reached != 150 || !e.unclaimed(c) {
		t.Fatalf("c.zip: partial %+v, unclaimed %v", p, e.unclaimed(c))
	}
	if e.stats.yields != 1 || e.stats.wasted != 0 {
		t.Fatalf("yields %d, wasted %d", e.stats.yields, e.stats.wasted)
	}
	if n := e.preempt(); n != 0 {
		t.Fatalf("stopped %d more with the photo under way", n)
	}
}

// A request about to finish is left alone, and work of the same class
// never stops another.
func TestNoYieldForNearlyDoneOrSameClass(t *testing.T) {
	e, clk, lanes := testEngine(t, 2)
	rank := map[string]int{"photos": 0, "archives": 1}
	e.cfg.Less = func(a, b *File) bool { // by class, then smaller first
		return rank[a.Class] < rank[b.Class] || rank[a.Class] == rank[b.Class] && a.Size < b.Size
	}
	e.Add([]File{{URL: "http://h/a.zip", Path: "a.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/q.jpg", Path: "q.jpg", Size: 150, Class: "photos"}})
	q := pickFor(t, e, lanes[0])
	a := pickFor(t, e, lanes[1])
	if q.f.Path != "q.jpg" || a.f.Path != "a.zip" {
		t.Fatalf("picked %s and %s", q.f.Path, a.f.Path)
	}
	qc, ac := cancelRecorder(e, q), cancelRecorder(e, a)
	t0 := clk.now
	steady(e, 1, t0, 1000)
	clk.now = t0.Add(5 * time.Second)
	advance(e, a, 100) // 900 bytes left at 1000 B/s: under a second
	// p.jpg comes before q.jpg, whose request is under way, but is of
	// the same class.
	e.Add([]File{{URL: "http://h/p.jpg", Path: "p.jpg", Size: 100, Class: "photos"}})
	e.mu.Lock()
	n := e.preempt() + e.preempt()
	e.mu.Unlock()
	if n != 0 || *qc != nil || *ac != nil {
		t.Fatalf("stopped %d (photo %v, archive %v)", n, *qc, *ac)
	}
}

// A circuit that carries a request of a class above the waiting one would
// not start the waiting work (pick keeps it off lower classes), so its
// lower-class request is not the one stopped, even on the faster circuit.
func TestNoYieldOnACircuitCarryingAHigherClass(t *testing.T) {
	e, clk, lanes := testEngine(t, 2)
	classOrder(e, "photos", "documents", "archives")
	e.Add([]File{{URL: "http://h/a.zip", Path: "a.zip", Size: 1000, Class: "archives"},
		{URL: "http://h/b.zip", Path: "b.zip", Size: 1000, Class: "archives"}})
	a := pickFor(t, e, lanes[0])
	b := pickFor(t, e, lanes[1])
	e.Add([]File{{URL: "http://h/q.jpg", Path: "q.jpg", Size: 150, Class: "photos"}})
	q := pickFor(t, e, &lane{c: lanes[0].c})
	if a.f.Path != "a.zip" || b.f.Path != "b.zip" || q == nil || q.f.Path != "q.jpg" {
		t.Fatalf("picked %s, %s and %v", a.f.Path, b.f.Path, q)
	}
	ac, bc := cancelRecorder(e, a), cancelRecorder(e, b)
	cancelRecorder(e, q)
	t0 := clk.now
	steady(e, 0, t0, 50)
	steady(e, 1, t0, 20)
	clk.now = t0.Add(5 * time.Second)
	e.Add([]File{{URL: "http://h/d.pdf", Path: "d.pdf", Size: 150, Class: "documents"}})
	e.mu.Lock()
	n := e.preempt() + e.preempt()
	e.mu.Unlock()
	if n != 1 || *ac != nil || !errors.Is(*bc, errYield) {
		t.Fatalf("stopped %d: a.zip on the circuit with the photo %v, b.zip %v; want b.zip's", n, *ac, *bc)
	}
}
