package main

// Integration tests of grab over Tor on a private Tor network on loopback
// (package tortest): one network for the whole test binary, whose onion
// service forwards to a relay that each test points at its own nginx.
// They skip when tor, tor-gencert or nginx is missing, and fail instead
// under CI=true.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/tor/tortest"
)

// torNet is the shared private network and the relay its onion forwards
// to, started by the first test that asks.
var torNet struct {
	once    sync.Once
	relay   *relay
	shared  *tortest.Shared
	settled bool // past the first consensus (see settle)
	err     error
}

// network returns the shared network, pointed at the HTTP server at base
// ("http://127.0.0.1:port/"): the onion's port 80 now reaches it.
func network(t *testing.T, base string) *tortest.Network {
	t.Helper()
	torNet.once.Do(func() {
		torNet.relay, torNet.err = newRelay()
		if torNet.err == nil {
			torNet.shared = tortest.NewShared(tortest.Options{Target: torNet.relay.addr()})
		}
	})
	if torNet.err != nil {
		t.Fatal(torNet.err)
	}
	torNet.relay.point(strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/"))
	start := time.Now()
	n := torNet.shared.Get(t)
	if !torNet.settled {
		settle(t, n, base)
		torNet.settled = true
		t.Logf("private Tor network started and settled in %s", time.Since(start).Round(time.Second))
	}
	return n
}

// settle waits until a page comes through the onion: tortest returns
// once the client knows every relay and one SOCKS connection to the onion
// has worked, but for a while after that some onion circuits still fail
// while every tor fetches the relays' descriptors.
func settle(t *testing.T, n *tortest.Network, base string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	d, err := dial.New("socks5h://" + n.SOCKSAddr())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + n.OnionHost() + "/"
	for {
		c := httpsrc.NewClient(d.DialFunc(dial.NewIdentity()))
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cancel()
		c.CloseIdleConnections()
		if err == nil && resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer 2 minutes after the start: %v", url, err)
		}
		time.Sleep(time.Second)
	}
}

// closeTorNet stops the shared network, if a test started it; TestMain
// calls it.
func closeTorNet() {
	if torNet.shared != nil {
		torNet.shared.Close()
	}
	if torNet.relay != nil {
		torNet.relay.close()
	}
}

// relay is a TCP forwarder on 127.0.0.1 whose backend can change between
// tests; it counts the bytes the backend sends.
type relay struct {
	ln      net.Listener
	backend atomic.Pointer[string]
	sent    atomic.Int64
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

func newRelay() (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{ln: ln, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

func (r *relay) addr() string         { return r.ln.Addr().String() }
func (r *relay) point(backend string) { r.backend.Store(&backend) }

func (r *relay) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if add {
		if r.conns == nil {
			return false
		}
		r.conns[c] = struct{}{}
	} else {
		delete(r.conns, c)
	}
	return true
}

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			b := r.backend.Load()
			if b == nil || !r.track(c, true) {
				return
			}
			defer r.track(c, false)
			up, err := net.Dial("tcp", *b)
			if err != nil {
				return
			}
			defer up.Close()
			go func() {
				io.Copy(up, c)
				up.(*net.TCPConn).CloseWrite()
			}()
			io.Copy(countingWriter{c, &r.sent}, up) // counted as it flows: keep-alive connections stay open
		}()
	}
}

// countingWriter adds what it writes to n.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}

func (r *relay) close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}

// torDump writes a dump of a few photos and one big archive under a new
// folder, from a seeded generator, and returns the folder.
func torDump(t *testing.T, archive int) string {
	t.Helper()
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(5, uint64(archive)))
	files := map[string]int{
		"photos/IMG_0001.jpg": 180 << 10, "photos/IMG_0002.jpg": 240 << 10,
		"photos/holiday/IMG_0107.jpg": 150 << 10, "photos/IMG_0003.jpg": 310 << 10,
		"archives/mailbox.7z": archive,
	}
	for name, size := range files {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// sameTree checks that every file under root is in dir, byte-identical.
func sameTree(t *testing.T, root, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return fmt.Errorf("not downloaded: %w", err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: %d bytes, not identical to the %d-byte source", rel, len(got), len(want))
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("%d files compared, want 5", n)
	}
}

// torsOf lists the tor processes whose command line mentions dir.
func torsOf(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) == "tor" && strings.Contains(string(b), dir) {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+strings.Join(args, " "))
		}
	}
	return out
}

