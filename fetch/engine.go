package fetch

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/grab-ir/grab/fetch/circuit"
	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/span"
)

// Config sets up an Engine. Zero values take the defaults shown.
type Config struct {
	Dir        string // output folder: finished files land here
	Workers    int    // circuits, each with its own Conn: 16
	Streams    int    // requests in flight per circuit: 4
	ChunkSize  int64  // largest run of bytes one request asks for: 16 MiB
	FirstChunk int64  // what a request asks before the circuit's rate is known: 1 MiB
	// TargetRequest is how long a request should last: ranges are sized
	// from each circuit's measured rate to take about this long (20s).
	TargetRequest time.Duration
	// StallTimeout cancels a request that moves no byte for this long and
	// gives its circuit a new identity: 30s (see docs/design.md).
	StallTimeout time.Duration
	LimitRate    float64       // bytes/s for the whole job; 0: no limit
	BlockSize    int64         // hashing and progress granule: 256 KiB
	MinSplit     int64         // a running task is split only if this much is left to it: 2 blocks
	Retries      int           // failures in a row without progress before a file is given up: 10; NoRetries: at the first
	CommitEvery  time.Duration // 100ms: a kill -9 loses about this long of the link's bytes
	Backoff      Backoff

	// Less orders pending files: the scheduler hands out work from the
	// first file in this order that has any. Listings always come first;
	// nil keeps the order in which files were added.
	Less func(a, b *File) bool
	// Expand turns a listing into the files and listings it links to
	// (those a filter leaves out have State Skipped). It is called from
	// workers, one listing at a time per worker.
	Expand     func(listing File, found *Listing) ([]File, error)
	ListingMax int64 // largest listing accepted: 32 MiB
	CrawlOnly  bool  // read listings, fetch no file (--dry-run)
	// Admit, if set, decides again at load whether each pending or skipped
	// item is wanted, with the filters given now: a resume that widens a
	// filter fetches what it now admits, without reading a listing again.
	// why says what left an item out.
	Admit func(f *File) (ok bool, why string)
	// Finished, if set, hears of each file once it is verified and in
	// the tree. It is called from workers and must return quickly.
	Finished func(File)

	Source  Source
	Journal Journal
	Log     *slog.Logger
	Now     func() time.Time // time.Now
	Rand    *rand.Rand       // jitter; seeded from the clock if nil
}

// NoRetries in Config.Retries gives a file up at its first failure.
const NoRetries = -1

// Engine runs one job.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	mu       sync.Mutex
	commitMu sync.Mutex    // one commit at a time
	wake     chan struct{} // closed and replaced whenever work may have appeared

	files  []*fileState // every item, in the order added
	queue  []*fileState // pending items in fetch order
	byURL  map[string]*fileState
	nextID uint64
	resets []uint64
	fatal  error
	cancel context.CancelFunc // of the running job
	stats  counters

	circs  []*circ
	scorer *circuit.Scorer
	// unclaimedSeen is what preempt found waiting at its last look.
	unclaimedSeen map[*fileState]bool
	hosts         map[string]*hostState
	limiter       *rate.Limiter
}

type counters struct {
	fetched  int64 // body bytes received this run
	wasted   int64 // received but thrown away (cut mid-block, changed files)
	resumed  int64 // bytes found done on disk at start
	rehashed int64 // blocks that failed re-verification on resume
	renewals int   // circuits replaced
	stalls   int   // requests cancelled for moving nothing
	twins    int   // ranges fetched twice at the very end
	yields   int   // requests stopped for higher-class work
}

// fileState is a file in memory: its record and block map.
type fileState struct {
	File
	dirty     bool // record changed since the last commit
	gen       int  // bumped when the file restarts
	done      []bool
	hashes    [][32]byte
	doneBytes int64
	unsynced  []int64 // done blocks not yet recorded
	tasks     map[*task]struct{}
	part      *os.File
	stale     []*os.File // parts of earlier generations still written by old tasks
	scanFrom  int64
	partial   map[int64]*partialState // unfinished blocks to resume mid-way, by block
	specNext  int64                   // next speculative offset while the size is unknown
	fails     int
	notBefore time.Time
	finishing bool
	runBytes  int64 // received for this file in this run
	lastErr   string
	learned   []string // digests learnt from streams of this version (learned.go)
}

