package bench

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/demo"
	"github.com/grab-ir/grab/fetch/job"
)

func TestWriteTable(t *testing.T) {
	rows := []row{
		{tool: "grab", took: 20 * time.Second, bytes: 48e6, startup: 2 * time.Second, refetched: 0.01},
		{tool: "aria2c", took: 40 * time.Second, bytes: 48e6, startup: 8 * time.Second, refetched: -0.00001, note: "byte-identical"},
		{tool: "curl", skipped: "skipped: curl not installed"},
		{tool: "partial", took: 10 * time.Second, bytes: 3e6, startup: 10 * time.Second, refetched: math.NaN()},
	}
	var b bytes.Buffer
	writeTable(&b, 3e6, rows)
	want := "| tool | seconds to last byte | MB/s | utilisation (ratio to link) | net of start-up | grab/tool | refetched | note |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---|\n" +
		"| grab | 20.0 | 2.40 | 0.80 | 0.89 | 1.00 | 1.00% |  |\n" +
		"| aria2c | 40.0 | 1.20 | 0.40 | 0.50 | 2.00 | 0.00% | byte-identical |\n" +
		"| curl | skipped: curl not installed | | | | | | |\n" +
		"| partial | 10.0 | 0.30 | 0.10 | - | 8.00 | - |  |\n" +
		"| target | | | >= 0.90 | | | <= 2% | |\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRefetched(t *testing.T) {
	p := phases{sent: 1_000_000 + 50_000 + 3*300 + 200, requests: 4, body: 1_050_000}
	if got := p.refetched(1_000_000); got != 0.05 {
		t.Errorf("refetched %v, want 0.05", got)
	}
	st := job.Status{Status: fetch.Status{Files: 192, Done: 192, DoneBytes: 62_100_000, Fetched: 63_000_000, Wasted: 900_000, Renewals: 3, Twins: 5}}
	if got, want := engineSummary(st), "; grab says: 192 of 192 files done (59.2 MiB), 0 failed; fetched 60.1 MiB this run, "+
		"878.9 KiB of it twice or thrown away; circuits: 3 replaced, 0 stalled requests cancelled, 5 ranges fetched twice at the end"; got != want {
		t.Errorf("engineSummary %q", got)
	}
	st = job.Status{Status: fetch.Status{Files: 2, Done: 1, Failed: 1, Yields: 4}}
	if got, want := engineSummary(st), "; grab says: 1 of 2 files done (0 B), 1 failed; fetched 0 B this run, 0 B of it twice or thrown away; "+
		"priority: 4 requests of lower classes paused for higher-class files"; got != want {
		t.Errorf("engineSummary %q", got)
	}
	if got := groupDigits(-1234567); got != "-1,234,567" {
		t.Errorf("groupDigits %q", got)
	}
}

func TestWriteSVG(t *testing.T) {
	tl := []demo.Sample{
		{Start: 0, Total: 0, Circuits: map[string]int64{}},
		{Start: time.Second, Total: 3e6, Circuits: map[string]int64{"a": 1e6, "b": 2e6}},
		{Start: 2 * time.Second, Total: 1e6, Circuits: map[string]int64{"b": 1e6}},
	}
	p := filepath.Join(t.TempDir(), "t.svg")
	if err := writeSVG(p, "a <title>", tl, 0, 3e6); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Fatalf("not XML: %v\n%s", err, s)
	}
	if n := strings.Count(s, "<polyline "); n != 3 {
		t.Errorf("%d polylines, want 2 circuits and the total", n)
	}
	if !strings.Contains(s, ">a &lt;title&gt;</text>") || !strings.Contains(s, ">2 circuits, one line each<") &&
		!strings.Contains(s, "colours: 2 circuits, one line each") {
		t.Errorf("svg:\n%s", s)
	}
}
