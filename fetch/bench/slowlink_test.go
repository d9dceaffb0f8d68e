package bench

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"
)

func TestSlowlinkModel(t *testing.T) {
	m := slowlinkModel()
	if m.Sigma != 1.0 || m.StallProb != 0.05 || m.CutProb != 0.05 || m.Seed != 1 ||
		m.Median != 200e3 || m.LinkCap != 3e6 || m.RTT != 600*time.Millisecond || m.Build != 1500*time.Millisecond {
		t.Errorf("model %+v", m)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

func slowRows() (a, b []faultRow) {
	a = []faultRow{
		{row: row{tool: "grab", took: 25 * time.Second, bytes: 60e6, startup: 5 * time.Second, refetched: 0.005},
			lastByte: 24 * time.Second, stalls: 2, cuts: 1},
		{row: row{tool: "aria2c -x16", took: 50 * time.Second, bytes: 60e6, startup: 10 * time.Second, refetched: 0, note: "byte-identical"},
			lastByte: 50 * time.Second, stalls: 0, cuts: 3},
		{row: row{tool: "curl", took: 60 * time.Second, bytes: 9e6, startup: 60 * time.Second, refetched: math.NaN(), note: "stopped"},
			lastByte: 60 * time.Second},
	}
	b = []faultRow{
		{row: row{tool: "grab", took: 10 * time.Second, bytes: 15e6, refetched: 0.02}, lastByte: 10 * time.Second, stalls: 30, cuts: 28},
		{row: row{tool: "aria2c -j16", skipped: "skipped: aria2c not installed"}},
	}
	return a, b
}

func TestWriteSlowlinkTable(t *testing.T) {
	a, b := slowRows()
	var out bytes.Buffer
	writeSlowlinkTable(&out, 3e6, []slowPart{{"(a)", a}, {"(b)", b}})
	want := "| part | tool | last byte s | done s | MB/s | utilisation (ratio to link) | net of start-up | grab/tool | fetched twice | stalls, cuts | note |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n" +
		"| (a) | grab | 24.0 | 25.0 | 2.40 | 0.80 | 1.00 | 1.00 | 300,000 B (0.50%) | 2, 1 |  |\n" +
		"| (a) | aria2c -x16 | 50.0 | 50.0 | 1.20 | 0.40 | 0.50 | 2.00 | 0 B (0.00%) | 0, 3 | byte-identical |\n" +
		"| (a) | curl | 60.0 | 60.0 | 0.15 | 0.05 | - | 16.00 | - | 0, 0 | stopped |\n" +
		"| (b) | grab | 10.0 | 10.0 | 1.50 | 0.50 | 0.50 | 1.00 | 300,000 B (2.00%) | 30, 28 |  |\n" +
		"| (b) | aria2c -j16 | skipped: aria2c not installed | | | | | | | | |\n" +
		"| target | | | | | >= 0.90 on (a) | | >= 1.5 vs aria2c on both, >= 2 vs aria2c -j16 on (b) | | | |\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestSlowlinkTargets(t *testing.T) {
	a, b := slowRows()
	got := slowlinkTargets(3e6, a, b)
	want := []string{
		"(a) grab utilisation 0.80 (net of start-up 1.00): MISSES >= 0.90",
		"(b) and grab/aria2c: aria2c did not run, no ratio",
	}
	if !slices.Equal(got, want) {
		t.Errorf("aria2c skipped on (b):\n got %q\nwant %q", got, want)
	}
	b[1] = faultRow{row: row{tool: "aria2c -j16", took: 40 * time.Second, bytes: 15e6}}
	got = slowlinkTargets(3e6, a, b)
	want = []string{
		"(a) grab utilisation 0.80 (net of start-up 1.00): MISSES >= 0.90",
		"(b) grab/aria2c -j16 4.00: meets >= 2.00",
		"grab/aria2c 2.00 on (a), 4.00 on (b): meets >= 1.50 on both",
	}
	if !slices.Equal(got, want) {
		t.Errorf("both ran:\n got %q\nwant %q", got, want)
	}
	a[1].took = 30 * time.Second // grab/aria2c on (a) 1.2
	if got := slowlinkTargets(3e6, a, b)[2]; got != "grab/aria2c 1.20 on (a), 4.00 on (b): MISSES >= 1.50 on both" {
		t.Errorf("(a) below 1.5: %q", got)
	}
}

func TestSlowlinkSVG(t *testing.T) {
	for _, c := range []struct{ svg, scenario, want string }{
		{"", "all", ""},
		{"/d/p.svg", "slowlink", "/d/p.svg"},
		{"/d/p.svg", "all", "/d/p-slowlink.svg"},
		{"plot", "all", "plot-slowlink"},
	} {
		b := &bench{opts: Options{SVG: c.svg, Scenario: c.scenario}}
		if got := b.slowlinkSVG(); got != c.want {
			t.Errorf("--svg %q --scenario %s: %q, want %q", c.svg, c.scenario, got, c.want)
		}
	}
}
