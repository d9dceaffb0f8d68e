package fetch

import (
	"fmt"
	"testing"
	"time"
)

type nopProbeBatcher struct{ nopBatcher }

func (nopProbeBatcher) BatchesProbes() bool { return true }

// Files of unknown size that the user named are guessed into while their
// probe is a request of its own (a big file's start), not once their
// probes went into a batch of small files: there a guess costs an idle
// lane a round trip and brings a 416.
func TestNoGuessesIntoBatchedProbes(t *testing.T) {
	e, c, lanes := testEngine(t, 3)
	e.cfg.FirstChunk, e.cfg.ChunkSize = 1<<20, 1<<20 // room for the probes (probeGuess each)
	for _, l := range lanes {
		l.c.conn = nopProbeBatcher{}
	}
	var files []File
	for i := range 4 {
		files = append(files, File{URL: fmt.Sprintf("http://h/%d.jpg", i), Path: fmt.Sprint(i), Size: -1})
	}
	e.Add(files)
	lead := pickFor(t, e, lanes[0])
	e.mu.Lock()
	if !e.batchable(lanes[0], lead) {
		t.Fatal("a probe on a ProbeBatcher is not batchable")
	}
	e.extend(lanes[0], lead)
	b := lead.batch
	e.mu.Unlock()
	if b == nil || len(b.tasks) != 4 {
		t.Fatalf("batch %v, want the four probes", b)
	}
	if tk := pickFor(t, e, lanes[1]); tk != nil {
		t.Fatalf("an idle lane took %v of %s, want nothing: every file waits in a batch", rng(tk), tk.f.Path)
	}

	// An idle lane on a fast circuit takes the last probe out of the
	// batch of a slow one: it asks for a first range, as the batch did,
	// and its file is still not guessed into.
	t0 := c.now
	steady(e, 0, t0, 100)
	steady(e, 1, t0, 100_000)
	steady(e, 2, t0, 100_000)
	c.now = t0.Add(6 * time.Second)
	tk := pickFor(t, e, lanes[1])
	if tk == nil || tk.f != b.tasks[3].f || !tk.probe || rng(tk) != [3]int64{0, 0, e.firstChunk()} || tk.batch != nil {
		t.Fatalf("the fast lane took %v, want the batch's last probe, [0, %d) alone", tk, e.firstChunk())
	}
	for {
		g := pickFor(t, e, lanes[2])
		if g == nil {
			break
		}
		if g.start > 0 {
			t.Fatalf("a guess at %v of %s", rng(g), g.f.Path)
		}
	}
}

// A file the user named, whose probe goes alone, is guessed into by idle
// lanes from the end of its first range on.
func TestGuessesIntoALoneProbe(t *testing.T) {
	e, _, lanes := testEngine(t, 2)
	e.cfg.FirstChunk, e.cfg.ChunkSize = 1<<20, 1<<20
	for _, l := range lanes {
		l.c.conn = nopProbeBatcher{}
	}
	e.Add([]File{{URL: "http://h/big.iso", Path: "big.iso", Size: -1}})
	lead := pickFor(t, e, lanes[0])
	e.mu.Lock()
	e.extend(lanes[0], lead) // nothing joins: no batch
	e.mu.Unlock()
	if lead.batch != nil {
		t.Fatal("a batch of one")
	}
	g := pickFor(t, e, lanes[1])
	if g == nil || g.f != lead.f || g.start != e.firstChunk() {
		t.Fatalf("the idle lane took %v, want a guess from %d", g, e.firstChunk())
	}
}
