package rsyncsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/rsync"
)

// A daemon's "max connections" is a limit on sessions, not a failure: the
// first refusal sets the number of sessions grab runs against that module
// to the number it has open, and sessions beyond it wait for a free one.
// Every probeEvery sessions started at the limit, one more is tried, so
// that a limit set low by another client's sessions (or by daemon
// processes still exiting) climbs back.

const probeEvery = 32

// limiter counts the sessions open against one module.
type limiter struct {
	mu      sync.Mutex
	max     int // 0: no limit known
	open    int
	started int           // sessions started since the limit last moved
	wake    chan struct{} // closed when a session ends
}

func (s *Source) limiter(key string) *limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits == nil {
		s.limits = map[string]*limiter{}
	}
	l := s.limits[key]
	if l == nil {
		l = &limiter{wake: make(chan struct{})}
		s.limits[key] = l
	}
	return l
}

// acquire takes a session slot, waiting until deadline for one.
func (l *limiter) acquire(ctx context.Context, deadline time.Time) bool {
	for {
		l.mu.Lock()
		if l.max == 0 || l.open < l.max {
			l.open++
			l.mu.Unlock()
			return true
		}
		wake := l.wake
		l.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(left)
		select {
		case <-wake:
			t.Stop()
		case <-t.C:
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
}

func (l *limiter) release() {
	l.mu.Lock()
	l.open--
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}

// ok counts a session started; at the limit, now and then the limit
// rises by one to see whether the daemon takes more.
func (l *limiter) ok() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max == 0 {
		return
	}
	if l.started++; l.started >= probeEvery && l.open >= l.max {
		l.max++
		l.started = 0
	}
}

// busy lowers the limit to the sessions open now (at least one); it
// returns the new limit and whether it moved.
func (l *limiter) busy() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := max(l.open, 1)
	if l.max != 0 && n >= l.max {
		return l.max, false
	}
	l.max, l.started = n, 0
	return n, true
}

// slotConn gives its session slot back when closed.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// start starts a session within the module's session limit.
func (c *Conn) start(ctx context.Context, t target, paths []string, appendMode int, wrap func(net.Conn) net.Conn) (*rsync.Session, net.Conn, error) {
	lim := c.src.limiter(t.key())
	wait := c.src.BusyWait
	if wait <= 0 {
		wait = 8 * time.Second // under the engine's shortest wait for a first byte (10 s)
	}
	deadline := time.Now().Add(wait)
	var last error
	for try := 0; ; try++ {
		if try > 0 && !time.Now().Before(deadline) || !lim.acquire(ctx, deadline) {
			if ctx.Err() != nil {
				return nil, nil, &fetch.TransientError{Err: ctx.Err()}
			}
			if last == nil {
				last = fmt.Errorf("%w: no free session after %v", ErrBusy, wait)
			}
			// Not the file's fault: the engine tries it later, on
			// another circuit.
			return nil, nil, &fetch.TransientError{Err: last, RetryAfter: BusyRetry, Conn: true}
		}
		s, conn, err := c.startOnce(ctx, t, paths, appendMode, wrap)
		if err == nil {
			lim.ok()
			return s, &slotConn{Conn: conn, release: lim.release}, nil
		}
		lim.release()
		if !errors.Is(err, rsync.ErrTryAgain) {
			return nil, nil, err
		}
		last = err
		if n, moved := lim.busy(); moved {
			c.src.logger().Info("rsync daemon's max connections: fewer sessions", "module", t.key(), "sessions", n)
		}
		// A session just closed may still hold its daemon process.
		pause := time.NewTimer(min(50*time.Millisecond<<min(try, 5), time.Second))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
		}
	}
}
