package demo

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestSameFileCatchesOneByte(t *testing.T) {
	dump := SingleFile(1, "a.bin", 3<<20)
	r, size, _ := dump.Open("a.bin")
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dump.Same(p, "a.bin"); err != nil {
		t.Fatalf("identical file: %v", err)
	}
	data[2<<20+5] ^= 1
	os.WriteFile(p, data, 0o644)
	err := dump.Same(p, "a.bin")
	if want := "not byte-identical: " + p + " differs from the source in bytes 2097152-3145727"; err == nil || err.Error() != want || !errors.Is(err, ErrNotIdentical) {
		t.Errorf("one flipped bit: %v, want %q", err, want)
	}
	os.WriteFile(p, data[:size-1], 0o644)
	err = dump.Same(p, "a.bin")
	if want := "not byte-identical: " + p + " has 3145727 bytes, the source 3145728"; err == nil || err.Error() != want {
		t.Errorf("short file: %v, want %q", err, want)
	}
}
