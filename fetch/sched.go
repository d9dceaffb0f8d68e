package fetch

import (
	"cmp"
	"context"
	"math"
	"os"
	"slices"
	"time"

	"github.com/grab-ir/grab/fetch/span"
)

// next blocks until there is a task for a worker, or returns nil when every
// file is settled, or an error when the job stops.
func (e *Engine) next(ctx context.Context, l *lane) (*task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		if e.fatal != nil {
			return nil, e.fatal
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, wait, err := e.pick(l, nil)
		if t != nil {
			t.lane, t.began, t.lastMove = l, e.cfg.Now(), e.cfg.Now()
			if !t.finishOnly {
				t.f.thisRun().Requests++
			}
			l.c.active++
			l.c.touched = true
			if e.batchable(l, t) {
				e.extend(l, t)
			}
		}
		if t != nil || err != nil {
			return t, err
		}
		if wait < 0 {
			return nil, nil // nothing left to do
		}
		if wait == 0 || wait > relook {
			// Which lane may take what also depends on things that move
			// without an event to wake it: circuits' measured rates and
			// round trips, how long requests have run. A lane that found
			// nothing looks again within relook, so no missed wake-up can
			// leave work pending with every lane asleep.
			wait = relook
		}
		ch := e.wake
		e.mu.Unlock()
		tm := time.NewTimer(wait)
		timer := tm.C
		select {
		case <-ch:
		case <-timer:
		case <-ctx.Done():
		}
		tm.Stop()
		e.mu.Lock()
	}
}

// relook is the longest a lane with nothing to do sleeps before it looks
// again.
const relook = time.Second

// pick chooses work under e.mu. Without a task it returns how long to wait
// (0: until woken) or -1 when every file is settled. With w, it looks for
// the next file of a batch (extend): the next work the lane would take,
// if that is a whole file that fits w, else nothing.
//
// It walks the pending items in fetch order as if they were one list, but
// only the started ones (about as many as there are lanes) and, of each
// set of fresh ones, the first: a fresh item gives the lane a task at once,
// or none of its set would (see queue.go).
func (e *Engine) pick(l *lane, w *batchWant) (*task, time.Duration, error) {
	now := e.cfg.Now()
	var soonest time.Duration
	later := func(d time.Duration) {
		if soonest == 0 || d < soonest {
			soonest = d
		}
	}
	open := e.resume.left > 0 // files still being checked join the queue later
	if d := e.q.wakeUp(now); d > 0 {
		later(d)
	}
	if len(e.q.backoff) > 0 {
		open = true
	}
	act := e.q.started(nil)
	var heads []*fileState // the first of each fresh set this lane may take, nil once looked at
	for _, g := range e.q.order {
		if g.tree.Len() == 0 || (e.cfg.CrawlOnly && !g.listing) {
			continue
		}
		open = true
		if hw := e.hostWait(g.host, now); hw > 0 {
			later(hw)
			continue
		}
		if !l.bulk && !g.small {
			continue
		}
		f, _ := g.tree.Min()
		heads = append(heads, f)
	}
	var ahead []*fileState // files before f in fetch order with requests under way
	var sleepy []*fileState
	defer func() {
		for _, f := range sleepy {
			e.q.sleep(f)
		}
	}()
	med := -1.0
	median := func() float64 { // computed once, if at all
		if med < 0 {
			med = e.medianRate()
		}
		return med
	}
	for i := 0; ; {
		var f *fileState
		h := -1
		if i < len(act) {
			f = act[i]
		}
		for k, hf := range heads {
			if hf != nil && (f == nil || e.compare(hf, f) < 0) {
				f, h = hf, k
			}
		}
		if f == nil {
			break
		}
		if h >= 0 {
			heads[h] = nil
		} else {
			i++
		}
		if e.cfg.CrawlOnly && f.Kind == KindFile {
			continue
		}
		open = true
		if f.finishing {
			continue
		}
		d := f.notBefore.Sub(now)
		if hw := e.hostWait(f.host, now); hw > d {
			d = hw
		}
		if d > 0 {
			later(d)
			if len(f.tasks) == 0 && f.notBefore.After(now) {
				sleepy = append(sleepy, f) // out of the walk until its backoff ends
			}
			continue
		}
		if !l.bulk && !e.smallOK(f) {
			continue
		}
		if f.Kind == KindFile && e.smallOK(f) && !e.roomFor(l.c, f, 0, median()) {
			// (For a fresh set this leaves the rest of the set too: it
			// comes in fetch order, mostly by size, so its next files are
			// no smaller.)
			if len(f.tasks) > 0 {
				ahead = append(ahead, f) // it still comes before lower classes
			}
			continue
		}
		if w != nil {
			if !e.joins(f, w) {
				if e.unclaimed(f) {
					return nil, 0, nil // the lane's next work is not for this batch
				}
				continue
			}
			want := e.firstChunk() // a probe's
			if f.Size >= 0 {
				want = span.AlignUp(f.Size, e.cfg.BlockSize)
			}
			t, err := e.pickIn(f, want)
			if t != nil || err != nil {
				return t, 0, err
			}
			continue
		}
		if l.bulk && len(ahead) > 0 && ahead[len(ahead)-1].Class != f.Class && f.Kind == KindFile {
			// A class of higher priority is down to its last requests.
			// A circuit that carries some of them starts no lower work:
			// the bandwidth it has goes to them. A free circuit first
			// takes over part of a long one of theirs, or races a
			// straggler of theirs, if one is slow enough.
			if e.carries(l.c, ahead) {
				return nil, 0, nil
			}
			if t := e.split(l, ahead); t != nil {
				return t, 0, nil
			}
			if t := e.twinAmong(l, ahead, 3*time.Second); t != nil {
				return t, 0, nil
			}
		}
		t, err := e.pickIn(f, e.chunkFor(l.c))
		if t != nil || err != nil {
			return t, 0, err
		}
		if len(f.tasks) > 0 && f.Kind == KindFile {
			ahead = append(ahead, f)
		}
	}
	if w == nil {
		if t, err := e.unbatch(l, act); t != nil || err != nil {
			return t, 0, err
		}
	}
	if !l.bulk || w != nil {
		if !open {
			return nil, -1, nil
		}
		return nil, soonest, nil
	}
	if t, err := e.speculate(act, e.chunkFor(l.c)); t != nil || err != nil {
		return t, 0, err
	}
	if t := e.steal(l, act); t != nil {
		return t, 0, nil
	}
	if !open {
		return nil, -1, nil
	}
	if running := e.running(); running && (soonest == 0 || soonest > time.Second) {
		soonest = time.Second // look again for a tail worth a twin
	}
	return nil, soonest, nil
}

