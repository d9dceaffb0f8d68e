package fetch

import (
	"context"
	"errors"
	"hash"
	"time"

	"github.com/grab-ir/grab/fetch/span"
)

// Batcher is a Conn that can fetch several whole files in one go, paying
// the cost of starting a request once for all of them: rsync asks for
// them in one session, its requests pipelined, where a request alone costs
// a handshake and a file list (three round trips through Tor) before any
// data. An HTTP/1.1 Conn could implement it by pipelining the GETs of small
// files on one kept-alive connection (issue 13).
//
// Every request asks for a whole file: Range from 0 to its Size. For each
// request, in an order of its choosing, GetBatch calls fn once with the
// file's whole Stream, or with the error for that file: a
// *PermanentError or *ChangedError that concerns it alone, or the
// failure of the batch (a *TransientError, say) for each of the files it
// leaves unanswered. fn must be done with the body before it returns: the
// next file follows on the same connection. An error from fn stops
// GetBatch, which returns it; the requests fn has not heard of are then
// abandoned. GetBatch returns an error of its own only for a failure it
// could not report through fn.
type Batcher interface {
	GetBatch(ctx context.Context, reqs []Request, fn func(i int, s *Stream, err error) error) error
}

// ProbeBatcher is a Batcher that also takes probes: a request for the
// start of a file of unknown size (Range [0, End), Size -1), answered with
// the whole file if it is no longer, else with its first End bytes. HTTP
// does (a GET with a Range), so a list of photo URLs without sizes is
// batched too; rsync knows every size from its file list and need not.
type ProbeBatcher interface {
	Batcher
	BatchesProbes() bool
}

// probeGuess is what a probe is reckoned to bring against a batch's
// budget: files in a batch of probes are expected to be small (a probe
// joins only where the file's lead was small enough to be batched), and
// one that is larger brings at most a first range.
const probeGuess = 64 << 10

// probes reports whether lane l's Conn batches probes.
func probes(l *lane) bool {
	pb, ok := l.c.conn.(ProbeBatcher)
	return ok && pb.BatchesProbes()
}

// cost is what task t is reckoned to bring against a batch's budget.
func cost(t *task) int64 {
	if t.probe {
		return probeGuess
	}
	return t.end
}

// maxBatches is how many batches a circuit runs at once. One keeps its
// round trips overlapped (requests pipelined, or one rsync session for
// all); a second overlaps one batch's start with the other's data; more
// only share its bandwidth and hold files a faster circuit could bring
// sooner (the photos bench over the Tor model: 0.67 of the link net of
// start-up with two, 0.51-0.56 with four, 0.49 with eight, 0.42 with one).
const maxBatches = 2

// maxBatch bounds the files of one batch.
const maxBatch = 64

// batchTime is about how long a batch should take at its lane's rate: a
// few seconds of data pay for a request's start (three round trips for
// rsync) many times over, and keep a batch short enough that a lane
// holding one never keeps its files from faster circuits for long, nor
// new work of a higher class waiting (files are taken in fetch order, one
// class to a batch).
const batchTime = 4 * time.Second

// batch is small whole files that one lane fetches with one GetBatch.
// Its tasks are registered with their files as any task is, so no other
// lane takes them; until its turn comes a task is waiting (task.waiting),
// and neither split, twinned nor stopped for higher-class work, but an
// idle lane on a faster circuit may take it out of the batch (unbatch).
// The batch holds one request of its circuit (circ.active) for its life,
// not one per file.
type batch struct {
	tasks []*task
	cur   *task // whose stream is read or awaited, under e.mu
}

// waiting reports whether t waits for its turn in a batch. e.mu is held.
func (t *task) waiting() bool { return t.batch != nil && t.batch.cur != t && !t.dropped }

// errRestDropped stops a batch whose files left were all taken by other
// lanes (unbatch): nobody waits for their bytes.
var errRestDropped = errors.New("the rest of the batch went to other lanes")

// batchable reports whether lane l should fetch t in a batch with the
// files that follow it: its Conn can, and t is a whole small file. e.mu
// is held.
func (e *Engine) batchable(l *lane, t *task) bool {
	if _, ok := l.c.conn.(Batcher); !ok {
		return false
	}
	f := t.f
	if f.Kind != KindFile || t.finishOnly || t.twin != nil || t.twinned || t.hinit != nil || t.start != 0 {
		return false
	}
	if t.probe {
		return probes(l) && f.Size < 0 && f.Estimate <= probeGuess
	}
	return f.Size > 0 && t.end == f.Size && f.Size <= e.firstChunk()
}

