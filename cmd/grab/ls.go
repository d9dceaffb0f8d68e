package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/class"
	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/safetext"
)

const usageLs = `usage: grab ls [-o DIR] [--json]
       grab ls [--proxy URL] [--json] rsync://HOST/

Prints the plan of the job in DIR (default: the current folder): every file
in the order it will be fetched, with its class, size (~ when only estimated
from a listing) and state, then totals per class. While a grab runs the
job, the plan comes from it (over DIR/.grab/status.sock).

With an rsync://HOST/ URL it prints the modules the daemon lists instead,
directly or through --proxy.

examples:
  grab ls -o case42
  grab ls -o case42 --json | jq '.files[] | select(.state=="failed")'
  grab ls --proxy socks5h://127.0.0.1:9050 rsync://xxxx.onion/
`

func runLs(ctx context.Context, ui *ui, args []string) error {
	fs := newFlagSet("grab ls")
	out := fs.dir()
	asJSON := fs.Bool("json", false, "")
	proxy := fs.String("proxy", "", "")
	pos, err := fs.parse(args, usageLs)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return lsModules(ctx, ui, pos, *proxy, *asJSON)
	}
	files, err := job.Plan(ctx, *out)
	if err != nil {
		return err
	}
	return printPlan(ui.stdout, files, *asJSON)
}

// printPlan writes files (listings are left out) as a table or as JSON.
func printPlan(w io.Writer, files []fetch.File, asJSON bool) error {
	o := job.OverviewOf(files)
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tCLASS\tSIZE\tPATH")
	for _, e := range o.Files {
		size := "?"
		switch {
		case e.Size >= 0:
			size = rate.Bytes(e.Size)
		case e.Estimate > 0:
			size = "~" + rate.Bytes(e.Estimate)
		}
		why := ""
		if e.Error != "" && e.State != "done" {
			why = "  (" + safetext.String(e.Error) + ")" // why it failed, or was left out
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", e.State, safetext.String(e.Class), size, safetext.String(e.Path), why)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, t := range o.Totals {
		fmt.Fprintf(w, "%-10s %5d files, %d done, %s\n", safetext.String(t.Class), t.Files, t.Done, rate.Bytes(t.Bytes))
	}
	if o.Skipped > 0 {
		fmt.Fprintf(w, "%-10s %5d files left out by filters and rules (state skipped)\n", "", o.Skipped)
	}
	return nil
}

// lsModules prints the modules of an rsync daemon: grab ls rsync://HOST/.
func lsModules(ctx context.Context, ui *ui, pos []string, proxy string, asJSON bool) error {
	hint := "grab ls rsync://HOST/ lists a daemon's modules; grab ls -o DIR a job's plan"
	if len(pos) != 1 {
		return &job.UsageError{Msg: "grab ls takes one URL", Hint: hint}
	}
	u, err := url.Parse(pos[0])
	if err != nil || !strings.EqualFold(u.Scheme, "rsync") || u.Hostname() == "" || strings.Trim(u.Path, "/") != "" {
		return &job.UsageError{Msg: fmt.Sprintf("grab ls takes an rsync://HOST/ URL, not %q", pos[0]), Hint: hint}
	}
	mods, err := job.Modules(ctx, proxy, u)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(ui.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Modules []job.Module `json:"modules"`
		}{mods})
	}
	tw := tabwriter.NewWriter(ui.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tCOMMENT\tURL")
	for _, m := range mods {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(m.Name), printable(m.Comment), m.URL)
	}
	return tw.Flush()
}

// printable keeps a hostile daemon's control characters off the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

const usageClasses = `usage: grab classes [--class NAME=EXTS]...

Lists the file classes grab orders and filters by (--priority, --only), in
their default order, with the extensions of each. Matching ignores case;
--class adds a class or replaces the extensions of one.
`

func runClasses(ui *ui, args []string) error {
	var extra []string
	fs := newFlagSet("grab classes")
	fs.Var(listFlag{&extra}, "class", "")
	if _, err := fs.parse(args, usageClasses); err != nil {
		return err
	}
	set, err := class.NewSet(extra)
	if err != nil {
		return &job.UsageError{Msg: err.Error(), Hint: "--class NAME=ext,ext (grab classes lists them)"}
	}
	for _, c := range set.Classes() {
		exts := strings.Join(c.Exts, " ")
		if exts == "" {
			exts = "(everything else)"
		}
		fmt.Fprintf(ui.stdout, "%-10s %s\n", c.Name, exts)
	}
	return nil
}