// first is the first pending item in fetch order, nil if none. e.mu is
// held.
func (e *Engine) first() *fileState {
	var best *fileState
	consider := func(f *fileState) {
		if f != nil && f.State == Pending && (best == nil || e.compare(f, best) < 0) {
			best = f
		}
	}
	if act := e.q.started(nil); len(act) > 0 {
		consider(act[0])
	}
	for _, g := range e.q.order {
		f, _ := g.tree.Min()
		consider(f)
	}
	for _, f := range e.q.backoff {
		consider(f)
	}
	return best
}

// carries reports whether circuit c has a request under way for one of
// files. e.mu is held.
func (e *Engine) carries(c *circ, files []*fileState) bool {
	for _, f := range files {
		for t := range f.tasks {
			if t.lane != nil && t.lane.c == c {
				return true
			}
		}
	}
	return false
}

// running reports whether any request is in flight. e.mu is held.
func (e *Engine) running() bool {
	for _, c := range e.circs {
		if c.active > 0 {
			return true
		}
	}
	return false
}

// pickIn finds a task in one file, if it has unclaimed work.
func (e *Engine) pickIn(f *fileState, chunk int64) (*task, error) {
	e.own(f)
	t, err := e.pickInFile(f, chunk)
	if t != nil {
		e.q.activate(f)
	}
	return t, err
}

