package fetch

import (
	"testing"
	"time"
)

// Status counts files, not listings, and says "waiting for source" only
// while no request runs (a regression: the wait used to be cleared after
// the snapshot was copied, and Files was counted twice then zeroed).
func TestStatusWaitingAndFiles(t *testing.T) {
	e, c, lanes := testEngine(t, 1)
	e.Add([]File{
		{URL: "http://h/a", Size: 1000, Estimate: -1, Path: "a"},
		{URL: "http://h/b", Size: 1000, Estimate: -1, Path: "b"},
		{URL: "http://h/d/", Kind: KindListing, Size: -1, Estimate: -1},
	})
	e.mu.Lock()
	e.hosts["h"] = &hostState{fails: 3, notBefore: c.now.Add(time.Minute), lastErr: "proxy unreachable"}
	e.mu.Unlock()
	s := e.Status()
	if s.Files != 2 || s.Listings != 1 {
		t.Fatalf("%d files and %d listings, want 2 and 1", s.Files, s.Listings)
	}
	if !s.WaitingUntil.Equal(c.now.Add(time.Minute)) || s.WaitingWhy != "proxy unreachable" {
		t.Fatalf("no request runs: waiting until %v because %q", s.WaitingUntil, s.WaitingWhy)
	}
	e.mu.Lock()
	delete(e.hosts, "h")
	e.mu.Unlock()
	if tk := pickFor(t, e, lanes[0]); tk == nil {
		t.Fatal("no task")
	}
	e.mu.Lock()
	e.hosts["h"] = &hostState{fails: 3, notBefore: c.now.Add(time.Minute), lastErr: "proxy unreachable"}
	e.mu.Unlock()
	s = e.Status()
	if s.Requests == 0 {
		t.Fatal("the picked task is not counted as a request")
	}
	if !s.WaitingUntil.IsZero() || s.WaitingWhy != "" {
		t.Fatalf("a request runs, yet waiting until %v because %q", s.WaitingUntil, s.WaitingWhy)
	}
}
