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
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
	// MinRate is the slowest a request may move, in bytes a second over
	// its stall window, before it counts as stalled: 64.
	MinRate     float64
	LimitRate   float64       // bytes/s for the whole job; 0: no limit
	BlockSize   int64         // hashing and progress granule: 256 KiB
	MinSplit    int64         // a running task is split only if this much is left to it: 2 blocks
	Retries     int           // failures in a row without progress before a file is given up: 10; NoRetries: at the first
	CommitEvery time.Duration // 100ms: a kill -9 loses about this long of the link's bytes
	Backoff     Backoff
	// MaxBody is the largest file accepted (--max-size): a file announced
	// larger, or a body of unknown length that grows past it, fails.
	// At most (and by default) MaxFileSize.
	MaxBody int64
	// FreeSpace tells the space left on the disk holding dir; a file
	// larger fails. Statfs by default.
	FreeSpace func(dir string) (int64, bool)
	// MaxWait stops the job with ErrUnreachable once a host has been
	// unreachable this long; 0 waits for ever.
	MaxWait time.Duration
	// RenewBurst and RenewEvery budget circuit replacement: at most
	// RenewBurst new circuits not yet proven (no answer through them
	// yet; Tor's MaxClientCircuitsPending is 32), and one more every
	// RenewEvery beyond a burst of RenewBurst: 32 and 1s.
	RenewBurst int
	RenewEvery time.Duration

	// Less orders pending files: the scheduler hands out work from the
	// first file in this order that has any. Listings always come first;
	// nil keeps the order in which files were added.
	Less func(a, b *File) bool
	// Expand turns a listing into the files and listings it links to
	// (those a filter leaves out have State Skipped). It is called from
	// workers, one listing at a time per worker.
	Expand func(listing File, found *Listing) ([]File, error)
	// ListingMax is the largest listing accepted, in bytes: 256 MiB
	// (DefaultListingMax).
	ListingMax int64
	CrawlOnly  bool // read listings, fetch no file (--dry-run)
	// Admit, if set, decides again at load whether each pending or skipped
	// item is wanted, with the filters given now: a resume that widens a
	// filter fetches what it now admits, without reading a listing again.
	// why says what left an item out.
	Admit func(f *File) (ok bool, why string)
	// Rename, if set, gives a file reached by a query the name its
	// source sent (Stream.Filename): it returns the new local path. It
	// is called once per file, with e.mu held, and must not call back.
	Rename func(f *File, name string) (string, error)
	// Finished, if set, hears of each file once it is verified and in
	// the tree. It is called from workers and must return quickly.
	Finished func(File)
	// Hashes names digests (digest.MD5, digest.SHA1, ...) to compute
	// besides SHA-256 in the pass that finishes a file; they reach
	// Finished in File.Run.Digests.
	Hashes []string

	Source  Source
	Journal Journal
	Log     *slog.Logger
	Now     func() time.Time // time.Now
	Rand    *rand.Rand       // jitter; seeded from the clock if nil
}

// bigListing is how much of a listing may be read before it needs one of
// the few places of big listings (Engine.bigListings): a listing is held
// whole while read and parsed, so every lane reading one up to the limit
// (64 at 256 MiB, a gzip bomb each) would be 16 GiB. Small ones never wait.
const bigListing = 4 << 20

// listingBudget is what listings may hold at once: the lanes' small ones,
// plus as many big ones as fit the rest (at least one).
const listingBudget = 1 << 30

// DefaultListingMax is the listing limit, Config.ListingMax. A listing
// is bounded first by its entries (listing.MaxEntries, a million); this
// bounds its bytes, which an HTTP listing holds whole while it is parsed:
// room for a million entries of nginx's autoindex (about 105 bytes a row
// and the name) with names up to about 150 bytes. See docs/usage.md.
const DefaultListingMax = 256 << 20

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
	q      *queue       // pending items, indexed for the scheduler (queue.go)
	byURL  map[string]*fileState
	nextID uint64
	resets []uint64
	// changed lists the files whose record, blocks or partial blocks
	// changed since the last commit: a commit looks at these only.
	changed []*fileState
	// finished lists the files verified and done in memory since the last
	// commit: it syncs them, records them and moves them into the tree.
	finished []*fileState
	// bigListings has a place for each listing read past bigListing at
	// once (see listingBudget).
	bigListings chan struct{}
	// unplaced counts files done but not yet moved into the tree, by
	// class: not done to Status (a commit that fails, on a full disk,
	// leaves them out of the tree).
	unplaced map[string]ClassStatus
	newParts bool        // partial files were created since the last commit
	fsDir    *os.File    // the folder of partial files, open for syncfs while running (nil: none)
	resume   verifyState // the re-verification of recorded blocks at start
	// blockBufs holds block-sized buffers for checking small files, which
	// finish by the thousand; smallBufs those of smallBuf bytes for the
	// smallest of them.
	blockBufs, smallBufs sync.Pool
	fatal                error
	cancel               context.CancelFunc // of the running job
	stats                counters

	circs  []*circ
	scorer *circuit.Scorer
	// unclaimedSeen is what preempt found waiting at its last look.
	unclaimedSeen map[*fileState]bool
	hosts         map[string]*hostState
	limiter       *rate.Limiter
	tree          *tree // the output folder
	// answered is set once anything has answered in this run: from then
	// on a Local failure waits instead of stopping the job.
	answered bool
	renewals renewBudget
	// listedBytes is the total of listing sizes that sized block maps.
	listedBytes int64
}

