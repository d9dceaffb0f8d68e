package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/grab-ir/grab/fetch/bench"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/job"
)

const usageBench = `usage: grab bench [flags]

Measures grab against the physical limit (the modelled link) and against
aria2c and curl run side by side in the same run, on the built-in onion-like
source (see grab demo). Everything stays on 127.0.0.1. Prints a markdown
table; exits non-zero if any download is not byte-identical to the source.

scenarios:
  single   one 48 MiB file, 16 circuits of 200 kB/s median (sigma 0.8), a
           3 MB/s link, 600 ms round trips, 1.5 s circuit builds: grab
           in-process, grab killed with SIGKILL at 33% and 66% then resumed,
           aria2c -x16 -s16 -k1M and curl over direct HTTP
  photos   600 photos of 8-40 KB on the same model: grab -w16 and
           aria2c -j16 with an input file of URLs
  priority issue 3: 2 archives of 20 MB listed first, 160 photos, 30 PDFs
           (demo model); when the last photo is in place, as a share of
           the run: grab --priority photos, grab in listing order
           (--priority archives --order listing), aria2c -j16
  slowlink issue 4: the demo model with sigma 1.0 and 5% of responses
           stalled and 5% cut; (a) one 64 MiB file: grab in-process,
           aria2c -x16 -s16 -k1M --timeout=30 --max-tries=0, curl
           stopped after 60 s; (b) 600 photos of 8-40 KB: grab and
           aria2c -j16 with the same options
  eta      issue 12: the demo's mixed dump with --priority photos, three
           seeds; the mean absolute error of the overall and the photos'
           ETA after the first 20% of the run, as a share of the run
  rsync    a real rsync daemon behind the single model's circuits: one
           64 MiB file and a mixed dump (120 photos, 30 PDFs, 3 archives
           of 6 MiB): grab in-process, grab killed with SIGKILL at 50% of
           the dump then resumed, rsync -r through one circuit (60 s at
           most)
  scale    issue 13 (not in all): N files of 2-20 KB in 50 folders served
           by nginx on loopback, no proxy: grab, wget -r and aria2c -j16;
           wall, CPU per 1000 files, peak RSS, bytes written; with
           --listing-entries, one listing of N files (nginx, then
           Python http.server) crawled with --dry-run: peak RSS and heap
  big      issue 13 (not in all): one file per size served by nginx on
           loopback: the grab binary (its check included), aria2c -x4 and
           curl; wall, CPU, peak RSS; then grab killed at half-way and
           resumed, page cache warm and cold: time until it fetches again

flags:
      --scenario NAME   single, photos, priority, slowlink, eta, rsync, scale, big or all (default all)
      --counts LIST     files per scale point (default 5000,20000,50000)
      --sizes LIST      file sizes for big (default 512M,8G)
      --listing-entries LIST
                        entries of one listing per scale point (issue 10;
                        alone, the scale scenario runs these only)
      --quick           smaller sizes, for a run of about half a minute
  -o, --output DIR      scratch folder (default: a temporary one, removed after)
      --grab-only       run grab alone, not aria2c or curl: a
                        quick look at grab's own numbers, without the ratios
      --svg FILE        plot grab's throughput per circuit over time: single's
                        run, and slowlink's (a) (to FILE alone, or beside
                        it as NAME-slowlink.svg when single runs too)

examples:
  grab bench
  grab bench --quick --scenario single --svg /tmp/single.svg
  grab bench --scenario slowlink --svg docs/slowlink.svg
  grab bench --scenario scale --counts 5000,50000
  grab bench --scenario big --sizes 512M
  grab bench --scenario scale --listing-entries 1000000
`

func runBench(ctx context.Context, u *ui, args []string) error {
	o := bench.Options{Out: u.stdout, Log: u.stderr, Args: args}
	fs := newFlagSet("grab bench")
	fs.StringVar(&o.Scenario, "scenario", "all", "")
	fs.BoolVar(&o.Quick, "quick", false, "")
	fs.StringVar(&o.Scratch, "o", "", "")
	fs.StringVar(&o.Scratch, "output", "", "")
	fs.StringVar(&o.SVG, "svg", "", "")
	fs.BoolVar(&o.GrabOnly, "grab-only", false, "")
	counts := fs.String("counts", "", "")
	sizes := fs.String("sizes", "", "")
	entries := fs.String("listing-entries", "", "")
	pos, err := fs.parse(args, usageBench)
	if err != nil {
		return err
	}
	if o.Counts, err = benchCounts("counts", *counts, 10_000_000); err != nil {
		return err
	}
	if o.ListingEntries, err = benchCounts("listing-entries", *entries, 1_000_000); err != nil {
		return err
	}
	for _, c := range strings.FieldsFunc(*sizes, func(r rune) bool { return r == ',' }) {
		n, err := class.ParseSize(strings.TrimSpace(c))
		if err != nil || n < 1<<20 || n > 1<<40 {
			return &job.UsageError{Msg: fmt.Sprintf("--sizes %q: want sizes from 1M to 1T, such as 512M,8G", *sizes)}
		}
		o.Sizes = append(o.Sizes, n)
	}
	if len(pos) > 0 {
		return &job.UsageError{Msg: "grab bench takes no URL", Hint: "grab bench [--scenario single] [--quick]"}
	}
	if names := bench.Names(); o.Scenario != "all" && !slices.Contains(names, o.Scenario) {
		return &job.UsageError{Msg: fmt.Sprintf("--scenario %q: want %s or all", o.Scenario, strings.Join(names, ", "))}
	}
	if o.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("bench: finding the grab binary: %w", err)
	}
	return bench.Run(ctx, o)
}

// benchCounts reads a comma-separated list of counts, each 1 to max.
func benchCounts(flag, list string, max int) ([]int, error) {
	var out []int
	for _, c := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' }) {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > max {
			return nil, &job.UsageError{Msg: fmt.Sprintf("--%s %q: want numbers from 1 to %d, such as 5000,50000", flag, list, max)}
		}
		out = append(out, n)
	}
	return out, nil
}
