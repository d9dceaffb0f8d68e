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

	"github.com/cheggaaa/pb/v3"
	"github.com/mattn/go-isatty"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/safetext"
)

// progress shows a job's progress: a bar on a terminal, a line every
// plainEvery otherwise.
type progress struct {
	ui    *ui
	j     *job.Job
	bar   *pb.ProgressBar
	meter rate.Meter
	done  chan struct{}
	wg    sync.WaitGroup
}

const plainEvery = 10 * time.Second

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func startProgress(u *ui, j *job.Job) *progress {
	p := &progress{ui: u, j: j, done: make(chan struct{})}
	if isTerminal(u.stdout) {
		p.bar = pb.New64(0)
		p.bar.SetWriter(u.stdout)
		p.bar.Set(pb.Bytes, true)
		p.bar.SetTemplateString(`{{counters . }} {{bar . "[" "=" ">" " " "]"}} {{percent . }} {{string . "rate"}} {{string . "eta"}} {{string . "files"}} {{string . "classes"}} {{string . "extra"}}`)
		p.bar.SetRefreshRate(500 * time.Millisecond)
		p.bar.Start()
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastLine := time.Now()
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			s := p.j.Status()
			p.meter.Observe(now, s.Fetched)
			if p.bar != nil {
				p.bar.SetTotal(s.Size)
				p.bar.SetCurrent(s.DoneBytes)
				r, eta := p.rateETA(s)
				if !s.WaitingUntil.IsZero() {
					r, eta = "waiting for source", "next try "+s.WaitingUntil.Format("15:04:05")
				}
				p.bar.Set("rate", safetext.String(r))
				p.bar.Set("eta", eta)
				p.bar.Set("files", fmt.Sprintf("%d/%d files", s.Done, s.Files))
				if etas := p.classETAs(s); len(etas) > 0 {
					p.bar.Set("classes", etas[0])
				}
				p.bar.Set("extra", s.Tor)
			} else if now.Sub(lastLine) >= plainEvery {
				lastLine = now
				fmt.Fprintln(p.ui.stdout, safetext.String(p.line(s)))
			}
		}
	}
}

func (p *progress) rateETA(s job.Status) (string, string) {
	r, ok := p.meter.Rate()
	if !ok {
		return "-- kB/s", "ETA --"
	}
	rs := rate.Speed(r)
	if s.Unknown > 0 {
		return rs, "ETA --"
	}
	eta, ok := p.meter.ETA(s.Size - s.DoneBytes)
	if !ok {
		return rs, "ETA --"
	}
	return rs, "ETA " + rate.Duration(eta)
}

// line is the plain progress report.
func (p *progress) line(s job.Status) string {
	if !s.WaitingUntil.IsZero() {
		return fmt.Sprintf("grab: waiting for source, next try at %s: %s; %d/%d files done",
			s.WaitingUntil.Format("15:04:05"), s.WaitingWhy, s.Done, s.Files)
	}
	r, eta := p.rateETA(s)
	pct := 0.0
	if s.Size > 0 {
		pct = 100 * float64(s.DoneBytes) / float64(s.Size)
	}
	size := rate.Bytes(s.Size)
	if s.Unknown > 0 {
		size += fmt.Sprintf(" + %d of unknown size", s.Unknown)
	}
	line := fmt.Sprintf("grab: %s of %s (%.1f%%), %s, %s, %d/%d files done, %d failed, %d requests",
		rate.Bytes(s.DoneBytes), size, pct, r, eta, s.Done, s.Files, s.Failed, s.Requests)
	if etas := p.classETAs(s); len(etas) > 0 {
		line += "; " + strings.Join(etas, ", ")
	}
	if s.Tor != "" {
		line += "; " + s.Tor
	}
	return line
}

// classETAs says when each class with work left will be complete. Classes
// are fetched in priority order, so a class is done when it and every
// class before it are: its ETA is all their remaining bytes (estimated
// from listings where the size is not known yet) at the current rate.
func (p *progress) classETAs(s job.Status) []string {
	r, ok := p.meter.Rate()
	if !ok || r <= 0 {
		return nil
	}
	var out []string
	var ahead int64
	for _, name := range s.Order {
		c, ok := s.Classes[name]
		if !ok {
			continue
		}
		ahead += c.Size - c.DoneBytes + c.Estimated
		if c.Done+c.Failed == c.Files || name == "" {
			continue
		}
		eta := time.Duration(float64(ahead) / r * float64(time.Second))
		approx := ""
		if c.Unknown > 0 {
			approx = "~"
		}
		out = append(out, fmt.Sprintf("%s in %s%s", name, approx, rate.Duration(eta)))
	}
	return out
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
	if p.bar != nil {
		s := p.j.Status()
		p.bar.SetTotal(s.Size)
		p.bar.SetCurrent(s.DoneBytes)
		p.bar.Finish()
	}
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
		u.printf("left out by filters: %d files, %d folders (grab ls lists them, with why)", s.Skipped, s.SkippedDirs)
	}
	for _, f := range j.Files() {
		if f.State == fetch.Failed {
			u.printf("failed: %s: %s", f.Path, f.Err)
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
