package bench

import (
	"math"
	"testing"
	"time"
)

// score: samples before 20% of the run are left out, unknown ETAs count
// only in known, errors are shares of the run.
func TestETAScore(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	s := []etaSample{
		{at: 1 * time.Second, eta: f(100)},  // before 20%: ignored
		{at: 2 * time.Second, eta: f(8)},    // says 10: exact
		{at: 5 * time.Second, eta: nil},     // unknown
		{at: 6 * time.Second, eta: f(6)},    // says 12: 2 s late = 20%
		{at: 11 * time.Second, eta: f(100)}, // after the end: ignored
	}
	e := score(s, func(s etaSample) *float64 { return s.eta }, 10*time.Second, 10*time.Second)
	if math.Abs(e.mean-0.1) > 1e-9 || math.Abs(e.max-0.2) > 1e-9 || math.Abs(e.known-2.0/3) > 1e-9 {
		t.Fatalf("%+v", e)
	}
}
