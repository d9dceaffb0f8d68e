package span

import (
	"errors"
	"strconv"
	"testing"
)

func TestHeader(t *testing.T) {
	for _, c := range []struct {
		r    Range
		want string
	}{
		{Range{0, 1}, "bytes=0-0"},
		{Range{0, 100}, "bytes=0-99"},
		{Range{262144, 524288}, "bytes=262144-524287"},
	} {
		if got := c.r.Header(); got != c.want {
			t.Errorf("%v.Header() = %q, want %q", c.r, got, c.want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ContentRange
	}{
		{"bytes 0-99/1000", ContentRange{Range{0, 100}, 1000}},
		{"bytes 999-999/1000", ContentRange{Range{999, 1000}, 1000}},
		{"bytes 0-99/*", ContentRange{Range{0, 100}, -1}},
		{"bytes */1000", ContentRange{Range{}, 1000}},
		{"bytes */0", ContentRange{Range{}, 0}},
		{"BYTES  5-9/10", ContentRange{Range{5, 10}, 10}},
	} {
		got, err := ParseContentRange(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseContentRange(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"", "bytes", "bytes 0-99", "items 0-9/10", "bytes 10-9/100", "bytes 0-100/100",
		"bytes */*", "bytes -1-5/10", "bytes +1-5/10", "bytes 0-5/1e3", "bytes 0-/10",
		"bytes 0-9223372036854775807/*", "bytes 0-99999999999999999999/*",
	} {
		_, err := ParseContentRange(in)
		if !errors.Is(err, ErrContentRange) {
			t.Errorf("ParseContentRange(%q) error = %v, want ErrContentRange", in, err)
		}
	}
	_, err := ParseContentRange("bytes 10-9/100")
	if want := `bad Content-Range "bytes 10-9/100": last byte before first`; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
}

func TestBlocks(t *testing.T) {
	const bs = 256 << 10
	for _, c := range []struct{ size, n int64 }{{0, 0}, {1, 1}, {bs, 1}, {bs + 1, 2}, {48 << 20, 192}} {
		if got := Blocks(c.size, bs); got != c.n {
			t.Errorf("Blocks(%d) = %d, want %d", c.size, got, c.n)
		}
	}
	if got := Block(1, bs, bs+10); got != (Range{bs, bs + 10}) {
		t.Errorf("last block = %v", got)
	}
	if AlignUp(1, bs) != bs || AlignUp(bs, bs) != bs || AlignDown(bs+1, bs) != bs {
		t.Error("alignment")
	}
}

// FuzzContentRange checks that what parses is consistent and prints back to
// an equivalent header.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/1000", "bytes */5", "bytes 1-1/*", "bytes 9-3/2", "bytes 00-01/02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := ParseContentRange(s)
		if err != nil {
			return
		}
		if cr.Size < -1 {
			t.Fatalf("size %d", cr.Size)
		}
		if !cr.Range.Empty() {
			if cr.Range.Start < 0 || cr.Range.End <= cr.Range.Start {
				t.Fatalf("range %v", cr.Range)
			}
			if cr.Size >= 0 && cr.Range.End > cr.Size {
				t.Fatalf("range %v past size %d", cr.Range, cr.Size)
			}
			size := "*"
			if cr.Size >= 0 {
				size = strconv.FormatInt(cr.Size, 10)
			}
			again, err := ParseContentRange("bytes " + cr.Range.Header()[len("bytes="):] + "/" + size)
			if err != nil || again != cr {
				t.Fatalf("round trip of %q: %+v, %v", s, again, err)
			}
		} else if cr.Size < 0 {
			t.Fatalf("empty range without size from %q", s)
		}
	})
}

// FuzzBlocks checks that the blocks of a file tile it exactly.
func FuzzBlocks(f *testing.F) {
	f.Add(int64(1000), int64(7))
	f.Add(int64(0), int64(1))
	f.Fuzz(func(t *testing.T, size, bs int64) {
		if size < 0 || size > 1<<40 || bs <= 0 || bs > 1<<30 || size/bs > 1<<16 {
			return
		}
		n := Blocks(size, bs)
		var next int64
		for i := int64(0); i < n; i++ {
			b := Block(i, bs, size)
			if b.Start != next || b.Empty() || b.Len() > bs {
				t.Fatalf("block %d of %d (bs %d) = %v", i, size, bs, b)
			}
			next = b.End
		}
		if next != size {
			t.Fatalf("blocks cover %d of %d", next, size)
		}
	})
}