// batchWant is what the files joining a batch must be like.
type batchWant struct {
	host, class string
	left        int64 // bytes the batch may still take
	probes      bool  // files of unknown size may join as probes
}

// joins reports whether f may join a batch as a whole file (or, where
// the Conn takes them, a probe of a file of unknown size that no listing
// said was large): small, of the same host and class, and untouched.
// e.mu is held.
func (e *Engine) joins(f *fileState, w *batchWant) bool {
	if f.Kind != KindFile || f.host != w.host || f.Class != w.class || len(f.tasks) > 0 || f.doneBytes > 0 ||
		len(f.partial) > 0 || f.finishing || f.notBefore.After(e.cfg.Now()) {
		return false
	}
	if f.Size < 0 {
		return w.probes && !f.Whole && f.Estimate <= probeGuess && probeGuess <= w.left
	}
	return f.Size > 0 && f.Size <= min(e.firstChunk(), w.left)
}

// extend makes lead, a whole small file that lane l is about to fetch,
// the first of a batch: it takes the files l would pick next, in fetch
// order, for as long as they are whole small files of lead's host and
// class, up to maxBatch of them and about batchTime of data at the
// circuit's rate, at most a first range's worth. A batch of one is no
// batch. e.mu is held.
func (e *Engine) extend(l *lane, lead *task) {
	// What the circuit moves in batchTime, not the lane's share of it:
	// the lanes of a circuit overlap their batches' starts, and smaller
	// batches cost a start (three round trips) per file or two. Before
	// the circuit's rate is known, the median circuit's stands in; before
	// any is known, a first range's worth, which also bounds it: a
	// daemon sends a batch's files as fast as the connection takes them,
	// and what is in flight when grab is killed is sent twice (the
	// bench's kill -9 run went from 0.7% to 13.5% without the bound). A
	// batch that holds its files too long on a slow circuit gives them
	// up to idle lanes (unbatch).
	r, _ := e.scorer.Rate(l.c.id)
	if r <= 0 {
		r = e.medianRate()
	}
	budget := e.firstChunk()
	if r > 0 {
		budget = min(int64(r*batchTime.Seconds()), budget)
	}
	w := &batchWant{host: lead.f.host, class: lead.f.Class, left: budget - cost(lead), probes: probes(l)}
	tasks := []*task{lead}
	now := e.cfg.Now()
	for len(tasks) < maxBatch && w.left > 0 {
		t, _, _ := e.pick(l, w)
		if t == nil {
			break
		}
		t.lane, t.began, t.lastMove = l, now, now
		t.f.thisRun().Requests++
		w.left -= cost(t)
		tasks = append(tasks, t)
	}
	if len(tasks) == 1 {
		return
	}
	b := &batch{tasks: tasks, cur: lead}
	l.c.batches++
	for _, t := range tasks {
		t.batch, t.small = b, t.probe
	}
}

