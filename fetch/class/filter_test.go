package class

import (
	"errors"
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		yes     []string
		no      []string
	}{
		{"*.jpg", []string{"a.jpg", "d/a.jpg", "d/e/f/A.JPG", ".jpg"}, []string{"a.jpeg", "a.jpg/x", "ajpg"}},
		{"Thumbs.db", []string{"Thumbs.db", "x/thumbs.DB"}, []string{"xThumbs.db", "Thumbs.db.bak"}},
		{"d/*.jpg", []string{"d/a.jpg"}, []string{"d/e/a.jpg", "x/d/a.jpg", "a.jpg"}},
		{"/*.txt", []string{"a.txt"}, []string{"d/a.txt"}},
		{"/d/*", []string{"d/a"}, []string{"d/a/b", "x/d/a"}},
		{"d/**", []string{"d/a", "d/a/b/c"}, []string{"d", "x/d/a", "dd/a"}},
		{"d/**/*.jpg", []string{"d/a.jpg", "d/x/a.jpg", "d/x/y/a.jpg"}, []string{"d/a.png", "a.jpg", "e/d/a.jpg"}},
		{"**/cache/*", []string{"cache/a", "x/y/cache/a"}, []string{"cache/a/b", "cache"}},
		{"a/**/b", []string{"a/b", "a/x/b", "a/x/y/b"}, []string{"a/b/c", "b", "a/xb"}},
		{"**", []string{"a", "a/b/c"}, nil},
		{"**/*", []string{"a", "a/b"}, nil},
		{"d/**.jpg", []string{"d/a.jpg"}, []string{"d/e/a.jpg"}}, // "**" inside a segment is "*"
		{"cache/", []string{"cache/a", "x/cache/a/b"}, []string{"cache", "cachex/a"}},
		{"/cache/", []string{"cache/a", "cache/a/b"}, []string{"x/cache/a"}},
		{"IMG_????.JPG", []string{"img_0001.jpg", "d/IMG_abcd.JPG"}, []string{"IMG_1.JPG", "IMG_12345.JPG"}},
		{"?", []string{"a", "é", "a/b"}, []string{"ab", "a/bc"}},
		{"[a-c]*", []string{"apple", "Banana"}, []string{"date"}},
		{"[^a-c]*", []string{"date"}, []string{"apple"}},
		{`\*.txt`, []string{"*.txt"}, []string{"a.txt"}},
		{"* (2).jpg", []string{"a (2).jpg"}, []string{"a.jpg"}},
		{"*", []string{"a", "a/b"}, nil}, // a base name at any depth
		{"d/*", []string{"d/a"}, []string{"d/a/b"}},
	}
	for _, tt := range tests {
		for _, p := range tt.yes {
			if !matchGlob(tt.pattern, p) {
				t.Errorf("%q should match %q", tt.pattern, p)
			}
		}
		for _, p := range tt.no {
			if matchGlob(tt.pattern, p) {
				t.Errorf("%q should not match %q", tt.pattern, p)
			}
		}
	}
}

// Many "**" against a deep path stay cheap (no exponential backtracking).
func TestGlobDeep(t *testing.T) {
	p := strings.Repeat("**/", 30) + "z"
	rel := strings.Repeat("a/", 500) + "y"
	if matchGlob(p, rel) {
		t.Error("matched")
	}
}