type counters struct {
	fetched  int64 // body bytes received this run
	wasted   int64 // received but thrown away (cut mid-block, changed files)
	resumed  int64 // bytes found done on disk at start
	rehashed int64 // blocks that failed re-verification on resume
	renewals int   // circuits replaced
	denied   int   // replacements refused by the budget
	stalls   int   // requests cancelled for moving nothing
	twins    int   // ranges fetched twice at the very end
	yields   int   // requests stopped for higher-class work
}

// fileState is a file in memory: its record and where it stands in the
// queue. A job may hold a million of them, most of which no request has
// touched or which are settled: what only a file being fetched needs
// (block maps, backoff, the running hash) is in *active, which points to
// the shared idle until a request takes the file (own) and again once it
// is settled (settle); what few files need (stale parts, learnt digests)
// is in rare, allocated on demand. 240 bytes with the record.
type fileState struct {
	File
	*active
	gen       int // bumped when the file restarts
	tasks     map[*task]struct{}
	part      *os.File
	rare      *fileRare // nil until needed
	host      string    // of URL, lower case
	group     *group    // its fresh set while inFresh
	dirty     bool      // record changed since the last commit
	unsaved   bool      // never recorded: new since the last commit
	closedBy  bool      // done, its part closed before the commit synced it (finish.go)
	finishing bool
	listed    bool // in e.changed
	where     int8 // in the queue: inNone, inFresh, inActive, inBackoff
}

// active is what a file needs while requests fetch it, under e.mu (whole
// and partMu have their own locks).
type active struct {
	// key is the record as it was when queued, which the fetch order
	// compares: a copy once a request has touched the item (what it
	// learns, such as a size, must not move it under the index), nil
	// before, while nothing of the record changes (queue.go).
	key       *File
	heapIdx   int                     // in the backoff heap while inBackoff
	partial   map[int64]*partialState // unfinished blocks to resume mid-way, by block
	done      []bool
	hashes    [][32]byte
	doneBytes int64
	unsynced  []int64 // done blocks not yet recorded
	scanFrom  int64
	specNext  int64 // next speculative offset while the size is unknown
	fails     int
	notBefore time.Time
	runBytes  int64 // received for this file in this run, of its version now
	runWasted int64 // of runBytes, counted wasted already
	// wholeBest is the furthest a whole stream of it has reached: one
	// that ends short again before there made no progress.
	wholeBest int64
	lastErr   string
	whole     wholeHash
	partMu    sync.Mutex // held while part is being opened
}

// idle is the active of every file no request has touched or that is
// settled: all zero, read by the scheduler as such, and never written
// (own comes first; TestMain checks).
var idle = &active{}

// newFileState makes the in-memory state of rec, idle.
func newFileState(rec File) *fileState {
	return &fileState{File: rec, active: idle, host: hostOf(rec.URL)}
}

// own gives f an active of its own, with block maps for its size if it
// is known, before anything of it is written. e.mu is held (or the
// engine is not running yet).
func (e *Engine) own(f *fileState) {
	if f.active != idle {
		return
	}
	a := &active{}
	a.whole.gen = f.gen
	if f.Size >= 0 {
		n := span.Blocks(f.Size, e.cfg.BlockSize)
		a.done, a.hashes = make([]bool, n), make([][32]byte, n)
	}
	f.active = a
}

// settle lets a file that no request will take again go back to idle: it
// is done, failed or skipped and no task of it is left. e.mu is held.
func (f *fileState) settle() {
	if f.State != Pending && len(f.tasks) == 0 && !f.finishing {
		f.active = idle
		f.tasks = nil
	}
}

