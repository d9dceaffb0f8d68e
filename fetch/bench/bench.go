package bench

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

// Options are a benchmark run's.
type Options struct {
	Scenario string // a name of Names(), or "all"
	Quick    bool   // smaller sizes, for a run of about half a minute
	Scratch  string // scratch folder ("": a temporary one, removed after)
	SVG      string // plot grab's throughput per circuit over time to this file
	GrabOnly bool   // run grab alone, not aria2c or curl
	Exe      string // the grab binary, for the kill test
	// Out gets the results (markdown tables); Log the progress lines,
	// each "grab: bench: ...".
	Out, Log io.Writer
	// Counts are the scale scenario's numbers of files (default 5,000,
	// 20,000 and 50,000; 2,000 and 5,000 with Quick).
	Counts []int
	// Sizes are the big scenario's file sizes (default 512 MiB and 8 GiB;
	// 64 MiB with Quick).
	Sizes []int64
	// ListingEntries are the scale scenario's sizes of one listing
	// crawled with --dry-run (issue 10; none by default). Given alone,
	// the scenario runs these points only.
	ListingEntries []int
	// Args are the command line, for the results' heading.
	Args []string
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
	{"eta", runETA},
	{"rsync", runRsync},
	{"scale", runScale}, // not in "all": minutes per point, and it needs nginx
	{"big", runBig},     // not in "all": gigabytes of disk, and nginx
}

// Names lists the scenarios, in the order "all" runs them.
func Names() []string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.name)
	}
	return out
}

// bench is the state shared by a run's scenarios.
type bench struct {
	opts    Options
	out     io.Writer
	scratch string
}

// say prints a progress line.
func (b *bench) say(format string, a ...any) {
	fmt.Fprintf(b.opts.Log, "grab: "+format+"\n", a...)
}

// Run runs the scenarios o names. It fails if one could not run or a
// download was not byte-identical to the source.
func Run(ctx context.Context, o Options) error {
	var run []scenario
	for _, s := range scenarios {
		if (o.Scenario == "all" && s.name != "scale" && s.name != "big") || o.Scenario == s.name {
			run = append(run, s)
		}
	}
	if len(run) == 0 {
		return fmt.Errorf("%w: %q", ErrScenario, o.Scenario)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	b := &bench{opts: o, out: o.Out, scratch: o.Scratch}
	if b.scratch == "" {
		var err error
		if b.scratch, err = os.MkdirTemp("", "grab-bench-"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(b.scratch)
	} else if err := os.MkdirAll(b.scratch, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(b.out, "grab bench %s, %s, %s/%s, %d CPUs\n", strings.Join(o.Args, " "),
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
	if b.opts.Quick {
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
	if b.opts.GrabOnly {
		why = "not run (--grab-only)"
	} else if _, err := exec.LookPath(bin); err != nil {
		why = "skipped: " + bin + " not installed"
	}
	if why != "" {
		b.say("bench: %s: %s: %s", scenario, bin, why)
	}
	return why
}
