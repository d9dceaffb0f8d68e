package demo

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// blockSize is the unit of content generation: the bytes of block i of a file
// come from a ChaCha8 stream keyed by (seed, path, i), so any offset costs at
// most one block of generation.
const blockSize = 64 << 10

// defaultModTime is given to files whose ModTime is zero, so that every file
// has a Last-Modified header and a listing date.
var defaultModTime = time.Date(2024, time.March, 14, 9, 26, 53, 0, time.UTC)

// File describes one file of a Dump.
type File struct {
	Path    string    // relative, slash-separated, e.g. "photos/plates/IMG_0001.JPG"
	Size    int64     // bytes
	ModTime time.Time // served as Last-Modified; zero means a fixed date in 2024
}

// Dump is an immutable set of files whose content is generated on demand from
// (seed, path). It is safe for concurrent use.
type Dump struct {
	seed  int64
	files []File // sorted by Path
	index map[string]int
	dirs  map[string]*dir // "" is the root
	sums  []fileSum       // lazily computed SHA-256 per file, same order as files
}

// dir is one folder of a Dump with its direct children, in listing order.
type dir struct {
	entries []entry
	modTime time.Time // newest ModTime below it
}

type entry struct {
	name    string
	isDir   bool
	size    int64
	modTime time.Time
}

type fileSum struct {
	once sync.Once
	sum  [sha256.Size]byte
}

// CheckFiles reports the first problem that would make NewDump panic: an
// error wrapping ErrBadPath or ErrBadSize, or nil.
func CheckFiles(files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if f.Size < 0 {
			return fmt.Errorf("file %q: size %d: %w", f.Path, f.Size, ErrBadSize)
		}
		if seen[f.Path] {
			return fmt.Errorf("file %q listed twice: %w", f.Path, ErrBadPath)
		}
		seen[f.Path] = true
	}
	for _, f := range files {
		for p := path.Dir(f.Path); p != "."; p = path.Dir(p) {
			if seen[p] {
				return fmt.Errorf("file %q is also the folder of %q: %w", p, f.Path, ErrBadPath)
			}
		}
	}
	return nil
}

func checkPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("path %q: %s: %w", p, why, ErrBadPath) }
	switch {
	case p == "":
		return bad("empty")
	case !utf8.ValidString(p):
		return bad("invalid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("absolute")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("control character")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return bad("empty segment")
		case ".", "..":
			return bad("dot segment")
		}
	}
	return nil
}

