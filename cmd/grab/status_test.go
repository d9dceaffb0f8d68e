package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grab-ir/grab/fetch/job"
	"github.com/grab-ir/grab/fetch/jobdir"
)

// needTool skips a test when a tool is missing, except under CI=true.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI=true (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed: skipping (apt-get install %s)", name, pkg)
	}
	return p
}

func statusJSON(t *testing.T, dir string) job.Report {
	t.Helper()
	r := grab(t, "status", "-o", dir, "--json")
	if r.code != 0 {
		t.Fatalf("grab status --json: exit %d: %s", r.code, r.stderr)
	}
	var rep job.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("grab status --json: %v\n%s", err, r.stdout)
	}
	return rep
}

// grab status, grab ls from another process while grab runs; then from
// the store after Ctrl-C; then the manifest (sha256sum -c really run)
// and grab verify, clean and after damage.
func TestStatusManifestVerify(t *testing.T) {
	const size = 12 << 20
	srv := slowSource(t, size)
	dir := filepath.Join(t.TempDir(), "case")
	args := []string{srv.URLs()[0], "-o", dir, "--proxy", "socks5h://" + srv.SOCKSAddr(), "--md5"}
	cmd, stderr := start(t, args...)
	waitFor(t, "transfer progress", func() bool { return srv.Stats().BytesSent > size/4 })

	rep := statusJSON(t, dir)
	if !rep.Running || rep.PID != cmd.Process.Pid || rep.Version != job.Version || rep.FilesTotal != 1 ||
		rep.BytesTotal != size || rep.BytesDone > size || len(rep.Classes) != 1 || len(rep.Workers) != 16 {
		t.Fatalf("status while running: %+v", rep)
	}
	if rep.State != job.StateRunning && rep.State != job.StateWaiting {
		t.Fatalf("state while running: %q", rep.State)
	}
	text := grab(t, "status", "-o", dir)
	if text.code != 0 || !strings.HasPrefix(text.stdout, "state: running (pid ") || !strings.Contains(text.stdout, "\nfiles: 0 of 1 done, 0 failed\n") {
		t.Fatalf("grab status: exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}
	ls := grab(t, "ls", "-o", dir)
	if ls.code != 0 || !strings.Contains(ls.stdout, "pending  ") || !strings.Contains(ls.stdout, "evidence.7z") {
		t.Fatalf("grab ls while running: exit %d\n%s%s", ls.code, ls.stdout, ls.stderr)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("grab finished before the interrupt\n%s", stderr)
	}
	if rep = statusJSON(t, dir); rep.Running || rep.State != job.StateStopped || rep.ETASeconds != nil || rep.BytesDone < size/8 || rep.BytesDone >= size {
		t.Fatalf("status after Ctrl-C: %+v", rep)
	}

	if r := grab(t, args...); r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if rep = statusJSON(t, dir); rep.State != job.StateDone || rep.FilesDone != 1 || rep.BytesDone != size {
		t.Fatalf("status when done: %+v", rep)
	}
	m := grab(t, "manifest", "-o", dir)
	sums := filepath.Join(t.TempDir(), "case.sha256")
	if err := os.WriteFile(sums, []byte(m.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(needTool(t, "sha256sum", "coreutils"), "-c", sums)
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil || string(out) != "evidence.7z: OK\n" {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	j := grab(t, "manifest", "-o", dir, "--format", "json")
	var entries []job.Entry
	if err := json.Unmarshal([]byte(j.stdout), &entries); err != nil || len(entries) != 1 || len(entries[0].MD5) != 32 ||
		entries[0].URL != srv.URLs()[0] || entries[0].Size != size {
		t.Fatalf("manifest json: %v\n%s", err, j.stdout)
	}

	if v := grab(t, "verify", "-o", dir); v.code != 0 || v.stdout != "1 files checked (12.0 MiB): 1 ok, 0 mismatched, 0 missing, 0 extra\n" {
		t.Fatalf("verify: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
	f, err := os.OpenFile(filepath.Join(dir, "evidence.7z"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{'!'}, 5<<20)
	f.Close()
	os.WriteFile(filepath.Join(dir, "planted"), nil, 0o644)
	v := grab(t, "verify", "-o", dir)
	if v.code != exitFailed || !strings.HasPrefix(v.stdout, "mismatched: evidence.7z: SHA-256 ") ||
		!strings.Contains(v.stdout, "\nextra: planted\n") || !strings.Contains(v.stderr, "1 mismatched, 1 extra") {
		t.Fatalf("verify after damage: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}

// --json prints events, one JSON object a line: state changes, the file
// done, progress, and no bar.
func TestJSONEvents(t *testing.T) {
	srv := slowSource(t, 3<<20)
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, srv.URLs()[0], "-o", dir, "--proxy", "socks5h://"+srv.SOCKSAddr(), "--json", "--log", filepath.Join(dir+".log"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		seen[ev["event"].(string)]++
		if ev["event"] == "file_done" && ev["path"] != "evidence.7z" {
			t.Fatalf("file_done: %v", ev)
		}
	}
	if seen["file_done"] != 1 || seen["state"] < 2 || seen["progress"] < 1 || seen["class_done"] != 1 {
		t.Fatalf("events: %v\n%s", seen, r.stdout)
	}
	log, err := os.ReadFile(dir + ".log")
	if err != nil || !strings.Contains(string(log), `msg="file done" path=evidence.7z`) {
		t.Fatalf("--log: %v\n%s", err, log)
	}
	if q := grab(t, "-o", dir, "--quiet"); q.code != 0 || q.stdout != "" || q.stderr != "" {
		t.Fatalf("--quiet: exit %d %q %q", q.code, q.stdout, q.stderr)
	}
}

// The terminal display as a person sees it: grab demo in an 80x24 tmux,
// read with capture-pane. A frame in the middle shows the bar and a line
// per class; the last screen holds one bar only (no frame left behind),
// the final frame agrees with the summary, and no line is wider than 80.
func TestTerminalDisplay(t *testing.T) {
	tmux := needTool(t, "tmux", "tmux")
	dir := filepath.Join(t.TempDir(), "demo")
	sock := "grab-test-" + filepath.Base(t.TempDir())
	session := "grab"
	run := func(args ...string) string {
		out, _ := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() { run("kill-server") })
	shell := grabBin + " demo -o " + dir + "; echo EXIT=$?; sleep 600"
	if out := run("new-session", "-d", "-s", session, "-x", "80", "-y", "24", shell); out != "" {
		t.Fatalf("tmux: %s", out)
	}
	screen := func() string { return run("capture-pane", "-p", "-t", session) }
	var mid string
	waitFor(t, "a frame with classes", func() bool {
		mid = screen()
		return strings.Contains(mid, "running  ") && strings.Contains(mid, "  photos  ") && strings.Contains(mid, "] ")
	})
	if !strings.Contains(mid, "circuits ") || !strings.Contains(mid, "ETA ") {
		t.Fatalf("frame in the middle:\n%s", mid)
	}
	var end string
	waitFor(t, "grab demo to end", func() bool {
		end = screen()
		return strings.Contains(end, "EXIT=")
	})
	if !strings.Contains(end, "EXIT=0") {
		t.Fatalf("grab demo failed:\n%s", end)
	}
	bars := 0
	for _, l := range strings.Split(end, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line wider than 80: %q", l)
		}
		if strings.Contains(l, " [") && strings.Contains(l, "] ") {
			bars++
		}
	}
	if bars != 1 || !strings.Contains(end, "done  146/146 files, 0 failed  in ") || !strings.Contains(end, "] 100.00%") ||
		!strings.Contains(end, "done: photos, documents, email, databases, archives") ||
		!strings.Contains(end, "grab: 146 of 146 files done (43.2 MiB), 0 failed,") {
		t.Fatalf("%d bars; last screen:\n%s", bars, end)
	}
	if _, err := os.Stat(jobdir.Dir(dir).Socket()); !os.IsNotExist(err) {
		t.Fatalf("status socket left behind: %v", err)
	}
}
