package rate

import (
	"math"
	"time"
)

// Estimator turns a job's byte counter into a rate and the work left into
// ETAs. The rate is the mean over a window that grows with the run: half
// the time since the first byte, at least MinWindow, at most Window. Time
// before the first byte (circuit builds, the first listings) does not
// count, so a fresh job's rate is not dragged down by its start; a long
// job's rate is over Window, which averages out Tor's bursts and stalls
// and follows a link that slows down within it.
//
// Small files are bound by round trips rather than bytes: with a round
// trip per file spread over the lanes in flight, a folder of n files
// takes at least n × round trip / lanes. The ETA of a piece of work is the
// longer of that and its bytes at the rate.
type Estimator struct {
	Window    time.Duration // longest window: 60s if zero
	MinWindow time.Duration // shortest window: 1s if zero
	MinSpan   time.Duration // time since the first byte before a rate is known: 3s if zero

	samples []sample // from the last one before the first byte on
	moving  bool     // a byte has arrived
	since   time.Time
	perFile time.Duration // round trip / lanes
}

// Work is what is left of a job or a class: bytes (with estimates from
// listings where the size is not known yet) and files.
type Work struct {
	Bytes int64
	Files int
}

// Observe records the job's byte counter (bytes received) at now. Samples
// must come in time order.
func (e *Estimator) Observe(now time.Time, bytes int64) {
	if n := len(e.samples); n > 0 {
		last := e.samples[n-1]
		if !now.After(last.at) {
			return
		}
		if !e.moving {
			if bytes == last.n {
				e.samples[0] = sample{now, bytes} // still nothing: keep one sample
				return
			}
			e.moving, e.since = true, last.at
		}
	}
	e.samples = append(e.samples, sample{now, bytes})
	// Keep one sample at or before the longest window's start.
	w := e.window()
	i := 0
	for i < len(e.samples)-2 && now.Sub(e.samples[i+1].at) >= w {
		i++
	}
	e.samples = e.samples[i:]
}

// SetRoundTrip sets the time a request waits for its first byte and how
// many requests run at once, for the round trips of the files left.
func (e *Estimator) SetRoundTrip(rtt time.Duration, lanes int) {
	e.perFile = 0
	if rtt > 0 && lanes > 0 {
		e.perFile = rtt / time.Duration(lanes)
	}
}

func (e *Estimator) window() time.Duration {
	if e.Window <= 0 {
		return time.Minute
	}
	return e.Window
}

// Rate is bytes per second over the window, and whether it is known yet.
func (e *Estimator) Rate() (float64, bool) {
	if !e.moving || len(e.samples) < 2 {
		return 0, false
	}
	last := e.samples[len(e.samples)-1]
	span := last.at.Sub(e.since)
	minSpan, minWin := e.MinSpan, e.MinWindow
	if minSpan <= 0 {
		minSpan = 3 * time.Second
	}
	if minWin <= 0 {
		minWin = time.Second
	}
	if span < minSpan {
		return 0, false
	}
	w := min(e.window(), max(minWin, span/2))
	// The window starts at the latest sample at or before last-w.
	first := e.samples[0]
	for _, s := range e.samples {
		if last.at.Sub(s.at) < w {
			break
		}
		first = s
	}
	return float64(last.n-first.n) / last.at.Sub(first.at).Seconds(), true
}

// ETA is how long w takes; ok is false while the rate is unknown, or when
// w has bytes and nothing arrives.
func (e *Estimator) ETA(w Work) (time.Duration, bool) {
	r, ok := e.Rate()
	if !ok {
		return 0, false
	}
	return e.eta(w, r)
}

func (e *Estimator) eta(w Work, r float64) (time.Duration, bool) {
	var sec float64
	if w.Bytes > 0 {
		if r <= 0 {
			return 0, false
		}
		sec = float64(w.Bytes) / r
	}
	if w.Files > 0 {
		sec = max(sec, float64(w.Files)*e.perFile.Seconds())
	}
	if sec > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(sec * float64(time.Second)), true
}

// ETAs gives the ETA of each piece of work when they are done one after
// the other, in order (classes in priority order): each one's is the time
// of its own work and of every piece before it. ok[i] is false while that
// one is unknown.
func (e *Estimator) ETAs(ws []Work) (etas []time.Duration, ok []bool) {
	etas, ok = make([]time.Duration, len(ws)), make([]bool, len(ws))
	r, known := e.Rate()
	var sum time.Duration
	for i, w := range ws {
		var d time.Duration
		if known {
			var k bool
			d, k = e.eta(w, r)
			known = known && k
		}
		sum += d
		etas[i], ok[i] = sum, known
	}
	return etas, ok
}
