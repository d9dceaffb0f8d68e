package rsynctest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Module names and credentials of the real daemon.
const (
	Plain    = "plain"
	Secret   = "secret"
	NoAppend = "noappend"
	Busy     = "busy"
	User     = "grab"
	Password = "pa55 word"
	// MOTD is the daemon's message of the day, line by line.
	MOTD = "grab test daemon\nsecond line: 100% #ok"
)

// Daemon is a running rsync daemon.
type Daemon struct {
	Addr string // 127.0.0.1:port
	Root string // the folder every module serves
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// skipOrFail ends the test when rsync is missing: a skip, or a failure
// with CI=true, where a silent skip would hide a broken setup.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("rsynctest: %v", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true, so this is a failure, not a skip)")
	}
	t.Skip(msg + " (skipping; with CI=true this fails)")
}

// Start runs a daemon for the test and stops it when the test ends.
func Start(t testing.TB) *Daemon {
	t.Helper()
	bin, err := exec.LookPath("rsync")
	if err != nil {
		skipOrFail(t, err)
	}
	dir := t.TempDir()
	d := &Daemon{Root: filepath.Join(dir, "tree"), dir: dir}
	if err := os.Mkdir(d.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.WriteFile(secrets, []byte(User+":"+Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "motd"), []byte(MOTD+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if lastErr = d.run(bin, port, secrets); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("rsynctest: %v; log:\n%s", lastErr, d.Log())
	}
	t.Cleanup(func() {
		pgid := d.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
		for range 250 { // the per-connection children
			if !groupAlive(pgid) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if t.Failed() {
			t.Logf("rsynctest: daemon log:\n%s", d.Log())
		}
	})
	return d
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (d *Daemon) conf(port int, secrets string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "address = 127.0.0.1\nport = %d\nuse chroot = no\nlog file = %s\npid file = %s\nmotd file = %s\n",
		port, filepath.Join(d.dir, "rsyncd.log"), filepath.Join(d.dir, fmt.Sprintf("rsyncd-%d.pid", port)), filepath.Join(d.dir, "motd"))
	if os.Getuid() == 0 {
		b.WriteString("uid = root\ngid = root\n")
	}
	mod := func(name, extra string) {
		fmt.Fprintf(&b, "\n[%s]\n\tpath = %s\n\tread only = yes\n\tcomment = grab test module %s\n%s", name, d.Root, name, extra)
	}
	mod(Plain, "")
	mod(Secret, fmt.Sprintf("\tauth users = %s\n\tsecrets file = %s\n", User, secrets))
	mod(NoAppend, "\trefuse options = append\n")
	mod(Busy, fmt.Sprintf("\tmax connections = 2\n\tlock file = %s\n", filepath.Join(d.dir, "busy.lock")))
	return b.String()
}

func (d *Daemon) run(bin string, port int, secrets string) error {
	conf := filepath.Join(d.dir, "rsyncd.conf")
	if err := os.WriteFile(conf, []byte(d.conf(port, secrets)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "--daemon", "--no-detach", "--config="+conf)
	cmd.Dir = d.dir
	// Its own process group: the daemon forks a process per connection,
	// and all of them must be gone before the test's folder is removed
	// (they write the log there).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("%w: rsync exited (port %d taken?)", ErrNotReady, port)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, "@RSYNCD: ") {
				d.Addr, d.cmd, d.done = addr, cmd, done
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-done
	return fmt.Errorf("%w on %s", ErrNotReady, addr)
}

// Log is the daemon's log so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "rsyncd.log"))
	return string(b)
}

// WriteFile writes a file below Root (making folders), for the daemon to
// serve.
func (d *Daemon) WriteFile(t testing.TB, name string, data []byte) {
	t.Helper()
	p := filepath.Join(d.Root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Dial connects to the daemon.
func (d *Daemon) Dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// groupAlive reports whether a process of group pgid still runs (zombies,
// which write nothing, do not count; init may be slow to reap them).
func groupAlive(pgid int) bool {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
