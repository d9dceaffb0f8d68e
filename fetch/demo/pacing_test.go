package demo

import (
	"testing"
	"time"
)

func TestBucketLends(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(1000, 100, t0) // 1000 B/s, starts full with 100
	steps := []struct {
		at   time.Duration
		n    int
		want time.Duration
	}{
		{0, 100, 0},                      // the burst
		{0, 500, 500 * time.Millisecond}, // 500 in debt
		{0, 250, 750 * time.Millisecond}, // queued behind it
		{750 * time.Millisecond, 0, 0},   // debt paid exactly
		{750 * time.Millisecond, 10, 10 * time.Millisecond},
		{2 * time.Second, 1, 0},  // refilled, capped at burst
		{2 * time.Second, 99, 0}, // 100 - 1 - 99 = 0
		{2 * time.Second, 1, time.Millisecond},
	}
	for i, s := range steps {
		if got := b.reserve(s.n, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d: reserve(%d at %v) = %v, want %v", i, s.n, s.at, got, s.want)
		}
	}
}

func TestBucketUnlimitedAndRateChange(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(0, 0, t0)
	if got := b.reserve(1<<30, t0); got != 0 {
		t.Fatalf("unlimited bucket asked to wait %v", got)
	}
	b.setRate(2000, 200, t0)
	if got := b.reserve(600, t0); got != 300*time.Millisecond {
		t.Fatalf("after setRate: wait %v, want 300ms", got)
	}
	// Halving the rate keeps the debt: 600 B owed at 1000 B/s.
	b.setRate(1000, 200, t0)
	if got := b.reserve(0, t0); got != 600*time.Millisecond {
		t.Fatalf("after slowing: wait %v, want 600ms", got)
	}
}

func TestChunkFor(t *testing.T) {
	for speed, want := range map[float64]int{0: 16 << 10, 4e3: 1 << 10, 32768: 2048, 200e3: 12500, 50e6: 16 << 10} {
		if got := chunkFor(speed); got != want {
			t.Errorf("chunkFor(%v) = %d, want %d", speed, got, want)
		}
	}
}
