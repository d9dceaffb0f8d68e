package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// slowlinkModel is issue 4's network: the demo model with a wider spread
// of circuit speeds and with stalls and cuts switched on.
func slowlinkModel() demo.Model {
	m := demo.DefaultModel()
	m.Seed = 1
	m.Sigma = 1.0
	return m.Faulty()
}

// aria2Careful are the options a careful user adds to aria2c's defaults
// for a slow, flaky source: give up on a connection that has moved no
// bytes for 30 s (grab's --stall-timeout; aria2c's default is 60 s) and
// never give up on the file (the default is 5 tries). --lowest-speed-limit
// is left off: it closes connections by the download's speed, and aria2c
// does not open them again.
func aria2Careful() []string { return []string{"--timeout=30", "--max-tries=0"} }

// faultRow is a row of the slowlink table: a run and the faults the demo
// produced during it. Its took is when the tool returned, which a stall
// can put well after the last byte (lastByte): a tool that waits on a
// stalled stream after the source sent its last byte is not done.
type faultRow struct {
	row
	lastByte     time.Duration
	stalls, cuts int64
}

// slowPart is one part of the slowlink table; its first row is grab's,
// the reference for grab/tool.
type slowPart struct {
	label string
	rows  []faultRow
}

func runSlowlink(ctx context.Context, b *bench) error {
	size, photos, curlLimit := int64(64<<20), 600, time.Minute
	if b.opts.Quick {
		size, photos, curlLimit = 4<<20, 100, 5*time.Second
	}
	m := slowlinkModel()
	out := b.out
	fmt.Fprintf(out, "\n## slowlink: issue 4, (a) one %d MiB file and (b) %d photos of 8-40 KB, with stalls and cuts\n\n", size>>20, photos)
	fmt.Fprintf(out, "model: demo.DefaultModel with sigma %.1f, StallProb %.2f, CutProb %.2f: %d circuits for grab (one per worker), "+
		"median %.0f kB/s, link %.2f MB/s, RTT %v, build %v, seed %d; aria2c with %s added to its defaults; curl with its defaults\n\n",
		m.Sigma, m.StallProb, m.CutProb, benchWorkers, m.Median/1e3, m.LinkCap/1e6, m.RTT, m.Build, m.Seed, strings.Join(aria2Careful(), " "))
	socksStart, directStart := m.Build+2*m.RTT, 2*m.RTT
	var notes []string
	add := func(part *slowPart, r row, p phases, start time.Duration, who string, payload int64) {
		r.startup = start
		f := faultRow{row: r, lastByte: p.last, stalls: p.stalls, cuts: p.cuts}
		f.took = max(p.last, p.done)
		part.rows = append(part.rows, f)
		notes = append(notes, part.label+", "+who+": "+p.describe(m.LinkCap, payload))
	}

	// (a) one file.
	a := slowPart{label: "(a)"}
	dump := demo.SingleFile(m.Seed, singlePath, size)
	b.say("bench: slowlink: (a) grab in-process, %d workers through the demo's SOCKS proxy", benchWorkers)
	svg := b.slowlinkSVG()
	title := fmt.Sprintf("grab -w %d, one %d MiB file, sigma %.1f, stalls %.0f%%, cuts %.0f%%: bytes/s per circuit (1 s steps), link %.1f MB/s",
		benchWorkers, size>>20, m.Sigma, 100*m.StallProb, 100*m.CutProb, m.LinkCap/1e6)
	r, p, err := b.singleGrab(ctx, dump, m, size, "slowlink-grab", svg, title)
	if err != nil {
		return err
	}
	r.note = "byte-identical"
	add(&a, r, p, socksStart, "grab", size)
	direct := []struct {
		name, bin string
		limit     time.Duration
		args      func(dir, url string) []string
	}{
		{"aria2c -x16 -s16 -k1M (direct HTTP)", "aria2c", 10 * time.Minute, func(dir, url string) []string {
			return append([]string{"--no-conf", "-x16", "-s16", "-k1M", "--allow-overwrite=true", "--auto-file-renaming=false",
				"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn", "--show-console-readout=false",
				"-d", dir, "-o", singlePath}, append(aria2Careful(), url)...)
		}},
		{"curl, one stream (direct HTTP)", "curl", curlLimit, func(dir, url string) []string {
			return []string{"-q", "--noproxy", "*", "-sS", "-f", "--max-time", fmt.Sprint(int(curlLimit.Seconds())),
				"-o", filepath.Join(dir, singlePath), url}
		}},
	}
	for _, t := range direct {
		if why := b.skip("slowlink", t.bin); why != "" {
			a.rows = append(a.rows, faultRow{row: row{tool: t.name, skipped: why}})
			continue
		}
		b.say("bench: slowlink: (a) %s", t.name)
		r, p, err := b.singleToolIn(ctx, "slowlink-"+t.bin, dump, m, size, t.name, t.bin, t.limit, t.args)
		if err != nil {
			return err
		}
		add(&a, r, p, directStart, t.bin, size)
	}

	// (b) photos.
	pb := slowPart{label: "(b)"}
	pd := photosDump(m.Seed, photos)
	psize := pd.TotalSize()
	b.say("bench: slowlink: (b) grab in-process, %d photos", photos)
	r, p, err = b.photosGrab(ctx, pd, m)
	if err != nil {
		return err
	}
	add(&pb, r, p, socksStart, "grab", psize)
	name := "aria2c -j16 -i URLS (direct HTTP)"
	if why := b.skip("slowlink", "aria2c"); why != "" {
		pb.rows = append(pb.rows, faultRow{row: row{tool: name, skipped: why}})
	} else {
		b.say("bench: slowlink: (b) %s", name)
		r, p, err := b.photosAria2(ctx, pd, m, name, aria2Careful()...)
		if err != nil {
			return err
		}
		add(&pb, r, p, directStart, "aria2c", psize)
	}

	parts := []slowPart{a, pb}
	writeSlowlinkTable(out, m.LinkCap, parts)
	fmt.Fprintf(out, "\n(a) is one %d-byte file, (b) %d photos, %d bytes in all. last byte: when the source sent its last byte; "+
		"done: when the tool returned with everything in place (a stalled stream can hold a tool well after the last byte). "+
		"MB/s, utilisation, net of start-up (%.1f s through SOCKS, %.1f s direct) and grab/tool are over done, "+
		"grab/tool within each part. fetched twice = file body bytes the source sent − payload "+
		"(demo.Stats.BodyBytes). stalls, cuts = responses the demo stalled or cut during that run (demo.Stats). "+
		"curl is stopped after %v: its row is its rate over that window, not a finished download.\n\n",
		size, photos, psize, socksStart.Seconds(), directStart.Seconds(), curlLimit)
	fmt.Fprintln(out, "where the time went:")
	for _, n := range notes {
		fmt.Fprintln(out, "- "+n)
	}
	fmt.Fprintln(out)
	for _, v := range slowlinkTargets(m.LinkCap, a.rows, pb.rows) {
		fmt.Fprintln(out, "target: "+v)
	}
	return nil
}

