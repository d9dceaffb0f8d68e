package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
		{[]string{"bench", "--scenario", "huge"}, "grab: error: --scenario \"huge\": want single, photos, priority, slowlink, eta, rsync, scale, big or all\n"},
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
