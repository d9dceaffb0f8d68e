package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/safetext"
)

// displayFlags are how a run is shown and logged; they are not saved
// with the job.
type displayFlags struct {
	quiet bool   // no progress, no summary: warnings and errors only
	json  bool   // JSON-lines events on stdout instead of the bar
	log   string // a file that keeps the log (every message, with times)
}

func (d *displayFlags) bind(fs *flagSet) {
	fs.BoolVar(&d.quiet, "q", false, "")
	fs.BoolVar(&d.quiet, "quiet", false, "")
	fs.BoolVar(&d.json, "json", false, "")
	fs.StringVar(&d.log, "log", "", "")
}

const (
	frameEvery = 500 * time.Millisecond
	plainEvery = 10 * time.Second
	jsonEvery  = 2 * time.Second
	// maxClassLines keeps a frame within 24 rows.
	maxClassLines = 8
)

// display shows a job's progress: on a terminal a block of lines redrawn
// in place (an overall bar, a line per class in progress, the circuits,
// the start-up states); otherwise a line every plainEvery; JSON-lines
// events with --json; nothing with --quiet.
type display struct {
	ui  *ui // its stderr goes above the block on a terminal
	f   displayFlags
	scr *screen // nil when stdout is not a terminal

	mu     sync.Mutex // serializes JSON events
	enc    *json.Encoder
	j      *job.Job
	done   chan struct{}
	wg     sync.WaitGroup
	failed map[string]bool // failed files already reported in JSON
	settle map[string]bool // classes reported done in JSON
	state  string
}

func newDisplay(u *ui, f displayFlags) *display {
	d := &display{f: f, done: make(chan struct{}), failed: map[string]bool{}, settle: map[string]bool{}}
	uc := *u
	d.ui = &uc
	switch {
	case f.json:
		d.enc = json.NewEncoder(u.stdout)
	case !f.quiet && isTerminal(u.stdout):
		d.scr = newScreen(u.stdout)
		d.ui.stderr = d.scr.writer(u.stderr)
	}
	return d
}

// start begins showing j; it is job.Options.Started.
func (d *display) start(j *job.Job) {
	d.j = j
	if d.f.quiet {
		return
	}
	d.wg.Add(1)
	go d.loop()
}

func (d *display) loop() {
	defer d.wg.Done()
	tick := time.NewTicker(frameEvery)
	defer tick.Stop()
	lastLine, lastJSON := time.Now(), time.Time{}
	for {
		select {
		case <-d.done:
			return
		case now := <-tick.C:
			r := d.j.Report()
			switch {
			case d.scr != nil:
				d.scr.draw(frame(r, frameWidth(d.ui.stdout), now))
			case d.enc != nil:
				d.events(r, now.Sub(lastJSON) >= jsonEvery)
				if now.Sub(lastJSON) >= jsonEvery {
					lastJSON = now
				}
			case now.Sub(lastLine) >= plainEvery:
				lastLine = now
				fmt.Fprintln(d.ui.stdout, safetext.String(plainLine(r)))
			}
		}
	}
}

// stop ends the display; with the job's last report, the final frame (or
// the last events) show where the run ended.
func (d *display) stop() {
	if d.j == nil || d.f.quiet {
		return
	}
	close(d.done)
	d.wg.Wait()
	r := d.j.Report()
	switch {
	case d.scr != nil:
		d.scr.final(frame(r, frameWidth(d.ui.stdout), time.Now()))
	case d.enc != nil:
		d.events(r, true)
	}
}

// fileDone is job.Options.Finished: a file_done event with --json.
func (d *display) fileDone(f fetch.File) {
	if d.enc == nil {
		return
	}
	d.emit(map[string]any{"event": "file_done", "path": f.Path, "size": f.Size, "sha256": f.SHA256, "class": f.Class})
}

func (d *display) emit(ev map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ev["time"] = time.Now().UTC()
	d.enc.Encode(ev)
}

// events writes the events a new report brings: a state change, failed
// files, classes done, and with progress the report itself.
func (d *display) events(r job.Report, progress bool) {
	if r.State != d.state {
		d.state = r.State
		d.emit(map[string]any{"event": "state", "state": r.State})
	}
	if r.FilesFailed > len(d.failed) {
		for _, f := range d.j.Files() {
			if f.State == fetch.Failed && f.Kind == fetch.KindFile && !d.failed[f.Path] {
				d.failed[f.Path] = true
				d.emit(map[string]any{"event": "file_failed", "path": f.Path, "error": f.Err, "class": f.Class})
			}
		}
	}
	if r.ListingsDone == r.Listings {
		for _, c := range r.Classes {
			if c.Settled() && !d.settle[c.Name] {
				d.settle[c.Name] = true
				d.emit(map[string]any{"event": "class_done", "class": c.Name, "files_done": c.FilesDone, "files_failed": c.FilesFailed})
			}
		}
	}
	if progress {
		d.emit(map[string]any{"event": "progress", "status": r})
	}
}

// frameWidth is the width frames are drawn to: the terminal's, 80 if
// unknown, never less than 40.
func frameWidth(w io.Writer) int {
	return max(termWidth(w), 40)
}

