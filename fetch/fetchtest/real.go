package fetchtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Require finds a binary on PATH (and in /usr/sbin), or skips the test
// with a message; under CI=true it fails instead.
func Require(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); isExec(p) {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (apt-get install %s)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs cmd until the test ends and waits until addr answers HTTP.
func start(t testing.TB, cmd *exec.Cmd, addr string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%s exited: %s", cmd.Path, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s: %s", cmd.Path, addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Nginx serves root at http://127.0.0.1:PORT/ with autoindex in format
// ("html", "json" or "xml") and returns the base URL. limitRate, if not
// empty, is nginx's per-connection limit_rate (e.g. "250k"). The config
// may add location blocks through extra.
func Nginx(t testing.TB, root, format, limitRate, extra string) string {
	t.Helper()
	bin := Require(t, "nginx", "nginx")
	dir := t.TempDir()
	port := freePort(t)
	rate := ""
	if limitRate != "" {
		rate = "limit_rate " + limitRate + ";"
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
error_log %[1]s/error.log;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    types { text/html html; image/jpeg jpg; application/pdf pdf; }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:%[2]d;
        root %[3]s;
        autoindex on;
        autoindex_format %[4]s;
        %[5]s
        %[6]s
    }
}
`, dir, port, root, format, rate, extra)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	start(t, exec.Command(bin, "-e", filepath.Join(dir, "error.log"), "-c", confPath, "-p", dir), addr)
	return "http://" + addr + "/"
}

// Python serves root with `python3 -m http.server` and returns the base URL.
func Python(t testing.TB, root string) string {
	t.Helper()
	bin := Require(t, "python3", "python3")
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	start(t, exec.Command(bin, "-m", "http.server", strconv.Itoa(port), "--bind", "127.0.0.1", "--directory", root), addr)
	return "http://" + addr + "/"
}