// slowlinkSVG is where the slowlink scenario plots grab's (a) run: the
// --svg file when it runs alone, the same name with "-slowlink" before
// the extension when single (which plots to --svg) runs too.
func (b *bench) slowlinkSVG() string {
	if b.opts.SVG == "" || b.opts.Scenario == "slowlink" {
		return b.opts.SVG
	}
	ext := filepath.Ext(b.opts.SVG)
	return strings.TrimSuffix(b.opts.SVG, ext) + "-slowlink" + ext
}

// writeSlowlinkTable prints the parts as one markdown table.
func writeSlowlinkTable(w io.Writer, link float64, parts []slowPart) {
	fmt.Fprintln(w, "| part | tool | last byte s | done s | MB/s | utilisation (ratio to link) | net of start-up | grab/tool | fetched twice | stalls, cuts | note |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, p := range parts {
		ref := p.rows[0].util(link)
		for _, r := range p.rows {
			if r.skipped != "" {
				fmt.Fprintf(w, "| %s | %s | %s | | | | | | | | |\n", p.label, r.tool, r.skipped)
				continue
			}
			twice := "-"
			if !math.IsNaN(r.refetched) {
				twice = fmt.Sprintf("%s B (%s)", groupDigits(int64(math.Round(r.refetched*float64(r.bytes)))), pct(r.refetched))
			}
			fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.2f | %.2f | %s | %.2f | %s | %d, %d | %s |\n", p.label, r.tool, r.lastByte.Seconds(), r.took.Seconds(), r.mbps(),
				r.util(link), num(r.utilNet(link)), ref/r.util(link), twice, r.stalls, r.cuts, r.note)
		}
	}
	fmt.Fprintln(w, "| target | | | | | >= 0.90 on (a) | | >= 1.5 vs aria2c on both, >= 2 vs aria2c -j16 on (b) | | | |")
}

// slowlinkTargets says, one line each, whether issue 4's targets were met:
// utilisation on (a), twice aria2c -j16's rate on (b), 1.5 times
// aria2c's on both. a and b start with grab's row.
func slowlinkTargets(link float64, a, b []faultRow) []string {
	aria := func(rows []faultRow) (float64, bool) {
		for _, r := range rows[1:] {
			if strings.HasPrefix(r.tool, "aria2c") && r.skipped == "" {
				return rows[0].util(link) / r.util(link), true
			}
		}
		return 0, false
	}
	g := a[0].row
	out := []string{fmt.Sprintf("(a) grab utilisation %.2f (net of start-up %s): %s", g.util(link), num(g.utilNet(link)),
		verdict(g.util(link) >= 0.9, ">= 0.90"))}
	ra, okA := aria(a)
	rb, okB := aria(b)
	if !okB {
		return append(out, "(b) and grab/aria2c: aria2c did not run, no ratio")
	}
	out = append(out, fmt.Sprintf("(b) grab/aria2c -j16 %.2f: %s", rb, verdict(rb >= 2, ">= 2.00")))
	if !okA {
		return append(out, "grab/aria2c on (a): aria2c did not run, no ratio")
	}
	return append(out, fmt.Sprintf("grab/aria2c %.2f on (a), %.2f on (b): %s", ra, rb, verdict(ra >= 1.5 && rb >= 1.5, ">= 1.50 on both")))
}