// fileRare is what only some files need, under e.mu.
type fileRare struct {
	stale   []*os.File // parts of earlier generations still written by old tasks
	learned []string   // digests learnt from streams of this version (learned.go)
}

// thisRun returns f.Run, made if it was nil. e.mu is held.
func (f *fileState) thisRun() *Run {
	if f.Run == nil {
		f.Run = &Run{}
	}
	return f.Run
}

// more returns f.rare, made if it was nil.
func (f *fileState) more() *fileRare {
	if f.rare == nil {
		f.rare = &fileRare{}
	}
	return f.rare
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
	// batch is the batch t is one file of (batch.go), nil for a request
	// of its own; pipelined: t's stream followed another's on the same
	// request, so its wait for a first byte is not a round trip.
	batch     *batch
	pipelined bool
	dropped   bool // taken out of its batch by another lane (unbatch), under e.mu
	small     bool // a probe batched, or taken out of a batch: its file is judged small (no guesses, speculate)
	began     time.Time
	lastMove  time.Time // last byte received, under e.mu
	listed    int64     // bytes of a listing received, under e.mu
	held      bool      // a listing waiting for room to grow (bigListing): not a stall
	big       bool      // a listing holding one of e.bigListings
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
	if cfg.MinRate <= 0 {
		cfg.MinRate = 64
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
	if cfg.RenewBurst <= 0 {
		cfg.RenewBurst = 32
	}
	if cfg.RenewEvery <= 0 {
		cfg.RenewEvery = time.Second
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = 100 * time.Millisecond
	}
	if cfg.ListingMax <= 0 {
		cfg.ListingMax = DefaultListingMax
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FreeSpace == nil {
		cfg.FreeSpace = freeSpace
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	e := &Engine{cfg: cfg, log: cfg.Log, wake: make(chan struct{}), byURL: map[string]*fileState{}, nextID: 1,
		scorer: newScorer(cfg.Workers), hosts: map[string]*hostState{}, limiter: &rate.Limiter{Rate: cfg.LimitRate}}
	e.q = newQueue(func(a, b *fileState) bool { return e.compare(a, b) < 0 }, e.freshSmall)
	small := int64(cfg.Workers*cfg.Streams) * bigListing
	e.bigListings = make(chan struct{}, max(1, (listingBudget-small)/max(cfg.ListingMax, 1)))
	t, err := openTree(cfg.Dir, cfg.Log)
	if err != nil {
		return nil, err
	}
	e.tree = t
	if err := e.load(); err != nil {
		t.close()
		return nil, err
	}
	return e, nil
}

// partDir is the folder of partial files.
func (e *Engine) partDir() string { return jobdir.Dir(e.cfg.Dir).Parts() }

// partPath is where a partial file is, for messages.
func (e *Engine) partPath(id uint64) string {
	return filepath.Join(e.cfg.Dir, filepath.FromSlash(partRel(id)))
}

// load restores the journal's files and re-verifies their done blocks.
func (e *Engine) load() error {
	saved, err := e.cfg.Journal.Load()
	if err != nil {
		return fmt.Errorf("loading job: %w", err)
	}
	dirs := map[string]bool{}
	defer syncDirs(dirs) // moves a crash left undone
	again := 0
	defer func() {
		if again > 0 {
			e.log.Info("trying again what failed for a reason of the moment (free disk, tries used up, a folder in the way)", "files", again)
		}
	}()
	for _, s := range saved {
		f := newFileState(s.File)
		e.files = append(e.files, f)
		e.byURL[f.URL] = f
		e.nextID = max(e.nextID, f.ID+1)
		if f.State == Failed && f.Again {
			// a failure of the moment (File.Again): this run tries again
			f.State, f.Err, f.Again, f.dirty = Pending, "", false, true
			e.changedFile(f)
			again++
		}
		if (f.State == Pending || f.State == Skipped) && e.cfg.Admit != nil {
			ok, why := e.cfg.Admit(&f.File)
			switch {
			case ok && f.State == Skipped:
				f.State, f.Err, f.dirty = Pending, "", true
				e.changedFile(f)
			case !ok && f.State == Pending:
				// What was fetched of it stays on disk and in the journal,
				// for a resume that admits it again.
				f.State, f.Err, f.dirty = Skipped, why, true
				e.changedFile(f)
			}
		}
		switch f.State {
		case Done:
			if err := e.finishMove(f, dirs); err != nil {
				return err
			}
			continue // finishMove fetches again what is gone from the tree
		case Failed, Skipped:
			continue
		}
		if f.Size > e.maxBody() {
			// recorded by a version of grab that believed it
			f.State, f.Err, f.dirty = Failed, e.tooLarge(f.Size), true
			e.changedFile(f)
			continue
		}
		if len(s.Blocks) > 0 || len(s.Partials) > 0 {
			// Checked by Run, while other files are fetched (verify.go).
			e.own(f)
			k := f.File
			f.key = &k // its place in the fetch order, for Files while it waits
			e.resume.files = append(e.resume.files, toVerify{f, s.Blocks, s.Partials})
			e.resume.total += recordedBytes(s, e.cfg.BlockSize)
			continue
		}
		e.enqueue(f) // idle: nothing of it is on disk
	}
	e.resume.left = len(e.resume.files)
	return nil
}

// enqueue puts a pending item in the queue, its order fixed by its record
// as it is now. e.mu is held (or the engine is not running yet).
func (e *Engine) enqueue(f *fileState) {
	if f.key != nil {
		f.key = nil // (idle is never written)
	}
	e.q.push(f)
}

func (e *Engine) compare(a, b *fileState) int { return Compare(e.cfg.Less, a.orderKey(), b.orderKey()) }

// orderKey is what the fetch order compares of f: its record as queued.
func (f *fileState) orderKey() *File {
	if f.key == nil {
		return &f.File
	}
	return f.key
}

// fixKey copies f's record as its place in the fetch order, before a
// request may change it.
func (f *fileState) fixKey() {
	if f.key == nil {
		k := f.File
		f.key = &k
	}
}

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
// its recorded hash. It hashes without e.mu (on every core, with progress
// in e.verify) and takes e.mu to apply what it found: it runs while other
// files are being fetched.
func (e *Engine) reverify(f *fileState, blocks map[int64][32]byte, partials map[int64]Partial) error {
	part, err := e.tree.openPart(f.ID, os.O_RDWR)
	foreign := errors.Is(err, jobdir.ErrNotOwn)
	if foreign || errors.Is(err, os.ErrNotExist) {
		if foreign {
			// Its name goes (never the file behind it): what was recorded
			// of it cannot be trusted; the next open makes one of grab's.
			e.log.Warn("partial file replaced by something else, starting over", "path", f.Path, "err", err)
			e.tree.root.RemoveAll(partRel(f.ID))
		} else {
			e.log.Warn("partial file missing, starting over", "path", f.Path)
		}
		e.mu.Lock()
		e.resets = append(e.resets, f.ID)
		e.mu.Unlock()
		return nil
	}
	var n int64
	if f.Size >= 0 {
		n = span.Blocks(f.Size, e.cfg.BlockSize)
	}
	done, hashes := make([]bool, n), make([][32]byte, n)
	if err != nil {
		return fmt.Errorf("opening partial file: %w", err)
	}
	var idx []int64
	bad := 0
	for i := range blocks {
		if i < 0 || (f.Size >= 0 && i >= n) {
			bad++
			continue
		}
		if f.Size >= 0 { // a whole stream of unknown length restarts anyway
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	ok := e.checkRecorded(part, f.Size, idx, blocks)
	var doneBytes int64
	for k, i := range idx {
		if !ok[k] {
			bad++
			continue
		}
		done[i], hashes[i] = true, blocks[i]
		doneBytes += span.Block(i, e.cfg.BlockSize, f.Size).Len()
	}
	if f.Whole && doneBytes < f.Size {
		// A whole stream cannot resume in the middle; a source that
		// takes a basis is handed the blocks at the file's start.
		keep := int64(0)
		if bt, ok := e.cfg.Source.(BasisTaker); ok && bt.TakesBasis(f.URL) {
			for keep < int64(len(done)) && done[keep] {
				keep++
			}
		}
		doneBytes = 0
		for i := range done {
			if int64(i) >= keep {
				done[i] = false
			} else {
				doneBytes += span.Block(int64(i), e.cfg.BlockSize, f.Size).Len()
			}
		}
		partials = nil
	}
	type goodPartial struct {
		b int64
		p Partial
	}
	var good []goodPartial
	var resumed, badPartials int64
	buf := make([]byte, e.cfg.BlockSize)
	for b, p := range partials {
		if e.checkPartial(part, f.Size, done, b, p, buf) {
			good = append(good, goodPartial{b, p})
			resumed += p.Reached - b*e.cfg.BlockSize
		} else {
			e.log.Warn("a partial block failed verification on resume and will be fetched again", "path", f.Path, "block", b)
			badPartials++
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.own(f)
	f.part, f.done, f.hashes, f.doneBytes = part, done, hashes, doneBytes
	if bad > 0 {
		e.log.Warn("blocks failed verification on resume and will be fetched again", "path", f.Path, "blocks", bad)
		e.stats.rehashed += int64(bad)
		e.resets = append(e.resets, f.ID)
		for i := range f.done {
			if f.done[i] {
				f.unsynced = append(f.unsynced, int64(i))
			}
		}
		e.changedFile(f) // the blocks are recorded again, the partials too
	}
	e.stats.resumed += doneBytes + resumed
	e.stats.rehashed += badPartials
	for _, g := range good {
		if f.partial == nil {
			f.partial = map[int64]*partialState{}
		}
		f.partial[g.b] = &partialState{reached: g.p.Reached, state: g.p.State, saved: bad == 0}
	}
	return nil
}

// checkRecorded hashes the blocks idx of part, on every core, and reports
// which match their recorded hash. It adds the bytes it reads to
// e.resume.done as it goes.
func (e *Engine) checkRecorded(part *os.File, size int64, idx []int64, blocks map[int64][32]byte) []bool {
	ok := make([]bool, len(idx))
	bs := e.cfg.BlockSize
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 8, max(len(idx), 1)) {
		wg.Go(func() {
			buf := make([]byte, bs)
			for {
				k := next.Add(1) - 1
				if k >= int64(len(idx)) {
					return
				}
				r := span.Block(idx[k], bs, size)
				n, _ := part.ReadAt(buf[:r.Len()], r.Start)
				ok[k] = int64(n) == r.Len() && sha256.Sum256(buf[:n]) == blocks[idx[k]]
				e.resume.done.Add(r.Len())
			}
		})
	}
	wg.Wait()
	return ok
}

// checkPartial trusts a recorded partial block only if hashing its bytes
// on disk gives exactly the recorded SHA-256 state.
func (e *Engine) checkPartial(part *os.File, size int64, done []bool, b int64, p Partial, buf []byte) bool {
	bs := e.cfg.BlockSize
	if size < 0 || b < 0 || b >= int64(len(done)) || done[b] || p.Reached <= b*bs || p.Reached >= min((b+1)*bs, size) {
		return false
	}
	n, err := part.ReadAt(buf[:p.Reached-b*bs], b*bs)
	e.resume.done.Add(int64(n))
	if err != nil || int64(n) != p.Reached-b*bs {
		return false
	}
	h := sha256.New()
	h.Write(buf[:n])
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	return err == nil && bytes.Equal(state, p.State)
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
		f := newFileState(in)
		f.dirty, f.unsaved = true, true
		f.Expect = maps.Clone(in.Expect)
		f.ID = e.nextID
		e.nextID++
		e.files = append(e.files, f)
		e.byURL[f.URL] = f
		if in.State == Skipped || in.State == Failed && in.Path == "" {
			// left out, or a file no local name could be made for
			e.changedFile(f)
			n++
			continue
		}
		f.State, f.Err = Pending, ""
		if f.Size == 0 {
			f.Size = -1 // a zero is a guess; the source tells
		}
		f.Estimate = min(f.Estimate, MaxFileSize)
		if f.Size > 0 && !e.listed(f) {
			f.Estimate, f.Size = min(f.Size, MaxFileSize), -1 // a hint only: the source tells
		}
		e.enqueue(f) // its block maps are made when a request takes it (own)
		e.changedFile(f)
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
	if haveSyncfs {
		if d, err := os.Open(e.partDir()); err == nil {
			e.fsDir = d
			defer func() { d.Close(); e.fsDir = nil }()
		}
	}
	commitDone := make(chan error, 1)
	stopCommit := make(chan struct{})
	verifyDone := make(chan struct{})
	go func() {
		defer close(verifyDone)
		if err := e.verifyAll(ctx); err != nil {
			e.stop(err)
		}
	}()
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
				if err := e.work(ctx, &lane{c: c, bulk: k < bulkLanes(c.conn)}); err != nil {
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
	<-verifyDone
	close(stopCommit)
	cerr := <-commitDone

	e.mu.Lock()
	fatal := e.fatal
	for _, f := range e.files {
		if f.part != nil {
			f.part.Close()
		}
		if f.rare != nil {
			for _, p := range f.rare.stale {
				p.Close()
			}
			f.rare.stale = nil
		}
		f.part = nil
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
	e.stopLocked(err)
}

// stopLocked is stop with e.mu held.
func (e *Engine) stopLocked(err error) {
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
	e.changedFile(f)
}

// changedFile puts f on the list the next commit looks at. e.mu is held.
func (e *Engine) changedFile(f *fileState) {
	if !f.listed {
		f.listed = true
		e.changed = append(e.changed, f)
	}
}
