package rsync

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// File is one entry of the daemon's file list.
type File struct {
	// Ndx is the entry's index in the sorted list: what requests name.
	Ndx int32
	// Name is the path relative to the transfer root, slash-separated,
	// exactly as the daemon sent it: it may hold "..", a leading "/",
	// control characters or invalid UTF-8 if the daemon is hostile.
	Name    string
	Size    int64
	ModTime time.Time // UTC
	Mode    uint32    // Unix mode: type bits and permissions
}

// Type is the kind of a file list entry.
type Type int

// Types of entries, from the mode's type bits.
const (
	Regular Type = iota
	Dir
	Symlink
	Device  // block or character device
	Special // FIFO, socket, or anything else
)

func (t Type) String() string {
	return [...]string{"file", "dir", "symlink", "device", "special"}[t]
}

// Unix file type bits.
const (
	modeType = 0o170000
	modeReg  = 0o100000
	modeDir  = 0o040000
	modeLink = 0o120000
	modeChr  = 0o020000
	modeBlk  = 0o060000
)

// Type tells regular files, directories, symlinks and devices apart.
func (f File) Type() Type {
	switch f.Mode & modeType {
	case modeReg:
		return Regular
	case modeDir:
		return Dir
	case modeLink:
		return Symlink
	case modeChr, modeBlk:
		return Device
	}
	return Special
}

// Transmission flags of a file list entry (rsync's XMIT_*).
const (
	xmitTopDir       = 1 << 0
	xmitSameMode     = 1 << 1
	xmitExtended     = 1 << 2 // protocol 28 and later: a second flag byte follows
	xmitSameName     = 1 << 5
	xmitLongName     = 1 << 6
	xmitSameTime     = 1 << 7
	xmitIOErrEndList = 1 << 12
	xmitModNsec      = 1 << 13
)

// Limits of one file list.
const (
	// DefaultMaxFiles is how many entries a list may hold unless
	// Options.MaxFiles says otherwise.
	DefaultMaxFiles = 1_000_000
	// DefaultMaxNameBytes bounds the sum of the names' lengths.
	DefaultMaxNameBytes = 128 << 20
	// maxPath is rsync's MAXPATHLEN less the NUL.
	maxPath = 4095
)

// listFormat is how a list is encoded in a session.
type listFormat struct {
	proto       int
	varintFlags bool // compat flag VARINT_FLIST_FLAGS
	safeFlist   bool // compat flag SAFE_FLIST or protocol 31
	maxFiles    int
	maxNames    int
}

