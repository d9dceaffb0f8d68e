package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/job"
)

func TestTorUsageErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tor", "--proxy", "socks5h://127.0.0.1:9050"},
			"grab: error: --tor and --proxy conflict: --tor starts grab's own Tor, --proxy uses a running one\ngrab: hint: give only one of them\n"},
		{[]string{"--tor-config", "torrc"}, "grab: error: --tor-config needs --tor\ngrab: hint: grab --tor --tor-config ...\n"},
		{[]string{"--tor-path", "/usr/sbin/tor"}, "grab: error: --tor-path needs --tor\ngrab: hint: grab --tor --tor-path ...\n"},
		{[]string{"--tor-instances", "2"}, "grab: error: --tor-instances needs --tor\ngrab: hint: grab --tor --tor-instances ...\n"},
		{[]string{"--tor", "--tor-instances", "0"}, "grab: error: --tor-instances 0: want 1 to 16\n"},
		{[]string{"--tor", "--tor-instances", "17"}, "grab: error: --tor-instances 17: want 1 to 16\n"},
	} {
		r := grab(t, append(c.args, "-o", dir, "http://h.onion/dump/")...)
		if r.code != exitUsage || r.stderr != c.want {
			t.Errorf("grab %q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("output folder created: %v", err)
	}
}

// A missing --tor-config file is reported before anything is created.
func TestTorConfigMissing(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/tor"); err != nil {
		t.Skip("tor is not installed (the tor binary is checked first)")
	}
	dir := filepath.Join(t.TempDir(), "case")
	cfg := filepath.Join(t.TempDir(), "no-torrc")
	r := grab(t, "--tor", "--tor-path", "/usr/sbin/tor", "--tor-config", cfg, "-o", dir, "http://h.onion/")
	want := "grab: error: --tor-config: open " + cfg + ": no such file or directory\n" +
		"grab: hint: --tor-config takes a file of torrc lines (bridges, for example)\n"
	if r.code != exitError || r.stderr != want {
		t.Fatalf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("output folder created: %v", err)
	}
}

// The tor settings are saved with the job; --tor and --proxy given on a
// resume replace each other.
func TestTorSettingsSaved(t *testing.T) {
	parse := func(args ...string) (*job.Settings, map[string]bool) {
		var s job.Settings
		fs := jobFlags(&s, "grab")
		if _, err := fs.parse(args, ""); err != nil {
			t.Fatal(err)
		}
		return &s, fs.given()
	}
	first, _ := parse("--tor", "--tor-config", "/etc/grab/torrc", "--tor-path", "/opt/tor/tor", "--tor-instances", "3", "-w", "9")
	saved, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}

	cur, given := parse("-o", "case")
	m, err := cur.Merge(saved, given)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Tor || m.TorConfig != "/etc/grab/torrc" || m.TorPath != "/opt/tor/tor" || m.TorCount != 3 || m.Proxy != "" || m.Workers != 9 {
		t.Fatalf("resume: %+v", m)
	}

	cur, given = parse("-o", "case", "--tor-instances", "2")
	if m, err = cur.Merge(saved, given); err != nil || !m.Tor || m.TorCount != 2 || m.TorConfig != "/etc/grab/torrc" {
		t.Fatalf("resume with --tor-instances 2: %+v %v", m, err)
	}

	cur, given = parse("-o", "case", "--proxy", "socks5h://127.0.0.1:9050")
	if m, err = cur.Merge(saved, given); err != nil {
		t.Fatal(err)
	}
	if m.Tor || m.TorConfig != "" || m.TorPath != "" || m.TorCount != 1 || m.Proxy != "socks5h://127.0.0.1:9050" {
		t.Fatalf("resume with --proxy: %+v", m)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("resume with --proxy: %v", err)
	}
	saved, _ = json.Marshal(m)
	cur, given = parse("-o", "case", "--tor")
	if m, err = cur.Merge(saved, given); err != nil || !m.Tor || m.Proxy != "" {
		t.Fatalf("resume with --tor after --proxy: %+v %v", m, err)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("resume with --tor after --proxy: %v", err)
	}
}

func TestTorBootPrinter(t *testing.T) {
	var out bytes.Buffer
	b := &bootPrinter{u: &ui{stderr: &out}, instances: 1, every: 3 * time.Second}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	b.report(at(0), 0, 0, "Starting")
	b.report(at(500), 0, 5, "Connecting to a relay")
	b.report(at(3000), 0, 10, "Finishing handshake with a relay")
	b.report(at(3100), 0, 10, "Finishing handshake with a relay")
	b.report(at(4000), 0, 45, "Asking for relay descriptors")
	b.report(at(6100), 0, 75, "Connecting to a relay to build circuits")
	b.report(at(6200), 0, 100, "Done")
	want := "grab: tor: bootstrapped 0%: Starting\n" +
		"grab: tor: bootstrapped 10%: Finishing handshake with a relay\n" +
		"grab: tor: bootstrapped 75%: Connecting to a relay to build circuits\n" +
		"grab: tor: bootstrapped 100%: Done\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	b = &bootPrinter{u: &ui{stderr: &out}, instances: 2, every: 3 * time.Second}
	b.report(at(0), 1, 5, "Connecting to a relay")
	b.report(at(100), 0, 5, "Connecting to a relay")
	b.report(at(200), 1, 100, "Done")
	if want := "grab: tor 1: bootstrapped 5%: Connecting to a relay\ngrab: tor 0: bootstrapped 5%: Connecting to a relay\ngrab: tor 1: bootstrapped 100%: Done\n"; out.String() != want {
		t.Fatalf("two tors, got:\n%s\nwant:\n%s", out.String(), want)
	}
}
