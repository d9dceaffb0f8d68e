package main

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/job"
)

// rawServer answers every request on loopback with the bytes of answer,
// as they are: a server that writes what no net/http server would.
func rawServer(t *testing.T, answer string) string {
	t.Helper()
	return "http://" + fetchtest.Listen(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
			c.Write([]byte(answer))
		}
	})
}

const fakeSummary = "\x1b[2J\rgrab: 100 of 100 files done"

// A reason phrase that clears the screen and fakes a summary reaches the
// terminal escaped, in the error of the file and in its log line.
func TestHostileReasonPhrase(t *testing.T) {
	url := rawServer(t, "HTTP/1.1 404 "+fakeSummary+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	dir := filepath.Join(t.TempDir(), "out")
	r := grab(t, url+"/a.jpg", "-o", dir)
	if r.code != exitFailed {
		t.Fatalf("exit %d: %q", r.code, r.stderr)
	}
	if strings.ContainsAny(r.stderr+r.stdout, "\x1b\r\a") {
		t.Fatalf("control characters reached the terminal: %q", r.stderr)
	}
	want := "grab: failed: a.jpg: " + url + "/a.jpg: 404 \\x1b[2J\\x0dgrab: 100 of 100 files done\n"
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q lacks %q", r.stderr, want)
	}
	r = grab(t, "ls", "-o", dir)
	if strings.ContainsAny(r.stdout, "\x1b\r\a") {
		t.Fatalf("grab ls: %q", r.stdout)
	}
}

// Every message and log line passes through one escape.
func TestMessagesEscaped(t *testing.T) {
	var out bytes.Buffer
	u := &ui{stdout: &out, stderr: &out}
	log := slog.New(&logHandler{w: &out, level: slog.LevelInfo, mu: &sync.Mutex{}})
	log.Warn("file failed", "path", "x"+fakeSummary, "err", "\a")
	log.Info(fakeSummary)
	u.printf("failed: %s", fakeSummary)
	u.exit(&job.HintError{Err: &net.AddrError{Err: fakeSummary}, Hint: "\x1b]0;t\a"})
	want := `grab: warn: file failed path=x\x1b[2J\x0dgrab: 100 of 100 files done err=\x07
grab: \x1b[2J\x0dgrab: 100 of 100 files done
grab: failed: \x1b[2J\x0dgrab: 100 of 100 files done
grab: error: \x1b[2J\x0dgrab: 100 of 100 files done
grab: hint: \x1b]0;t\x07
`
	if got := out.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// Nothing listening at --proxy: one message naming cause and fix, exit 1,
// at once, and no circuit replaced.
func TestNoProxyAtStart(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	dir := filepath.Join(t.TempDir(), "out")
	r := grab(t, "--proxy", "socks5h://"+dead, "-o", dir, "http://127.0.0.1:9/x")
	want := "grab: error: no SOCKS proxy at " + dead + ": is Tor running?\n" +
		"grab: hint: systemctl start tor, or use --tor (Tor Browser listens on 9150, a system tor on 9050)\n"
	if r.code != exitError || !strings.HasSuffix(r.stderr, want) || strings.Contains(r.stderr, "circuits:") || strings.Contains(r.stderr, "warn") {
		t.Fatalf("exit %d, stderr:\n%s\nwant the end:\n%s", r.code, r.stderr, want)
	}
}

// An HTTPS source whose certificate does not verify: one message with
// both ways out; --cacert with its certificate fetches.
func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("evidence")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "out")
	r := grab(t, "-o", dir, srv.URL+"/x")
	want := "grab: error: " + strings.TrimPrefix(srv.URL, "https://") + ": TLS certificate not trusted: x509: certificate signed by unknown authority\n" +
		"grab: hint: --cacert FILE trusts the authority (or the server's own certificate) in FILE; -k/--insecure skips the check\n"
	if r.code != exitError || !strings.HasSuffix(r.stderr, want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant the end:\n%s", r.code, r.stderr, want)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	if r := grab(t, "-o", dir, "--cacert", ca); r.code != 0 {
		t.Fatalf("with --cacert: exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "x")); string(b) != "evidence" {
		t.Fatalf("fetched %q", b)
	}
}

// A source unreachable for --max-wait: its own message (the cause without
// net/http's Get "URL": prefix), not the advice for a proxy never seen.
func TestUnreachableMessage(t *testing.T) {
	var out bytes.Buffer
	u := &ui{stdout: &out, stderr: &out}
	cause := &url.Error{Op: "Get", URL: "http://h.onion/x", Err: &dial.SOCKSError{Code: -1, Proxy: "127.0.0.1:9050", Cause: dial.ErrNoProxy, Err: errors.New("127.0.0.1:9050: connection refused")}}
	err := fmt.Errorf("%w: h.onion for 30m0s: %w", fetch.ErrUnreachable, &fetch.TransientError{Err: cause, Conn: true, Local: true})
	if code := u.exit(err); code != exitError {
		t.Fatalf("exit %d", code)
	}
	want := "grab: error: source unreachable: h.onion for 30m0s: proxy unreachable: 127.0.0.1:9050: connection refused\n" +
		"grab: hint: progress is saved; run the same command again once the source is back\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