// readFileList decodes a complete (non-incremental) file list and returns
// its active entries in sorted order, and the daemon's io_error flags.
func readFileList(r byteReader, lf listFormat) ([]File, int32, error) {
	var (
		files     []File
		nameBytes int
		last      string
		mtime     int64
		mode      uint32
		ioErr     int32
	)
	for {
		var flags int32
		if lf.varintFlags {
			v, err := readVarint(r, "file list flags")
			if err != nil {
				return nil, 0, err
			}
			if v == 0 {
				e, err := readVarint(r, "file list io_error")
				if err != nil {
					return nil, 0, err
				}
				ioErr |= e
				break
			}
			flags = v
		} else {
			b, err := readByte(r, "file list flags")
			if err != nil {
				return nil, 0, err
			}
			if b == 0 {
				break
			}
			flags = int32(b)
			if lf.proto >= 28 && flags&xmitExtended != 0 {
				b2, err := readByte(r, "file list flags")
				if err != nil {
					return nil, 0, err
				}
				flags |= int32(b2) << 8
			}
			if lf.proto >= 28 && flags == xmitExtended|xmitIOErrEndList {
				if !lf.safeFlist {
					return nil, 0, fmt.Errorf("%w: end-of-list flags %#x without safe file lists", ErrProtocol, flags)
				}
				e, err := readVarint(r, "file list io_error")
				if err != nil {
					return nil, 0, err
				}
				ioErr |= e
				break
			}
		}
		if len(files) >= lf.maxFiles {
			return nil, 0, fmt.Errorf("%w: file list longer than %d entries", ErrLimit, lf.maxFiles)
		}

		l1 := 0
		if flags&xmitSameName != 0 {
			b, err := readByte(r, "name prefix length")
			if err != nil {
				return nil, 0, err
			}
			l1 = int(b)
		}
		var l2 int
		if flags&xmitLongName != 0 {
			v, err := readVarint30(r, lf.proto, "name length")
			if err != nil {
				return nil, 0, err
			}
			l2 = int(v)
		} else {
			b, err := readByte(r, "name length")
			if err != nil {
				return nil, 0, err
			}
			l2 = int(b)
		}
		if l1 > len(last) {
			return nil, 0, fmt.Errorf("%w: name shares %d bytes with a %d-byte name", ErrProtocol, l1, len(last))
		}
		if l2 < 0 || l2 > maxPath-l1 {
			return nil, 0, fmt.Errorf("%w: name of %d+%d bytes (at most %d)", ErrLimit, l1, l2, maxPath)
		}
		if l1+l2 == 0 {
			return nil, 0, fmt.Errorf("%w: empty name", ErrProtocol)
		}
		nameBytes += l1 + l2
		if nameBytes > lf.maxNames {
			return nil, 0, fmt.Errorf("%w: file list names over %d bytes", ErrLimit, lf.maxNames)
		}
		suffix := make([]byte, l2)
		if err := readFull(r, suffix, "name"); err != nil {
			return nil, 0, err
		}
		name := last[:l1] + string(suffix)
		last = name

		size, err := readVarlong30(r, lf.proto, 3, "file size")
		if err != nil {
			return nil, 0, err
		}
		if size < 0 {
			return nil, 0, fmt.Errorf("%w: size %d of %q", ErrProtocol, size, clip(name))
		}
		if flags&xmitSameTime == 0 {
			if lf.proto >= 30 {
				if mtime, err = readVarlong(r, 4, "mtime"); err != nil {
					return nil, 0, err
				}
			} else {
				v, err := readInt32(r, "mtime")
				if err != nil {
					return nil, 0, err
				}
				mtime = int64(uint32(v))
			}
		}
		var nsec int32
		if lf.proto >= 31 && flags&xmitModNsec != 0 {
			if nsec, err = readVarint(r, "mtime nanoseconds"); err != nil {
				return nil, 0, err
			}
			if nsec < 0 || nsec > 999_999_999 {
				return nil, 0, fmt.Errorf("%w: %d nanoseconds", ErrProtocol, nsec)
			}
		}
		if flags&xmitSameMode == 0 {
			v, err := readInt32(r, "mode")
			if err != nil {
				return nil, 0, err
			}
			mode = uint32(v)
		} else if len(files) == 0 {
			return nil, 0, fmt.Errorf("%w: first entry reuses an earlier mode", ErrProtocol)
		}
		files = append(files, File{Name: name, Size: size, ModTime: time.Unix(mtime, int64(nsec)).UTC(), Mode: mode})
	}
	if lf.proto < 30 {
		e, err := readInt32(r, "file list io_error")
		if err != nil {
			return nil, 0, err
		}
		ioErr |= e
	}
	return sortAndClean(files, lf.proto), ioErr, nil
}

// sortAndClean orders the list the way the daemon's sender does and drops
// duplicates the way its receiver would; the index of each kept entry in
// the sorted list, dropped ones counted, is its Ndx.
func sortAndClean(files []File, proto int) []File {
	slices.SortStableFunc(files, func(a, b File) int { return compareNames(a, b, proto) })
	active := make([]bool, len(files))
	// Names of kept non-directories, to find one a later directory of the
	// same name must replace (protocol 29 and later, where the two do not
	// compare equal).
	nondirs := map[string]int{}
	prev := -1
	for i := range files {
		files[i].Ndx = int32(i)
		dup := -1
		if prev >= 0 && compareNames(files[i], files[prev], proto) == 0 {
			dup = prev
		} else if proto >= 29 && files[i].Type() == Dir {
			if j, ok := nondirs[files[i].Name]; ok {
				dup = j
			}
		}
		if dup < 0 {
			active[i] = true
			prev = i
			if files[i].Type() != Dir {
				nondirs[files[i].Name] = i
			}
			continue
		}
		// A directory wins over a non-directory (it may have contents in
		// the list); otherwise the first one stays.
		if files[i].Type() == Dir && files[dup].Type() != Dir {
			active[dup] = false
			delete(nondirs, files[dup].Name)
			active[i] = true
			prev = i
		}
	}
	kept := files[:0:0]
	for i, f := range files {
		if active[i] {
			kept = append(kept, f)
		}
	}
	return kept
}

