package rsync

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestVarints(t *testing.T) {
	for _, v := range []int32{0, 1, 0x7F, 0x80, 0xFF, 0x1234, 0x3FFF, 0x4000, 0x123456, 0x1FFFFF, 0x200000, 0x0FFFFFFF, 0x10000000, math.MaxInt32, -1, math.MinInt32} {
		b := encVarint(nil, v)
		got, err := readVarint(bytes.NewReader(b), "x")
		if err != nil || got != v {
			t.Errorf("varint %#x: % x read as %#x, %v", v, b, got, err)
		}
	}
	for _, min := range []int{3, 4} {
		for _, v := range []int64{0, 1, 0xFFFFFF, 0x1000000, 1 << 40, math.MaxInt64, 1700000000, 0xFFFFFFFF} {
			b := encVarlong(nil, v, min)
			got, err := readVarlong(bytes.NewReader(b), min, "x")
			if err != nil || got != v {
				t.Errorf("varlong(%d) %#x: % x read as %#x, %v", min, v, b, got, err)
			}
		}
	}
	if _, err := readVarint(bytes.NewReader([]byte{0xF8, 1, 2, 3, 4, 5}), "x"); !errors.Is(err, ErrProtocol) {
		t.Errorf("overlong varint: %v", err)
	}
	if _, err := readVarlong(bytes.NewReader([]byte{0x81}), 3, "x"); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated varlong: %v", err)
	}
}

func TestNdx(t *testing.T) {
	seq := []int32{0, 1, 2, 300, 299, 100000, 5, 5 + 0x7FFF, ndxDone, 6, math.MaxInt32 - 1}
	w := newNdxWriter(30)
	var b []byte
	for _, n := range seq {
		b = w.append(b, n)
	}
	r := newNdxReader(30)
	br := bytes.NewReader(b)
	for _, want := range seq {
		got, err := r.read(br)
		if err != nil || got != want {
			t.Fatalf("ndx %d read as %d, %v", want, got, err)
		}
	}
	// Negative indexes (the incremental-recursion forms) decode too.
	neg := []byte{0xFF, 0x01}
	nr := newNdxReader(30)
	if got, _ := nr.read(bytes.NewReader(neg)); got != -2 {
		t.Errorf("0xFF 0x01 read as %d, want -2", got)
	}
}

func TestSum1(t *testing.T) {
	// sum1 takes bytes as signed: 0xFF counts as -1.
	if got, want := sum1([]byte{1, 2, 3}), uint32(6|(1+3+6)<<16); got != want {
		t.Errorf("sum1(1,2,3) = %#x, want %#x", got, want)
	}
	if got, want := sum1([]byte{0xFF}), uint32(0xFFFF|0xFFFF<<16); got != want {
		t.Errorf("sum1(0xFF) = %#x, want %#x", got, want)
	}
}

// TestSortOrder checks the orders rsync defines: from protocol 29 a
// folder's files before its subfolders and "." first; before 29 plain
// byte order.
func TestSortOrder(t *testing.T) {
	es := []testEntry{
		{name: "b", mode: modeDir}, {name: "a.txt", mode: modeReg}, {name: "b/x", mode: modeReg},
		{name: ".", mode: modeDir}, {name: "b.txt", mode: modeReg}, {name: "a", mode: modeDir},
		{name: "a/z", mode: modeReg}, {name: "a/y", mode: modeDir}, {name: "a/y/q", mode: modeReg},
		{name: "a-b", mode: modeReg},
	}
	want := map[int][]string{
		29: {".", "a-b", "a.txt", "b.txt", "a", "a/z", "a/y", "a/y/q", "b", "b/x"},
		27: {".", "a", "a-b", "a.txt", "a/y", "a/y/q", "a/z", "b", "b.txt", "b/x"},
	}
	for proto, names := range want {
		lf := listFormat{proto: proto, maxFiles: 100, maxNames: 1 << 20}
		files, _, err := readFileList(bufio.NewReader(bytes.NewReader(encList(lf, es, 0))), lf)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, f := range files {
			got = append(got, f.Name)
			if f.Ndx != int32(i) {
				t.Errorf("%q has index %d at %d", f.Name, f.Ndx, i)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("protocol %d: %q\nwant %q", proto, got, names)
		}
	}
}

// TestDedupe: duplicates are dropped but keep their index slot; a
// directory wins over a file of the same name.
func TestDedupe(t *testing.T) {
	es := []testEntry{
		{name: "x", mode: modeReg, size: 1}, {name: "x", mode: modeReg, size: 2},
		{name: "y", mode: modeReg, size: 3}, {name: "y", mode: modeDir},
		{name: "z", mode: modeReg},
	}
	for _, proto := range []int{27, 29, 31} {
		lf := listFormat{proto: proto, varintFlags: proto >= 30, maxFiles: 100, maxNames: 1 << 20}
		files, _, err := readFileList(bufio.NewReader(bytes.NewReader(encList(lf, es, 0))), lf)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]File{}
		for _, f := range files {
			got[f.Name] = f
		}
		if len(files) != 3 || got["x"].Size != 1 || got["y"].Type() != Dir {
			t.Errorf("protocol %d: %+v", proto, files)
		}
		if proto >= 29 && (got["x"].Ndx != 0 || got["z"].Ndx != 3 || got["y"].Ndx != 4) {
			t.Errorf("protocol %d: indexes %+v", proto, files)
		}
	}
}