// task is one request's worth of work: bytes [start, end) of a file, of
// which [start, cursor) have arrived. end shrinks when an idle worker takes
// over the back of the range; it is -1 for a whole stream of unknown length.
type task struct {
	f      *fileState
	gen    int
	part   *os.File
	start  int64
	cursor int64
	end    int64
	probe  bool // size unknown when issued
	whole  bool
	// finishOnly: nothing to fetch; the lane verifies and moves the file.
	finishOnly bool

	hinit   []byte // SHA-256 state of the block's bytes before start (a resumed partial block)
	hstate  []byte // SHA-256 state at cursor when cursor is inside a block, under e.mu
	savedAt int64  // cursor last recorded as a Partial

	cancel   context.CancelCauseFunc // of its request, under e.mu
	lane     *lane
	twin     *task // the other task fetching the same range at the end
	twinned  bool  // this range has (or had) a twin: it is never twinned again
	twinFrom int64 // where its twin started: its own bytes before that were not fetched twice
	yielded  bool  // stopped for higher-class work, under e.mu
	began    time.Time
	lastMove time.Time // last byte received, under e.mu
}

// New makes an engine. Call Add and Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Source == nil || cfg.Journal == nil || cfg.Dir == "" {
		return nil, errors.New("fetch: Config needs Dir, Source and Journal")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = 256 << 10
	}
	if cfg.Streams <= 0 {
		cfg.Streams = 4
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 16 << 20
	}
	cfg.ChunkSize = max(span.AlignUp(cfg.ChunkSize, cfg.BlockSize), cfg.BlockSize)
	if cfg.FirstChunk <= 0 {
		cfg.FirstChunk = 1 << 20
	}
	cfg.FirstChunk = max(span.AlignUp(cfg.FirstChunk, cfg.BlockSize), cfg.BlockSize)
	if cfg.TargetRequest <= 0 {
		cfg.TargetRequest = 20 * time.Second
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 30 * time.Second
	}
	if cfg.MinSplit <= 0 {
		cfg.MinSplit = 2 * cfg.BlockSize
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 10
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = 100 * time.Millisecond
	}
	if cfg.ListingMax <= 0 {
		cfg.ListingMax = 32 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Log, wake: make(chan struct{}), byURL: map[string]*fileState{}, nextID: 1,
		scorer: newScorer(cfg.Workers), hosts: map[string]*hostState{}, limiter: &rate.Limiter{Rate: cfg.LimitRate}}
	if err := os.MkdirAll(e.partDir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating state folder: %w", err)
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) partDir() string { return jobdir.Dir(e.cfg.Dir).Parts() }

func (e *Engine) partPath(id uint64) string {
	return filepath.Join(e.partDir(), fmt.Sprintf("%016x", id))
}

// load restores the journal's files and re-verifies their done blocks.
func (e *Engine) load() error {
	saved, err := e.cfg.Journal.Load()
	if err != nil {
		return fmt.Errorf("loading job: %w", err)
	}
	for _, s := range saved {
		f := &fileState{File: s.File, tasks: map[*task]struct{}{}}
		e.files = append(e.files, f)
		e.byURL[f.URL] = f
		e.nextID = max(e.nextID, f.ID+1)
		if (f.State == Pending || f.State == Skipped) && e.cfg.Admit != nil {
			ok, why := e.cfg.Admit(&f.File)
			switch {
			case ok && f.State == Skipped:
				f.State, f.Err, f.dirty = Pending, "", true
			case !ok && f.State == Pending:
				// What was fetched of it stays on disk and in the journal,
				// for a resume that admits it again.
				f.State, f.Err, f.dirty = Skipped, why, true
			}
		}
		switch f.State {
		case Done:
			if err := e.finishMove(f); err != nil {
				return err
			}
			continue
		case Failed, Skipped:
			continue
		}
		if err := e.reverify(f, s.Blocks, s.Partials); err != nil {
			return err
		}
		e.queue = append(e.queue, f)
	}
	slices.SortStableFunc(e.queue, e.compare)
	return nil
}

