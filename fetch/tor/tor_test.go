package tor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/fetch/tor/tortest"
)

// tornet is one private Tor network for the whole test binary, serving
// testFile at /file through its onion service.
var tornet *tortest.Shared

// testFile is 256 KiB of seeded pseudo-random bytes.
var testFile = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func TestMain(m *testing.M) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/file" {
			http.NotFound(w, r)
			return
		}
		w.Write(testFile)
	}))
	tornet = tortest.NewShared(tortest.Options{Target: srv.Listener.Addr().String()})
	code := m.Run()
	tornet.Close()
	srv.Close()
	os.Exit(code)
}

// requireTor skips t when no tor binary is installed (fails it with CI=true).
func requireTor(t *testing.T) {
	t.Helper()
	if _, err := findTor(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true, so this is a failure, not a skip)", err)
		}
		t.Skipf("%v (skipping; with CI=true this fails)", err)
	}
}

// testLog sends slog records to t.Log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// torProcs lists the live processes whose command line mentions dir.
func torProcs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []string
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(dir)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie that is not ours to reap
		}
		out = append(out, e.Name()+": "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	return out
}

// get fetches url through proxy with identity id, retrying twice while the
// onion service's descriptor may still be on its way.
func get(t *testing.T, proxy string, id dial.Identity, url string) []byte {
	t.Helper()
	d, err := dial.New(proxy)
	if err != nil {
		t.Fatal(err)
	}
	c := httpsrc.NewClient(d.DialFunc(id))
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		resp, err := c.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return body
			}
			err = fmt.Errorf("status %d, read error %v", resp.StatusCode, rerr)
		}
		last = err
		t.Logf("GET %s via %s: %v (attempt %d)", url, proxy, err, attempt+1)
		time.Sleep(time.Second)
	}
	t.Fatalf("GET %s via %s: %v", url, proxy, last)
	return nil
}

// progressLog records Progress calls per instance.
type progressLog struct {
	mu    sync.Mutex
	calls map[int][]string
}

func (p *progressLog) record(i, pct int, summary string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[int][]string{}
	}
	p.calls[i] = append(p.calls[i], fmt.Sprintf("%d%% %s", pct, summary))
}

