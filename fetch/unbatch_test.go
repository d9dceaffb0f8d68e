package fetch

import (
	"context"
	"fmt"
	"testing"
	"time"
)

type nopBatcher struct{ nopConn }

func (nopBatcher) GetBatch(context.Context, []Request, func(int, *Stream, error) error) error {
	return context.Canceled
}

// A batch on a slow circuit: an idle lane of a fast one takes its last
// waiting files, one at a time, while the batch would need more than 2 s
// (and four times the fast lane's time) for what it has left; the file
// whose turn it is stays.
func TestUnbatchTakesFromASlowBatch(t *testing.T) {
	e, c, lanes := testEngine(t, 2)
	for _, l := range lanes {
		l.c.conn = nopBatcher{}
	}
	var files []File
	for i := range 6 {
		files = append(files, File{URL: fmt.Sprintf("rsync://h/m/%d", i), Path: fmt.Sprint(i), Size: 150})
	}
	e.Add(files)
	t0 := c.now
	steady(e, 0, t0, 250) // 4 s at 250 B/s, the bound of 1000: all six files
	steady(e, 1, t0, 100_000)
	c.now = t0.Add(6 * time.Second)
	lead := pickFor(t, e, lanes[0])
	e.mu.Lock()
	if !e.batchable(lanes[0], lead) {
		t.Fatal("a whole small file on a Batcher is not batchable")
	}
	e.extend(lanes[0], lead)
	b := lead.batch
	e.mu.Unlock()
	if b == nil || len(b.tasks) != 6 {
		t.Fatalf("batch %v, want the six files", b)
	}
	var took []string
	for {
		tk := pickFor(t, e, lanes[1])
		if tk == nil || tk.f == lead.f {
			break // (the lead, under way, may be split as any request)
		}
		if tk.batch != nil || tk.start != 0 || tk.end != 150 {
			t.Fatalf("took %v of %s, want a whole file of its own", rng(tk), tk.f.Path)
		}
		took = append(took, tk.f.Path)
	}
	// 900 bytes at 250 B/s: 3.6 s; 3.0 s; 2.4 s; then 1.8 s stays.
	if fmt.Sprint(took) != "[5 4 3]" {
		t.Errorf("the fast lane took %v, want [5 4 3]", took)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, tk := range b.tasks {
		if want := i >= 3; tk.dropped != want {
			t.Errorf("file %d dropped: %v", i, tk.dropped)
		}
	}
	if b.tasks[0].waiting() || !b.tasks[1].waiting() {
		t.Error("the lead waits, or the next does not")
	}
}