func (e *Engine) compare(a, b *fileState) int { return Compare(e.cfg.Less, &a.File, &b.File) }

// Compare is the fetch order: listings first, then less, then the order of
// discovery.
func Compare(less func(a, b *File) bool, a, b *File) int {
	if a.Kind != b.Kind {
		if a.Kind == KindListing {
			return -1
		}
		return 1
	}
	if less != nil {
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
	}
	return cmp.Compare(a.ID, b.ID)
}

// reverify trusts a recorded block only if the bytes on disk still hash to
// its recorded hash.
func (e *Engine) reverify(f *fileState, blocks map[int64][32]byte, partials map[int64]Partial) error {
	if f.Size >= 0 {
		n := span.Blocks(f.Size, e.cfg.BlockSize)
		f.done = make([]bool, n)
		f.hashes = make([][32]byte, n)
	}
	if len(blocks) == 0 && len(partials) == 0 {
		return nil
	}
	part, err := os.OpenFile(e.partPath(f.ID), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		e.log.Warn("partial file missing, starting over", "path", f.Path)
		e.resets = append(e.resets, f.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening partial file: %w", err)
	}
	f.part = part
	buf := make([]byte, e.cfg.BlockSize)
	bad := 0
	for i, want := range blocks {
		if i < 0 || (f.Size >= 0 && i >= int64(len(f.done))) {
			bad++
			continue
		}
		r := span.Block(i, e.cfg.BlockSize, f.Size)
		if f.Size < 0 {
			continue // a whole stream of unknown length restarts anyway
		}
		n, err := part.ReadAt(buf[:r.Len()], r.Start)
		if int64(n) != r.Len() || sha256.Sum256(buf[:n]) != want {
			bad++
			_ = err
			continue
		}
		f.done[i], f.hashes[i] = true, want
		f.doneBytes += r.Len()
	}
	if bad > 0 {
		e.log.Warn("blocks failed verification on resume and will be fetched again", "path", f.Path, "blocks", bad)
		e.stats.rehashed += int64(bad)
		e.resets = append(e.resets, f.ID)
		for i := range f.done {
			if f.done[i] {
				f.unsynced = append(f.unsynced, int64(i))
			}
		}
	}
	if f.Whole && f.doneBytes < f.Size {
		// A whole stream cannot resume in the middle.
		f.doneBytes = 0
		clear(f.done)
		partials = nil
	}
	e.stats.resumed += f.doneBytes
	for b, p := range partials {
		if e.reverifyPartial(f, b, p, buf, bad == 0) {
			e.stats.resumed += p.Reached - b*e.cfg.BlockSize
		} else {
			e.log.Warn("a partial block failed verification on resume and will be fetched again", "path", f.Path, "block", b)
			e.stats.rehashed++
		}
	}
	return nil
}

// reverifyPartial trusts a recorded partial block only if hashing its bytes
// on disk gives exactly the recorded SHA-256 state.
func (e *Engine) reverifyPartial(f *fileState, b int64, p Partial, buf []byte, recorded bool) bool {
	bs := e.cfg.BlockSize
	if f.Size < 0 || b < 0 || b >= int64(len(f.done)) || f.done[b] || p.Reached <= b*bs || p.Reached >= min((b+1)*bs, f.Size) {
		return false
	}
	n, err := f.part.ReadAt(buf[:p.Reached-b*bs], b*bs)
	if err != nil || int64(n) != p.Reached-b*bs {
		return false
	}
	h := sha256.New()
	h.Write(buf[:n])
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil || !bytes.Equal(state, p.State) {
		return false
	}
	if f.partial == nil {
		f.partial = map[int64]*partialState{}
	}
	f.partial[b] = &partialState{reached: p.Reached, state: p.State, saved: recorded}
	return true
}

// partialState is an unfinished block that a task can resume.
type partialState struct {
	reached int64
	state   []byte
	saved   bool // recorded in the journal as it is
}

// Add queues files, in order, after those already known. Files whose URL is
// already in the job are left as they are. It returns how many were new.
func (e *Engine) Add(files []File) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.add(files)
	e.broadcast()
	return n
}

