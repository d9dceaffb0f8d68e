package localpath

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/grab-ir/grab/fetch/jobdir"
)

const (
	// DefaultMaxName is the per-component byte limit NewMapper uses when
	// given 0 or less. It leaves room below Linux's NAME_MAX (255) for the
	// suffixes of temporary files.
	DefaultMaxName = 200

	// MinMaxName is the smallest per-component limit a Mapper accepts; a
	// smaller one is raised to it so that a hash tag, an extension and a
	// collision counter always fit.
	MinMaxName = 40

	// MaxPath is the byte limit on a whole local relative path, leaving
	// room below Linux's PATH_MAX (4096) for the output directory.
	MaxPath = 3072

	// StateDir is grab's state folder in the output directory; the Mapper
	// never hands it out as a top-level name.
	StateDir = jobdir.Name

	// maxExt is the longest extension, dot included, that is kept apart
	// when a name is shortened or numbered; a longer one is part of the stem.
	maxExt = 17
)

// Mapper assigns each remote file or directory a unique, safe local relative
// path (slash-separated, for filepath.FromSlash). It is deterministic: the
// same sequence of calls gives the same results. It is safe for concurrent
// use, though concurrent calls make the order, and so the results, vary.
//
// A job may map a million files, so most keys are not stored: a key's path
// is where its names lead (each segment cleaned and shortened in its
// parent's local folder), and used tells, of each local path, the
// fingerprint of the key that has it. Only the keys whose path is not
// where their names lead (numbered, or named by MapAs) are in moved.
type Mapper struct {
	mu      sync.Mutex
	maxName int
	seed    maphash.Seed
	used    map[string]uint64 // local paths handed out or reserved -> fingerprint of their key (0: reserved, no key's)
	moved   map[string]string // remote key (see Key) -> local path, where it is not where its names lead
	next    map[string]int    // local path -> next collision number to try
}

// NewMapper returns a Mapper whose path components are at most maxName bytes;
// 0 or less means DefaultMaxName, and values below MinMaxName are raised to
// it.
func NewMapper(maxName int) *Mapper {
	switch {
	case maxName <= 0:
		maxName = DefaultMaxName
	case maxName < MinMaxName:
		maxName = MinMaxName
	}
	return &Mapper{
		maxName: maxName,
		seed:    maphash.MakeSeed(),
		used:    map[string]uint64{StateDir: 0},
		moved:   make(map[string]string),
		next:    make(map[string]int),
	}
}

// fingerprint is key's 64-bit hash, never 0. Two keys share a local path
// only if their fingerprints are equal as well as where their names lead:
// with a seed of the Mapper's own, a chance of 2^-64 for each pair of keys
// whose names lead to one path, which the Mapper numbers apart otherwise.
func (m *Mapper) fingerprint(key string) uint64 {
	return max(maphash.String(m.seed, key), 1)
}

// join is the local path of name in the local folder parent ("" for the
// top).
func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// find returns the local path of key, whose names lead to name in the
// local folder parent, if key has one. m.mu is held.
func (m *Mapper) find(key, parent, name string) (string, bool) {
	if local, ok := m.moved[key]; ok {
		return local, true
	}
	local := join(parent, name)
	if fp, ok := m.used[local]; ok && fp == m.fingerprint(key) {
		return local, true
	}
	return "", false
}

// lookupLocked is the local path of the last of segments (cleaned into
// names) if it has one, last being its key. m.mu is held.
func (m *Mapper) lookupLocked(segments, names []string, dir bool, last string) (string, bool) {
	parent := ""
	for i := range segments {
		key := Key(segments[:i+1], dir || i < len(segments)-1)
		if i == len(segments)-1 {
			key = last
		}
		local, ok := m.find(key, parent, m.shorten(names[i], segments[i]))
		if !ok {
			return "", false
		}
		parent = local
	}
	return parent, true
}

// MaxName returns the Mapper's per-component byte limit.
func (m *Mapper) MaxName() int { return m.maxName }

// Key returns the remote key of a path given as decoded segments: the
// segments joined with "/", and a trailing "/" for a directory, so that a
// file "x" and a directory "x/" are different keys. It is what Restore takes.
func Key(segments []string, dir bool) string {
	k := strings.Join(segments, "/")
	if dir {
		k += "/"
	}
	return k
}

