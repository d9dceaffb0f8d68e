package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/safetext"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// summarize prints what a run achieved, and every failed file.
func summarize(u *ui, j *job.Job) {
	s := j.Status()
	took := time.Since(s.Began)
	u.printf("%d of %d files done (%s), %d failed, in %s; fetched %s this run, %s of it twice or thrown away",
		s.Done, s.Files, rate.Bytes(s.DoneBytes), s.Failed, rate.Duration(took), rate.Bytes(s.Fetched), rate.Bytes(s.Wasted))
	if s.Renewals+s.Stalls+s.Twins > 0 {
		u.printf("circuits: %d replaced, %d stalled requests cancelled, %d ranges fetched twice at the end", s.Renewals, s.Stalls, s.Twins)
	}
	if s.RenewalsDenied > 0 {
		u.printf("circuits: %d replacements held back by the renewal budget", s.RenewalsDenied)
	}
	if s.Yields > 0 {
		u.printf("priority: %d requests of lower classes paused for higher-class files", s.Yields)
	}
	if s.Skipped+s.SkippedDirs > 0 {
		u.printf("left out by filters and rules: %d files, %d folders (grab ls lists them, with why)", s.Skipped, s.SkippedDirs)
	}
	for _, f := range j.Files() {
		if f.State == fetch.Failed {
			name := f.Path
			if name == "" { // no local name could be made for it
				name = f.URL
			}
			u.printf("failed: %s: %s", job.Clean(name), job.Clean(f.Err))
		}
	}
}

// logHandler prints engine events as "grab: message: key=value ...",
// clearing a progress bar's line first on a terminal.
type logHandler struct {
	w     io.Writer
	tty   bool
	level slog.Level
	mu    *sync.Mutex
	attrs []slog.Attr
}

func newLogger(u *ui, verbose bool) *slog.Logger {
	lvl := slog.LevelWarn
	if verbose {
		lvl = slog.LevelInfo
	}
	return slog.New(&logHandler{w: u.stderr, tty: isTerminal(u.stderr), level: lvl, mu: &sync.Mutex{}})
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if h.tty {
		b.WriteString("\r\033[K")
	}
	b.WriteString("grab: ")
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(safetext.String(r.Message))
	add := func(a slog.Attr) bool { // values may be a server's text
		b.WriteString(safetext.String(fmt.Sprintf(" %s=%v", a.Key, a.Value)))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteString("\n")
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
