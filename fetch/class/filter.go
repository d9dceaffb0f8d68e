package class

import (
	"fmt"
	"math/big"
	"path"
	"regexp"
	"strings"
)

// Filter selects files by path and size, from --include, --exclude,
// --min-size and --max-size.
//
// Patterns are globs on the slash-separated path relative to the crawl root,
// matched without case (so "*.jpg" also takes "IMG.JPG"): "*" matches any
// run of characters but "/", "?" one character but "/", "[a-z]" and "[^a-z]"
// a class, and "\" quotes the next character. A segment that is exactly "**"
// matches any number of whole segments ("a/**/b" takes "a/b" and "a/x/y/b");
// at the end it matches one or more ("a/**" takes everything below a, not a
// itself); inside a segment "**" is just "*". A pattern without "/" matches
// the base name at any depth ("*.tmp", "Thumbs.db"); a leading "/" anchors a
// pattern at the root ("/*.txt" takes "a.txt" but not "d/a.txt"); a trailing
// "/" takes everything below a matching directory ("cache/").
//
// A file is kept when it matches no Exclude pattern, matches some Include
// pattern (or Include is empty), and its size is within the limits.
type Filter struct {
	Include, Exclude []string
	// MinSize and MaxSize are inclusive limits in bytes; 0 means none.
	MinSize, MaxSize int64
}

// Validate checks the patterns and the size limits.
func (f Filter) Validate() error {
	for _, list := range [][]string{f.Include, f.Exclude} {
		for _, p := range list {
			if _, err := compileGlob(p); err != nil {
				return err
			}
		}
	}
	switch {
	case f.MinSize < 0:
		return fmt.Errorf("%w: minimum size %d is negative", ErrBadSize, f.MinSize)
	case f.MaxSize < 0:
		return fmt.Errorf("%w: maximum size %d is negative", ErrBadSize, f.MaxSize)
	case f.MaxSize > 0 && f.MinSize > f.MaxSize:
		return fmt.Errorf("%w: minimum size %d is above maximum size %d", ErrBadSize, f.MinSize, f.MaxSize)
	}
	return nil
}

// Match reports whether the file at rel (slash-separated, relative to the
// crawl root) with the given size passes the filter, and if not, why. A size
// of -1 means unknown: the size limits do not exclude the file yet. Patterns
// that Validate would reject match nothing.
func (f Filter) Match(rel string, size int64) (ok bool, reason string) {
	for _, p := range f.Exclude {
		if matchGlob(p, rel) {
			return false, fmt.Sprintf("excluded by %q", p)
		}
	}
	if len(f.Include) > 0 {
		included := false
		for _, p := range f.Include {
			if matchGlob(p, rel) {
				included = true
				break
			}
		}
		if !included {
			return false, "matches no include pattern"
		}
	}
	if size >= 0 {
		if f.MinSize > 0 && size < f.MinSize {
			return false, fmt.Sprintf("smaller than the minimum size (%d < %d bytes)", size, f.MinSize)
		}
		if f.MaxSize > 0 && size > f.MaxSize {
			return false, fmt.Sprintf("larger than the maximum size (%d > %d bytes)", size, f.MaxSize)
		}
	}
	return true, ""
}

// compileGlob turns a pattern into lower-case segments, "**" marking a
// segment wildcard.
func compileGlob(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("%w: empty pattern", ErrBadPattern)
	}
	body := strings.TrimPrefix(p, "/")
	anchored := body != p
	dirOnly := strings.HasSuffix(body, "/")
	body = strings.TrimSuffix(body, "/")
	if body == "" {
		return nil, fmt.Errorf("%w %q: no name", ErrBadPattern, p)
	}
	segs := strings.Split(strings.ToLower(body), "/")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%w %q: empty segment", ErrBadPattern, p)
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("%w %q: malformed %q", ErrBadPattern, p, s)
		}
	}
	if !anchored && len(segs) == 1 && segs[0] != "**" {
		segs = append([]string{"**"}, segs...)
	}
	if dirOnly {
		segs = append(segs, "**")
	}
	return segs, nil
}

// matchGlob reports whether pattern p matches the relative path rel.
func matchGlob(p, rel string) bool {
	pat, err := compileGlob(p)
	if err != nil {
		return false
	}
	segs := strings.Split(strings.ToLower(strings.TrimPrefix(rel, "/")), "/")
	// done[i][j]: pat[i:] matches segs[j:]. Filled from the end, so the cost
	// is len(pat)*len(segs) segment matches whatever the number of "**".
	np, ns := len(pat), len(segs)
	done := make([][]bool, np+1)
	for i := range done {
		done[i] = make([]bool, ns+1)
	}
	done[np][ns] = true
	for i := np - 1; i >= 0; i-- {
		for j := ns; j >= 0; j-- {
			switch {
			case pat[i] == "**" && i == np-1:
				done[i][j] = j < ns
			case pat[i] == "**":
				done[i][j] = done[i+1][j] || j < ns && done[i][j+1]
			case j < ns:
				ok, _ := path.Match(pat[i], segs[j])
				done[i][j] = ok && done[i+1][j+1]
			}
		}
	}
	return done[0][0]
}

var sizeRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?\s*(?:([kmgtpe])(?:i?b)?|b)?$`)

// ParseSize reads a size such as "123", "200k", "10M", "1.5G" or "2 GiB".
// Multiples are binary (k = 1024) whether written "k", "kB" or "KiB", case
// does not matter, and a fractional result is rounded down to whole bytes.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil || len(s) > 64 {
		return 0, fmt.Errorf("%w %q: want a number with an optional k, M, G, T, P or E suffix", ErrBadSize, s)
	}
	n, _ := new(big.Int).SetString(m[1]+m[2], 10)
	if m[3] != "" {
		shift := uint(10 * (1 + strings.Index("kmgtpe", m[3])))
		n.Lsh(n, shift)
	}
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(m[2]))), nil))
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w %q: too large", ErrBadSize, s)
	}
	return n.Int64(), nil
}
