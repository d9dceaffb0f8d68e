package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/demo"
)

// grabBin is the grab binary built from this tree for the tests; tests
// never run whatever grab is on PATH (Debian ships an unrelated one).
var grabBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grab-test-bin")
	if err != nil {
		panic(err)
	}
	grabBin = filepath.Join(dir, "grab")
	args := []string{"build", "-o", grabBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building grab: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	closeTorNet() // tor_test.go
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is a finished grab process.
type result struct {
	code           int
	stdout, stderr string
}

// grab runs the binary to completion.
func grab(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, grabBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs the binary in the background.
func start(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(grabBin, args...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &errb
}

// waitFor polls cond until it holds or a generous limit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowSource starts a demo source of one file, paced so that a download
// takes a few seconds.
func slowSource(t *testing.T, size int64) *demo.Server {
	t.Helper()
	m := demo.Model{Median: 400e3, Sigma: 0.5, LinkCap: 3e6, RTT: 20 * time.Millisecond, Build: 50 * time.Millisecond, Seed: 7}
	srv, err := demo.Start(t.Context(), demo.SingleFile(7, "dump/evidence.7z", size), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// sameAsSource checks the downloaded file against the demo's content.
func sameAsSource(t *testing.T, srv *demo.Server, got string, path string) {
	t.Helper()
	r, size, ok := srv.Dump().Open(path)
	if !ok {
		t.Fatalf("%s not in the dump", path)
	}
	data, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != size || !bytes.Equal(data, readAll(r, size)) {
		t.Fatalf("%s: %d bytes, not identical to the %d-byte source", got, len(data), size)
	}
}

func TestOnionNeedsProxy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := grab(t, "http://abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz23.onion/dump/a.jpg", "-o", dir)
	want := "grab: error: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz23.onion: an .onion address can only be reached through Tor\n" +
		"grab: hint: add --proxy socks5h://127.0.0.1:9050 (a running Tor) or --tor\n"
	if r.code != exitError || r.stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", r.code, r.stderr, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("output folder created: %v", err)
	}
	r = grab(t, "--proxy", "socks5://127.0.0.1:9", "http://x.onion/a", "-o", dir)
	if r.code != exitError || !strings.Contains(r.stderr, "socks5:// resolves host names locally") {
		t.Fatalf("socks5:// for onion: exit %d, %s", r.code, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "grab: error: no URL given\n"},
		{[]string{"ftp://h/x"}, "grab: error: \"ftp://h/x\" is not an http://, https:// or rsync:// URL\n"},
		{[]string{"--bogus"}, "grab: error: flag provided but not defined: -bogus\n"},
		{[]string{"http://h/", "--depth", "-1"}, "grab: error: --depth -1: want 0 (only the start listing) to 1000\n"},
		{[]string{"http://h/", "--retries", "1001"}, "grab: error: --retries 1001: want 0 (give a file up at its first failure) to 1000\n"},
		{[]string{"http://h/x", "--proxy", "http://127.0.0.1:8080"}, "grab: error: bad proxy URL \"http://127.0.0.1:8080\": the scheme must be socks5h:// (or socks5://)\n"},
	} {
		r := grab(t, c.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, c.want) {
			t.Errorf("grab %q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	r := grab(t, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: grab [flags] URL...") {
		t.Errorf("--help: %d %q", r.code, r.stdout)
	}
	for _, v := range []string{"version", "--version", "-V"} {
		if r := grab(t, v); r.code != 0 || !strings.HasPrefix(r.stdout, "grab ") {
			t.Errorf("%s: %d %q", v, r.code, r.stdout)
		}
	}
}

// The flags may follow the URL, and `grab -o DIR` alone resumes the job.
func TestFlagsAfterURLAndResumeByDir(t *testing.T) {
	srv := slowSource(t, 3<<20)
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.URLs()[0], "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr(), "-w", "4")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sameAsSource(t, srv, filepath.Join(dir, "evidence.7z"), "dump/evidence.7z")
	sums, err := os.ReadFile(filepath.Join(dir, ".grab", "SHA256SUMS"))
	if err != nil || !strings.HasSuffix(string(sums), "  evidence.7z\n") || len(sums) != 64+2+len("evidence.7z")+1 {
		t.Fatalf("manifest %q, %v", sums, err)
	}
	r = grab(t, "-o", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "1 of 1 files done") {
		t.Fatalf("resume of a finished job: exit %d: %s", r.code, r.stderr)
	}
}

// A real kill -9 in the middle of a transfer, twice, then a resume that
// must end byte-identical.
func TestKill9Resume(t *testing.T) {
	const size = 12 << 20
	srv := slowSource(t, size)
	dir := filepath.Join(t.TempDir(), "case")
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr(), "-w", "8"}
	for _, at := range []int64{size / 4, size / 2} {
		cmd, _ := start(t, args...)
		waitFor(t, "transfer progress", func() bool { return srv.Stats().BytesSent > at })
		cmd.Process.Kill()
		cmd.Wait()
	}
	r := grab(t, args...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	sameAsSource(t, srv, filepath.Join(dir, "evidence.7z"), "dump/evidence.7z")
	sent := srv.Stats().BytesSent
	t.Logf("source sent %d bytes for a %d-byte file over 3 runs: %.2f%% more", sent, size, 100*float64(sent-size)/size)
}

func TestSecondGrabOnSameJob(t *testing.T) {
	srv := slowSource(t, 24<<20)
	dir := filepath.Join(t.TempDir(), "case")
	first, _ := start(t, srv.URLs()[0], "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr())
	waitFor(t, "the first grab to start", func() bool { return srv.Stats().BytesSent > 0 })
	r := grab(t, srv.URLs()[0], "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr())
	want := fmt.Sprintf("grab: error: job in use by pid %d (%s)\n", first.Process.Pid, dir)
	if r.code != exitError || !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("second grab: exit %d, stderr %q, want prefix %q", r.code, r.stderr, want)
	}
}

// The first Ctrl-C saves progress and exits 130; the same command resumes.
func TestInterruptSavesAndResumes(t *testing.T) {
	const size = 12 << 20
	srv := slowSource(t, size)
	dir := filepath.Join(t.TempDir(), "case")
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr()}
	cmd, stderr := start(t, args...)
	waitFor(t, "transfer progress", func() bool { return srv.Stats().BytesSent > size/3 })
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGINT: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "grab: interrupted: progress is saved; run the same command again to resume\n") {
		t.Fatalf("stderr: %s", stderr)
	}
	before := srv.Stats().BytesSent
	r := grab(t, args...)
	if r.code != 0 {
		t.Fatalf("resume: %d %s", r.code, r.stderr)
	}
	sameAsSource(t, srv, filepath.Join(dir, "evidence.7z"), "dump/evidence.7z")
	// A clean stop commits everything that arrived: the resume fetches
	// only what was missing, give or take the blocks in flight.
	if again := srv.Stats().BytesSent - before; again > size-size/3+16*256<<10 {
		t.Fatalf("resume fetched %d bytes of %d after a third had arrived", again, size)
	}
}

func readAll(r io.ReaderAt, size int64) []byte {
	b := make([]byte, size)
	n, _ := r.ReadAt(b, 0)
	return b[:n]
}
