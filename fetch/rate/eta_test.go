package rate

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// Before the first byte time does not count; the rate is known 3 s after
// the last idle sample, over half the time since.
func TestEstimatorStartsAtFirstByte(t *testing.T) {
	var e Estimator
	if _, ok := e.ETA(Work{Bytes: 100}); ok {
		t.Fatal("ETA known before any sample")
	}
	for s := 0; s <= 30; s++ { // 30 s of crawling and circuit builds
		e.Observe(at(float64(s)), 0)
	}
	e.Observe(at(31), 1000)
	if _, ok := e.Rate(); ok {
		t.Fatal("rate known 1 s after the first byte")
	}
	e.Observe(at(32), 2000)
	e.Observe(at(33), 3000)
	if r, ok := e.Rate(); !ok || r != 1000 {
		t.Fatalf("rate %v %v 3 s after the start, want 1000 (the idle start left out)", r, ok)
	}
	if d, ok := e.ETA(Work{Bytes: 10_000}); !ok || d != 10*time.Second {
		t.Fatalf("ETA %v %v, want 10s", d, ok)
	}
	if d, ok := e.ETA(Work{}); !ok || d != 0 {
		t.Fatalf("nothing left: %v %v", d, ok)
	}
}

// Bursts average out over the window: a circuit that delivers 1000 bytes
// every 10 s keeps a rate near 100 B/s instead of swinging between zero
// and 1000 B/s.
func TestEstimatorSmoothsBursts(t *testing.T) {
	e := Estimator{Window: time.Minute}
	var n int64
	for s := 0; s <= 600; s++ {
		if s%10 == 0 {
			n += 1000
		}
		e.Observe(at(float64(s)), n)
		if s < 120 {
			continue
		}
		if r, _ := e.Rate(); r < 90 || r > 120 {
			t.Fatalf("at %ds the rate is %.0f B/s, want about 100", s, r)
		}
	}
}

// The rate follows a link that slows down within a window.
func TestEstimatorFollowsSlowdown(t *testing.T) {
	e := Estimator{Window: 10 * time.Second}
	var n int64
	for s := 0; s <= 100; s++ {
		e.Observe(at(float64(s)), n)
		n += 1000
	}
	for s := 101; s <= 120; s++ {
		e.Observe(at(float64(s)), n)
		n += 100
	}
	if r, _ := e.Rate(); r != 100 {
		t.Fatalf("rate %.2f after slowing, want 100", r)
	}
}

// Small files are bound by their round trips: 640 files with a 2 s round
// trip over 64 lanes take 20 s even though their bytes would take 1 s.
func TestEstimatorRoundTrips(t *testing.T) {
	var e Estimator
	for s := 0; s <= 10; s++ {
		e.Observe(at(float64(s)), int64(s)*100_000)
	}
	e.SetRoundTrip(2*time.Second, 64)
	if d, _ := e.ETA(Work{Bytes: 100_000, Files: 640}); d != 20*time.Second {
		t.Fatalf("small files: %v, want 20s", d)
	}
	if d, _ := e.ETA(Work{Bytes: 10_000_000, Files: 2}); d != 100*time.Second {
		t.Fatalf("big files: %v, want 100s", d)
	}
}

// Classes are fetched in priority order: each class's ETA adds those of
// the classes before it.
func TestEstimatorETAsInOrder(t *testing.T) {
	var e Estimator
	for s := 0; s <= 10; s++ {
		e.Observe(at(float64(s)), int64(s)*1000)
	}
	e.SetRoundTrip(time.Second, 1)
	etas, ok := e.ETAs([]Work{{Bytes: 5000, Files: 10}, {Bytes: 60_000, Files: 1}, {}})
	want := []time.Duration{10 * time.Second, 70 * time.Second, 70 * time.Second}
	for i := range want {
		if !ok[i] || etas[i] != want[i] {
			t.Fatalf("class %d: %v %v, want %v", i, etas[i], ok[i], want[i])
		}
	}
}