func TestFilterMatch(t *testing.T) {
	f := Filter{
		Include: []string{"*.jpg", "docs/**"},
		Exclude: []string{"*thumb*", "docs/tmp/"},
		MinSize: 10,
		MaxSize: 100,
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel    string
		size   int64
		ok     bool
		reason string
	}{
		{"a.jpg", 50, true, ""},
		{"d/A.JPG", 10, true, ""},
		{"d/a.jpg", 100, true, ""},
		{"docs/x/y.pdf", 50, true, ""},
		{"a.jpg", -1, true, ""}, // size unknown
		{"a.png", 50, false, "matches no include pattern"},
		{"a.png", -1, false, "matches no include pattern"},
		{"thumbs/a.jpg", 50, true, ""}, // "*thumb*" has no "/": base name only
		{"a_thumb.jpg", 50, false, `excluded by "*thumb*"`},
		{"docs/tmp/x.pdf", 50, false, `excluded by "docs/tmp/"`},
		{"a.jpg", 9, false, "smaller than the minimum size (9 < 10 bytes)"},
		{"a.jpg", 0, false, "smaller than the minimum size (0 < 10 bytes)"},
		{"a.jpg", 101, false, "larger than the maximum size (101 > 100 bytes)"},
		{"a_thumb.jpg", 1000, false, `excluded by "*thumb*"`},
	}
	for _, tt := range tests {
		ok, reason := f.Match(tt.rel, tt.size)
		if ok != tt.ok || reason != tt.reason {
			t.Errorf("Match(%q, %d) = %v, %q; want %v, %q", tt.rel, tt.size, ok, reason, tt.ok, tt.reason)
		}
	}
	// The zero Filter takes everything.
	if ok, reason := (Filter{}).Match("any/thing", 1<<40); !ok || reason != "" {
		t.Errorf("zero Filter: %v, %q", ok, reason)
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		f    Filter
		want error
		text string
	}{
		{Filter{Include: []string{"[a-"}}, ErrBadPattern, `bad pattern "[a-": malformed "[a-"`},
		{Filter{Exclude: []string{"ok", "d/[/x"}}, ErrBadPattern, `bad pattern "d/[/x": malformed "["`},
		{Filter{Exclude: []string{""}}, ErrBadPattern, "bad pattern: empty pattern"},
		{Filter{Exclude: []string{"/"}}, ErrBadPattern, `bad pattern "/": no name`},
		{Filter{Include: []string{"a//b"}}, ErrBadPattern, `bad pattern "a//b": empty segment`},
		{Filter{MinSize: -1}, ErrBadSize, "bad size: minimum size -1 is negative"},
		{Filter{MaxSize: -5}, ErrBadSize, "bad size: maximum size -5 is negative"},
		{Filter{MinSize: 10, MaxSize: 5}, ErrBadSize, "bad size: minimum size 10 is above maximum size 5"},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if !errors.Is(err, tt.want) || err.Error() != tt.text {
			t.Errorf("Validate(%+v) = %v, want %s", tt.f, err, tt.text)
		}
	}
	if err := (Filter{MinSize: 5, MaxSize: 5, Include: []string{"**/x/"}}).Validate(); err != nil {
		t.Errorf("valid filter: %v", err)
	}
	// An invalid pattern matches nothing rather than everything.
	if ok, _ := (Filter{Exclude: []string{"["}}).Match("[", 1); !ok {
		t.Error("invalid exclude pattern excluded a file")
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0":          0,
		"123":        123,
		"123b":       123,
		"200k":       200 << 10,
		"200K":       200 << 10,
		"10M":        10 << 20,
		"10 MiB":     10 << 20,
		"10mb":       10 << 20,
		"1.5G":       3 << 29,
		"1.5g":       3 << 29,
		"2T":         2 << 40,
		"1P":         1 << 50,
		"7E":         7 << 60,
		"1.1k":       1126, // 1126.4 rounded down
		"0.5":        0,
		" 42 ":       42,
		"007":        7,
		"8589934592": 8 << 30,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                      `bad size "": want a number with an optional k, M, G, T, P or E suffix`,
		"-1":                    `bad size "-1": want a number with an optional k, M, G, T, P or E suffix`,
		"1e3":                   `bad size "1e3": want a number with an optional k, M, G, T, P or E suffix`,
		"1/3":                   `bad size "1/3": want a number with an optional k, M, G, T, P or E suffix`,
		"10X":                   `bad size "10X": want a number with an optional k, M, G, T, P or E suffix`,
		"M":                     `bad size "M": want a number with an optional k, M, G, T, P or E suffix`,
		".5M":                   `bad size ".5M": want a number with an optional k, M, G, T, P or E suffix`,
		"1.M":                   `bad size "1.M": want a number with an optional k, M, G, T, P or E suffix`,
		"8E":                    `bad size "8E": too large`,
		"9223372036854775808":   `bad size "9223372036854775808": too large`,
		strings.Repeat("9", 65): `bad size "` + strings.Repeat("9", 65) + `": want a number with an optional k, M, G, T, P or E suffix`,
	}
	for in, want := range bad {
		_, err := ParseSize(in)
		if !errors.Is(err, ErrBadSize) || err.Error() != want {
			t.Errorf("ParseSize(%q) error %v\nwant %s", in, err, want)
		}
	}
	if got, err := ParseSize("9223372036854775807"); err != nil || got != 1<<63-1 {
		t.Errorf("max int64: %d, %v", got, err)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "10M", "1.5G", "200k", "123", "7E", "8E", "1.1k", " 2 GiB", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if !errors.Is(err, ErrBadSize) {
				t.Fatalf("error %v does not wrap ErrBadSize", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"*.jpg", "a/b.jpg"}, {"a/**/b", "a/x/b"}, {"cache/", "x/cache/y"}, {"[", "a"}, {"**", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, rel string) {
		got := matchGlob(pattern, rel)
		if _, err := compileGlob(pattern); err != nil && got {
			t.Fatalf("invalid pattern %q matched %q", pattern, rel)
		}
		// A pattern without glob characters or "/" matches its own base name
		// at any depth.
		if pattern != "" && !strings.ContainsAny(pattern, `*?[\/`) {
			if !matchGlob(pattern, "d/"+pattern) {
				t.Fatalf("%q does not match d/%s", pattern, pattern)
			}
		}
	})
}
