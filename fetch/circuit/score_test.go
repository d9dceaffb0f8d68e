package circuit

import (
	"reflect"
	"testing"
	"time"
)

func TestSlowCircuitsAreNamed(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := NewScorer(5)
	speeds := []int64{200e3, 180e3, 220e3, 30e3, 0} // circuit 4 is idle
	for sec := 0; sec <= 40; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		for i, v := range speeds {
			s.Observe(i, now, v*int64(sec), v > 0)
		}
		if sec == 5 {
			if got := s.Slow(); got != nil {
				t.Fatalf("judged after 5s of a 6s MinAge: %v", got)
			}
		}
	}
	if got := s.Slow(); !reflect.DeepEqual(got, []int{3}) {
		t.Fatalf("Slow() = %v, want [3]", got)
	}
	if r, ok := s.Rate(4); ok || r != 0 {
		t.Fatalf("idle circuit judged: %v %v", r, ok)
	}
	if r, _ := s.Rate(0); r != 200e3 {
		t.Fatalf("rate of circuit 0 = %v", r)
	}
	s.Reset(3)
	if got := s.Slow(); got != nil {
		t.Fatalf("after Reset: %v", got)
	}
}

// Idle periods do not count as busy time, so a circuit that waits for work
// is judged by what it moved while it had work.
func TestIdleTimeIsNotJudged(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := NewScorer(1)
	var bytes int64
	for sec := 0; sec <= 60; sec++ {
		busy := sec%2 == 0 // busy every other second
		if busy && sec > 0 {
			bytes += 100e3
		}
		s.Observe(0, t0.Add(time.Duration(sec)*time.Second), bytes, busy)
	}
	if r, ok := s.Rate(0); !ok || r < 90e3 {
		t.Fatalf("rate %v %v, want about 100e3 per busy second", r, ok)
	}
}