// frame is the block shown on a terminal for a report.
func frame(r job.Report, width int, now time.Time) []string {
	var ls []string
	switch r.State {
	case job.StateStarting:
		ls = append(ls, "grab: starting")
	case job.StateVerifying:
		v := job.Progress{}
		if r.Verifying != nil {
			v = *r.Verifying
		}
		ls = append(ls, fmt.Sprintf("grab: verifying %s of %s of partial files", rate.Bytes(v.Done), rate.Bytes(v.Total)),
			bar(v.Done, v.Total, width))
	case job.StateTor:
		ls = append(ls, "grab: building circuits (starting tor)")
	default:
		ls = append(ls, header(r, now), bar(r.BytesDone, r.BytesTotal, width))
		ls = append(ls, classLines(r)...)
		if busy, rates := circuits(r); len(r.Workers) > 0 && r.Running && !r.Settled() {
			ls = append(ls, fmt.Sprintf("circuits %d/%d busy: %s", busy, len(r.Workers), rates))
		}
	}
	if r.Tor != "" {
		ls = append(ls, r.Tor)
	}
	for i := range ls {
		ls[i] = fit(job.Clean(ls[i]), width)
	}
	return ls
}

func header(r job.Report, now time.Time) string {
	h := fmt.Sprintf("%s  %d/%d files, %d failed", r.State, r.FilesDone, r.FilesTotal, r.FilesFailed)
	switch {
	case r.State == job.StateWaiting:
		h += "  next try " + r.NextTry.Local().Format("15:04:05")
		if r.WaitingWhy != "" {
			h += ": " + r.WaitingWhy
		}
	case r.State == job.StateCrawling:
		h += fmt.Sprintf("  crawling %d of %d listings  %s  ETA %s", r.ListingsDone, r.Listings, speed(r.RateBPS, r.ETASeconds), eta(r.ETASeconds, r.ETAApprox))
	case r.Settled() || r.State == job.StateStopped:
		h += "  in " + rate.Duration(now.Sub(r.Began))
	default:
		h += fmt.Sprintf("  %s  ETA %s", speed(r.RateBPS, r.ETASeconds), eta(r.ETASeconds, r.ETAApprox))
	}
	return h
}

// bar is pb's bar with byte counters and percent, width wide.
func bar(done, total int64, width int) string {
	if total <= 0 {
		return "no sizes known yet"
	}
	b := pb.New64(total)
	b.Set(pb.Bytes, true)
	b.SetTemplateString(`{{counters . }} {{bar . "[" "=" ">" " " "]"}} {{percent . }}`)
	b.SetWidth(width)
	b.SetCurrent(done)
	return b.String()
}

// classLines is a line per class in progress, and one naming the classes
// done.
func classLines(r job.Report) []string {
	var ls, done []string
	for _, c := range r.Classes {
		name := c.Name
		if name == "" {
			name = "named"
		}
		if c.Settled() {
			done = append(done, name)
			continue
		}
		if len(ls) == maxClassLines {
			continue
		}
		failed := ""
		if c.FilesFailed > 0 {
			failed = fmt.Sprintf(" %d failed", c.FilesFailed)
		}
		ls = append(ls, fmt.Sprintf("  %-10s %5d/%-5d%s %s/%s  ETA %s", name, c.FilesDone, c.FilesTotal, failed,
			rate.Bytes(c.BytesDone), total(c.BytesTotal, c.BytesEstimated), eta(c.ETASeconds, c.ETAApprox)))
	}
	if len(done) > 0 {
		ls = append(ls, "  done: "+strings.Join(done, ", "))
	}
	return ls
}

// circuits counts the busy circuits and lists their rates, fastest first.
func circuits(r job.Report) (int, string) {
	var rs []float64
	busy := 0
	for _, w := range r.Workers {
		if w.Requests > 0 {
			busy++
			rs = append(rs, w.RateBPS)
		}
	}
	slices.SortFunc(rs, func(a, b float64) int { return cmp.Compare(b, a) })
	var parts []string
	for _, x := range rs {
		if x <= 0 {
			parts = append(parts, "--")
			continue
		}
		parts = append(parts, strings.TrimSuffix(rate.Speed(x), "/s"))
	}
	return busy, strings.Join(parts, " ")
}

// plainLine is the progress line written every plainEvery when stdout is
// not a terminal.
func plainLine(r job.Report) string {
	switch r.State {
	case job.StateStarting, job.StateTor:
		return "grab: " + r.State
	case job.StateVerifying:
		v := job.Progress{}
		if r.Verifying != nil {
			v = *r.Verifying
		}
		return fmt.Sprintf("grab: verifying %s of %s of partial files", rate.Bytes(v.Done), rate.Bytes(v.Total))
	case job.StateWaiting:
		return fmt.Sprintf("grab: waiting for source, next try at %s: %s; %d/%d files done",
			r.NextTry.Local().Format("15:04:05"), r.WaitingWhy, r.FilesDone, r.FilesTotal)
	}
	pct := 0.0
	if r.BytesTotal > 0 {
		pct = 100 * float64(r.BytesDone) / float64(r.BytesTotal)
	}
	size := total(r.BytesTotal, r.BytesEstimated)
	if r.FilesUnknown > 0 {
		size += fmt.Sprintf(" + %d of unknown size", r.FilesUnknown)
	}
	line := fmt.Sprintf("grab: %s of %s (%.1f%%), %s, ETA %s, %d/%d files done, %d failed, %d requests",
		rate.Bytes(r.BytesDone), size, pct, speed(r.RateBPS, r.ETASeconds), eta(r.ETASeconds, r.ETAApprox),
		r.FilesDone, r.FilesTotal, r.FilesFailed, r.Requests)
	if r.Listings > r.ListingsDone {
		line += fmt.Sprintf(", crawling %d of %d listings", r.ListingsDone, r.Listings)
	}
	var etas []string
	for _, c := range r.Classes {
		if c.Settled() || c.Name == "" {
			continue
		}
		etas = append(etas, c.Name+" in "+eta(c.ETASeconds, c.ETAApprox))
	}
	if len(etas) > 0 {
		line += "; " + strings.Join(etas, ", ")
	}
	if r.Tor != "" {
		line += "; " + r.Tor
	}
	return job.Clean(line)
}
