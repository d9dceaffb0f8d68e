package tail

import (
	"fmt"
	"testing"
)

func TestBufferKeepsTheEnd(t *testing.T) {
	b := &Buffer{Max: 8}
	fmt.Fprint(b, "abc")
	if b.String() != "abc" {
		t.Fatalf("%q", b.String())
	}
	fmt.Fprint(b, "defghij")
	if b.String() != "cdefghij" {
		t.Fatalf("%q, want the last 8 bytes", b.String())
	}
	n, err := b.Write([]byte("0123456789"))
	if n != 10 || err != nil || b.String() != "23456789" {
		t.Fatalf("Write = %d, %v; kept %q", n, err, b.String())
	}
}
