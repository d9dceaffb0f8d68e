package localpath

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

type mapCall struct {
	segs []string
	dir  bool
	want string
}

func runMaps(t *testing.T, m *Mapper, calls []mapCall) {
	t.Helper()
	for _, c := range calls {
		got, err := m.Map(c.segs, c.dir)
		if err != nil {
			t.Fatalf("Map(%q, %v): %v", c.segs, c.dir, err)
		}
		if got != c.want {
			t.Errorf("Map(%q, %v) = %q, want %q", c.segs, c.dir, got, c.want)
		}
	}
}

func TestMapNames(t *testing.T) {
	tests := []struct {
		name string
		seg  string
		want string
	}{
		{"plain", "b.jpg", "b.jpg"},
		{"case kept", "IMG_0001.JPG", "IMG_0001.JPG"},
		{"legal specials kept", `a b%#?&'"[x](y){z}!$;=,@~+.jpg`, `a b%#?&'"[x](y){z}!$;=,@~+.jpg`},
		{"utf8 kept", "фото été 写真.jpg", "фото été 写真.jpg"},
		{"NUL", "x\x00.jpg", "x_.jpg"},
		{"tab kept", "a\tb", "a\tb"},
		{"newline and escape", "a\nb\x1b[31m", "a_b_[31m"},
		{"DEL", "a\x7fb", "a_b"},
		{"C1 control", "a\u009bb", "a_b"},
		{"backslash", `..\..\x`, ".._.._x"},
		{"invalid utf8 kept", "a\xff\xfeb", "a\xff\xfeb"},
		{"dots that are not dot segments", "...", "..."},
		{"dotfile", ".bashrc", ".bashrc"},
		{"leading dash and spaces", " -rf ", " -rf "},
		{"grab below top is fine", ".grab", ".grab (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewMapper(0).Map([]string{tt.seg}, false)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map(%q) = %q, want %q", tt.seg, got, tt.want)
			}
		})
	}
	// Below the top level, ".grab" is an ordinary name.
	got, err := NewMapper(0).Map([]string{"a", ".grab"}, false)
	if err != nil || got != "a/.grab" {
		t.Errorf("Map(a/.grab) = %q, %v", got, err)
	}
}

func TestMapRejects(t *testing.T) {
	tests := []struct {
		segs    []string
		dir     bool
		errText string
	}{
		{nil, false, "unsafe path segment: a file needs a name"},
		{[]string{""}, false, "unsafe path segment: empty name"},
		{[]string{"a", ""}, false, "unsafe path segment: empty name"},
		{[]string{"."}, false, `unsafe path segment ".": dot segment`},
		{[]string{".."}, true, `unsafe path segment "..": dot segment`},
		{[]string{"a", "..", "b"}, false, `unsafe path segment "..": dot segment`},
		{[]string{"a/b"}, false, `unsafe path segment "a/b": contains a slash`},
		{[]string{"/etc"}, false, `unsafe path segment "/etc": contains a slash`},
	}
	for _, tt := range tests {
		m := NewMapper(0)
		got, err := m.Map(tt.segs, tt.dir)
		if !errors.Is(err, ErrBadSegment) || err.Error() != tt.errText {
			t.Errorf("Map(%q) = %q, %v; want %q", tt.segs, got, err, tt.errText)
		}
		// Nothing was registered: the first segment still gets its plain name.
		if len(tt.segs) > 1 {
			if p, err := m.Map(tt.segs[:1], true); err != nil || p != tt.segs[0] {
				t.Errorf("after a rejection, Map(%q) = %q, %v", tt.segs[:1], p, err)
			}
		}
	}
	if got, err := NewMapper(0).Map(nil, true); err != nil || got != "." {
		t.Errorf("Map(root dir) = %q, %v; want \".\"", got, err)
	}
}