func (e *Engine) pickInFile(f *fileState, chunk int64) (*task, error) {
	if f.Kind == KindListing {
		if len(f.tasks) > 0 {
			return nil, nil
		}
		t := &task{f: f, gen: f.gen, end: -1, whole: true}
		f.addTask(t)
		return t, nil
	}
	if f.Size < 0 || f.Whole {
		if len(f.tasks) > 0 {
			return nil, nil // one probe or one whole stream at a time
		}
		t := &task{f: f, probe: f.Size < 0, whole: f.Whole, end: chunk}
		if f.Whole {
			t.end = f.Size
		}
		return e.issue(t)
	}
	if f.doneBytes == f.Size && f.Size >= 0 {
		// Nothing left to fetch (an empty file, or every block was found
		// on disk at resume): the worker only verifies and moves it.
		if len(f.tasks) == 0 && !f.finishing {
			f.finishing = true
			return &task{f: f, gen: f.gen, finishOnly: true}, nil
		}
		return nil, nil
	}
	b, spans := e.freeBlockSpans(f)
	if b < 0 {
		return nil, nil
	}
	bs := e.cfg.BlockSize
	n := int64(len(f.done))
	end := b + 1
	limit := b + chunk/bs
	for _, sp := range spans { // the run stops where a task's part starts
		if sp.from > b {
			limit = min(limit, sp.from)
			break
		}
	}
	// A run stops before a block that a stopped request left half done:
	// the next request starts there, from where it stopped.
	for end < n && end < limit && !f.done[end] && f.partial[end] == nil {
		end++
	}
	t := &task{f: f, start: b * bs, end: min(end*bs, f.Size)}
	if p := f.partial[b]; p != nil {
		t.start, t.hinit, t.hstate, t.savedAt = p.reached, p.state, p.state, -1
		if p.saved {
			t.savedAt = p.reached
		}
		delete(f.partial, b)
	}
	return e.issue(t)
}

// freeBlock returns the first block of f that is neither done nor in the
// unreceived part of a task, or -1; it moves f.scanFrom past the done
// blocks at its front. e.mu is held.
func (e *Engine) freeBlock(f *fileState) int64 {
	b, _ := e.freeBlockSpans(f)
	return b
}

// blockSpan is the blocks [from, to) that a task has still to bring.
type blockSpan struct{ from, to int64 }

// freeBlockSpans is freeBlock, also returning the blocks the tasks of f
// still have to bring, by start. It jumps over those rather than walking
// them block by block: a 100 GB file has 400,000 blocks. e.mu is held.
func (e *Engine) freeBlockSpans(f *fileState) (int64, []blockSpan) {
	if f.active == idle { // no block done, no task: the first is free, if it has one
		if f.Size > 0 {
			return 0, nil
		}
		return -1, nil
	}
	n := int64(len(f.done))
	for f.scanFrom < n && f.done[f.scanFrom] {
		f.scanFrom++
	}
	spans := e.taskSpans(f)
	k := 0
	for b := f.scanFrom; b < n; {
		for k < len(spans) && spans[k].to <= b {
			k++
		}
		if k < len(spans) && spans[k].from <= b {
			b = spans[k].to
			continue
		}
		if !f.done[b] {
			return b, spans
		}
		b++
	}
	return -1, spans
}

// taskSpans lists the blocks the tasks of f have still to bring, by start.
func (e *Engine) taskSpans(f *fileState) []blockSpan {
	bs := e.cfg.BlockSize
	spans := make([]blockSpan, 0, len(f.tasks))
	for t := range f.tasks {
		sp := blockSpan{from: t.cursor / bs, to: math.MaxInt64}
		if t.end >= 0 {
			sp.to = (t.end + bs - 1) / bs
		}
		if sp.to > sp.from {
			spans = append(spans, sp)
		}
	}
	slices.SortFunc(spans, func(a, b blockSpan) int { return cmp.Compare(a.from, b.from) })
	return spans
}

// covered reports whether block b lies in the unreceived part of a task.
func (e *Engine) covered(f *fileState, b int64) bool {
	bs := e.cfg.BlockSize
	for t := range f.tasks {
		if b >= t.cursor/bs && (t.end < 0 || b*bs < t.end) {
			return true
		}
	}
	return false
}

// issue registers t with its file. Its partial file is opened by the
// lane (partFor), outside e.mu.
func (e *Engine) issue(t *task) (*task, error) {
	f := t.f
	t.gen, t.part, t.cursor = f.gen, f.part, t.start
	f.addTask(t)
	return t, nil
}

// addTask registers t with f. e.mu is held.
func (f *fileState) addTask(t *task) {
	if f.tasks == nil {
		f.tasks = map[*task]struct{}{}
	}
	f.tasks[t] = struct{}{}
}

