package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cheggaaa/pb/v3/termutil"

	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
)

const usageStatus = `usage: grab status [-o DIR] [--json] [--watch]

Shows where the job in DIR (default: the current folder) stands: from the
grab running it (asked on DIR/.grab/status.sock, from any terminal of the
same user), or from its state when none runs. State, files and bytes done
and total (~ marks what is still estimated from listings), the rate, the
ETA overall and of each class in priority order, the circuits with their
rates and current files, tor's circuits with --tor, and recent errors.

flags:
  -o, --output DIR   the job's folder (default .)
      --json         one JSON object (schema in docs/status.md)
      --watch        show it again every 2 s until Ctrl-C

examples:
  grab status -o case42
  grab status -o case42 --watch
  grab status -o case42 --json | jq .eta_seconds
`

const watchEvery = 2 * time.Second

func runStatus(ctx context.Context, ui *ui, args []string) error {
	fs := newFlagSet("grab status")
	out := fs.String("o", ".", "")
	fs.StringVar(out, "output", ".", "")
	asJSON := fs.Bool("json", false, "")
	watch := fs.Bool("watch", false, "")
	pos, err := (&flagSet{fs}).parse(args, usageStatus)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &job.UsageError{Msg: "grab status takes no URL", Hint: "grab status -o DIR"}
	}
	tty := isTerminal(ui.stdout)
	for {
		r, err := job.Inspect(ctx, *out)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := json.NewEncoder(ui.stdout).Encode(r); err != nil {
				return err
			}
		} else {
			if *watch && tty {
				fmt.Fprint(ui.stdout, "\033[H\033[2J")
			}
			fmt.Fprint(ui.stdout, strings.Join(statusLines(r, termWidth(ui.stdout), time.Now()), "\n")+"\n")
		}
		if !*watch || !r.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(watchEvery):
		}
		if !tty && !*asJSON {
			fmt.Fprintln(ui.stdout)
		}
	}
}

// statusLines renders a report for people, each line at most width wide.
func statusLines(r job.Report, width int, now time.Time) []string {
	var ls []string
	head := "state: " + r.State
	if r.Running {
		head += fmt.Sprintf(" (pid %d, up %s)", r.PID, rate.Duration(now.Sub(r.Began)))
	} else {
		head += " (no grab is running it)"
	}
	if !r.NextTry.IsZero() {
		head += ", next try at " + r.NextTry.Local().Format("15:04:05")
		if r.WaitingWhy != "" {
			head += ": " + r.WaitingWhy
		}
	}
	ls = append(ls, head)
	if r.Verifying != nil {
		ls = append(ls, fmt.Sprintf("verifying %s of %s of partial files", rate.Bytes(r.Verifying.Done), rate.Bytes(r.Verifying.Total)))
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
	var busy []job.Worker
	for _, w := range r.Workers {
		if w.Requests > 0 {
			busy = append(busy, w)
		}
	}
	if len(r.Workers) > 0 {
		ls = append(ls, fmt.Sprintf("circuits: %d, %d busy", len(r.Workers), len(busy)))
		for _, w := range busy {
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
	for i := range ls {
		ls[i] = fit(job.Clean(ls[i]), width)
	}
	return ls
}

func classLine(c job.Class, running bool) string {
	name := c.Name
	if name == "" {
		name = "named"
	}
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
	return fmt.Sprintf("  %-10s %6d/%-6d files%s  %s of %s  %s", name, c.FilesDone, c.FilesTotal, failed,
		rate.Bytes(c.BytesDone), total(c.BytesTotal, c.BytesEstimated), when)
}

func workerLine(w job.Worker) string {
	r := "--"
	if w.RateBPS > 0 {
		r = rate.Speed(w.RateBPS)
	}
	return fmt.Sprintf("  #%-3d %9s %6s  %s", w.ID, r, rate.Duration(time.Duration(w.AgeSeconds)*time.Second), w.Path)
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

// fit cuts a line to width characters, so that a line is one row of a
// terminal.
func fit(s string, width int) string {
	r := []rune(s)
	if width <= 0 || len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
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