func TestTor(t *testing.T) {
	n := tornet.Get(t)
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "tor")
	url := "http://" + n.OnionHost() + "/file"
	var prog progressLog
	failures := make(chan StreamFailure, 16)

	began := time.Now()
	tr, err := Start(ctx, Options{
		DataDir: dataDir, ExtraTorrc: n.ClientTorrc(), Instances: 2, Stall: time.Minute,
		Progress:      prog.record,
		StreamFailure: func(f StreamFailure) { failures <- f },
		Log:           testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start (2 instances, fresh state) bootstrapped in %s", time.Since(began).Round(time.Millisecond))
	defer tr.Close()

	for i := range 2 {
		calls := prog.calls[i]
		if len(calls) == 0 || calls[len(calls)-1] != "100% Done" {
			t.Errorf("instance %d progress = %q, want it to end with 100%% Done", i, calls)
		}
	}
	addrs := tr.SOCKSAddrs()
	if len(addrs) != 2 || addrs[0] == addrs[1] || !strings.HasPrefix(addrs[0], "127.0.0.1:") || !strings.HasPrefix(addrs[1], "127.0.0.1:") {
		t.Fatalf("SOCKSAddrs = %q", addrs)
	}
	for i := range 2 {
		if want := "socks5h://" + addrs[i]; tr.ProxyURL(i) != want {
			t.Errorf("ProxyURL(%d) = %q, want %q", i, tr.ProxyURL(i), want)
		}
	}

	t.Run("fetch", func(t *testing.T) {
		a, b := dial.NewIdentity(), dial.NewIdentity()
		if got := get(t, tr.ProxyURL(0), a, url); !bytes.Equal(got, testFile) {
			t.Fatalf("instance 0, identity a: %d bytes, not the file's %d", len(got), len(testFile))
		}
		if got := get(t, tr.ProxyURL(0), b, url); !bytes.Equal(got, testFile) {
			t.Fatalf("instance 0, identity b: %d bytes, not the file's %d", len(got), len(testFile))
		}
		c := dial.NewIdentity()
		if got := get(t, tr.ProxyURL(1), c, url); !bytes.Equal(got, testFile) {
			t.Fatalf("instance 1: %d bytes, not the file's %d", len(got), len(testFile))
		}
		cs, err := tr.Circuits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byUser := map[string]Circuit{}
		for _, ci := range cs {
			t.Logf("circuit %+v", ci)
			// Tor also tags padding circuits with the username; the
			// streams ride the rendezvous circuit.
			if ci.SOCKSUsername != "" && ci.Status == "BUILT" && ci.Purpose == "HS_CLIENT_REND" {
				byUser[ci.SOCKSUsername] = ci
			}
		}
		ca, cb, cc := byUser[a.User], byUser[b.User], byUser[c.User]
		if ca.ID == "" || cb.ID == "" || ca.ID == cb.ID || ca.Instance != 0 || cb.Instance != 0 {
			t.Errorf("identities a and b: circuits %+v and %+v, want two distinct built circuits on instance 0", ca, cb)
		}
		if cc.ID == "" || cc.Instance != 1 {
			t.Errorf("identity c: circuit %+v, want a built circuit on instance 1", cc)
		}
		for _, ci := range []Circuit{ca, cb, cc} {
			if ci.HSState != "HSCR_JOINED" || ci.PathLen < 1 || ci.Created.IsZero() {
				t.Errorf("circuit %+v: want a joined rendezvous circuit with a path and a creation time", ci)
			}
		}
	})

	t.Run("stream failure", func(t *testing.T) {
		d, err := dial.New(tr.ProxyURL(0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Dial(ctx, dial.NewIdentity(), "tcp", net.JoinHostPort(n.OnionHost(), "81"))
		if err == nil {
			t.Fatal("port 81 of the onion, which serves only 80: connected")
		}
		t.Logf("dial port 81: %v", err)
		// Other streams (earlier tests, a network still settling) may
		// report failures too: wait for the one this dial caused.
		want := "stream to " + n.OnionHost() + ":81 failed: the far end refused the stream (an onion service does this for a port it does not offer) (tor 0: END/DONE)"
		deadline := time.After(20 * time.Second)
		for {
			select {
			case f := <-failures:
				t.Logf("stream failure: %s", f)
				if !strings.HasSuffix(f.Target, ":81") {
					continue
				}
				if f.String() != want || f.StreamID == "" {
					t.Errorf("stream failure %+v:\n got %s\nwant %s", f, f, want)
				}
			case <-deadline:
				t.Fatal("no failure of the stream to port 81 reported within 20 s")
			}
			break
		}
	})

	t.Run("newnym", func(t *testing.T) {
		if err := tr.NewNym(ctx); err != nil {
			t.Fatalf("NewNym: %v", err)
		}
	})

	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if p := torProcs(t, dataDir); len(p) != 0 {
		t.Fatalf("after Close, tor processes still run: %q", p)
	}
	if err := tr.NewNym(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("NewNym after Close: %v, want ErrClosed", err)
	}

	// The same DataDir again: instance 0's state (consensus, guards) is reused.
	began = time.Now()
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	tr2, err := Start(ctx2, Options{DataDir: dataDir, ExtraTorrc: n.ClientTorrc(), Stall: time.Minute, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	t.Logf("second start (1 instance, reused state) bootstrapped in %s", time.Since(began).Round(time.Millisecond))
	if got := get(t, tr2.ProxyURL(0), dial.NewIdentity(), url); !bytes.Equal(got, testFile) {
		t.Fatalf("after restart: %d bytes, not the file's %d", len(got), len(testFile))
	}

	// A second grab on the same directory: tor refuses the locked DataDirectory.
	_, err = Start(ctx, Options{DataDir: dataDir, ExtraTorrc: n.ClientTorrc()})
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "same data directory") {
		t.Errorf("Start on a DataDir in use: %v, want ErrExited with tor's complaint", err)
	}

	// Cancelling Start's context stops tor without Close.
	cancel2()
	select {
	case <-tr2.inst[0].proc.done:
	case <-time.After(stopWait + 5*time.Second):
		t.Fatal("tor still runs after its context was cancelled")
	}
	if err := tr2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if p := torProcs(t, dataDir); len(p) != 0 {
		t.Fatalf("after the second Close, tor processes still run: %q", p)
	}
}

func TestStartNoTor(t *testing.T) {
	_, err := Start(context.Background(), Options{DataDir: t.TempDir(), TorPath: "/nonexistent/tor"})
	if !errors.Is(err, ErrNoTor) {
		t.Fatalf("err = %v, want ErrNoTor", err)
	}
	if want := "tor binary not found: /nonexistent/tor: no such file or directory"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "invalid tor options: DataDir is empty"},
		{Options{DataDir: "d", Instances: -1}, "invalid tor options: Instances -1 is not within 1..64"},
		{Options{DataDir: "d", Stall: -time.Second}, "invalid tor options: Stall -1s is negative"},
	} {
		if _, err := Start(context.Background(), c.o); !errors.Is(err, ErrOptions) || err.Error() != c.want {
			t.Errorf("Start(%+v) = %v, want %s", c.o, err, c.want)
		}
	}
	o, err := Options{DataDir: "d"}.validate()
	if err != nil || o.Instances != 1 || o.Stall != DefaultStall || o.Log == nil {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

// deadNetwork is the torrc of a test network whose only authority does not
// listen: tor gets stuck early in its bootstrap.
func deadNetwork(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	fp := strings.Repeat("A", 40)
	return fmt.Sprintf("TestingTorNetwork 1\nDirAuthority dead orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s\nClientUseIPv6 0\n", port, fp, port, fp)
}

func TestBootstrapStuck(t *testing.T) {
	requireTor(t)
	dataDir := filepath.Join(t.TempDir(), "tor")
	_, err := Start(context.Background(), Options{DataDir: dataDir, ExtraTorrc: deadNetwork(t), Stall: 3 * time.Second, Log: testLog(t)})
	if !errors.Is(err, ErrBootstrap) {
		t.Fatalf("err = %v, want ErrBootstrap", err)
	}
	t.Logf("error: %v", err)
	msg := err.Error()
	if !strings.HasPrefix(msg, "instance 0: tor bootstrap stuck at ") || !strings.Contains(msg, " for 3s; tor's last warning: ") {
		t.Errorf("error %q: want the instance, the percentage, the stall time and tor's last warning", msg)
	}
	if p := torProcs(t, dataDir); len(p) != 0 {
		t.Fatalf("after a failed Start, tor processes still run: %q", p)
	}
}

func TestStartCancel(t *testing.T) {
	requireTor(t)
	dataDir := filepath.Join(t.TempDir(), "tor")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := func(int, int, string) { cancel() } // cancel once tor reports anything
	_, err := Start(ctx, Options{DataDir: dataDir, ExtraTorrc: deadNetwork(t), Progress: progress, Log: testLog(t)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if p := torProcs(t, dataDir); len(p) != 0 {
		t.Fatalf("after a cancelled Start, tor processes still run: %q", p)
	}
}

func TestStartBadTorrc(t *testing.T) {
	requireTor(t)
	_, err := Start(context.Background(), Options{DataDir: t.TempDir(), ExtraTorrc: "NoSuchOption 1\n"})
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "NoSuchOption") {
		t.Fatalf("err = %v, want ErrExited quoting tor's complaint about NoSuchOption", err)
	}
}
