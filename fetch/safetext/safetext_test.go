package safetext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"plain photo.jpg": "plain photo.jpg",
		"tab\tkept":       "tab\tkept",
		"héllo wörld ✓":   "héllo wörld ✓",
		"502 \x1b[2J\rgrab: 100 of 100 files done": `502 \x1b[2J\x0dgrab: 100 of 100 files done`,
		"bell\a back\b del\x7f nl\n":               `bell\x07 back\x08 del\x7f nl\x0a`,
		"c1 \u009b31m":                             `c1 \u{009b}31m`,
		"evil\u202egpj.exe":                        `evil\u{202e}gpj.exe`,
		"bad \xff\xfe utf8":                        `bad \xff\xfe utf8`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever goes in, nothing that steers a terminal comes out, and clean
// text is left alone.
func FuzzString(f *testing.F) {
	f.Add("\x1b]0;title\a")
	f.Add("a\u2066b\xc0")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
		}
		for _, r := range out {
			if r != '\t' && (unicode.IsControl(r) || unsafe(r)) {
				t.Fatalf("control %U left in %q (from %q)", r, out, s)
			}
		}
		if clean(s) && out != s {
			t.Fatalf("clean %q changed to %q", s, out)
		}
		if !strings.Contains(s, `\`) && clean(out) && String(out) != out {
			t.Fatalf("not idempotent on %q", out)
		}
	})
}
