package demo

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readAll returns a file's whole content through ReadAt.
func readAll(t testing.TB, d *Dump, p string) []byte {
	t.Helper()
	ra, size, ok := d.Open(p)
	if !ok {
		t.Fatalf("Open(%q): not found", p)
	}
	b, err := io.ReadAll(io.NewSectionReader(ra, 0, size))
	if err != nil {
		t.Fatalf("read %q: %v", p, err)
	}
	if int64(len(b)) != size {
		t.Fatalf("read %q: %d bytes, want %d", p, len(b), size)
	}
	return b
}

func TestContentDeterministicAndRandomAccess(t *testing.T) {
	const size = 3*blockSize + 123
	files := []File{{Path: "a/x.bin", Size: size}, {Path: "a/y.bin", Size: size}}
	d1, d2, d3 := NewDump(1, files), NewDump(1, files), NewDump(2, files)
	x1 := readAll(t, d1, "a/x.bin")
	if !bytes.Equal(x1, readAll(t, d2, "a/x.bin")) {
		t.Fatal("same seed and path gave different content")
	}
	if bytes.Equal(x1, readAll(t, d3, "a/x.bin")) {
		t.Fatal("different seeds gave the same content")
	}
	if bytes.Equal(x1, readAll(t, d1, "a/y.bin")) {
		t.Fatal("different paths gave the same content")
	}
	if bytes.Equal(x1[:blockSize], x1[blockSize:2*blockSize]) {
		t.Fatal("blocks 0 and 1 are equal")
	}

	ra, _, _ := d1.Open("a/x.bin")
	for _, c := range []struct {
		off int64
		n   int
	}{{0, 10}, {blockSize - 5, 10}, {2*blockSize - 1, blockSize + 2}, {size - 7, 7}, {17, 3 * blockSize}} {
		got := make([]byte, c.n)
		n, err := ra.ReadAt(got, c.off)
		if err != nil || n != c.n {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", c.n, c.off, n, err)
		}
		if !bytes.Equal(got, x1[c.off:c.off+int64(c.n)]) {
			t.Fatalf("ReadAt(%d bytes at %d) differs from sequential read", c.n, c.off)
		}
	}
	// Reading past the end returns the tail and io.EOF.
	got := make([]byte, 10)
	n, err := ra.ReadAt(got, size-4)
	if n != 4 || err != io.EOF || !bytes.Equal(got[:4], x1[size-4:]) {
		t.Fatalf("ReadAt at end = %d, %v", n, err)
	}
	if n, err := ra.ReadAt(got, size); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt(size) = %d, %v; want 0, EOF", n, err)
	}
	if _, err := ra.ReadAt(got, -1); err == nil || err.Error() != "read at offset -1: negative offset" {
		t.Fatalf("ReadAt(-1) error = %v", err)
	}
}

