package tortest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// testFile is 1 MiB of seeded pseudo-random bytes, served at /file.bin.
func testFile() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// socksClient is an HTTP client that dials through the SOCKS5 proxy at addr
// with the given username, so each username gets its own Tor circuit.
func socksClient(t *testing.T, addr, user string) *http.Client {
	t.Helper()
	var auth *proxy.Auth
	if user != "" {
		auth = &proxy.Auth{User: user, Password: "x"}
	}
	d, err := proxy.SOCKS5("tcp", addr, auth, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// get fetches url with c and returns the body of a 200 response.
func get(t *testing.T, c *http.Client, url string) []byte {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return body
}

// circuitsByUser maps SOCKS usernames to the IDs of the circuits tagged with
// them in a GETINFO circuit-status reply.
func circuitsByUser(reply string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(reply, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		for _, kv := range f[2:] {
			if u, ok := strings.CutPrefix(kv, "SOCKS_USERNAME="); ok {
				u = strings.Trim(u, `"`)
				m[u] = append(m[u], f[0])
			}
		}
	}
	return m
}

// ourTors lists the processes whose command line mentions dir.
func ourTors(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(dir+"/")) {
			found = append(found, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return found
}

// lineWatcher closes seen when a written line contains want.
type lineWatcher struct {
	want string
	once sync.Once
	seen chan struct{}
	buf  []byte
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if bytes.Contains(w.buf, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func TestNetwork(t *testing.T) {
	want := testFile()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/file.bin" {
			http.NotFound(w, r)
			return
		}
		w.Write(want)
	}))
	t.Cleanup(srv.Close)

	start := time.Now()
	n := Require(t, Options{Target: srv.Listener.Addr().String()})
	t.Logf("network ready after %v: %s via SOCKS %s", time.Since(start).Round(100*time.Millisecond), n.OnionHost(), n.SOCKSAddr())
	url := "http://" + n.OnionHost() + "/file.bin"

	t.Run("fetch", func(t *testing.T) {
		got := get(t, socksClient(t, n.SOCKSAddr(), ""), url)
		if !bytes.Equal(got, want) {
			t.Fatalf("fetched %d bytes, not the %d served", len(got), len(want))
		}
	})

	t.Run("isolation", func(t *testing.T) {
		users := []string{"user-a", "user-b"}
		for _, u := range users {
			// Keep-alive holds the stream, so the circuit stays listed.
			if got := get(t, socksClient(t, n.SOCKSAddr(), u), url); !bytes.Equal(got, want) {
				t.Fatalf("%s fetched %d bytes, not the %d served", u, len(got), len(want))
			}
		}
		reply, err := n.Control(context.Background(), "GETINFO circuit-status")
		if err != nil {
			t.Fatal(err)
		}
		byUser := circuitsByUser(reply)
		a, b := byUser["user-a"], byUser["user-b"]
		if len(a) == 0 || len(b) == 0 {
			t.Fatalf("want circuits for user-a and user-b, got %v in:\n%s", byUser, reply)
		}
		for _, id := range a {
			for _, id2 := range b {
				if id == id2 {
					t.Fatalf("circuit %s carries both users:\n%s", id, reply)
				}
			}
		}
	})

	t.Run("control", func(t *testing.T) {
		_, err := n.Control(context.Background(), "GETINFO no-such-key")
		const wantErr = `control port: GETINFO no-such-key: 552 Unrecognized key "no-such-key"`
		if !errors.Is(err, ErrControl) || err.Error() != wantErr {
			t.Fatalf("got error %v, want %s", err, wantErr)
		}
		if _, err := n.Control(context.Background(), "GETINFO version\r\nSIGNAL HALT"); !errors.Is(err, ErrControl) {
			t.Fatalf("two commands in one: got %v, want ErrControl", err)
		}
	})

	t.Run("second client", func(t *testing.T) {
		// Another tor (as bine would start it) joins with ClientTorrc.
		ports, err := freePorts(1)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		socks := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		rc := filepath.Join(dir, "torrc")
		conf := n.ClientTorrc() + fmt.Sprintf("DataDirectory %s\nSocksPort %s\nLog notice stdout\n", filepath.Join(dir, "data"), socks)
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		empty := filepath.Join(dir, "empty")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		tor, _, err := Options{}.binaries()
		if err != nil {
			t.Fatal(err)
		}
		w := &lineWatcher{want: "Bootstrapped 100%", seen: make(chan struct{})}
		p, err := startProc("second", tor, []string{"--defaults-torrc", empty, "-f", rc}, w)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
		select {
		case <-w.seen:
		case <-p.done:
			t.Fatal(p.exited())
		case <-time.After(90 * time.Second):
			t.Fatalf("second client not bootstrapped after 90 s; output:\n%s", p.tail.String())
		}
		if got := get(t, socksClient(t, socks, ""), url); !bytes.Equal(got, want) {
			t.Fatalf("fetched %d bytes, not the %d served", len(got), len(want))
		}
	})

	t.Run("close", func(t *testing.T) {
		if tors := ourTors(t, n.Dir()); len(tors) != authorities+DefaultRelays+2 {
			t.Fatalf("before Close: want %d tor processes, got %d:\n%s", authorities+DefaultRelays+2, len(tors), strings.Join(tors, "\n"))
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if tors := ourTors(t, n.Dir()); len(tors) != 0 {
			t.Fatalf("after Close, still running:\n%s", strings.Join(tors, "\n"))
		}
		if _, err := os.Stat(n.Dir()); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("directory %s not removed: %v", n.Dir(), err)
		}
		if _, err := n.Control(context.Background(), "GETINFO version"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Control after Close: got %v, want ErrClosed", err)
		}
		if err := n.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
