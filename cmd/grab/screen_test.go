package main

import (
	"bytes"
	"testing"
)

// Text written above the block erases it, appears, and the block is drawn
// again below it.
func TestScreenWritesAbove(t *testing.T) {
	var out bytes.Buffer
	s := newScreen(&out)
	s.draw([]string{"a", "b"})
	s.writer(&out).Write([]byte("grab: warn: x\n"))
	s.final([]string{"c"})
	s.writer(&out).Write([]byte("after\n"))
	want := "\r\033[Ka\n\r\033[Kb\n" + "\r\033[2A\033[J" + "grab: warn: x\n" + "\r\033[Ka\n\r\033[Kb\n" +
		"\r\033[2A\033[J\r\033[Kc\n" + "after\n"
	if out.String() != want {
		t.Fatalf("%q\nwant %q", out.String(), want)
	}
}