func TestContentMagic(t *testing.T) {
	d := NewDump(3, []File{
		{Path: "p/IMG_0001.JPG", Size: 100}, {Path: "d/a.pdf", Size: 100},
		{Path: "z/b.zip", Size: 100}, {Path: "t/c.TIF", Size: 2}, {Path: "x/e.docx", Size: 0},
	})
	for p, want := range map[string]string{
		"p/IMG_0001.JPG": "\xff\xd8\xff\xe0\x00\x10JFIF\x00",
		"d/a.pdf":        "%PDF-1.4\n",
		"z/b.zip":        "PK\x03\x04",
		"t/c.TIF":        "II", // cut to the file size
		"x/e.docx":       "",
	} {
		if got := readAll(t, d, p); !strings.HasPrefix(string(got), want) {
			t.Errorf("%s starts with %q, want %q", p, got[:min(len(got), len(want))], want)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	for _, c := range []struct {
		files []File
		want  string
	}{
		{[]File{{Path: "", Size: 1}}, `path "": empty: bad file path`},
		{[]File{{Path: "/etc/passwd"}}, `path "/etc/passwd": absolute: bad file path`},
		{[]File{{Path: "a//b"}}, `path "a//b": empty segment: bad file path`},
		{[]File{{Path: "a/"}}, `path "a/": empty segment: bad file path`},
		{[]File{{Path: "a/../b"}}, `path "a/../b": dot segment: bad file path`},
		{[]File{{Path: "a\nb"}}, `path "a\nb": control character: bad file path`},
		{[]File{{Path: "a\xffb"}}, `path "a\xffb": invalid UTF-8: bad file path`},
		{[]File{{Path: "a", Size: -1}}, `file "a": size -1: bad file size`},
		{[]File{{Path: "a"}, {Path: "a"}}, `file "a" listed twice: bad file path`},
		{[]File{{Path: "a/b/c"}, {Path: "a/b"}}, `file "a/b" is also the folder of "a/b/c": bad file path`},
	} {
		err := CheckFiles(c.files)
		if err == nil || err.Error() != c.want {
			t.Errorf("CheckFiles(%q) = %v, want %s", c.files[0].Path, err, c.want)
		}
	}
	if err := CheckFiles([]File{{Path: "a/b c/ü&.txt", Size: 3}, {Path: "a/d"}}); err != nil {
		t.Errorf("CheckFiles(valid) = %v", err)
	}
	defer func() {
		if r := recover(); r != `demo.NewDump: path "../x": dot segment: bad file path` {
			t.Errorf("NewDump panic = %v", r)
		}
	}()
	_ = NewDump(1, []File{{Path: "../x"}})
	t.Error("NewDump did not panic")
}

func TestDumpTree(t *testing.T) {
	t1 := time.Date(2026, time.November, 23, 10, 0, 0, 0, time.UTC)
	d := NewDump(1, []File{
		{Path: "b/y", Size: 2, ModTime: t1},
		{Path: "a", Size: 1},
		{Path: "b/c/z", Size: 3, ModTime: t1.Add(time.Hour)},
	})
	var names []string
	for _, f := range d.Files() {
		names = append(names, f.Path)
	}
	if got := strings.Join(names, ","); got != "a,b/c/z,b/y" {
		t.Errorf("Files() = %s", got)
	}
	if f, _ := d.Stat("a"); !f.ModTime.Equal(defaultModTime) {
		t.Errorf("zero ModTime became %v, want %v", f.ModTime, defaultModTime)
	}
	if d.TotalSize() != 6 {
		t.Errorf("TotalSize = %d, want 6", d.TotalSize())
	}
	root := d.dirs[""].entries
	if len(root) != 2 || root[0].name != "b" || !root[0].isDir || root[1].name != "a" {
		t.Fatalf("root entries = %+v", root)
	}
	if !root[0].modTime.Equal(t1.Add(time.Hour)) {
		t.Errorf("folder b time = %v, want its newest file's", root[0].modTime)
	}
	if b := d.dirs["b"].entries; len(b) != 2 || b[0].name != "c" || b[1].name != "y" {
		t.Errorf("b entries = %+v", b)
	}
}

func TestBreachDump(t *testing.T) {
	spec := DefaultBreachSpec()
	d := BreachDump(42, spec)
	files := d.Files()
	if want := spec.Archives + spec.Photos + spec.Docs + spec.Mail + spec.DB; len(files) != want {
		t.Fatalf("%d files, want %d", len(files), want)
	}
	count := map[string]int{}
	for _, f := range files {
		top := f.Path[:strings.IndexByte(f.Path, '/')]
		if top == "photos" {
			top = f.Path[:strings.IndexByte(f.Path[7:], '/')+7]
		}
		count[top]++
		var lo, hi int64
		switch top {
		case "archives":
			lo, hi = spec.ArchiveSize, spec.ArchiveSize
		case "photos/travellers", "photos/plates":
			lo, hi = spec.PhotoMin, spec.PhotoMax
		case "documents":
			lo, hi = spec.DocMin, spec.DocMax
		case "mail":
			lo, hi = spec.MailMin, spec.MailMax
		case "db":
			lo, hi = spec.DBMin, spec.DBMax
		default:
			t.Fatalf("unexpected folder %q", top)
		}
		if f.Size < lo || f.Size > hi {
			t.Errorf("%s: size %d outside [%d, %d]", f.Path, f.Size, lo, hi)
		}
	}
	if count["photos/travellers"]+count["photos/plates"] != spec.Photos || count["photos/plates"] == 0 ||
		count["archives"] != 2 || count["mail"] != 2 || count["db"] != 2 {
		t.Errorf("folder counts = %v", count)
	}
	for _, p := range []string{"archives/backup-2023-01.zip", "archives/mail-archive.7z",
		"photos/travellers/IMG_0001.JPG", "photos/travellers/DSC00008.jpg", "photos/plates/plate_0004.TIF",
		"photos/plates/IMG_0005.JPG", "documents/Übersicht Kunden & Verträge.xlsx",
		"mail/export_01.pst", "mail/msg_0001.eml", "db/customers_01.sql", "db/backup_01.bak"} {
		if _, ok := d.Stat(p); !ok {
			t.Errorf("missing %s", p)
		}
	}
	// Deterministic for a seed, different for another.
	again := BreachDump(42, spec).Files()
	other := BreachDump(43, spec).Files()
	same := true
	for i := range files {
		if files[i] != again[i] {
			t.Fatalf("file %d: %+v then %+v", i, files[i], again[i])
		}
		same = same && files[i] == other[i]
	}
	if same {
		t.Error("seeds 42 and 43 gave the same files")
	}
	if total := d.TotalSize(); total < 35e6 || total > 60e6 {
		t.Errorf("default dump is %d bytes, want 35-60 MB", total)
	}
}

func TestBreachSpecClamps(t *testing.T) {
	d := BreachDump(1, BreachSpec{Archives: -1, Photos: 2, PhotoMin: 10, PhotoMax: 5, Docs: 1, DocMin: -4, DocMax: -4})
	var got []string
	for _, f := range d.Files() {
		got = append(got, f.Path+"="+strconv.FormatInt(f.Size, 10))
	}
	want := "documents/Passport scans 2023.pdf=0,photos/travellers/IMG_0001.JPG=10,photos/travellers/IMG_0002.JPG=10"
	if strings.Join(got, ",") != want {
		t.Errorf("files = %s\nwant    %s", strings.Join(got, ","), want)
	}
}

func FuzzReadAt(f *testing.F) {
	f.Add(int64(0), uint16(10), int64(1000))
	f.Add(int64(blockSize-3), uint16(7), int64(blockSize+1))
	f.Add(int64(5), uint16(65535), int64(3*blockSize))
	f.Fuzz(func(t *testing.T, off int64, n uint16, size int64) {
		size = size % (4 * blockSize)
		if size < 0 {
			size = -size
		}
		d := NewDump(9, []File{{Path: "f.bin", Size: size}})
		whole := readAll(t, d, "f.bin")
		ra, _, _ := d.Open("f.bin")
		buf := make([]byte, n)
		got, err := ra.ReadAt(buf, off)
		switch {
		case off < 0:
			if err == nil || got != 0 {
				t.Fatalf("ReadAt at %d = %d, %v", off, got, err)
			}
			return
		case off >= size:
			if got != 0 || (n > 0 && err != io.EOF) || (n == 0 && err != io.EOF) {
				t.Fatalf("ReadAt past end = %d, %v", got, err)
			}
			return
		}
		want := whole[off:min(off+int64(n), size)]
		if got != len(want) || !bytes.Equal(buf[:got], want) {
			t.Fatalf("ReadAt(%d at %d) = %d bytes, want %d", n, off, got, len(want))
		}
		if (got < int(n)) != errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d at %d) = %d, %v", n, off, got, err)
		}
	})
}