// noTorLeft waits a little for tors of dir to exit (one whose grab was
// killed gets SIGTERM from the kernel), then fails if any is left.
func noTorLeft(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := torsOf(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tor left running:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// torrcFile writes the network's client torrc lines for --tor-config.
func torrcFile(t *testing.T, n *tortest.Network) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "torrc")
	if err := os.WriteFile(p, []byte(n.ClientTorrc()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// (a) Through the network's own client, as through a running Tor.
func TestTorProxyOnion(t *testing.T) {
	root := torDump(t, 12<<20)
	n := network(t, fetchtest.Nginx(t, root, "html", "", ""))
	dir := filepath.Join(t.TempDir(), "case")
	began := time.Now()
	r := grab(t, "--proxy", "socks5h://"+n.SOCKSAddr(), "-w", "8", "-o", dir, "http://"+n.OnionHost()+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("downloaded in %s", time.Since(began).Round(100*time.Millisecond))
	sameTree(t, root, dir)
}

// (b) Through grab's own tor, joining the private network with
// --tor-config.
func TestTorOwnTor(t *testing.T) {
	root := torDump(t, 8<<20)
	n := network(t, fetchtest.Nginx(t, root, "html", "", ""))
	dir := filepath.Join(t.TempDir(), "case")
	began := time.Now()
	r := grab(t, "--tor", "--tor-config", torrcFile(t, n), "-w", "8", "-o", dir, "http://"+n.OnionHost()+"/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("bootstrap and download in %s; stderr:\n%s", time.Since(began).Round(100*time.Millisecond), r.stderr)
	sameTree(t, root, dir)
	if !strings.Contains(r.stderr, "grab: tor: bootstrapped 100%: ") {
		t.Fatalf("no bootstrap progress in stderr:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`\ngrab: tor: [1-9][0-9]* circuits built, [1-9][0-9]* to the onion\n`).MatchString(r.stderr) {
		t.Fatalf("no circuit status in stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".grab", "tor", "0", "cached-microdesc-consensus")); err != nil {
		t.Fatalf("tor's state is not in DIR/.grab/tor/0: %v", err)
	}
	noTorLeft(t, dir)
	// The same command again on the finished job has nothing to fetch and
	// starts no tor.
	again := grab(t, "--tor", "--tor-config", torrcFile(t, n), "-w", "8", "-o", dir, "http://"+n.OnionHost()+"/")
	if again.code != 0 || strings.Contains(again.stderr, "grab: tor") {
		t.Fatalf("finished job run again: exit %d, stderr:\n%s", again.code, again.stderr)
	}
	sameTree(t, root, dir)
}

// (c) kill -9 in the middle of a --tor run; the same command starts tor
// again and completes.
func TestTorKill9Resume(t *testing.T) {
	root := torDump(t, 12<<20)
	n := network(t, fetchtest.Nginx(t, root, "html", "400k", ""))
	dir := filepath.Join(t.TempDir(), "case")
	args := []string{"--tor", "--tor-config", torrcFile(t, n), "-w", "4", "-o", dir, "http://" + n.OnionHost() + "/"}
	before := torNet.relay.sent.Load()
	cmd, stderr := start(t, args...)
	waitFor(t, "3 MiB through the onion", func() bool { return torNet.relay.sent.Load()-before > 3<<20 })
	if len(torsOf(dir)) != 1 {
		t.Fatalf("want one tor for %s while grab runs, have %q", dir, torsOf(dir))
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	t.Logf("killed after %d bytes; first run said:\n%s", torNet.relay.sent.Load()-before, stderr)
	if strings.Contains(stderr.String(), " files done (") {
		t.Fatal("the first run finished before it was killed: the test proves nothing")
	}
	noTorLeft(t, dir)

	r := grab(t, append(args[:len(args):len(args)], "-v")...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "grab: tor: bootstrapped 100%: ") || !strings.Contains(r.stderr, "grab: tor ready instances=1 circuits_built=") {
		t.Fatalf("resume did not start tor again:\n%s", r.stderr)
	}
	sameTree(t, root, dir)
	noTorLeft(t, dir)
}

// Ctrl-C during a --tor run saves, stops tor and exits 130.
func TestTorInterrupt(t *testing.T) {
	root := torDump(t, 8<<20)
	n := network(t, fetchtest.Nginx(t, root, "html", "400k", ""))
	dir := filepath.Join(t.TempDir(), "case")
	before := torNet.relay.sent.Load()
	cmd, stderr := start(t, "--tor", "--tor-config", torrcFile(t, n), "-w", "4", "-o", dir, "http://"+n.OnionHost()+"/")
	waitFor(t, "1 MiB through the onion", func() bool { return torNet.relay.sent.Load()-before > 1<<20 })
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("after SIGINT: %v\n%s", err, stderr)
	}
	if !strings.HasSuffix(stderr.String(), "grab: interrupted: progress is saved; run the same command again to resume\n") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	// grab waits for its tor before it exits: none may be left at all.
	if left := torsOf(dir); len(left) != 0 {
		t.Fatalf("tor left running after grab exited:\n%s", strings.Join(left, "\n"))
	}
}

// (d) The workers use distinct circuits: the client's control port shows
// rendezvous circuits for at least two of grab's SOCKS usernames at once.
func TestTorDistinctCircuits(t *testing.T) {
	root := torDump(t, 8<<20)
	n := network(t, fetchtest.Nginx(t, root, "html", "200k", ""))
	dir := filepath.Join(t.TempDir(), "case")
	start(t, "--proxy", "socks5h://"+n.SOCKSAddr(), "-w", "4", "-o", dir, "http://"+n.OnionHost()+"/")
	seen := map[string]bool{}
	var last string
	waitFor(t, "two SOCKS usernames on rendezvous circuits", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		out, err := n.Control(ctx, "GETINFO circuit-status")
		if err != nil {
			t.Fatal(err)
		}
		last = out
		now := rendUsers(out)
		if len(now) >= 2 {
			for u := range now {
				seen[u] = true
			}
			return true
		}
		time.Sleep(200 * time.Millisecond)
		return false
	})
	for u := range seen {
		if !strings.HasPrefix(u, "grab-") {
			t.Fatalf("SOCKS username %q is not grab's; circuit-status:\n%s", u, last)
		}
	}
	t.Logf("%d circuits with distinct usernames at once", len(seen))
}

// rendUsers returns the SOCKS usernames of the HS_CLIENT_REND circuits in
// a GETINFO circuit-status reply.
func rendUsers(reply string) map[string]bool {
	users := map[string]bool{}
	for _, line := range strings.Split(reply, "\n") {
		if !strings.Contains(line, " PURPOSE=HS_CLIENT_REND") {
			continue
		}
		_, rest, ok := strings.Cut(line, " SOCKS_USERNAME=")
		if !ok {
			continue
		}
		if u, err := strconv.QuotedPrefix(rest); err == nil {
			if u, err = strconv.Unquote(u); err == nil {
				users[u] = true
			}
		}
	}
	return users
}

// No tor binary: the error and the hint, before anything is created.
func TestTorMissingBinary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "case")
	r := grab(t, "--tor", "--tor-path", "/nonexistent/tor", "-o", dir, "http://x.onion/")
	want := "grab: error: tor binary not found: /nonexistent/tor: no such file or directory\n" +
		"grab: hint: apt-get install tor, or --proxy to use a running Tor\n"
	if r.code != exitError || r.stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and:\n%s", r.code, r.stderr, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("output folder created: %v", err)
	}
}
