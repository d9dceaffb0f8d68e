package rate

import (
	"testing"
	"time"
)

func TestEstimatorUnknownAtFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var e Estimator
	if _, ok := e.ETA(Work{Bytes: 100}); ok {
		t.Fatal("ETA known before any sample")
	}
	e.Observe(t0, 0, 0)
	e.Observe(t0.Add(4*time.Second), 400, 1)
	if _, ok := e.ETA(Work{Bytes: 100}); ok {
		t.Fatal("ETA known after 4s")
	}
	e.Observe(t0.Add(5*time.Second), 500, 1)
	bps, fps, ok := e.Rates()
	if !ok || bps != 100 || fps != 0.2 {
		t.Fatalf("rates %v %v %v, want 100 0.2 true", bps, fps, ok)
	}
	if d, ok := e.ETA(Work{Bytes: 1000}); !ok || d != 10*time.Second {
		t.Fatalf("ETA %v %v, want 10s", d, ok)
	}
	if d, ok := e.ETA(Work{}); !ok || d != 0 {
		t.Fatalf("nothing left: %v %v", d, ok)
	}
}

// Bursts average out: a circuit that delivers 1000 bytes every 10 s keeps
// an ETA near 100 B/s instead of swinging between zero and 1000 B/s.
func TestEstimatorSmoothsBursts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := Estimator{Tau: time.Minute}
	var n int64
	for s := 0; s <= 600; s++ {
		if s > 0 && s%10 == 0 {
			n += 1000
		}
		e.Observe(t0.Add(time.Duration(s)*time.Second), n, 0)
		if s < 180 { // three time constants
			continue
		}
		if bps, _, _ := e.Rates(); bps < 85 || bps > 115 {
			t.Fatalf("at %ds the rate is %.0f B/s, want about 100", s, bps)
		}
	}
}

// The rate follows a link that slows down, within a few time constants.
func TestEstimatorFollowsSlowdown(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := Estimator{Tau: 10 * time.Second}
	var n int64
	for s := 0; s <= 100; s++ {
		e.Observe(t0.Add(time.Duration(s)*time.Second), n, 0)
		n += 1000
	}
	for s := 101; s <= 200; s++ {
		e.Observe(t0.Add(time.Duration(s)*time.Second), n, 0)
		n += 100
	}
	if bps, _, _ := e.Rates(); bps < 99 || bps > 101 {
		t.Fatalf("rate %.2f after slowing, want 100", bps)
	}
}

// Small files are bound by their round trips: 50 files of 1 kB at 2 files
// a second take 25 s even though their bytes would take 0.5 s.
func TestEstimatorFilesBound(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var e Estimator
	for s := 0; s <= 10; s++ {
		e.Observe(t0.Add(time.Duration(s)*time.Second), int64(s)*100_000, 2*s)
	}
	if d, _ := e.ETA(Work{Bytes: 50_000, Files: 50}); d != 25*time.Second {
		t.Fatalf("small files: %v, want 25s", d)
	}
	if d, _ := e.ETA(Work{Bytes: 10_000_000, Files: 2}); d != 100*time.Second {
		t.Fatalf("big files: %v, want 100s", d)
	}
}

// Classes are fetched in priority order: each class's ETA adds those of
// the classes before it.
func TestEstimatorETAsInOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var e Estimator
	for s := 0; s <= 10; s++ {
		e.Observe(t0.Add(time.Duration(s)*time.Second), int64(s)*1000, s)
	}
	etas, ok := e.ETAs([]Work{{Bytes: 5000, Files: 10}, {Bytes: 60_000, Files: 1}, {}})
	want := []time.Duration{10 * time.Second, 70 * time.Second, 70 * time.Second}
	for i := range want {
		if !ok[i] || etas[i] != want[i] {
			t.Fatalf("class %d: %v %v, want %v", i, etas[i], ok[i], want[i])
		}
	}
}