func TestMapCollisions(t *testing.T) {
	m := NewMapper(0)
	runMaps(t, m, []mapCall{
		{[]string{"a", "b.jpg"}, false, "a/b.jpg"},
		{[]string{"a", "c.jpg"}, false, "a/c.jpg"},
		{[]string{"a"}, true, "a"}, // the folder already mapped
		// Neutralised twins.
		{[]string{"a", "x\x01.jpg"}, false, "a/x_.jpg"},
		{[]string{"a", "x_.jpg"}, false, "a/x_ (2).jpg"},
		{[]string{"a", "x\x02.jpg"}, false, "a/x_ (3).jpg"},
		// Case is significant on Linux: no collision.
		{[]string{"a", "B.JPG"}, false, "a/B.JPG"},
		// A file and a directory of one name, both orders.
		{[]string{"x"}, false, "x"},
		{[]string{"x", "y"}, false, "x (2)/y"},
		{[]string{"x"}, true, "x (2)"},
		{[]string{"d", "e"}, true, "d/e"},
		{[]string{"d", "e"}, false, "d/e (2)"},
		// Compound and missing extensions.
		{[]string{"t.tar.gz"}, false, "t.tar.gz"},
		{[]string{"t.tar\x00.gz"}, false, "t.tar_.gz"},
		{[]string{"t.tar.gz\x00"}, false, "t.tar.gz_"},
		{[]string{"u_"}, false, "u_"},
		{[]string{"u\n"}, false, "u_ (2)"},
		{[]string{".hid_"}, false, ".hid_"},
		{[]string{".hid\x01"}, false, ".hid_ (2)"},
		{[]string{"v_.tar.gz"}, false, "v_.tar.gz"},
		{[]string{"v\x01.tar.gz"}, false, "v_ (2).tar.gz"},
		// A remote name that looks like a numbered one takes its turn.
		{[]string{"a", "x_ (4).jpg"}, false, "a/x_ (4).jpg"},
		{[]string{"a", "x\x03.jpg"}, false, "a/x_ (5).jpg"},
		// The same keys map to the same paths again.
		{[]string{"a", "x\x02.jpg"}, false, "a/x_ (3).jpg"},
		{[]string{"x", "y"}, false, "x (2)/y"},
		{[]string{"x"}, false, "x"},
	})
}

