package circuit

import (
	"slices"
	"time"
)

// Scorer tracks circuits by index.
type Scorer struct {
	Window time.Duration // rate window: 15s if zero
	MinAge time.Duration // busy time before a circuit is judged: 6s if zero
	Ratio  float64       // replace below Ratio × median: 0.25 if zero
	cs     []state
}

type state struct {
	samples []sample // busy-time samples within the window
	busy    time.Duration
	last    time.Time
	bytes   int64
}

type sample struct {
	busy  time.Duration // cumulative busy time at this sample
	bytes int64         // cumulative bytes
}

// NewScorer tracks n circuits.
func NewScorer(n int) *Scorer { return &Scorer{cs: make([]state, n)} }

func (s *Scorer) window() time.Duration { return or(s.Window, 15*time.Second) }
func (s *Scorer) minAge() time.Duration { return or(s.MinAge, 6*time.Second) }
func (s *Scorer) ratio() float64 {
	if s.Ratio <= 0 {
		return 0.25
	}
	return s.Ratio
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Observe records circuit i's cumulative byte count at now, and whether it
// had at least one request in flight since the previous observation.
func (s *Scorer) Observe(i int, now time.Time, bytes int64, busy bool) {
	c := &s.cs[i]
	if !c.last.IsZero() && busy {
		c.busy += now.Sub(c.last)
	}
	c.last, c.bytes = now, bytes
	c.samples = append(c.samples, sample{c.busy, bytes})
	w := s.window()
	k := 0
	for k < len(c.samples)-2 && c.busy-c.samples[k+1].busy >= w {
		k++
	}
	c.samples = c.samples[k:]
}

// Rate is circuit i's bytes per second of busy time over the window, and
// whether it has been busy long enough (MinAge) to be judged.
func (s *Scorer) Rate(i int) (float64, bool) {
	c := &s.cs[i]
	if len(c.samples) < 2 {
		return 0, false
	}
	first, last := c.samples[0], c.samples[len(c.samples)-1]
	span := last.busy - first.busy
	if span <= 0 {
		return 0, false
	}
	return float64(last.bytes-first.bytes) / span.Seconds(), c.busy >= s.minAge()
}

// Slow lists the circuits to replace now: judged ones whose rate is below
// Ratio × the median of all judged circuits. At least three circuits must
// be judged for a median to mean anything.
func (s *Scorer) Slow() []int {
	var rates []float64
	for i := range s.cs {
		if r, ok := s.Rate(i); ok {
			rates = append(rates, r)
		}
	}
	if len(rates) < 3 {
		return nil
	}
	slices.Sort(rates)
	median := rates[len(rates)/2]
	if len(rates)%2 == 0 {
		median = (rates[len(rates)/2-1] + median) / 2
	}
	var out []int
	for i := range s.cs {
		if r, ok := s.Rate(i); ok && r < s.ratio()*median {
			out = append(out, i)
		}
	}
	return out
}

// Reset forgets circuit i's history: it has a new circuit.
func (s *Scorer) Reset(i int) { s.cs[i] = state{} }
