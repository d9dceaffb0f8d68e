package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cheggaaa/pb/v3"
	"github.com/cheggaaa/pb/v3/termutil"

	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
)

// The three ways grab shows a job.Report: frame (the block a terminal
// redraws during a run), statusLines (grab status) and plainLine (a run
// whose stdout is not a terminal). Text from a server is escaped
// (job.Clean) in all three.

// maxClassLines keeps a frame within 24 rows.
const maxClassLines = 8

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
		v := verified(r)
		ls = append(ls, "grab: "+verifyingLine(v), bar(v.Done, v.Total, width))
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
	return fitAll(ls, width)
}

func header(r job.Report, now time.Time) string {
	h := fmt.Sprintf("%s  %d/%d files, %d failed", r.State, r.FilesDone, r.FilesTotal, r.FilesFailed)
	switch {
	case r.State == job.StateWaiting:
		h += "  next try " + nextTry(r)
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
		if c.Settled() {
			done = append(done, className(c))
			continue
		}
		if len(ls) == maxClassLines {
			continue
		}
		failed := ""
		if c.FilesFailed > 0 {
			failed = fmt.Sprintf(" %d failed", c.FilesFailed)
		}
		ls = append(ls, fmt.Sprintf("  %-10s %5d/%-5d%s %s/%s  ETA %s", className(c), c.FilesDone, c.FilesTotal, failed,
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
	for _, w := range busy(r) {
		rs = append(rs, w.RateBPS)
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
	return len(rs), strings.Join(parts, " ")
}

// plainLine is the progress line written every plainEvery when stdout is
// not a terminal.
func plainLine(r job.Report) string {
	switch r.State {
	case job.StateStarting, job.StateTor:
		return "grab: " + r.State
	case job.StateVerifying:
		return "grab: " + verifyingLine(verified(r))
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

// statusLines renders a report for grab status, each line at most width
// wide (0: any width).
func statusLines(r job.Report, width int, now time.Time) []string {
	var ls []string
	head := "state: " + r.State
	if r.Running {
		head += fmt.Sprintf(" (pid %d, up %s)", r.PID, rate.Duration(now.Sub(r.Began)))
	} else {
		head += " (no grab is running it)"
	}
	if !r.NextTry.IsZero() {
		head += ", next try at " + nextTry(r)
	}
	ls = append(ls, head)
	if r.Verifying != nil {
		ls = append(ls, verifyingLine(*r.Verifying))
	}
	if r.Listings > r.ListingsDone {
		ls = append(ls, fmt.Sprintf("crawling: %d of %d listings read", r.ListingsDone, r.Listings))
	}
	ls = append(ls, fmt.Sprintf("files: %d of %d done, %d failed%s", r.FilesDone, r.FilesTotal, r.FilesFailed, unknownNote(r.FilesUnknown)))
	ls = append(ls, fmt.Sprintf("bytes: %s of %s%s", rate.Bytes(r.BytesDone), total(r.BytesTotal, r.BytesEstimated), estimateNote(r.BytesEstimated)))
	if r.Running {
		ls = append(ls, fmt.Sprintf("rate: %s, ETA %s", speed(r.RateBPS, r.ETASeconds), eta(r.ETASeconds, r.ETAApprox)))
	}
	if len(r.Classes) > 0 {
		ls = append(ls, "classes, in priority order:")
		for _, c := range r.Classes {
			ls = append(ls, classLine(c, r.Running))
		}
	}
	if len(r.Workers) > 0 {
		b := busy(r)
		ls = append(ls, fmt.Sprintf("circuits: %d, %d busy", len(r.Workers), len(b)))
		for _, w := range b {
			ls = append(ls, workerLine(w))
		}
	}
	if r.Tor != "" {
		ls = append(ls, r.Tor)
	}
	if len(r.Errors) > 0 {
		ls = append(ls, "recent errors:")
		for _, e := range r.Errors {
			ls = append(ls, "  "+e.Time.Local().Format("15:04:05")+" "+e.Message)
		}
	}
	return fitAll(ls, width)
}

func classLine(c job.Class, running bool) string {
	when := ""
	switch {
	case c.Settled():
		when = "done"
	case running:
		when = "ETA " + eta(c.ETASeconds, c.ETAApprox)
	}
	failed := ""
	if c.FilesFailed > 0 {
		failed = fmt.Sprintf(", %d failed", c.FilesFailed)
	}
	return fmt.Sprintf("  %-10s %6d/%-6d files%s  %s of %s  %s", className(c), c.FilesDone, c.FilesTotal, failed,
		rate.Bytes(c.BytesDone), total(c.BytesTotal, c.BytesEstimated), when)
}

func workerLine(w job.Worker) string {
	r := "--"
	if w.RateBPS > 0 {
		r = rate.Speed(w.RateBPS)
	}
	return fmt.Sprintf("  #%-3d %9s %6s  %s", w.ID, r, rate.Duration(time.Duration(w.AgeSeconds)*time.Second), w.Path)
}

// className is "named" for the files named on the command line.
func className(c job.Class) string {
	if c.Name == "" {
		return "named"
	}
	return c.Name
}

// busy are the circuits with requests in flight.
func busy(r job.Report) []job.Worker {
	var out []job.Worker
	for _, w := range r.Workers {
		if w.Requests > 0 {
			out = append(out, w)
		}
	}
	return out
}

// nextTry is when a waiting job tries again, and why it waits.
func nextTry(r job.Report) string {
	s := r.NextTry.Local().Format("15:04:05")
	if r.WaitingWhy != "" {
		s += ": " + r.WaitingWhy
	}
	return s
}

// verified is the re-hash of partial files at start-up, zero until known.
func verified(r job.Report) job.Progress {
	if r.Verifying == nil {
		return job.Progress{}
	}
	return *r.Verifying
}

func verifyingLine(v job.Progress) string {
	return fmt.Sprintf("verifying %s of %s of partial files", rate.Bytes(v.Done), rate.Bytes(v.Total))
}

func unknownNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d of unknown size", n)
}

func total(t, est int64) string {
	if est > 0 {
		return "~" + rate.Bytes(t)
	}
	return rate.Bytes(t)
}

func estimateNote(est int64) string {
	if est == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s of it estimated from listings)", rate.Bytes(est))
}

func speed(bps float64, eta *float64) string {
	if bps <= 0 && eta == nil {
		return "-- kB/s"
	}
	return rate.Speed(bps)
}

// eta formats an ETA in seconds: "--" while unknown, "~" when it relies
// on estimated sizes.
func eta(s *float64, approx bool) string {
	if s == nil {
		return "--"
	}
	d := rate.Duration(time.Duration(*s) * time.Second)
	if approx {
		return "~" + d
	}
	return d
}

// fitAll escapes each line (job.Clean) and cuts it to width characters,
// so that a line is one row of a terminal; width 0 cuts nothing.
func fitAll(ls []string, width int) []string {
	for i, l := range ls {
		l = job.Clean(l)
		if r := []rune(l); width > 0 && len(r) > width {
			l = string(r[:width-1]) + "…"
		}
		ls[i] = l
	}
	return ls
}

// termWidth is the terminal's width, 80 when w is not a terminal.
func termWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	if n, err := termutil.TerminalWidth(); err == nil && n > 0 {
		return n
	}
	return 80
}
