package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
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

flags:
      --scenario NAME   single, photos, priority, slowlink or all (default all)
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
`

// benchOptions are grab bench's flags.
type benchOptions struct {
	scenario string
	quick    bool
	scratch  string
	svg      string
	grabOnly bool
}

// scenario is one benchmark: it writes its results to out and returns an
// error if it could not run or a download was not byte-identical.
type scenario struct {
	name string
	run  func(ctx context.Context, b *bench) error
}

var scenarios = []scenario{
	{"single", runSingle},
	{"photos", runPhotos},
	{"priority", runPriority},
	{"slowlink", runSlowlink},
}

// bench is the state shared by a run's scenarios.
type bench struct {
	ui      *ui
	opts    benchOptions
	scratch string
	exe     string // the grab binary, for the kill test
}

func runBench(ctx context.Context, u *ui, args []string) error {
	var o benchOptions
	fs := &flagSet{newFlagSet("grab bench")}
	fs.StringVar(&o.scenario, "scenario", "all", "")
	fs.BoolVar(&o.quick, "quick", false, "")
	fs.StringVar(&o.scratch, "o", "", "")
	fs.StringVar(&o.scratch, "output", "", "")
	fs.StringVar(&o.svg, "svg", "", "")
	fs.BoolVar(&o.grabOnly, "grab-only", false, "")
	pos, err := fs.parse(args, usageBench)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{msg: "grab bench takes no URL", hint: "grab bench [--scenario single] [--quick]"}
	}
	var run []scenario
	for _, s := range scenarios {
		if o.scenario == "all" || o.scenario == s.name {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		return &usageError{msg: fmt.Sprintf("--scenario %q: want single, photos, priority, slowlink or all", o.scenario)}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: finding the grab binary: %w", err)
	}
	b := &bench{ui: u, opts: o, exe: exe, scratch: o.scratch}
	if b.scratch == "" {
		if b.scratch, err = os.MkdirTemp("", "grab-bench-"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(b.scratch)
	} else if err := os.MkdirAll(b.scratch, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(u.stdout, "grab bench %s, %s, %s/%s, %d CPUs\n", strings.Join(args, " "),
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	for _, s := range run {
		if err := s.run(ctx, b); err != nil {
			return fmt.Errorf("bench %s: %w", s.name, err)
		}
	}
	return nil
}

// limit bounds each grab run, so that an engine that stops making
// progress fails the benchmark instead of hanging it.
func (b *bench) limit() time.Duration {
	if b.opts.quick {
		return 2 * time.Minute
	}
	return 15 * time.Minute
}

// dir returns an empty scratch folder for one tool's run.
func (b *bench) dir(name string) (string, error) {
	d := filepath.Join(b.scratch, name)
	if err := os.RemoveAll(d); err != nil {
		return "", fmt.Errorf("clearing %s: %w", d, err)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, nil
}

// row is one line of a results table.
type row struct {
	tool    string
	skipped string        // why the tool did not run; the rest is empty then
	took    time.Duration // from the start to the last byte
	bytes   int64         // bytes of the files delivered
	startup time.Duration // the unavoidable start-up on this tool's path
	// refetched is (file body bytes the source sent − file bytes) / file
	// bytes; NaN when not measured.
	refetched float64
	note      string
}

func (r row) mbps() float64 { return float64(r.bytes) / r.took.Seconds() / 1e6 }

// util is the share of the link's capacity over the whole run.
func (r row) util(link float64) float64 {
	return float64(r.bytes) / (link * r.took.Seconds())
}

// utilNet is util with the unavoidable start-up taken out of the time.
func (r row) utilNet(link float64) float64 {
	t := (r.took - r.startup).Seconds()
	if t <= 0 {
		return math.NaN()
	}
	return float64(r.bytes) / (link * t)
}

// writeTable prints rows as a markdown table; the first row is grab's
// reference for the grab/tool column.
func writeTable(w io.Writer, link float64, rows []row) {
	fmt.Fprintln(w, "| tool | seconds to last byte | MB/s | utilisation (ratio to link) | net of start-up | grab/tool | refetched | note |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	ref := rows[0].util(link)
	for _, r := range rows {
		if r.skipped != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | |\n", r.tool, r.skipped)
			continue
		}
		ref := fmt.Sprintf("%.2f", ref/r.util(link))
		fmt.Fprintf(w, "| %s | %.1f | %.2f | %.2f | %s | %s | %s | %s |\n", r.tool, r.took.Seconds(), r.mbps(),
			r.util(link), num(r.utilNet(link)), ref, pct(r.refetched), r.note)
	}
	fmt.Fprintln(w, "| target | | | >= 0.90 | | | <= 2% | |")
}

func num(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.2f", f)
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	if math.Abs(f) < 0.00005 {
		f = 0 // "0.00%", not "-0.00%"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

// skip says why another tool (bin) is not run in this bench, or "" if it
// is: it is not installed, or --grab-only is set.
func (b *bench) skip(scenario, bin string) string {
	why := ""
	if b.opts.grabOnly {
		why = "not run (--grab-only)"
	} else if _, err := exec.LookPath(bin); err != nil {
		why = "skipped: " + bin + " not installed"
	}
	if why != "" {
		b.ui.printf("bench: %s: %s: %s", scenario, bin, why)
	}
	return why
}
