package fetch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch/circuit"
)

// Renewer is a Conn that can take a fresh identity: through Tor, a new
// circuit. The engine renews a circuit after a stall, after connection
// failures, and when the circuit stays far slower than its peers.
type Renewer interface {
	Renew()
}

// Warmer is a Conn that can open its circuit ahead of the first request.
type Warmer interface {
	Warm(ctx context.Context, url string) error
}

// warm opens every circuit at once when the job starts, towards the host
// of the first pending item: builds that would each delay a first request
// by seconds overlap instead.
func (e *Engine) warm(ctx context.Context) (wait func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wait = func() { cancel(); wg.Wait() }
	e.mu.Lock()
	var url string
	if f := e.first(); f != nil {
		url = f.URL
	}
	circs := e.circs
	e.mu.Unlock()
	if url == "" {
		return wait
	}
	for _, c := range circs {
		if w, ok := c.conn.(Warmer); ok {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.Warm(ctx, url); err != nil && ctx.Err() == nil {
					e.log.Debug("warming a circuit", "circuit", c.id, "err", err)
				}
			}()
		}
	}
	return wait
}

// circ is one circuit: a Conn shared by Config.Streams lanes.
type circ struct {
	id       int
	conn     Conn
	bytes    int64 // body bytes received, under e.mu
	active   int   // requests in flight, under e.mu
	batches  int   // of them, batches (batch.go), under e.mu
	touched  bool  // had a request in flight since the last observation
	renewals int
	ttfb     time.Duration // smoothed time from a request to its first byte, 0 until seen; under e.mu
	// unproven: renewed, and nothing has answered through the new
	// circuit yet (its build may still be under way); under e.mu
	unproven bool
}

// firstByte takes in how long a request waited for its first byte.
func (c *circ) firstByte(d time.Duration) {
	if c.ttfb == 0 {
		c.ttfb = d
		return
	}
	c.ttfb = (3*c.ttfb + d) / 4
}

// roomFor reports whether circuit c should start one more request for the
// small file f, with freeing of its requests about to end. A circuit with
// maxBatches batches under way has none, where requests start cheaply
// (HTTP): their requests in flight keep its round trips overlapped
// already. (Where each batch is a session costing round trips, rsync, the
// lanes' batches overlap those starts: the rsync bench measured with all
// four, and one run with two fetched more twice at a kill, 2.5%.) Several
// requests in flight on one circuit pay off only while the circuit would
// otherwise wait on round trips: beyond 1 + round trip × rate / size of
// them they only share its bandwidth, and on a slow circuit they hold
// files that a faster one could bring sooner. So a circuit slower than
// the median is held to that many; the others, whose measured rate may
// be only their share of a busy link, are not. Until the circuit's rate
// and first-byte time are known, it has room. median is medianRate(),
// which callers looking at many files compute once. e.mu is held.
func (e *Engine) roomFor(c *circ, f *fileState, freeing int, median float64) bool {
	if c.batches >= maxBatches && bulkLanes(c.conn) == 1 {
		return false
	}
	size := f.Size
	if size < 0 {
		size = f.Estimate
	}
	active := c.active - freeing
	r, _ := e.scorer.Rate(c.id)
	if active <= 0 || size <= 0 || r <= 0 || c.ttfb == 0 || r >= median {
		return true
	}
	return float64(active)+0.5 < 1+c.ttfb.Seconds()*r/float64(size) // rounded
}

// lane is one request at a time on a circuit. Lane 0 of a circuit takes
// any work (lanes 0 and 1 where requests are costly: bulkLanes); the
// others take only what is bound by round trips rather than bandwidth:
// listings, first requests, small files. A circuit's bandwidth is the
// same however many streams share it, so a big file gains nothing from
// more of them, while a folder of small photos gains a multiple.
type lane struct {
	c    *circ
	bulk bool
}

// CostlyStarter is a Conn whose every request costs round trips of its
// own before any data: an rsync session's connect, handshake and file
// list, about 2 s through Tor, where an HTTP request on a kept-alive
// connection costs one.
type CostlyStarter interface {
	CostlyStart() bool
}

// bulkLanes is how many lanes of a circuit take any work: one, or two
// where requests start at a cost (CostlyStarter), so that the start of
// one range overlaps the other's data instead of leaving the circuit
// idle.
func bulkLanes(c Conn) int {
	if cs, ok := c.(CostlyStarter); ok && cs.CostlyStart() {
		return 2
	}
	return 1
}

// smallOK reports whether a non-bulk lane may take f. e.mu is held.
func (e *Engine) smallOK(f *fileState) bool {
	switch {
	case f.Kind == KindListing:
		return true
	case f.Size < 0:
		return len(f.tasks) == 0 // the first request only
	}
	return f.Size <= e.firstChunk()
}

