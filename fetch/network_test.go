package fetch_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/fetchtest"
	"github.com/grab-ir/grab/fetch/httpsrc"
	"github.com/grab-ir/grab/store"
)

// syncClock is a settable clock safe for the engine's goroutines. Each
// reading moves it on by a millisecond, so that waits the engine computes
// from it (backoffs of a few milliseconds here) end.
type syncClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *syncClock { return &syncClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)} }

func (c *syncClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *syncClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// flaky answers "good" with its bytes; every request for another file
// fails with fail, after moving the clock on by step.
type flaky struct {
	mu      sync.Mutex
	clock   *syncClock
	step    time.Duration
	good    string
	fail    error
	gets    int
	renewed int
}

func (s *flaky) Conn(int) fetch.Conn { return s }
func (s *flaky) Close() error        { return nil }
func (s *flaky) Renew() {
	s.mu.Lock()
	s.renewed++
	s.mu.Unlock()
}

func (s *flaky) Get(_ context.Context, r fetch.Request) (*fetch.Stream, error) {
	if strings.HasSuffix(r.URL, s.good) {
		body := "hello"
		return &fetch.Stream{Body: io.NopCloser(strings.NewReader(body)), Len: 5, Size: 5, Whole: true}, nil
	}
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	s.clock.add(s.step)
	return nil, s.fail
}

func runEngine(t *testing.T, cfg fetch.Config, urls ...string) (*fetch.Engine, error) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg.Dir, cfg.Journal = dir, st
	if cfg.Backoff.Base == 0 {
		cfg.Backoff = fetch.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}
	}
	cfg.Rand = rand.New(rand.NewPCG(1, 2))
	e, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var files []fetch.File
	for _, u := range urls {
		files = append(files, fetch.File{URL: u, Path: u[strings.LastIndex(u, "/")+1:], Size: -1})
	}
	e.Add(files)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a guard: the run must end on its own
	defer cancel()
	err = e.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the run did not end on its own: %v; status %+v", err, e.Status())
	}
	return e, err
}

// socksReplying is a SOCKS5 proxy on loopback that answers every CONNECT
// with the reply code given.
func socksReplying(t *testing.T, code byte) string {
	t.Helper()
	return fetchtest.Listen(t, func(c net.Conn) {
		b := make([]byte, 512)
		if _, err := c.Read(b); err != nil { // greeting
			return
		}
		c.Write([]byte{5, 2}) // username/password
		if _, err := c.Read(b); err != nil {
			return
		}
		c.Write([]byte{1, 0})
		if _, err := c.Read(b); err != nil { // CONNECT
			return
		}
		c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	})
}

// With nothing listening at the proxy and nothing ever answered, the job
// stops with that cause at once: no circuit is replaced, no wait begins.
func TestNoProxyStopsAtStart(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	d, _ := dial.New("socks5h://" + dead)
	e, err := runEngine(t, fetch.Config{Workers: 8, Streams: 4, Source: &httpsrc.Source{Dialer: d}},
		"http://h.onion/a.bin", "http://h.onion/b.bin")
	var se *dial.SOCKSError
	if !errors.Is(err, dial.ErrNoProxy) || !errors.As(err, &se) || se.Proxy != dead {
		t.Fatalf("Run: %v", err)
	}
	if st := e.Status(); st.Renewals != 0 || st.Failed != 0 {
		t.Fatalf("renewals %d, failed %d: want none", st.Renewals, st.Failed)
	}
}

// After the source has answered, a failure on this side (tor restarted)
// is waited out with one backoff for all circuits, none replaced, until
// MaxWait gives up with a message naming host, wait and cause.
func TestLocalFailureLaterWaitsThenGivesUp(t *testing.T) {
	clock := newClock()
	cause := &fetch.TransientError{Err: errors.New("no SOCKS proxy"), Conn: true, Local: true}
	src := &flaky{clock: clock, step: time.Minute, good: "/a", fail: cause}
	// One worker: "a" answers first, then "b" finds the proxy gone.
	e, err := runEngine(t, fetch.Config{Workers: 1, Streams: 1, Source: src, Now: clock.Now, MaxWait: 30 * time.Minute},
		"http://h/a", "http://h/b")
	if !errors.Is(err, fetch.ErrUnreachable) || err.Error() != "source unreachable: h for 30m0s: no SOCKS proxy" {
		t.Fatalf("Run: %v", err)
	}
	if st := e.Status(); st.Renewals != 0 || st.Done != 1 || src.renewed != 0 {
		t.Fatalf("status %+v, renewed %d", st, src.renewed)
	}
	if src.gets < 30 {
		t.Fatalf("gave up after %d tries of a minute each", src.gets)
	}
}

// Circuit replacement has a budget: RenewBurst unproven new circuits at
// most, refilled one per RenewEvery; the refusals are counted.
func TestRenewalBudget(t *testing.T) {
	clock := newClock()
	cause := &fetch.TransientError{Err: errors.New("host unreachable"), Conn: true}
	src := &flaky{clock: clock, step: time.Second, good: "/a", fail: cause}
	e, err := runEngine(t, fetch.Config{Workers: 4, Streams: 2, Source: src, Now: clock.Now, MaxWait: 2 * time.Minute,
		RenewBurst: 3, RenewEvery: time.Hour}, "http://h/b")
	if !errors.Is(err, fetch.ErrUnreachable) {
		t.Fatalf("Run: %v", err)
	}
	st := e.Status()
	// (the tries under way when the job stopped count for neither)
	if st.Renewals != 3 || src.renewed != 3 || st.RenewalsDenied < src.gets-3-8 || st.RenewalsDenied > src.gets-3 {
		t.Fatalf("%d tries, %d renewals (%d at the conn), %d denied", src.gets, st.Renewals, src.renewed, st.RenewalsDenied)
	}
}
