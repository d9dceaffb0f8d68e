package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/grab-ir/grab/fetch/job"
)

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
		type module struct {
			Name    string `json:"name"`
			Comment string `json:"comment,omitempty"`
			URL     string `json:"url"`
		}
		out := []module{}
		for _, m := range mods {
			out = append(out, module{m.Name, m.Comment, moduleURL(u, m.Name)})
		}
		enc := json.NewEncoder(ui.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Modules []module `json:"modules"`
		}{out})
	}
	tw := tabwriter.NewWriter(ui.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tCOMMENT\tURL")
	for _, m := range mods {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(m.Name), printable(m.Comment), moduleURL(u, m.Name))
	}
	return tw.Flush()
}

func moduleURL(host *url.URL, name string) string {
	u := url.URL{Scheme: "rsync", Host: host.Host, Path: "/" + name + "/"}
	if host.User != nil {
		u.User = url.User(host.User.Username()) // never a password
	}
	return u.String()
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