// OwnedKey is the remote key of a file found under one start URL, owner:
// files of two start URLs at the same relative path are different files,
// while their folders are shared.
func OwnedKey(owner string, segments []string) string {
	sum := sha256.Sum256([]byte(owner))
	return Key(segments, false) + "\x00" + hex.EncodeToString(sum[:8])
}

// MapOwned is Map for a file found under the start URL owner (see
// OwnedKey): a file of another start URL at the same relative path gets a
// name of its own ("x (2).jpg") instead of the same one.
func (m *Mapper) MapOwned(owner string, segments []string) (string, error) {
	return m.mapKey(segments, false, OwnedKey(owner, segments))
}

// QueryKey is the remote key of a file found under owner and reached by a
// query (get.php?file=a.jpg): each query of one path is a file of its own.
func QueryKey(owner string, segments []string, query string) string {
	return OwnedKey(owner, segments) + "?" + query
}

// MapAs maps the file of remote key key (QueryKey) into the folder of
// segments under the local name name instead of its last segment: a
// query's file name, or the one its source gave. Once key is mapped, MapAs
// returns its path whatever the name.
func (m *Mapper) MapAs(key string, segments []string, name string) (string, error) {
	if len(segments) == 0 {
		return "", fmt.Errorf("%w: a file needs a name", ErrBadSegment)
	}
	return m.mapKeyAs(append(slices.Clone(segments[:len(segments)-1]), name), false, key, true)
}

// Rename gives the file of key, mapped before, the local name name in
// the same folder (numbered if taken), for a name its source tells only
// when asked (Content-Disposition). A file that has that name already
// keeps its path; otherwise its old path is let go (nothing is placed at
// it yet). On error the file keeps its old path.
func (m *Mapper) Rename(key string, segments []string, name string) (string, error) {
	if len(segments) == 0 {
		return "", fmt.Errorf("%w: a file needs a name", ErrBadSegment)
	}
	segs := append(slices.Clone(segments[:len(segments)-1]), name)
	names, err := cleanAll(segs)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, had := m.moved[key]
	if !had { // mapped by Map or MapOwned: where its names lead
		if oldNames, err := cleanAll(segments); err == nil {
			old, had = m.lookupLocked(segments, oldNames, false, key)
		}
	}
	if had && path.Base(old) == names[len(names)-1] {
		return old, nil
	}
	delete(m.moved, key)
	if had {
		delete(m.used, old)
	}
	p, err := m.mapLocked(segs, names, false, key, true)
	if err != nil && had {
		m.moved[key] = old
		m.used[old] = m.fingerprint(key)
	}
	return p, err
}

// Map returns the local path of the remote file (dir false) or directory (dir
// true) whose decoded path segments below the crawl root are given. The same
// segments and kind always give the same path; different ones never share a
// path, and a file's path is never the directory of another path. Folder
// segments are mapped as directories, so every file of one remote directory
// lands in one local directory. The root directory itself (no segments, dir
// true) maps to ".". An error wraps ErrBadSegment or ErrPathTooLong and names
// the reason; nothing is registered then.
func (m *Mapper) Map(segments []string, dir bool) (string, error) {
	return m.mapKey(segments, dir, Key(segments, dir))
}

// mapKey is Map with the remote key of the last segment given.
func (m *Mapper) mapKey(segments []string, dir bool, last string) (string, error) {
	return m.mapKeyAs(segments, dir, last, false)
}

// mapKeyAs is mapKey; named: the last segment is a name given for the key
// (MapAs), not one its names lead to.
func (m *Mapper) mapKeyAs(segments []string, dir bool, last string, named bool) (string, error) {
	if len(segments) == 0 {
		if dir {
			return ".", nil
		}
		return "", fmt.Errorf("%w: a file needs a name", ErrBadSegment)
	}
	names, err := cleanAll(segments)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mapLocked(segments, names, dir, last, named)
}

// cleanAll is clean of every segment.
func cleanAll(segments []string) ([]string, error) {
	names := make([]string, len(segments))
	for i, seg := range segments {
		n, err := clean(seg)
		if err != nil {
			return nil, err
		}
		names[i] = n
	}
	return names, nil
}