// add is Add with e.mu held.
func (e *Engine) add(files []File) int {
	n := 0
	for _, in := range files {
		if _, ok := e.byURL[in.URL]; ok {
			continue
		}
		f := &fileState{File: in, dirty: true, tasks: map[*task]struct{}{}}
		f.Expect = maps.Clone(in.Expect)
		f.ID = e.nextID
		e.nextID++
		e.files = append(e.files, f)
		e.byURL[f.URL] = f
		if in.State == Skipped {
			n++
			continue
		}
		f.State, f.Err = Pending, ""
		if f.Size == 0 {
			f.Size = -1 // a zero is a guess; the source tells
		}
		if f.Size > 0 {
			f.done = make([]bool, span.Blocks(f.Size, e.cfg.BlockSize))
			f.hashes = make([][32]byte, len(f.done))
		}
		i, _ := slices.BinarySearchFunc(e.queue, f, e.compare)
		e.queue = slices.Insert(e.queue, i, f)
		n++
	}
	return n
}

// Run fetches every pending file. It returns nil when all are done,
// ErrFailed (wrapped) when some failed, ctx's error when cancelled, or the
// error that stopped the job (such as ErrDiskFull). Progress is committed
// before it returns in every case.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.cancel = cancel
	e.mu.Unlock()
	commitDone := make(chan error, 1)
	stopCommit := make(chan struct{})
	go func() { commitDone <- e.commitLoop(stopCommit) }()

	var wg sync.WaitGroup
	circs := make([]*circ, e.cfg.Workers)
	for i := range circs {
		circs[i] = &circ{id: i, conn: e.cfg.Source.Conn(i)}
		defer circs[i].conn.Close()
	}
	e.mu.Lock()
	e.circs = circs
	e.mu.Unlock()
	defer e.warm(ctx)() // before the circuits close: stop and wait for dials still under way
	for _, c := range circs {
		for k := range e.cfg.Streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.work(ctx, &lane{c: c, bulk: k == 0}); err != nil {
					e.stop(err)
				}
			}()
		}
	}
	superDone := make(chan struct{})
	superCtx, stopSuper := context.WithCancel(ctx)
	go func() { e.supervise(superCtx); close(superDone) }()
	yieldDone := make(chan struct{})
	go func() { e.preemptLoop(superCtx); close(yieldDone) }()
	defer func() { stopSuper(); <-superDone; <-yieldDone }()
	go func() {
		<-ctx.Done()
		e.mu.Lock()
		e.broadcast()
		e.mu.Unlock()
	}()
	wg.Wait()
	close(stopCommit)
	cerr := <-commitDone

	e.mu.Lock()
	fatal := e.fatal
	for _, f := range e.files {
		for _, p := range append(f.stale, f.part) {
			if p != nil {
				p.Close()
			}
		}
		f.part, f.stale = nil, nil
	}
	failed := 0
	for _, f := range e.files {
		if f.State == Failed {
			failed++
		}
	}
	e.mu.Unlock()
	switch {
	case fatal != nil:
		return fatal
	case cerr != nil:
		return cerr
	case ctx.Err() != nil && !e.allSettled():
		return context.Cause(ctx)
	case failed > 0:
		return fmt.Errorf("%w: %d of %d", ErrFailed, failed, len(e.files))
	}
	return nil
}

// stop ends the job with err, the first such error winning.
func (e *Engine) stop(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fatal == nil {
		e.fatal = err
	}
	if e.cancel != nil {
		e.cancel() // requests under way stop too
	}
	e.broadcast()
}

func (e *Engine) allSettled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, f := range e.files {
		if f.State == Pending {
			return false
		}
	}
	return true
}

// broadcast wakes every worker waiting for work. e.mu is held.
func (e *Engine) broadcast() {
	close(e.wake)
	e.wake = make(chan struct{})
}

// isDiskFull reports a write error caused by a full disk or quota.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Expect adds known digests to the file with the given URL.
func (e *Engine) Expect(url string, d digest.Set) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.byURL[url]
	if !ok || f.State != Pending {
		return
	}
	if f.Expect == nil {
		f.Expect = digest.Set{}
	}
	f.Expect.Merge(maps.Clone(d))
	f.dirty = true
}