// partFor gives t its file's partial file, opening (creating) it if the
// file has none yet: files are opened one at a time per file, and never
// under e.mu, since creating a file may wait on the file system's journal.
// A task of an older generation gets none (t.part stays nil) and must not
// write.
func (e *Engine) partFor(t *task) error {
	e.mu.Lock()
	f := t.f
	if t.part != nil || t.gen != f.gen {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	f.partMu.Lock()
	defer f.partMu.Unlock()
	e.mu.Lock()
	if f.part != nil || t.gen != f.gen {
		if t.gen == f.gen {
			t.part = f.part
		}
		e.mu.Unlock()
		return nil
	}
	gen := f.gen
	e.mu.Unlock()
	p, err := e.tree.openPart(f.ID, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return e.localErr(f, "opening partial file for", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if f.gen != gen || f.part != nil || f.State != Pending {
		p.Close() // restarted meanwhile (its path was removed), or done
		return nil
	}
	f.part, t.part = p, p
	e.newParts = true
	return nil
}

// speculate gives an idle worker a range further into a file whose size
// is not known yet while its first request is under way, so that a big
// file does not wait a round trip (or a circuit build) per worker before
// all of them start. A range past the end costs one round trip and
// nothing else: the source answers 416 with the size. Only files likely
// to be big are guessed at: a listing says so, or the user named the file
// and its probe went alone, not in a batch of small files (task.small).
// (A list of 600 photo URLs names every file: at its end, guesses into
// the last photos' probes took the idle lanes, and their 416s came after
// the last photo.)
func (e *Engine) speculate(started []*fileState, chunk int64) (*task, error) {
	now := e.cfg.Now()
	for _, f := range started {
		if f.State != Pending || f.Kind != KindFile || f.Size >= 0 || f.Whole || f.finishing || len(f.tasks) == 0 || judgedSmall(f) {
			continue
		}
		if f.notBefore.After(now) || e.hostWait(hostOf(f.URL), now) > 0 {
			continue // it or its host backs off: guesses would fail as fast
		}
		if f.Estimate > 0 && f.Estimate <= max(f.specNext, e.firstChunk()) {
			continue // a listing says it is small
		}
		if f.Estimate <= 0 && f.Root != "" {
			continue // found by a crawl with no size: most such files are small
		}
		if f.specNext == 0 {
			f.specNext = e.firstChunk()
		}
		if len(f.tasks) >= e.cfg.Workers*e.cfg.Streams {
			continue
		}
		t := &task{f: f, probe: true, start: f.specNext, end: f.specNext + chunk}
		f.specNext = t.end
		return e.issue(t)
	}
	return nil, nil
}

// judgedSmall reports whether a probe of f was batched as a small file's.
// e.mu is held.
func judgedSmall(f *fileState) bool {
	for t := range f.tasks {
		if t.small {
			return true
		}
	}
	return false
}

// steal gives an idle lane part of the running request expected to finish
// last, or, when none is long enough to split, a twin of it.
func (e *Engine) steal(l *lane, started []*fileState) *task {
	if t := e.split(l, started); t != nil {
		return t
	}
	return e.twin(l, started)
}

// split splits the running task of files expected to finish last, giving
// its back to the caller. The owner keeps the front and stops where the new task
// starts. Where both circuits' rates are known the split is in proportion
// to them, so that both parts end together: a fast thief takes most of a
// slow owner's range. Otherwise it is split in half. The split point is
// past the end of the block the owner is in: a read never crosses a block
// boundary, and each read is limited to the task's end as it stands when
// the read starts, so the owner never writes into the part it gave away.
func (e *Engine) split(l *lane, files []*fileState) *task {
	var best *task
	var worst float64 // seconds left at the owner's rate, or bytes left if no rate is known
	var bestRate float64
	for _, f := range files {
		if f.State != Pending || f.Whole || f.Size < 0 || f.Kind == KindListing {
			continue
		}
		for t := range f.tasks {
			if t.probe || t.end < 0 || t.gen != f.gen || t.twinned || t.yielded || t.end-t.cursor < e.cfg.MinSplit || t.waiting() {
				continue
			}
			r := e.laneRate(t.lane, 0)
			left := float64(t.end - t.cursor)
			if r > 0 {
				left /= r
			} else {
				left = 1e18 + left // no rate yet: judged by bytes, ahead of any measured one
			}
			if left > worst {
				best, worst, bestRate = t, left, r
			}
		}
	}
	if best == nil {
		return nil
	}
	left := best.end - best.cursor
	keep := left / 2
	if mine := e.laneRate(l, 1); mine > 0 && bestRate > 0 {
		keep = int64(float64(left) * bestRate / (bestRate + mine))
	}
	bs := e.cfg.BlockSize
	mid := span.AlignUp(best.cursor+keep, bs)
	mid = max(mid, span.AlignDown(best.cursor, bs)+bs)
	if mid >= best.end {
		return nil
	}
	nt := &task{f: best.f, gen: best.gen, part: best.part, start: mid, cursor: mid, end: best.end}
	best.end = mid
	best.f.addTask(nt)
	return nt
}

// laneRate is what one request on l's circuit can expect to move per
// second: the circuit's measured rate shared among its requests, with
// extra more of them about to start. 0 if the rate is not known. e.mu is
// held.
func (e *Engine) laneRate(l *lane, extra int) float64 {
	if l == nil {
		return 0
	}
	r, _ := e.scorer.Rate(l.c.id)
	if r <= 0 {
		return 0
	}
	return r / float64(max(l.c.active+extra, 1))
}

// twin is the very end of a job: nothing is left to split, and a few
// ranges are still arriving, the slowest of them perhaps over a bad
// circuit. An idle lane on another circuit fetches the same range; the
// first to have each block wins and the other stops when nothing it could
// bring is missing. The bytes both fetched are counted as wasted.
func (e *Engine) twin(l *lane, started []*fileState) *task {
	return e.twinAmong(l, started, 2*time.Second)
}

// twinIdle is how long a request may move nothing before a twin treats it
// as stalled. The demo's circuits, and Tor's, deliver something every
// fraction of a second while a stream is alive.
const twinIdle = 2 * time.Second

// twinAmong twins the task of files that is expected to finish last, if it
// would otherwise take more than minLeft and l's circuit, fast and idle,
// would finish it at least four times sooner.
func (e *Engine) twinAmong(l *lane, files []*fileState, minLeft time.Duration) *task {
	now := e.cfg.Now()
	mine, _ := e.scorer.Rate(l.c.id)
	if mine <= 0 || mine < e.medianRate() || l.c.active > 0 {
		return nil // only a fast, idle circuit is worth a second try
	}
	var best *task
	var worst time.Duration
	for _, f := range files {
		if f.State != Pending || f.Whole || f.Size < 0 || f.Kind != KindFile {
			continue
		}
		for t := range f.tasks {
			if t.probe || t.twinned || t.gen != f.gen || t.lane == nil || t.lane.c == l.c || t.end <= t.cursor || t.waiting() {
				continue
			}
			if t.end-t.cursor >= e.cfg.MinSplit {
				continue // long enough to split instead: fetching it twice would waste more
			}
			elapsed := now.Sub(t.began)
			if elapsed < 2*time.Second || e.allDone(f, t.cursor, t.end) {
				continue // too early to judge, or nothing left to bring
			}
			// expected time to finish at the task's own rate so far; a
			// task that has moved nothing for a while may never finish
			// (a stream can stall without closing): it goes first.
			moved := t.cursor - t.start
			left := time.Duration(1<<62 - 1)
			// (Under --limit-rate a request may wait its turn longer than
			// that: silence then says nothing.)
			if moved > 0 && (now.Sub(t.lastMove) < twinIdle || e.cfg.LimitRate > 0) {
				left = time.Duration(float64(elapsed) * float64(t.end-t.cursor) / float64(moved))
			}
			if best == nil || left > worst {
				best, worst = t, left
			}
		}
	}
	if best == nil {
		return nil
	}
	// The twin starts where the original has got to, from the hash state
	// of its block so far: only what is still missing is fetched twice.
	// Without that state it starts at the block's beginning.
	start, hinit := best.cursor, slices.Clone(best.hstate)
	if best.cursor%e.cfg.BlockSize != 0 && hinit == nil {
		start = span.AlignDown(best.cursor, e.cfg.BlockSize)
	}
	if mineTakes := time.Duration(float64(best.end-start) / mine * float64(time.Second)); worst < max(4*mineTakes, minLeft) {
		return nil // a short tail, or this circuit would not finish it much sooner: not worth the bytes
	}
	nt := &task{f: best.f, gen: best.gen, part: best.part, start: start, cursor: start, end: best.end,
		hinit: hinit, hstate: slices.Clone(hinit), savedAt: -1, twin: best, twinned: true}
	best.twin, best.twinned, best.twinFrom = nt, true, start
	best.f.spoilWhole()
	best.f.addTask(nt)
	e.stats.twins++
	return nt
}
