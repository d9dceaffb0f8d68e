package rsync

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzFormats are the list encodings of the protocols offered; the first
// input byte picks one.
var fuzzFormats = []listFormat{
	{proto: 31, varintFlags: true, safeFlist: true},
	{proto: 30, varintFlags: true, safeFlist: true},
	{proto: 30},
	{proto: 29},
	{proto: 27},
}

func FuzzFileList(f *testing.F) {
	es := []testEntry{
		{name: ".", mode: modeDir, mtime: testTime},
		{name: "a dir", mode: modeDir, mtime: testTime},
		{name: "a dir/file%20#?.txt", mode: modeReg, size: 12345, mtime: testTime + 1, nsec: 5},
		{name: "a dir/ünï", mode: modeReg, size: 1 << 40, mtime: testTime + 1},
		{name: "link", mode: modeLink, size: 7, mtime: testTime},
		{name: string(bytes.Repeat([]byte("long/"), 80)) + "x", mode: modeReg, size: 1},
	}
	for i, lf := range fuzzFormats {
		f.Add(append([]byte{byte(i)}, encList(lf, es, 0)...))
		f.Add(append([]byte{byte(i)}, encList(lf, es[:1], 3)...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		lf := fuzzFormats[int(in[0])%len(fuzzFormats)]
		lf.maxFiles, lf.maxNames = 10_000, 1<<20
		files, _, err := readFileList(bytes.NewReader(in[1:]), lf)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		for i, f := range files {
			if i > 0 && files[i-1].Ndx >= f.Ndx {
				t.Fatalf("indexes not increasing: %d then %d", files[i-1].Ndx, f.Ndx)
			}
			if f.Size < 0 || len(f.Name) == 0 || len(f.Name) > maxPath {
				t.Fatalf("entry %+v out of bounds", f)
			}
		}
	})
}

func FuzzDemux(f *testing.F) {
	var good []byte
	good = append(good, frame(tagData, []byte("hello"))...)
	good = append(good, frame(tagInfo, []byte("info\n"))...)
	good = append(good, frame(tagNoSend, encInt(nil, 3))...)
	good = append(good, frame(tagData, nil)...)
	good = append(good, frame(tagIOError, encInt(nil, 1))...)
	good = append(good, frame(tagData, []byte("world"))...)
	good = append(good, frame(tagErrorExit, encInt(nil, 12))...)
	f.Add(good)
	f.Add(frame(tagError, []byte("@ERROR: x")))
	f.Add(binaryHeader(tagData, 0xFFFFFF))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newDemux(bufio.NewReader(bytes.NewReader(in)), nil)
		n, err := io.Copy(io.Discard, d)
		if n > int64(len(in)) {
			t.Fatalf("read %d data bytes from %d input bytes", n, len(in))
		}
		if err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLimit) {
			var de *DaemonError
			if !errors.As(err, &de) {
				t.Fatalf("error of no known kind: %v", err)
			}
		}
		if len(d.msgs) > maxMessages {
			t.Fatalf("%d messages kept", len(d.msgs))
		}
	})
}
