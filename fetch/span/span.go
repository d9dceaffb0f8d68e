package span

import (
	"fmt"
	"strconv"
	"strings"
)

// Range is the half-open byte range [Start, End).
type Range struct {
	Start, End int64
}

// Len is the number of bytes in r; an inverted range has none.
func (r Range) Len() int64 {
	if r.End < r.Start {
		return 0
	}
	return r.End - r.Start
}

// Empty reports whether r holds no byte.
func (r Range) Empty() bool { return r.End <= r.Start }

// Contains reports whether o lies inside r.
func (r Range) Contains(o Range) bool { return o.Start >= r.Start && o.End <= r.End }

func (r Range) String() string { return fmt.Sprintf("[%d,%d)", r.Start, r.End) }

// Header is the value of an HTTP Range request header asking for r, which
// must not be empty: "bytes=Start-(End-1)".
func (r Range) Header() string {
	return "bytes=" + strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.End-1, 10)
}

// ContentRange is a parsed Content-Range response header.
type ContentRange struct {
	// Range is the part of the representation in the body; empty for the
	// unsatisfied form "bytes */N".
	Range Range
	// Size is the complete length of the representation, -1 when the server
	// sent "*".
	Size int64
}

// ParseContentRange parses "bytes FIRST-LAST/SIZE", "bytes FIRST-LAST/*" and
// "bytes */SIZE" (the form of a 416 answer).
func ParseContentRange(s string) (ContentRange, error) {
	bad := func(why string) (ContentRange, error) {
		return ContentRange{}, fmt.Errorf("%w %q: %s", ErrContentRange, truncate(s, 80), why)
	}
	unit, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return bad("unit is not bytes")
	}
	rest = strings.TrimLeft(rest, " ")
	rng, size, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no complete length")
	}
	cr := ContentRange{Size: -1}
	if size != "*" {
		n, err := parseNum(size)
		if err != nil {
			return bad("complete length is not a number")
		}
		cr.Size = n
	}
	if rng == "*" {
		if cr.Size < 0 {
			return bad("neither range nor length")
		}
		return cr, nil
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return bad("range has no dash")
	}
	a, err1 := parseNum(first)
	b, err2 := parseNum(last)
	if err1 != nil || err2 != nil {
		return bad("range bounds are not numbers")
	}
	if b < a {
		return bad("last byte before first")
	}
	if b == maxInt64 {
		return bad("range too large")
	}
	if cr.Size >= 0 && b >= cr.Size {
		return bad("range ends past the complete length")
	}
	cr.Range = Range{a, b + 1}
	return cr, nil
}

const maxInt64 = 1<<63 - 1

// parseNum accepts only plain decimal digits, as the grammar does: no sign,
// no spaces, no underscores.
func parseNum(s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Blocks is the number of blocks of size bs covering size bytes.
func Blocks(size, bs int64) int64 {
	if size <= 0 {
		return 0
	}
	return (size + bs - 1) / bs
}

// Block is the byte range of block i of a file of the given size.
func Block(i, bs, size int64) Range {
	r := Range{i * bs, (i + 1) * bs}
	if r.End > size {
		r.End = size
	}
	return r
}

// AlignUp rounds off up to a multiple of bs.
func AlignUp(off, bs int64) int64 { return (off + bs - 1) / bs * bs }

// AlignDown rounds off down to a multiple of bs.
func AlignDown(off, bs int64) int64 { return off / bs * bs }