// runBatch fetches the files of batch b with one GetBatch. Each stream
// takes the path of a single request's (take): bytes, blocks, stalls,
// failures, release and finish, file by file. A file's own error (a
// *PermanentError, a *ChangedError) is that file's alone; a failure of
// the batch counts against one file and one circuit at most, and the
// files it leaves unanswered go back to the pool as if never taken. The
// returned error stops the job.
func (e *Engine) runBatch(ctx context.Context, l *lane, b *batch, buf []byte, h hash.Hash) error {
	jobCtx := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	reqs := make([]Request, len(b.tasks))
	e.mu.Lock()
	for i, t := range b.tasks {
		t.cancel = cancel
		reqs[i] = Request{URL: t.f.URL, Range: span.Range{Start: 0, End: t.end}, Size: t.f.Size, Validator: t.f.Validator}
	}
	e.mu.Unlock()
	stopWatch := e.watchOver(func() *task { return b.cur }, cancel, false)
	heard := make([]bool, len(b.tasks))
	blamed := false
	var stop error // from the lane: the job stops
	// turn makes the first file not heard of yet the current one: its
	// stream is next, and it waits for its first byte from now.
	turn := func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		b.cur = nil
		for i, t := range b.tasks {
			if !heard[i] {
				b.cur = t
				t.began, t.lastMove = e.cfg.Now(), e.cfg.Now()
				t.pipelined = true // its first byte tells nothing of the circuit's round trip
				return
			}
		}
	}
	one := func(i int, s *Stream, err error) error {
		t := b.tasks[i]
		e.mu.Lock()
		if t.dropped {
			// Taken by another lane (unbatch) since: its bytes go
			// unread. Looked at in the hold that makes it current, so
			// that it cannot be taken once it is.
			e.mu.Unlock()
			return nil
		}
		if b.cur != t {
			b.cur = t
			t.began, t.lastMove = e.cfg.Now(), e.cfg.Now()
		}
		e.mu.Unlock()
		switch {
		case s != nil:
			if err := e.partFor(t); err != nil {
				return err
			}
			e.mu.Lock()
			superseded := t.part == nil
			e.mu.Unlock()
			if superseded {
				break // the batch reads past its bytes
			}
			var failed bool
			if err, failed = e.take(jobCtx, ctx, l, t, s, nil, buf, h); err != nil {
				return err
			}
			blamed = blamed || failed
		case errors.As(err, new(*PermanentError)) || errors.As(err, new(*ChangedError)) || ownError(err):
			e.take(jobCtx, ctx, l, t, nil, err, buf, h)
		case !blamed:
			_, blamed = e.take(jobCtx, ctx, l, t, nil, err, buf, h)
		}
		if e.release(t) {
			return e.finish(t.f)
		}
		return nil
	}
	dropped := func(t *task) bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return t.dropped
	}
	// restDropped reports whether every file not heard of yet went to
	// another lane.
	restDropped := func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for k, t := range b.tasks {
			if !heard[k] && !t.dropped {
				return false
			}
		}
		return true
	}
	err := l.c.conn.(Batcher).GetBatch(ctx, reqs, func(i int, s *Stream, err error) error {
		if i < 0 || i >= len(heard) || heard[i] {
			return nil // not ours to hear
		}
		heard[i] = true
		if stop = one(i, s, err); stop != nil { // (a dropped file's bytes go unread)
			return stop
		}
		if restDropped() {
			return errRestDropped
		}
		turn()
		return nil
	})
	if errors.Is(err, errRestDropped) {
		err = nil
	}
	stopWatch()
	cancel(nil)
	if stop == nil && err != nil {
		// A failure GetBatch could not tell file by file: the first file
		// unheard of takes it, like a failure of the batch.
		for i := range heard {
			if !heard[i] {
				heard[i] = true
				stop = one(i, nil, &TransientError{Err: err})
				break
			}
		}
	}
	// Files the batch never answered go back to the pool (those dropped
	// are another lane's already).
	for i, t := range b.tasks {
		if !heard[i] && !dropped(t) {
			e.release(t)
		}
	}
	e.mu.Lock()
	l.c.active-- // the batch's one request
	l.c.batches--
	e.mu.Unlock()
	return stop
}

// unbatch gives idle lane l a file that waits in another circuit's batch,
// when that batch would take far longer to reach and bring it than l
// would: the last waiting file of the batch expected to end last, if its
// lane's rate and l's are known, that batch needs more than 2 s for the
// rest and more than four times what l needs for the file. The file
// leaves the batch (task.dropped), which reads past its bytes, or stops
// if no file it waits for is left. It is the tail's remedy for a batch,
// as split is for a long range. e.mu is held.
func (e *Engine) unbatch(l *lane, started []*fileState) (*task, error) {
	if _, ok := l.c.conn.(Batcher); !ok {
		return nil, nil // no batches in this job (every circuit has the same kind of Conn)
	}
	mine := e.laneRate(l, 1)
	if mine <= 0 {
		return nil, nil
	}
	var best *task
	var worst float64
	seen := map[*batch]bool{}
	for _, f := range started {
		for t := range f.tasks {
			b := t.batch
			if b == nil || seen[b] || t.lane == nil || t.lane.c == l.c {
				continue
			}
			seen[b] = true
			r := e.laneRate(t.lane, 0)
			if r <= 0 {
				continue
			}
			var left int64
			var last *task
			for _, bt := range b.tasks {
				if _, ok := bt.f.tasks[bt]; !ok || bt.gen != bt.f.gen {
					continue // heard of, dropped, or superseded
				}
				left += bt.end - bt.cursor
				if bt.waiting() {
					last = bt
				}
			}
			if last == nil {
				continue
			}
			secs := float64(left) / r
			mineTakes := float64(last.end)/mine + l.c.ttfb.Seconds()
			if secs > max(2, 4*mineTakes) && secs > worst {
				best, worst = last, secs
			}
		}
	}
	if best == nil {
		return nil, nil
	}
	best.dropped = true
	delete(best.f.tasks, best)
	want := e.firstChunk() // a probe's, as in its batch
	if best.f.Size >= 0 {
		want = span.AlignUp(best.f.Size, e.cfg.BlockSize)
	}
	t, err := e.pickIn(best.f, want)
	if t != nil {
		t.small = best.small
	}
	return t, err
}

// ownError reports a batch's failure of one file's own answer
// (TransientError.Own).
func ownError(err error) bool {
	var tr *TransientError
	return errors.As(err, &tr) && tr.Own
}