// NewDump returns a Dump holding files, whose content is generated from seed
// and each file's path. Files with a zero ModTime get a fixed date. NewDump
// panics if CheckFiles(files) reports an error: the file list is program
// input, like a regexp given to regexp.MustCompile.
func NewDump(seed int64, files []File) *Dump {
	if err := CheckFiles(files); err != nil {
		panic("demo.NewDump: " + err.Error())
	}
	d := &Dump{
		seed:  seed,
		files: slices.Clone(files),
		index: make(map[string]int, len(files)),
		dirs:  map[string]*dir{"": {}},
	}
	for i := range d.files {
		if d.files[i].ModTime.IsZero() {
			d.files[i].ModTime = defaultModTime
		}
	}
	slices.SortFunc(d.files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	d.sums = make([]fileSum, len(d.files))
	for i, f := range d.files {
		d.index[f.Path] = i
		// Register every ancestor folder, pushing this file's time up to it.
		for q := parentOf(f.Path); ; q = parentOf(q) {
			qd, ok := d.dirs[q]
			if !ok {
				qd = &dir{}
				d.dirs[q] = qd
			}
			if f.ModTime.After(qd.modTime) {
				qd.modTime = f.ModTime
			}
			if q == "" {
				break
			}
		}
		d.dirs[parentOf(f.Path)].entries = append(d.dirs[parentOf(f.Path)].entries,
			entry{name: path.Base(f.Path), size: f.Size, modTime: f.ModTime})
	}
	for q, qd := range d.dirs {
		if q != "" {
			pd := d.dirs[parentOf(q)]
			pd.entries = append(pd.entries, entry{name: path.Base(q), isDir: true, modTime: qd.modTime})
		}
	}
	for _, dd := range d.dirs {
		// nginx lists folders first, then in byte order of names.
		slices.SortFunc(dd.entries, func(a, b entry) int {
			if a.isDir != b.isDir {
				if a.isDir {
					return -1
				}
				return 1
			}
			return strings.Compare(a.name, b.name)
		})
	}
	return d
}

// parentOf returns the folder of p, "" for the root.
func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Seed returns the seed the content is generated from.
func (d *Dump) Seed() int64 { return d.seed }

// Files returns a copy of the files, sorted by path.
func (d *Dump) Files() []File { return slices.Clone(d.files) }

// TotalSize returns the sum of all file sizes.
func (d *Dump) TotalSize() int64 {
	var n int64
	for _, f := range d.files {
		n += f.Size
	}
	return n
}

// Stat returns the file at path p.
func (d *Dump) Stat(p string) (File, bool) {
	i, ok := d.index[p]
	if !ok {
		return File{}, false
	}
	return d.files[i], true
}

// Open returns a reader of the generated content of the file at path p and
// its size. The reader is safe for concurrent use and cheap to create.
func (d *Dump) Open(p string) (io.ReaderAt, int64, bool) {
	i, ok := d.index[p]
	if !ok {
		return nil, 0, false
	}
	return d.content(i), d.files[i].Size, true
}

func (d *Dump) content(i int) *content {
	f := d.files[i]
	return &content{key: fileKey(d.seed, f.Path), size: f.Size, magic: magicFor(f.Path), blk: -1}
}

// sha256Of returns the SHA-256 of file i's content, computing it once.
func (d *Dump) sha256Of(i int) [sha256.Size]byte {
	s := &d.sums[i]
	s.once.Do(func() {
		h := sha256.New()
		// io.Copy only fails if the source does, and content never does.
		_, _ = io.Copy(h, io.NewSectionReader(d.content(i), 0, d.files[i].Size))
		copy(s.sum[:], h.Sum(nil))
	})
	return s.sum
}

// etag returns a strong entity tag for file i, a function of seed, path,
// size and time (the content is a function of seed and path).
func (d *Dump) etag(i int) string {
	f := d.files[i]
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(d.seed))
	h.Write(b[:])
	h.Write([]byte(f.Path))
	binary.LittleEndian.PutUint64(b[:], uint64(f.Size))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(f.ModTime.Unix()))
	h.Write(b[:])
	return fmt.Sprintf("%q", fmt.Sprintf("%x", h.Sum(nil)[:10]))
}

// fileKey derives the per-file generation key.
func fileKey(seed int64, p string) [32]byte {
	h := sha256.New()
	h.Write([]byte("grab demo content v1\x00"))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(p))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// content generates one file's bytes at any offset.
type content struct {
	key   [32]byte
	size  int64
	magic []byte

	mu  sync.Mutex
	blk int64 // index of the block in buf, -1 if none
	buf []byte
}

// ReadAt implements io.ReaderAt.
func (c *content) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at offset %d: negative offset", off)
	}
	if off >= c.size {
		return 0, io.EOF
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) && off < c.size {
		b := off / blockSize
		c.fill(b)
		lo := int(off - b*blockSize)
		k := copy(p[n:], c.buf[lo:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill makes buf hold block b (truncated at the end of the file).
func (c *content) fill(b int64) {
	if c.blk == b {
		return
	}
	if c.buf == nil {
		c.buf = make([]byte, blockSize)
	}
	seed := c.key
	var ib [8]byte
	binary.LittleEndian.PutUint64(ib[:], uint64(b))
	seed = sha256.Sum256(append(seed[:], ib[:]...))
	n := min(int64(blockSize), c.size-b*blockSize)
	c.buf = c.buf[:n]
	// ChaCha8.Read never fails.
	_, _ = rand.NewChaCha8(seed).Read(c.buf)
	if b == 0 {
		copy(c.buf, c.magic)
	}
	c.blk = b
}

// magicFor returns the leading bytes a file of this kind starts with, so that
// type sniffers (file(1), the engine's priority classes) see plausible files.
func magicFor(p string) []byte {
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg":
		return []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	case ".tif", ".tiff":
		return []byte("II*\x00")
	case ".pdf":
		return []byte("%PDF-1.4\n")
	case ".zip", ".docx", ".xlsx":
		return []byte("PK\x03\x04")
	case ".7z":
		return []byte("7z\xbc\xaf\x27\x1c")
	case ".gz":
		return []byte("\x1f\x8b\x08")
	case ".pst":
		return []byte("!BDN")
	case ".eml":
		return []byte("Return-Path: <")
	case ".sql":
		return []byte("-- MySQL dump 10.13\n")
	}
	return nil
}
