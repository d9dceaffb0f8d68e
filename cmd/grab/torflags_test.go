package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/tor"
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
	parse := func(args ...string) (*settings, map[string]bool) {
		var s settings
		fs := s.flags("grab")
		if _, err := fs.parse(args, ""); err != nil {
			t.Fatal(err)
		}
		return &s, fs.given()
	}
	first, _ := parse("--tor", "--tor-config", "/etc/grab/torrc", "--tor-path", "/opt/tor/tor", "--tor-instances", "3", "-w", "9")
	saved, err := jsonOf(first)
	if err != nil {
		t.Fatal(err)
	}

	cur, given := parse("-o", "case")
	m, err := cur.merge(saved, given)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Tor || m.TorConfig != "/etc/grab/torrc" || m.TorPath != "/opt/tor/tor" || m.TorCount != 3 || m.Proxy != "" || m.Workers != 9 {
		t.Fatalf("resume: %+v", m)
	}

	cur, given = parse("-o", "case", "--tor-instances", "2")
	if m, err = cur.merge(saved, given); err != nil || !m.Tor || m.TorCount != 2 || m.TorConfig != "/etc/grab/torrc" {
		t.Fatalf("resume with --tor-instances 2: %+v %v", m, err)
	}

	cur, given = parse("-o", "case", "--proxy", "socks5h://127.0.0.1:9050")
	if m, err = cur.merge(saved, given); err != nil {
		t.Fatal(err)
	}
	if m.Tor || m.TorConfig != "" || m.TorPath != "" || m.TorCount != 1 || m.Proxy != "socks5h://127.0.0.1:9050" {
		t.Fatalf("resume with --proxy: %+v", m)
	}
	if _, err := m.build(); err != nil {
		t.Fatalf("resume with --proxy: %v", err)
	}
	saved, _ = jsonOf(m)
	cur, given = parse("-o", "case", "--tor")
	if m, err = cur.merge(saved, given); err != nil || !m.Tor || m.Proxy != "" {
		t.Fatalf("resume with --tor after --proxy: %+v %v", m, err)
	}
	if _, err := m.build(); err != nil {
		t.Fatalf("resume with --tor after --proxy: %v", err)
	}
}

func TestTorAbsPaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := settings{TorConfig: "torrc", TorPath: "tor"}
	if err := s.absPaths(); err != nil {
		t.Fatal(err)
	}
	if s.TorConfig != filepath.Join(wd, "torrc") || s.TorPath != "tor" {
		t.Fatalf("%+v", s)
	}
	s = settings{TorPath: "bin/tor"}
	if s.absPaths(); s.TorPath != filepath.Join(wd, "bin/tor") {
		t.Fatalf("%+v", s)
	}
}

func TestTorNymWatch(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := nymWatch{quiet: 2 * time.Minute}
	for _, step := range []struct {
		sec     int
		fetched int64
		fails   int64
		pending bool
		want    bool
	}{
		{0, 100, 0, true, false},
		{60, 200, 3, true, false},    // bytes move: the clock restarts at 60
		{179, 200, 9, true, false},   // 119 s without bytes
		{180, 200, 9, true, true},    // 120 s without bytes while requests failed
		{200, 200, 12, true, false},  // not again so soon
		{299, 200, 15, true, false},  // 119 s after the last NEWNYM
		{300, 200, 15, true, true},   // a further quiet period: again
		{310, 300, 15, true, false},  // bytes again
		{500, 300, 15, true, false},  // quiet, but nothing failed since: the source is just slow
		{520, 300, 15, false, false}, // all done
		{900, 300, 20, false, false}, // nothing pending: never
	} {
		if got := w.observe(at(step.sec), step.fetched, step.fails, step.pending); got != step.want {
			t.Fatalf("at %ds: %v, want %v", step.sec, got, step.want)
		}
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

func TestTorLimiter(t *testing.T) {
	l := limiter{every: 30 * time.Second}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var got []string
	for _, s := range []int{0, 1, 29, 30, 31, 70} {
		if l.allow(t0.Add(time.Duration(s) * time.Second)) {
			got = append(got, time.Duration(s*int(time.Second)).String())
		}
	}
	if strings.Join(got, " ") != "0s 30s 1m10s" {
		t.Fatalf("allowed at %v", got)
	}
}

// Stream failures are logged in words: the first failure of a burst as a
// warning, the rest and the detached streams only with -v.
func TestTorStreamFailureLog(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		r := &torRun{log: newLogger(&ui{stderr: &out}, verbose), warn: limiter{every: time.Hour}}
		f := tor.StreamFailure{Target: "xxxx.onion:80", Status: "FAILED", Reason: "TIMEOUT"}
		r.streamFailed(f)
		r.streamFailed(f)
		r.streamFailed(tor.StreamFailure{Target: "xxxx.onion:80", Status: "DETACHED", Reason: "TIMEOUT", Instance: 1})
		want := "grab: warn: tor: stream to xxxx.onion:80 failed: timed out waiting for an answer (tor 0: TIMEOUT)\n"
		if verbose {
			want += "grab: tor: stream to xxxx.onion:80 failed: timed out waiting for an answer (tor 0: TIMEOUT)\n" +
				"grab: tor: stream to xxxx.onion:80 was detached from its circuit (tor retries on another): timed out waiting for an answer (tor 1: TIMEOUT)\n"
		}
		if out.String() != want {
			t.Errorf("verbose %v, got:\n%s\nwant:\n%s", verbose, out.String(), want)
		}
		if n := r.failures.Load(); n != 3 {
			t.Errorf("%d failures counted, want 3", n)
		}
	}
}
