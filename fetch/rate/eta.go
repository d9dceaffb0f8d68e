package rate

import (
	"math"
	"time"
)

// Estimator smooths a job's byte and file rates and turns the work left
// into an ETA. Tor circuits deliver in bursts and stall for seconds, so the
// rates are exponentially weighted moving averages over Tau; a folder of
// small files is bound by round trips, not bytes, so the ETA of a piece of
// work is the longer of its bytes at the byte rate and its files at the
// file rate.
type Estimator struct {
	Tau     time.Duration // smoothing time constant: 60s if zero
	MinSpan time.Duration // observed time before an ETA is given: 5s if zero

	started      bool
	first, last  time.Time
	bytes0       int64
	files0       int
	bytes, files int64
	bps, fps     float64
	smoothing    bool // past MinSpan: the averages are running
}

// Work is what is left of a job or a class: bytes (with estimates from
// listings where the size is not known yet) and files.
type Work struct {
	Bytes int64
	Files int
}

// Observe records the job's byte counter (bytes received) and its count of
// finished files at now. Samples must come in time order.
func (e *Estimator) Observe(now time.Time, bytes int64, files int) {
	if !e.started {
		e.started, e.first, e.last = true, now, now
		e.bytes0, e.files0, e.bytes, e.files = bytes, files, bytes, int64(files)
		return
	}
	dt := now.Sub(e.last).Seconds()
	if dt <= 0 {
		return
	}
	db, dn := float64(bytes-e.bytes), float64(int64(files)-e.files)
	e.last, e.bytes, e.files = now, bytes, int64(files)
	span := now.Sub(e.first)
	if !e.smoothing {
		// Until MinSpan the rate is the plain mean since the first sample;
		// it seeds the averages.
		s := span.Seconds()
		e.bps, e.fps = float64(bytes-e.bytes0)/s, float64(files-e.files0)/s
		e.smoothing = span >= e.minSpan()
		return
	}
	a := 1 - math.Exp(-dt/e.tau().Seconds())
	e.bps += a * (db/dt - e.bps)
	e.fps += a * (dn/dt - e.fps)
}

func (e *Estimator) tau() time.Duration {
	if e.Tau <= 0 {
		return time.Minute
	}
	return e.Tau
}

func (e *Estimator) minSpan() time.Duration {
	if e.MinSpan <= 0 {
		return 5 * time.Second
	}
	return e.MinSpan
}

// Rates are the smoothed bytes and files per second, and whether they are
// known yet.
func (e *Estimator) Rates() (bps, fps float64, ok bool) {
	return e.bps, e.fps, e.smoothing
}

// ETA is how long w takes at the smoothed rates; ok is false while they
// are unknown, or when w has bytes and nothing arrives.
func (e *Estimator) ETA(w Work) (time.Duration, bool) {
	if !e.smoothing {
		return 0, false
	}
	if w.Bytes <= 0 && w.Files <= 0 {
		return 0, true
	}
	var sec float64
	if w.Bytes > 0 {
		if e.bps <= 0 {
			return 0, false
		}
		sec = float64(w.Bytes) / e.bps
	}
	if w.Files > 0 && e.fps > 0 {
		sec = max(sec, float64(w.Files)/e.fps)
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
	var sum time.Duration
	known := true
	for i, w := range ws {
		d, k := e.ETA(w)
		known = known && k
		sum += d
		etas[i], ok[i] = sum, known
	}
	return etas, ok
}