// freshSmall is smallOK for an item no request has touched yet, which
// stays true or false until one does.
func (e *Engine) freshSmall(f *fileState) bool {
	return f.Kind == KindListing || f.Size < 0 || f.Size <= e.firstChunk()
}

// medianRate is the median measured rate of the circuits, 0 if unknown.
// e.mu is held.
func (e *Engine) medianRate() float64 {
	var rs []float64
	for _, c := range e.circs {
		if r, _ := e.scorer.Rate(c.id); r > 0 {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

// ErrStalled reports a request that moved no byte for StallTimeout.
var ErrStalled = errors.New("stalled: no data")

// renew gives circuit c a new identity, if its Conn can take one and the
// renewal budget allows. It reports whether it did.
func (e *Engine) renew(c *circ, why string) bool {
	r, ok := c.conn.(Renewer)
	if !ok {
		return false
	}
	e.mu.Lock()
	if !e.mayRenew(c, e.cfg.Now()) {
		e.stats.denied++
		e.mu.Unlock()
		e.log.Debug("circuit not replaced: renewal budget spent", "circuit", c.id, "why", why)
		return false
	}
	c.renewals++
	c.unproven = true
	e.stats.renewals++
	e.scorer.Reset(c.id)
	e.mu.Unlock()
	r.Renew()
	e.log.Debug("new circuit", "circuit", c.id, "why", why)
	return true
}

// renewBudget is a token bucket for circuit replacement: RenewBurst
// tokens, one more every RenewEvery.
type renewBudget struct {
	tokens float64
	at     time.Time // of the last refill; zero before the first renewal
}

// mayRenew takes a token for renewing c, if there is one and fewer than
// RenewBurst renewed circuits are unproven: through Tor each is a circuit
// being built, and more than tor's MaxClientCircuitsPending (32) only
// queue. A circuit renewed again before it answered does not count twice.
// e.mu is held.
func (e *Engine) mayRenew(c *circ, now time.Time) bool {
	b := &e.renewals
	burst := float64(e.cfg.RenewBurst)
	if b.at.IsZero() {
		b.tokens, b.at = burst, now
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(burst, b.tokens+float64(d)/float64(e.cfg.RenewEvery))
		b.at = now
	}
	unproven := 0
	for _, o := range e.circs {
		if o.unproven && o != c {
			unproven++
		}
	}
	if b.tokens < 1 || unproven >= e.cfg.RenewBurst {
		return false
	}
	b.tokens--
	return true
}

// proven records that something answered through circuit c, and that
// something answered in this run at all.
func (e *Engine) proven(c *circ) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.unproven = false
	e.answered = true
}

// cut cancels the requests under way on circuit c, so that its lanes start
// again on its new identity; what they fetched stays (as partial blocks).
func (e *Engine) cut(c *circ) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.q.started(nil) {
		for t := range f.tasks {
			if t.lane != nil && t.lane.c == c && t.cancel != nil {
				t.cancel(errCut)
			}
		}
	}
}

// supervise scores the circuits once a second and renews the slow ones.
func (e *Engine) supervise(ctx context.Context) {
	every(ctx, time.Second, func() {
		now := e.cfg.Now()
		e.mu.Lock()
		for _, c := range e.circs {
			e.scorer.Observe(c.id, now, c.bytes, c.touched || c.active > 0)
			c.touched = c.active > 0
		}
		var slow []*circ
		for _, i := range e.scorer.Slow() {
			slow = append(slow, e.circs[i])
		}
		e.mu.Unlock()
		for _, c := range slow {
			if e.renew(c, "slower than a quarter of the median circuit") {
				e.cut(c)
			}
		}
	})
}

// chunkFor is the size of the next range for a lane of circuit c: what the
// circuit moves per stream in TargetRequest, within [BlockSize, ChunkSize].
// e.mu is held.
func (e *Engine) chunkFor(c *circ) int64 {
	if c == nil {
		return e.firstChunk()
	}
	r, _ := e.scorer.Rate(c.id)
	if r <= 0 {
		return e.firstChunk()
	}
	per := r / float64(max(c.active, 1))
	n := int64(per * e.cfg.TargetRequest.Seconds())
	n = (n + e.cfg.BlockSize - 1) / e.cfg.BlockSize * e.cfg.BlockSize
	return min(max(n, e.cfg.BlockSize), e.cfg.ChunkSize)
}

// firstChunk is the range asked before a circuit's rate is known.
func (e *Engine) firstChunk() int64 { return min(e.cfg.FirstChunk, e.cfg.ChunkSize) }

func newScorer(n int) *circuit.Scorer { return circuit.NewScorer(n) }