func TestFileListLimits(t *testing.T) {
	lf := listFormat{proto: 31, varintFlags: true, maxFiles: 2, maxNames: 100}
	es := []testEntry{{name: "a", mode: modeReg}, {name: "b", mode: modeReg}, {name: "c", mode: modeReg}}
	if _, _, err := readFileList(bytes.NewReader(encList(lf, es, 0)), lf); !errors.Is(err, ErrLimit) {
		t.Errorf("3 entries over a limit of 2: %v", err)
	}
	lf.maxFiles = 10
	long := []testEntry{{name: string(bytes.Repeat([]byte("n"), 101)), mode: modeReg}}
	if _, _, err := readFileList(bytes.NewReader(encList(lf, long, 0)), lf); !errors.Is(err, ErrLimit) {
		t.Errorf("names over the byte limit: %v", err)
	}
	lf.maxNames = 1 << 20
	huge := []testEntry{{name: string(bytes.Repeat([]byte("n"), 5000)), mode: modeReg}}
	if _, _, err := readFileList(bytes.NewReader(encList(lf, huge, 0)), lf); !errors.Is(err, ErrLimit) {
		t.Errorf("5000-byte name: %v", err)
	}
	full := encList(lf, es, 0)
	for n := range len(full) {
		if _, _, err := readFileList(bytes.NewReader(full[:n]), lf); !errors.Is(err, ErrTruncated) {
			t.Fatalf("list cut at %d of %d: %v", n, len(full), err)
		}
	}
	// Hostile names are reported as they are.
	odd := []testEntry{{name: "../../etc/passwd", mode: modeReg}, {name: "/abs", mode: modeReg}, {name: "ctl\x01\x7f\n", mode: modeReg}}
	files, _, err := readFileList(bytes.NewReader(encList(lf, odd, 0)), lf)
	if err != nil || len(files) != 3 {
		t.Fatalf("odd names: %v, %+v", err, files)
	}
}

func TestDemux(t *testing.T) {
	var in []byte
	in = append(in, frame(tagData, []byte("ab"))...)
	in = append(in, frame(tagInfo, []byte("hello\n"))...)
	in = append(in, frame(tagData, nil)...) // keep-alive
	in = append(in, frame(tagNoop, nil)...)
	in = append(in, frame(tagNoSend, encInt(nil, 7))...)
	in = append(in, frame(tagData, []byte("c"))...)
	in = append(in, frame(tagError, []byte("rsync: the server is configured to refuse --append\n"))...)
	d := newDemux(bufio.NewReader(bytes.NewReader(in)), nil)
	var got []byte
	buf := make([]byte, 10)
	var err error
	for {
		var n int
		n, err = d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if string(got) != "abc" || !d.noSend[7] || len(d.msgs) != 2 || d.msgs[0] != (Message{"info", "hello"}) {
		t.Errorf("read %q, noSend %v, msgs %v", got, d.noSend, d.msgs)
	}
	if !errors.Is(err, ErrRefused) {
		t.Errorf("end after an error message: %v, want ErrRefused", err)
	}
	big := binaryHeader(tagInfo, MaxMessage+1)
	if _, err := newDemux(bufio.NewReader(bytes.NewReader(big)), nil).Read(buf); !errors.Is(err, ErrLimit) {
		t.Errorf("oversized message: %v", err)
	}
	if _, err := newDemux(bufio.NewReader(bytes.NewReader(binaryHeader(200, 0))), nil).Read(buf); !errors.Is(err, ErrProtocol) {
		t.Errorf("unknown tag: %v", err)
	}
	if _, err := newDemux(bufio.NewReader(bytes.NewReader(binaryHeader(tagData, 10)[:3])), nil).Read(buf); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated header: %v", err)
	}
}

func binaryHeader(tag, n int) []byte {
	return encInt(nil, int32(uint32(muxBase+tag)<<24|uint32(n)))
}

func BenchmarkSortAndClean(b *testing.B) {
	var es []File
	for i := range 100_000 {
		mode := uint32(modeReg)
		if i%50 == 0 {
			mode = modeDir
		}
		es = append(es, File{Name: fmt.Sprintf("dir%03d/sub%02d/file %06d.bin", i%997, i%13, i), Mode: mode})
	}
	b.ResetTimer()
	for range b.N {
		sortAndClean(slices.Clone(es), 31)
	}
}