// mapLocked is mapKeyAs with the segments cleaned into names; m.mu is
// held.
func (m *Mapper) mapLocked(segments, names []string, dir bool, last string, named bool) (string, error) {
	if local, ok := m.moved[last]; ok {
		return local, nil
	}
	// Work out every missing component first and register them only once
	// the whole path is known to fit.
	type entry struct {
		key, local string
		moved      bool
	}
	var fresh []entry
	p := plan{used: make(map[string]struct{}), next: make(map[string]int)}
	parent := ""
	for i := range segments {
		key := Key(segments[:i+1], dir || i < len(segments)-1)
		isLast := i == len(segments)-1
		if isLast {
			key = last
		}
		name := m.shorten(names[i], segments[i])
		if local, ok := m.find(key, parent, name); ok && !(isLast && named) {
			parent = local
			continue
		}
		local := m.assign(parent, name, &p)
		if len(local) > MaxPath {
			return "", fmt.Errorf("%w: %d bytes, the limit is %d", ErrPathTooLong, len(local), MaxPath)
		}
		p.used[local] = struct{}{}
		fresh = append(fresh, entry{key, local, isLast && named || local != join(parent, name)})
		parent = local
	}
	for _, e := range fresh {
		if e.moved {
			m.moved[e.key] = e.local
		}
		m.used[e.local] = m.fingerprint(e.key)
	}
	for base, n := range p.next {
		m.next[base] = n
	}
	return parent, nil
}

// Restore registers a local path handed out earlier for a remote key (as made
// by Key), so that a resumed job maps that key to the same path again and
// never gives the path, or its parent directories, to another key. The
// parent directories of the key are registered too when the key and the path
// have the same number of components, as Map's results do. Restore trusts
// its input: a later Restore of the same key wins.
func (m *Mapper) Restore(remoteKey string, local string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rsegs := strings.Split(strings.TrimSuffix(remoteKey, "/"), "/")
	lsegs := strings.Split(local, "/")
	parentOK := len(rsegs) == len(lsegs) // the parents below map as the path has them
	for i := 1; i < len(lsegs); i++ {
		dl := strings.Join(lsegs[:i], "/")
		if len(rsegs) != len(lsegs) {
			if _, ok := m.used[dl]; !ok {
				m.used[dl] = 0
			}
			continue
		}
		switch got, ok := m.lookupDir(rsegs[:i]); {
		case ok && got == dl:
		case ok:
			parentOK = false // the folder maps elsewhere: the key is stored as it is
			if _, ok := m.used[dl]; !ok {
				m.used[dl] = 0
			}
		default: // the folder gets dl
			dk := Key(rsegs[:i], true)
			if _, ok := m.used[dl]; !ok {
				m.used[dl] = m.fingerprint(dk)
			}
			if got, _ := m.lookupDir(rsegs[:i]); got != dl {
				m.moved[dk] = dl
			}
		}
	}
	delete(m.moved, remoteKey)
	m.used[local] = m.fingerprint(remoteKey)
	// In moved unless its names lead to local (an owned key's last
	// segment is its name, then the owner's mark: see OwnedKey).
	last := rsegs[len(rsegs)-1]
	if i := strings.IndexByte(last, 0); i >= 0 && !strings.Contains(last[i:], "?") {
		last = last[:i]
	}
	if name, err := clean(last); !parentOK || err != nil || m.shorten(name, last) != lsegs[len(lsegs)-1] {
		m.moved[remoteKey] = local
	}
}

// lookupDir is the local path of the folder of segments, if it has one.
// m.mu is held.
func (m *Mapper) lookupDir(segments []string) (string, bool) {
	names, err := cleanAll(segments)
	if err != nil {
		return "", false
	}
	return m.lookupLocked(segments, names, true, Key(segments, true))
}

// plan holds what one Map call is about to register.
type plan struct {
	used map[string]struct{}
	next map[string]int
}

