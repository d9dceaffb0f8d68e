package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// screen draws a block of lines at the bottom of a terminal and redraws it
// in place. Everything else written to the terminal while it is shown
// (log lines on stderr) goes through its writer: the block is erased, the
// text written, the block drawn again below it, so log lines scroll up
// above the bars and never garble them.
type screen struct {
	mu    sync.Mutex
	out   io.Writer
	shown int      // lines of the block on the terminal
	last  []string // the block as last drawn
	done  bool     // the final frame is drawn: writes pass through
}

func newScreen(out io.Writer) *screen { return &screen{out: out} }

// draw replaces the block with lines.
func (s *screen) draw(lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.last = lines
	s.redraw()
}

// final draws the last frame and leaves it on the terminal.
func (s *screen) final(lines []string) {
	s.draw(lines)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done, s.shown = true, 0
}

func (s *screen) erase(b *strings.Builder) {
	if s.shown > 0 {
		fmt.Fprintf(b, "\r\033[%dA\033[J", s.shown)
	}
}

// redraw writes the block in one write; s.mu is held.
func (s *screen) redraw() {
	var b strings.Builder
	s.erase(&b)
	for _, l := range s.last {
		b.WriteString("\r\033[K" + l + "\n")
	}
	s.shown = len(s.last)
	io.WriteString(s.out, b.String())
}

// writer returns w wrapped so that what is written to it appears above
// the block.
func (s *screen) writer(w io.Writer) io.Writer { return &aboveScreen{s: s, w: w} }

type aboveScreen struct {
	s *screen
	w io.Writer
}

func (a *aboveScreen) Write(p []byte) (int, error) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.done || a.s.shown == 0 {
		return a.w.Write(p)
	}
	var b strings.Builder
	a.s.erase(&b)
	io.WriteString(a.s.out, b.String())
	a.s.shown = 0
	n, err := a.w.Write(p)
	if len(p) > 0 && p[len(p)-1] != '\n' {
		io.WriteString(a.w, "\n")
	}
	a.s.redraw()
	return n, err
}
