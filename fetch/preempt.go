package fetch

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// errYield cancels a request of a lower class so that its lane takes work
// of a higher one. Like errMoot it is nobody's fault: what the request
// fetched stays (its last block as a partial), the rest goes back to the
// pool.
var errYield = errors.New("yielded to higher-priority work")

// yieldEvery is how often preemptLoop looks for higher-class work that no
// lane has taken.
const yieldEvery = 200 * time.Millisecond

// yieldMin is how long a request must still have to run, at its circuit's
// rate, to be worth stopping: one nearly done is left to finish.
const yieldMin = 2 * time.Second

// yieldAge is how long a request runs before it may be stopped: a lane
// that yielded and found nothing it could take at once is not stopped
// again and again.
const yieldAge = time.Second

// preemptLoop runs preempt until ctx ends.
func (e *Engine) preemptLoop(ctx context.Context) {
	every(ctx, yieldEvery, func() {
		e.mu.Lock()
		e.preempt()
		e.mu.Unlock()
	})
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		f()
	}
}

// preempt frees lanes for the highest class that has work waiting. A free
// lane always takes the highest-priority work, but over Tor a range of an
// archive can hold a lane for minutes: photos the crawl finds after the
// archives started would wait for all of them. So while a class has files
// with work that no lane has taken, running requests of lower classes are
// stopped, as many as there are such files, on the fastest circuits first.
// Their lanes then pick the waiting work, since the queue puts it first.
// A stopped range loses only the bytes in flight: its partial block is
// kept. It returns how many requests it stopped. e.mu is held.
func (e *Engine) preempt() int {
	if e.cfg.CrawlOnly {
		return 0
	}
	now := e.cfg.Now()
	var top *fileState
	var before []*fileState // files ahead of top with requests under way
	waiting, big := 0, false
	seen := e.unclaimedSeen
	e.unclaimedSeen = map[*fileState]bool{}
	act := e.q.started(nil)
	for _, f := range e.preemptWalk(act, now) {
		if f.Kind != KindFile || f.State != Pending || f.finishing {
			continue
		}
		if top != nil && f.Class != top.Class {
			break
		}
		if f.notBefore.After(now) || e.hostWait(f.host, now) > 0 || !e.unclaimed(f) {
			if top == nil && len(f.tasks) > 0 {
				before = append(before, f)
			}
			continue // taken, or waiting out a backoff
		}
		e.unclaimedSeen[f] = true
		if !seen[f] {
			continue // new since the last look: a free lane may take it yet
		}
		top = f
		waiting++
		if !e.smallOK(f) {
			big = true
		}
	}
	if waiting == 0 {
		return 0
	}
	// pick keeps a circuit that carries a class above top's off top's work.
	above := slices.DeleteFunc(before, func(f *fileState) bool { return f.Class == top.Class })
	type victim struct {
		t    *task
		rate float64
	}
	var vs []victim
	median := e.medianRate()
	for _, f := range act {
		if f.Kind != KindFile || f.State != Pending || f.Class == top.Class || e.compare(top, f) > 0 {
			continue
		}
		for t := range f.tasks {
			if t.yielded {
				waiting-- // its lane is on its way to the waiting work
				continue
			}
			if t.probe || t.whole || t.twinned || t.finishOnly || t.end < 0 || t.gen != f.gen || t.lane == nil || t.cancel == nil || t.waiting() {
				continue
			}
			if big && !t.lane.bulk {
				continue // a small lane could not take the waiting work
			}
			if e.carries(t.lane.c, above) {
				continue // its circuit carries a class above the waiting one, so it would not start it
			}
			if !big && !e.roomFor(t.lane.c, top, 1, median) {
				continue // nor could this circuit
			}
			if now.Sub(t.began) < yieldAge {
				continue // it has just started, perhaps after yielding itself
			}
			if per := e.laneRate(t.lane, 0); per > 0 && float64(t.end-t.cursor)/per < yieldMin.Seconds() {
				continue
			}
			r, _ := e.scorer.Rate(t.lane.c.id)
			vs = append(vs, victim{t, r})
		}
	}
	if waiting <= 0 || len(vs) == 0 {
		return 0
	}
	slices.SortFunc(vs, func(a, b victim) int { return cmp.Compare(b.rate, a.rate) }) // fastest first
	n := min(waiting, len(vs))
	for _, v := range vs[:n] {
		v.t.yielded = true
		v.t.cancel(errYield)
	}
	e.stats.yields += n
	e.log.Debug("stopped lower-class requests for waiting work", "n", n, "class", top.Class, "waiting", top.Path)
	return n
}

// preemptWalk is the front of the pending items in fetch order that
// preempt looks at: every started one, and of each fresh set of files
// whose host is not waiting at most as many as there are lanes, twice, up
// to where the first set cut short ends. Past that many waiting files, the
// count does not change what preempt does: it stops at most one request
// per lane. e.mu is held.
func (e *Engine) preemptWalk(act []*fileState, now time.Time) []*fileState {
	limit := 2*e.cfg.Workers*e.cfg.Streams + 8
	out := slices.Clone(act)
	var end *fileState // the earliest last item of a set cut short
	for _, g := range e.q.order {
		if g.listing || g.tree.Len() == 0 || e.hostWait(g.host, now) > 0 {
			continue
		}
		n := 0
		var last *fileState
		g.tree.Ascend(func(f *fileState) bool {
			out = append(out, f)
			last = f
			n++
			return n < limit
		})
		if g.tree.Len() > n && (end == nil || e.compare(last, end) < 0) {
			end = last
		}
	}
	slices.SortFunc(out, e.compare)
	if end != nil {
		i, _ := slices.BinarySearchFunc(out, end, e.compare)
		out = out[:i+1]
	}
	return out
}

// unclaimed reports whether f has work that no request has taken: a first
// request not made yet, or a block that no running range will bring.
// e.mu is held.
func (e *Engine) unclaimed(f *fileState) bool {
	if f.Size < 0 || f.Whole {
		return len(f.tasks) == 0
	}
	return f.doneBytes < f.Size && e.freeBlock(f) >= 0
}