// assign picks a free local path for name, shortened, inside the local
// directory parent ("" for the top), numbering it as needed.
func (m *Mapper) assign(parent, name string, pl *plan) string {
	free := func(n string) (string, bool) {
		p := join(parent, n)
		if _, ok := m.used[p]; ok {
			return p, false
		}
		_, ok := pl.used[p]
		return p, !ok
	}
	base, ok := free(name)
	if ok {
		return base
	}
	// Numbers below next[base] are known to be taken, so a listing of many
	// names that clean to one costs linear, not quadratic, time.
	stem, ext := splitExt(name)
	start := m.next[base]
	if n, ok := pl.next[base]; ok {
		start = n
	}
	for n := max(2, start); ; n++ {
		if p, ok := free(m.fit(stem, " ("+strconv.Itoa(n)+")", ext)); ok {
			pl.next[base] = n + 1
			return p
		}
	}
}

// shorten returns name unchanged if it fits the limit, otherwise a prefix of
// it, "~", 8 hex digits of the SHA-256 of raw, and name's extension.
func (m *Mapper) shorten(name, raw string) string {
	if len(name) <= m.maxName {
		return name
	}
	sum := sha256.Sum256([]byte(raw))
	stem, ext := splitExt(name)
	return m.fit(stem, "~"+hex.EncodeToString(sum[:4]), ext)
}

// fit returns stem+tag+ext, cutting stem on a character boundary so that the
// result is at most maxName bytes.
func (m *Mapper) fit(stem, tag, ext string) string {
	room := m.maxName - len(tag) - len(ext)
	if room < 0 { // cannot happen with MinMaxName and maxExt; be safe
		ext, room = "", m.maxName-len(tag)
	}
	return cutUTF8(stem, room) + tag + ext
}

// clean turns one decoded remote segment into a local name, or rejects it.
func clean(seg string) (string, error) {
	switch {
	case seg == "":
		return "", fmt.Errorf("%w: empty name", ErrBadSegment)
	case seg == "." || seg == "..":
		return "", fmt.Errorf("%w %q: dot segment", ErrBadSegment, seg)
	case strings.Contains(seg, "/"):
		return "", fmt.Errorf("%w %q: contains a slash", ErrBadSegment, seg)
	}
	if plainName(seg) {
		return seg, nil // nothing to change: no copy
	}
	var b strings.Builder
	for i := 0; i < len(seg); {
		r, size := utf8.DecodeRuneInString(seg[i:])
		switch {
		case size == 1 && r == utf8.RuneError:
			b.WriteByte(seg[i]) // not UTF-8: Linux names are bytes, keep it
		case r < 0x20 && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f, r == '\\':
			b.WriteByte('_')
		default:
			b.WriteString(seg[i : i+size])
		}
		i += size
	}
	return b.String(), nil
}

// plainName reports whether clean keeps seg as it is: printable ASCII
// and tabs, no backslash.
func plainName(seg string) bool {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; (c < 0x20 && c != '\t') || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// splitExt splits a name into stem and extension (dot included). A leading
// dot does not start an extension, ".tar.X" counts as one extension, and an
// extension longer than maxExt bytes is left in the stem.
func splitExt(name string) (stem, ext string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || len(name)-dot > maxExt || dot == len(name)-1 {
		return name, ""
	}
	if strings.HasSuffix(strings.ToLower(name[:dot]), ".tar") && dot > len(".tar") {
		dot -= len(".tar")
	}
	return name[:dot], name[dot:]
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence; bytes that are not UTF-8 count as one character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		if i+size > n {
			break
		}
		i += size
	}
	return s[:i]
}

// Check reports whether p is a path a Mapper could have handed out: a
// slash-separated relative path of at most MaxPath bytes whose every
// segment is a name clean keeps as it is, the first not StateDir. A path
// read back from somewhere untrusted (the job's state) must pass it before
// anything is opened there.
func Check(p string) error {
	if len(p) > MaxPath {
		return fmt.Errorf("%w: a path of %d bytes", ErrBadSegment, len(p))
	}
	for i, seg := range strings.Split(p, "/") {
		c, err := clean(seg)
		switch {
		case err != nil:
			return err
		case c != seg:
			return fmt.Errorf("%w %q: a name grab does not write", ErrBadSegment, seg)
		case i == 0 && seg == StateDir:
			return fmt.Errorf("%w %q: grab's own folder", ErrBadSegment, seg)
		}
	}
	return nil
}
