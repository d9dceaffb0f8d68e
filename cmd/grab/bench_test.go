package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// The quick single scenario through the real binary: every row of the
// table is there, and the kill test ended byte-identical. Nothing about
// speed is asserted: the numbers are the output, not the test.
func TestBenchQuickSingle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quick benchmark, about a minute of paced transfers")
	}
	scratch := t.TempDir()
	svg := filepath.Join(t.TempDir(), "single.svg")
	r := grab(t, "bench", "--quick", "--scenario", "single", "-o", scratch, "--svg", svg)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("\n%s", r.stdout)
	rows := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if cells := strings.Split(line, "|"); strings.HasPrefix(line, "| ") && len(cells) == 10 {
			rows[strings.TrimSpace(cells[1])] = line
		}
	}
	want := []string{
		"grab -w 16 (SOCKS, in-process)",
		"grab, kill -9 at 33% and 66%, resumed (3 runs)",
		"aria2c -x16 -s16 -k1M (direct HTTP)",
		"curl, one stream (direct HTTP)",
		"target",
	}
	for _, name := range want {
		if _, ok := rows[name]; !ok {
			t.Errorf("no row %q in the table", name)
		}
	}
	if got := rows["target"]; got != "| target | | | >= 0.90 | | | <= 2% | |" {
		t.Errorf("target row %q", got)
	}
	if !strings.HasSuffix(rows[want[1]], " | byte-identical; time includes 2 restarts |") {
		t.Errorf("kill row %q", rows[want[1]])
	}
	if !strings.Contains(r.stderr, "grab: bench: single: the kill test's file is byte-identical to the source after 2 kills and a resume\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	for bin, name := range map[string]string{"aria2c": want[2], "curl": want[3]} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Errorf("%s not installed in CI", bin)
			}
			if !strings.Contains(rows[name], "| skipped: "+bin+" not installed |") {
				t.Errorf("%s missing, row %q", bin, rows[name])
			}
			continue
		}
		// aria2c must finish; quick mode stops curl after 5 s, which
		// is reported, not hidden.
		if !strings.HasSuffix(rows[name], " | byte-identical |") && !(bin == "curl" && strings.Contains(rows[name], " | stopped after 5s: ")) {
			t.Errorf("%s row %q", bin, rows[name])
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Errorf("svg is not XML: %v", err)
	}
	if n := strings.Count(string(b), "<polyline "); n < 2 {
		t.Errorf("svg has %d lines, want one per circuit and the total", n)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--scenario", "huge"}, "grab: error: --scenario \"huge\": want single, photos, priority, slowlink or all\n"},
		{[]string{"bench", "http://x/"}, "grab: error: grab bench takes no URL\ngrab: hint: grab bench [--scenario single] [--quick]\n"},
	} {
		r := grab(t, c.args...)
		if r.code != exitUsage || r.stderr != c.want {
			t.Errorf("grab %q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r := grab(t, "bench", "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: grab bench [flags]\n") {
		t.Errorf("bench --help: exit %d, %q", r.code, r.stdout)
	}
}

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
	log := "grab: crawled 4 listings\ngrab: 192 of 192 files done (62.1 MB), 0 failed, in 31s; fetched 63.0 MB this run, 0.9 MB of it twice or thrown away\n" +
		"grab: circuits: 3 replaced, 0 stalled requests cancelled, 5 ranges fetched twice at the end\n"
	if got, want := engineSummary(log), "; grab says: 192 of 192 files done (62.1 MB), 0 failed, in 31s; fetched 63.0 MB this run, "+
		"0.9 MB of it twice or thrown away; circuits: 3 replaced, 0 stalled requests cancelled, 5 ranges fetched twice at the end"; got != want {
		t.Errorf("engineSummary %q", got)
	}
	if got := engineSummary("grab: hint: x\n"); got != "" {
		t.Errorf("engineSummary of no summary %q", got)
	}
	if got := groupDigits(-1234567); got != "-1,234,567" {
		t.Errorf("groupDigits %q", got)
	}
}

func TestSameFileCatchesOneByte(t *testing.T) {
	dump := demo.SingleFile(1, "a.bin", 3<<20)
	r, size, _ := dump.Open("a.bin")
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sameFile(p, dump, "a.bin"); err != nil {
		t.Fatalf("identical file: %v", err)
	}
	data[2<<20+5] ^= 1
	os.WriteFile(p, data, 0o644)
	err := sameFile(p, dump, "a.bin")
	if want := "not byte-identical: " + p + " differs from the source in bytes 2097152-3145727"; err == nil || err.Error() != want || !errors.Is(err, errNotIdentical) {
		t.Errorf("one flipped bit: %v, want %q", err, want)
	}
	os.WriteFile(p, data[:size-1], 0o644)
	err = sameFile(p, dump, "a.bin")
	if want := "not byte-identical: " + p + " has 3145727 bytes, the source 3145728"; err == nil || err.Error() != want {
		t.Errorf("short file: %v, want %q", err, want)
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
