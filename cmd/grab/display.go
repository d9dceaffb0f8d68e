package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/job"
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
				fmt.Fprintln(d.ui.stdout, plainLine(r)) // escaped by plainLine
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