func TestMapStateDir(t *testing.T) {
	m := NewMapper(0)
	runMaps(t, m, []mapCall{
		{[]string{".grab", "jobs.db"}, false, ".grab (2)/jobs.db"},
		{[]string{".grab"}, false, ".grab (3)"},
		{[]string{".grab (2)"}, false, ".grab (2) (2)"},
		{[]string{".grab"}, true, ".grab (2)"},
		{[]string{".GRAB"}, false, ".GRAB"},
	})
	// Restore must not free the reserved name either.
	m = NewMapper(0)
	m.Restore("other", "other")
	if got, _ := m.Map([]string{".grab"}, true); got != ".grab (2)" {
		t.Errorf("Map(.grab/) = %q", got)
	}
}

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func TestMapLongNames(t *testing.T) {
	m := NewMapper(50)
	long := strings.Repeat("a", 60) + ".jpeg"
	want := strings.Repeat("a", 50-9-5) + "~" + hash8(long) + ".jpeg"
	runMaps(t, m, []mapCall{
		{[]string{long}, false, want},
		{[]string{strings.Repeat("a", 50)}, false, strings.Repeat("a", 50)}, // exactly the limit
	})

	// 10 KB names with the default limit.
	m = NewMapper(0)
	ten := strings.Repeat("x", 10<<10)
	got, err := m.Map([]string{ten + ".pdf"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("x", 200-9-4) + "~" + hash8(ten+".pdf") + ".pdf"; got != want {
		t.Errorf("10 KB name mapped to %q (%d bytes)", got, len(got))
	}
	// A 10 KB extension is not kept apart.
	got, _ = m.Map([]string{"a." + ten}, false)
	if want := "a." + strings.Repeat("x", 200-9-2) + "~" + hash8("a."+ten); got != want {
		t.Errorf("10 KB extension mapped to %q", got)
	}

	// Two long names sharing a prefix get different hashes.
	a, _ := m.Map([]string{ten + "1"}, false)
	b, _ := m.Map([]string{ten + "2"}, false)
	if a == b || len(a) != 200 || len(b) != 200 {
		t.Errorf("long twins: %q and %q", a, b)
	}

	// The hash is of the remote name, before neutralising.
	n1 := strings.Repeat("y", 300) + "\x01"
	n2 := strings.Repeat("y", 300) + "\x02"
	a, _ = m.Map([]string{n1}, false)
	b, _ = m.Map([]string{n2}, false)
	if a != strings.Repeat("y", 191)+"~"+hash8(n1) || b != strings.Repeat("y", 191)+"~"+hash8(n2) {
		t.Errorf("neutralised long twins: %q and %q", a, b)
	}
}

func TestMapLongUTF8Boundary(t *testing.T) {
	m := NewMapper(40)
	name := strings.Repeat("é", 40) + ".jpg" // 84 bytes, 2 per é
	got, err := m.Map([]string{name}, false)
	if err != nil {
		t.Fatal(err)
	}
	// room for the stem: 40 - 9 - 4 = 27 bytes, so 13 é (26 bytes).
	if want := strings.Repeat("é", 13) + "~" + hash8(name) + ".jpg"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !utf8.ValidString(got) {
		t.Error("cut inside a character")
	}
	// A collision at the limit shortens the stem further.
	other := strings.Repeat("é", 13) + "~" + hash8(name) + ".jpg"
	got, _ = m.Map([]string{other}, false)
	if want := strings.Repeat("é", 13) + "~" + hash8(name)[:5] + " (2).jpg"; got != want || len(got) != 40 {
		t.Errorf("collision at the limit: got %q (%d bytes), want %q", got, len(got), want)
	}
}

func TestMapMinMaxName(t *testing.T) {
	if got := NewMapper(5).MaxName(); got != MinMaxName {
		t.Errorf("NewMapper(5).MaxName() = %d", got)
	}
	if got := NewMapper(-1).MaxName(); got != DefaultMaxName {
		t.Errorf("NewMapper(-1).MaxName() = %d", got)
	}
}

func TestMapPathTooLong(t *testing.T) {
	m := NewMapper(0)
	seg := strings.Repeat("d", 199)
	var segs []string
	for range 15 {
		segs = append(segs, seg)
	}
	if _, err := m.Map(segs, true); err != nil { // 15*200-1 = 2999 bytes
		t.Fatalf("2999 bytes: %v", err)
	}
	deep := append(append([]string{}, segs...), "x", strings.Repeat("f", 100))
	_, err := m.Map(deep, false)
	if !errors.Is(err, ErrPathTooLong) || err.Error() != "local path too long: 3102 bytes, the limit is 3072" {
		t.Fatalf("deep path: %v", err)
	}
	// Nothing of the rejected path was registered: the directory "x" there is
	// still free.
	got, err := m.Map(append(append([]string{}, segs...), "x"), false)
	if err != nil || got != strings.Join(segs, "/")+"/x" {
		t.Errorf("after rejection: %q, %v", got, err)
	}
}

func TestRestore(t *testing.T) {
	first := NewMapper(0)
	calls := []mapCall{
		{[]string{"a", "x\x01.jpg"}, false, "a/x_.jpg"},
		{[]string{"a", "x_.jpg"}, false, "a/x_ (2).jpg"},
		{[]string{"x"}, false, "x"},
		{[]string{"x", "y"}, false, "x (2)/y"},
	}
	runMaps(t, first, calls)

	// The resumed job meets the files in another order.
	m := NewMapper(0)
	for _, c := range calls {
		m.Restore(Key(c.segs, c.dir), c.want)
	}
	runMaps(t, m, []mapCall{
		{[]string{"x", "y"}, false, "x (2)/y"},
		{[]string{"x", "z"}, false, "x (2)/z"}, // the restored folder is reused
		{[]string{"x"}, false, "x"},
		{[]string{"a", "x_.jpg"}, false, "a/x_ (2).jpg"},
		{[]string{"a", "x\x01.jpg"}, false, "a/x_.jpg"},
		{[]string{"a", "x\x02.jpg"}, false, "a/x_ (3).jpg"}, // new names avoid restored ones
		{[]string{"a", "new.jpg"}, false, "a/new.jpg"},
	})

	// A path restored without a matching key still blocks its parents.
	m = NewMapper(0)
	m.Restore("old/layout/file", "p/q")
	runMaps(t, m, []mapCall{
		{[]string{"p"}, false, "p (2)"},
		{[]string{"p", "q"}, false, "p (3)/q"},
	})
}

func TestKey(t *testing.T) {
	if got := Key([]string{"a", "b c"}, false); got != "a/b c" {
		t.Errorf("Key = %q", got)
	}
	if got := Key([]string{"a"}, true); got != "a/" {
		t.Errorf("dir Key = %q", got)
	}
}

// checkInvariants asserts what every mapped path must satisfy.
func checkInvariants(t *testing.T, local string, maxName int) {
	t.Helper()
	if !filepath.IsLocal(filepath.FromSlash(local)) || strings.HasPrefix(local, "/") {
		t.Fatalf("%q is not local", local)
	}
	if len(local) > MaxPath {
		t.Fatalf("%q is longer than MaxPath", local)
	}
	for i, c := range strings.Split(local, "/") {
		switch {
		case c == "" || c == "." || c == "..":
			t.Fatalf("%q has component %q", local, c)
		case len(c) > maxName:
			t.Fatalf("%q has a component of %d bytes", local, len(c))
		case strings.ContainsAny(c, `\`):
			t.Fatalf("%q has a backslash", local)
		case i == 0 && c == StateDir:
			t.Fatalf("%q uses the state folder", local)
		}
		for _, b := range []byte(c) {
			if (b < 0x20 && b != '\t') || b == 0x7f {
				t.Fatalf("%q has control byte %#x", local, b)
			}
		}
	}
}

func FuzzCheckMap(f *testing.F) {
	for _, s := range []string{
		"a/b.jpg\na/b.jpg/\na/B.JPG",
		"../x\n%2e%2e/x\n%2E%2e\n..%2f..%2fx\na%2fb\na%5cb\n//evil/\n/abs",
		"x%00.jpg\nx%01.jpg\nx_.jpg\nx\nx/\nx/y",
		".grab\n.grab/\n.grab%20(2)\n.grab/x",
		strings.Repeat("L", 300) + ".jpg\n" + strings.Repeat("L", 300) + "%01.jpg",
		"%ff%fe\n%c3\n%e2%80%ae.gpj.exe\na%09b\na%0Ab",
		"t.tar.gz\nt.tar%00.gz\n./a/../b\na/./b",
		"http://other/x\nhttps://h/dump/x\nhttp://h:80/dump/x\nhttp://H/dump/y\n//other.host/x",
	} {
		f.Add(s, 0)
		f.Add(s, 40)
	}
	root, _ := url.Parse("http://h/dump/")
	f.Fuzz(func(t *testing.T, input string, maxName int) {
		scope := testScope(root)
		type item struct {
			key   string
			segs  []string
			dir   bool
			local string
		}
		run := func() []item {
			m := NewMapper(maxName % 300)
			var items []item
			for _, line := range strings.Split(input, "\n") {
				u, err := url.Parse(line)
				if err != nil {
					continue
				}
				u = root.ResolveReference(u)
				segs, err := scope.Check(u)
				if err != nil || len(segs) == 0 {
					continue
				}
				dir := strings.HasSuffix(u.EscapedPath(), "/")
				local, err := m.Map(segs, dir)
				if err != nil {
					if !errors.Is(err, ErrBadSegment) && !errors.Is(err, ErrPathTooLong) {
						t.Fatalf("Map error %v wraps no sentinel", err)
					}
					continue
				}
				checkInvariants(t, local, m.MaxName())
				items = append(items, item{Key(segs, dir), segs, dir, local})
			}
			return items
		}
		a, b := run(), run()
		if len(a) != len(b) {
			t.Fatalf("not deterministic: %d then %d paths", len(a), len(b))
		}
		byKey := map[string]string{}
		byLocal := map[string]string{}
		for i := range a {
			if a[i].key != b[i].key || a[i].dir != b[i].dir || a[i].local != b[i].local {
				t.Fatalf("not deterministic: %q then %q", a[i].local, b[i].local)
			}
			if l, ok := byKey[a[i].key]; ok && l != a[i].local {
				t.Fatalf("key %q mapped to %q and %q", a[i].key, l, a[i].local)
			}
			byKey[a[i].key] = a[i].local
			if k, ok := byLocal[a[i].local]; ok && k != a[i].key {
				t.Fatalf("keys %q and %q share %q", k, a[i].key, a[i].local)
			}
			byLocal[a[i].local] = a[i].key
		}
		// A resumed job restores them in another order, then meets each
		// again: the same path, and owned keys keep theirs too.
		m := NewMapper(maxName % 300)
		for i := len(a) - 1; i >= 0; i-- {
			m.Restore(a[i].key, a[i].local)
		}
		for _, it := range a {
			if local, err := m.Map(it.segs, it.dir); err != nil || local != it.local {
				t.Fatalf("restored %q as %q, mapped again: %q, %v", it.key, it.local, local, err)
			}
		}
		o := NewMapper(maxName % 300)
		var owned []item
		for _, it := range a {
			if it.dir {
				continue
			}
			local, err := o.MapOwned("http://h/dump/", it.segs)
			if err != nil {
				t.Fatalf("MapOwned %q: %v", it.key, err)
			}
			owned = append(owned, item{OwnedKey("http://h/dump/", it.segs), it.segs, false, local})
		}
		o = NewMapper(maxName % 300)
		for _, it := range owned {
			o.Restore(it.key, it.local)
		}
		for i := len(owned) - 1; i >= 0; i-- {
			if local, err := o.MapOwned("http://h/dump/", owned[i].segs); err != nil || local != owned[i].local {
				t.Fatalf("restored owned %q as %q, mapped again: %q, %v", owned[i].segs, owned[i].local, local, err)
			}
		}
		// A file's path is never a folder of another path.
		for _, it := range a {
			if it.dir {
				continue
			}
			for other := range byLocal {
				if strings.HasPrefix(other, it.local+"/") {
					t.Fatalf("file %q is a folder of %q", it.local, other)
				}
			}
		}
	})
}

// Many names that clean to one cost linear time, and numbering is dense.
func TestMapManyCollisions(t *testing.T) {
	m := NewMapper(0)
	n := 0
	for a := range 32 {
		for b := range 32 {
			for c := range 8 {
				n++
				got, err := m.Map([]string{"d", string([]byte{'x', ctl(a), ctl(b), ctl(c)}) + ".jpg"}, false)
				if err != nil {
					t.Fatal(err)
				}
				want := "d/x___.jpg"
				if n > 1 {
					want = "d/x___ (" + strconv.Itoa(n) + ").jpg"
				}
				if got != want {
					t.Fatalf("name %d mapped to %q, want %q", n, got, want)
				}
			}
		}
	}
}

// A rejected Map does not use up a collision number.
func TestMapRejectedKeepsNumbers(t *testing.T) {
	m := NewMapper(0)
	deep := make([]string, 16)
	for i := range deep {
		deep[i] = strings.Repeat("d", 199)
	}
	runMaps(t, m, []mapCall{{[]string{"a\x01"}, false, "a_"}})
	if _, err := m.Map(append([]string{"a\x02"}, deep...), false); !errors.Is(err, ErrPathTooLong) {
		t.Fatalf("deep path: %v", err)
	}
	runMaps(t, m, []mapCall{
		{[]string{"a\x03"}, false, "a_ (2)"},
		{[]string{"a\x04"}, false, "a_ (3)"},
	})
}

// ctl is the i-th control character that the mapper neutralises (tab is kept).
func ctl(i int) byte {
	if i >= '\t' {
		i++
	}
	if i == 0x20 {
		return 0x7f
	}
	return byte(i)
}

// A file its source names with the name it has keeps its path; one named
// otherwise lets its old path go, so that the next file may have it.
func TestRenameQueryFile(t *testing.T) {
	m := NewMapper(0)
	segs := []string{"get.php"}
	a := QueryKey("http://h/dump/", segs, "file=a.jpg")
	if p, err := m.MapAs(a, segs, "a.jpg"); err != nil || p != "a.jpg" {
		t.Fatalf("MapAs: %q %v", p, err)
	}
	if p, err := m.Rename(a, segs, "a.jpg"); err != nil || p != "a.jpg" {
		t.Fatalf("Rename to the name it has: %q %v", p, err)
	}
	b := QueryKey("http://h/dump/", segs, "id=2")
	m.MapAs(b, segs, "get.php?id=2")
	if p, err := m.Rename(b, segs, "b.pdf"); err != nil || p != "b.pdf" {
		t.Fatalf("Rename: %q %v", p, err)
	}
	if p, _ := m.Map([]string{"get.php?id=2"}, false); p != "get.php?id=2" {
		t.Fatalf("the old name is still taken: %q", p)
	}
	if p, err := m.Rename(b, segs, "../x/.."); err == nil || p != "" {
		t.Fatalf("Rename to a bad name: %q %v", p, err)
	}
	if p, _ := m.MapAs(b, segs, "whatever"); p != "b.pdf" {
		t.Fatalf("after a failed rename the file is at %q", p)
	}
}

// Check passes what a Mapper hands out and nothing a tampered state could
// hold instead.
func TestCheckPath(t *testing.T) {
	m := NewMapper(0)
	for _, segs := range [][]string{{"a.jpg"}, {"dump", "ü ファイル.jpg"}, {"x\x1b[2J", "y\\z"}, {".grab", "state.db"}} {
		p, err := m.Map(segs, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(p); err != nil {
			t.Errorf("Map(%q) = %q, which Check refuses: %v", segs, p, err)
		}
	}
	for _, p := range []string{"", "/etc/passwd", "../b.jpg", "a/../../b", "a//b", "a/./b", "a/", ".grab", ".grab/state.db",
		"a\x1b]0;x\x07.jpg", "a\\b", "a\x7f", "a\u0085b", strings.Repeat("a/", MaxPath)} {
		if err := Check(p); !errors.Is(err, ErrBadSegment) {
			t.Errorf("Check(%q) = %v", p, err)
		}
	}
}
