package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/job"
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
	out := fs.dir()
	asJSON := fs.Bool("json", false, "")
	watch := fs.Bool("watch", false, "")
	if err := fs.parseNone(args, usageStatus, "grab status -o DIR"); err != nil {
		return err
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
