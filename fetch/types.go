package fetch

import (
	"context"
	"io"
	"maps"
	"time"

	"github.com/grab-ir/grab/fetch/digest"
	"github.com/grab-ir/grab/fetch/listing"
	"github.com/grab-ir/grab/fetch/span"
)

// State is where a file stands in a job.
type State uint8

// File states, in the order a file passes through them.
const (
	Pending State = iota // not complete yet (possibly partly fetched)
	Done                 // complete, verified and in the output tree
	Failed               // given up; Err says why
	Skipped              // left out by a filter (--only, --include, --depth, ...); Err says which
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Done:
		return "done"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}

// Kind tells files from directory listings.
type Kind uint8

// Kinds of items.
const (
	KindFile    Kind = iota
	KindListing      // read by a Lister and handed to Config.Expand
)

// File is one remote file of a job and what is known about it.
type File struct {
	ID    uint64
	Kind  Kind
	State State
	Whole bool // the source serves this file only as one whole stream
	// Again marks a failure of the moment, not of the file: too little
	// free disk, tries used up on this run's circuits, a folder in the way
	// of its place. A resume tries such a file again.
	Again bool
	// Named is set once the source named the file (Content-Disposition
	// on a query link): Path is that name, kept on resume.
	Named     bool // (the flags together: a job may hold a million File)
	URL       string
	Root      string // the start URL it was found under ("" for a start URL itself)
	Depth     int    // folders below Root
	Class     string // priority class, set by whoever adds the file
	Estimate  int64  // size announced by a listing, possibly rounded; -1 if none
	Path      string // local path relative to the output folder, slash-separated
	Size      int64  // -1 until learned
	Validator string // strong ETag or Last-Modified, learned on first contact
	Expect    digest.Set
	SHA256    string // hex, once Done
	Err       string // why it failed

	// Run is what this run learnt of the file, nil while nothing (a job
	// may hold a million files no request has touched). It is not kept
	// in the Journal: the job's manifest keeps it. The engine hands it
	// to Config.Finished with the file and keeps it no longer.
	Run *Run
}

// Run is what one run of a job learnt of a file.
type Run struct {
	// Digests holds the digests computed when the file was finished
	// besides its SHA-256, which is File.SHA256 (Config.Hashes, the
	// algorithms of Expect; nil if none); FirstByte and
	// LastByte are when this run received its first and last byte of it.
	Digests             digest.Set
	FirstByte, LastByte time.Time
	// Modified is the source's modification time of the file, as the
	// last stream of this run gave it (Stream.Modified).
	Modified time.Time
	// Requests counts the requests made for the file in this run,
	// Failures those that ended in an error.
	Requests, Failures int
}

// clone copies r, its digests included; nil stays nil.
func (r *Run) clone() *Run {
	if r == nil {
		return nil
	}
	c := *r
	c.Digests = maps.Clone(r.Digests)
	return &c
}

// Request asks a Conn for bytes of a file.
type Request struct {
	URL string
	// Range is the part wanted. A Conn may return a Stream for less, never
	// for more or from another offset.
	Range span.Range
	// Size and Validator are what is known so far (-1 and "" at first); a
	// Conn reports a remote file that no longer matches as *ChangedError.
	Size      int64
	Validator string
	// Basis, for a request of the whole file from byte 0, holds the bytes
	// [0, BasisLen) of the file as this side has them, verified: a source
	// may use them to send less (rsync's block checksums, where the daemon
	// refuses append), but its Stream still carries every byte it covers.
	Basis    io.ReaderAt
	BasisLen int64
}

// Stream is a Conn's answer: a body and what it says about the file.
type Stream struct {
	Body io.ReadCloser
	// Offset is where Body starts in the file; Len how many bytes it holds
	// (-1 unknown: until EOF).
	Offset, Len int64
	// Size is the file's complete length, -1 if unknown.
	Size      int64
	Validator string
	// Whole is set when the source ignored the range and sends the whole
	// file from its start.
	Whole bool
	// Digests are digests of the whole file announced by the source.
	Digests digest.Set
	// Modified is the file's modification time as the source gives it
	// (Last-Modified); zero if it gives none.
	Modified time.Time
	// URL is where the body came from after redirects; Type its media type
	// (such as "text/html; charset=utf-8"), "" if unknown.
	URL, Type string
	// Filename is the file's name as the source gives it apart from its
	// URL (Content-Disposition): one name, no folder, "" if none.
	Filename string
	// Checked, if set, gives the whole-file digests the source itself
	// checked against the bytes of this stream (an rsync daemon's
	// checksum, which the session compares as the data arrives). It is
	// asked once the body has given every byte from 0 to Size; nil or an
	// empty Set if the source checked nothing. They are recorded with the
	// file without hashing it again, unless another request wrote to it.
	Checked func() digest.Set
}

// Listing is what a Lister found in a folder.
type Listing struct {
	URL     string // the folder's URL after redirects
	Entries []listing.Entry
}

// BasisTaker is a Source whose whole streams can use what this side has
// of a file (Request.Basis) to send only the rest: rsync, where the module
// refuses append. For a file it takes a basis for, a resume keeps the
// verified blocks at the start of a file that comes only whole, instead of
// fetching them again.
type BasisTaker interface {
	TakesBasis(rawURL string) bool
}

// Source hands out connections. Each worker holds one Conn for its life,
// which keeps its own connections and, through a proxy, its own identity.
type Source interface {
	Conn(worker int) Conn
}

// Conn fetches byte ranges. Errors are *PermanentError, *TransientError,
// *ChangedError or anything else (treated as transient).
type Conn interface {
	Get(ctx context.Context, r Request) (*Stream, error)
	Close() error
}

// Lister is a Conn that can list a folder: the HTTP source fetches the
// page and parses it, rsync reads the daemon's file list. The engine hands
// what it finds to Config.Expand. moved is called with the bytes that
// arrive, as they arrive (they count towards the job's and keep the stall
// watch quiet); a listing larger than max bytes is a *PermanentError.
type Lister interface {
	List(ctx context.Context, url string, max int64, moved func(n int)) (*Listing, error)
}

// Journal keeps a job's progress. store implements it on bbolt.
type Journal interface {
	// Load returns every file with the hashes of its recorded blocks.
	Load() ([]Saved, error)
	// Save applies a batch atomically: Resets first, then Files, then Blocks.
	Save(b *Batch) error
}

// Saved is a file as the Journal holds it.
type Saved struct {
	File     File
	Blocks   map[int64][32]byte
	Partials map[int64]Partial
}

// Batch is one commit of progress.
type Batch struct {
	Resets   []uint64 // files whose recorded blocks and partials are void (the remote changed, or the file is done)
	Files    []File   // new or updated records
	Blocks   []BlockHash
	Partials []Partial // a block's Partial is dropped when the block itself is saved
}

// Partial records how far an unfinished block has arrived: its bytes from
// the block's start to Reached are durable, and State is the SHA-256 state
// (encoding.BinaryMarshaler form) after hashing them.
type Partial struct {
	File    uint64
	Block   int64
	Reached int64 // file offset
	State   []byte
}

// BlockHash records a block made durable.
type BlockHash struct {
	File  uint64
	Index int64
	Hash  [32]byte
}