// Name comparison states, after rsync's f_name_cmp.
const (
	stDir = iota
	stSlash
	stBase
	stTrailing
)

// Name comparison types: a path still to descend, or a final item.
const (
	tyPath = iota
	tyItem
)

// nameCursor walks a name as f_name_cmp sees it: directory part, a slash,
// the base name, and for directories (protocol 29 and later) a trailing
// slash.
type nameCursor struct {
	dir, base string
	isDir     bool
	pathType  int // tyPath from protocol 29, tyItem before
	cur       string
	state     int
	typ       int
}

func newCursor(f File, proto int) nameCursor {
	c := nameCursor{isDir: f.Type() == Dir, pathType: tyItem}
	if proto >= 29 {
		c.pathType = tyPath
	}
	if i := strings.LastIndexByte(f.Name, '/'); i >= 0 {
		c.dir, c.base = f.Name[:i], f.Name[i+1:]
		c.typ, c.state, c.cur = c.pathType, stDir, c.dir
	} else {
		c.base = f.Name
		c.startBase()
	}
	return c
}

// startBase moves to the base name; a directory named "." sorts first.
func (c *nameCursor) startBase() {
	c.typ = tyItem
	if c.isDir {
		c.typ = c.pathType
	}
	if c.typ == tyPath && c.base == "." {
		c.typ, c.state, c.cur = tyItem, stTrailing, ""
		return
	}
	c.state, c.cur = stBase, c.base
}

// compareNames orders two entries like rsync's f_name_cmp: before
// protocol 29 plain byte order of the paths; from 29, a directory compares
// as if it ended in "/", and a directory's files come before its
// subdirectories.
func compareNames(a, b File, proto int) int {
	if proto < 29 {
		return strings.Compare(a.Name, b.Name)
	}
	c1, c2 := newCursor(a, proto), newCursor(b, proto)
	sameDir := c1.state == stDir && c2.state == stDir && c1.dir == c2.dir
	if sameDir {
		c1.startBase()
		c2.startBase()
	}
	if c1.typ != c2.typ {
		if c1.typ == tyPath {
			return 1
		}
		return -1
	}
	for {
		if c1.cur == "" {
			switch c1.state {
			case stDir:
				c1.state, c1.cur = stSlash, "/"
			case stSlash:
				c1.startBase()
			case stBase:
				c1.state = stTrailing
				if c1.typ == tyPath {
					c1.cur = "/"
					break
				}
				c1.typ = tyItem
			case stTrailing:
				c1.typ = tyItem
			}
			if c2.cur != "" && c1.typ != c2.typ {
				if c1.typ == tyPath {
					return 1
				}
				return -1
			}
		}
		if c2.cur == "" {
			switch c2.state {
			case stDir:
				c2.state, c2.cur = stSlash, "/"
			case stSlash:
				c2.startBase()
			case stBase:
				c2.state = stTrailing
				if c2.typ == tyPath {
					c2.cur = "/"
					break
				}
				c2.typ = tyItem
				if c1.cur == "" {
					return 0
				}
			case stTrailing:
				if c1.cur == "" {
					return 0
				}
				c2.typ = tyItem
			}
			if c1.typ != c2.typ {
				if c1.typ == tyPath {
					return 1
				}
				return -1
			}
		}
		var x, y int
		if c1.cur != "" {
			x = int(c1.cur[0])
			c1.cur = c1.cur[1:]
		}
		if c2.cur != "" {
			y = int(c2.cur[0])
			c2.cur = c2.cur[1:]
		}
		if x != y {
			return x - y
		}
	}
}
