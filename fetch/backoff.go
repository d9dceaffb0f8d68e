package fetch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// Backoff is exponential backoff with equal jitter: the n-th failure in a
// row waits a random time in [Base·2^(n-1)/2, Base·2^(n-1)], at most Max.
type Backoff struct {
	Base, Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Max <= 0 {
		b.Max = time.Minute
	}
	return b
}

// Delay is the wait after the n-th failure in a row (n >= 1).
func (b Backoff) Delay(n int, r *rand.Rand) time.Duration {
	b = b.withDefaults()
	d := b.Max
	if n < 31 {
		d = min(b.Base<<(n-1), b.Max)
	}
	half := d / 2
	return half + time.Duration(r.Int64N(int64(half)+1))
}

// hostState is the backoff of one host while it cannot be reached.
type hostState struct {
	fails     int
	since     time.Time // of the first failure in a row
	notBefore time.Time
	lastErr   string
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return strings.ToLower(u.Host)
}

// hostDown records a failure to reach a host; after three in a row (across
// circuits, with no success between) the host backs off as a whole, one
// backoff for all circuits. It says so once, when the wait begins (the
// status carries the next try); with Config.MaxWait, a host unreachable
// that long stops the job. e.mu is held.
func (e *Engine) hostDown(host string, err error) {
	now := e.cfg.Now()
	h := e.hosts[host]
	if h == nil {
		h = &hostState{since: now}
		e.hosts[host] = h
	}
	h.fails++
	h.lastErr = err.Error()
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		// the cause without net/http's Get "URL": (the host is said
		// beside it)
		h.lastErr = ue.Err.Error()
	}
	if max := e.cfg.MaxWait; max > 0 && now.Sub(h.since) >= max {
		e.stopLocked(fmt.Errorf("%w: %s for %v: %w", ErrUnreachable, host, max, err))
		return
	}
	if h.fails >= 3 {
		d := e.cfg.Backoff.Delay(h.fails-2, e.cfg.Rand)
		h.notBefore = now.Add(d)
		if max := e.cfg.MaxWait; max > 0 {
			h.notBefore = minTime(h.notBefore, h.since.Add(max)) // the last try comes on time
		}
		switch {
		case h.fails > 3:
		case e.cfg.MaxWait > 0:
			e.log.Warn("source unreachable, waiting", "host", host, "gives up", h.since.Add(e.cfg.MaxWait).Format("15:04:05"), "err", err)
		default:
			e.log.Warn("source unreachable, waiting (--max-wait gives up after a while)", "host", host, "err", err)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// hostUp records that a host answered. It takes e.mu.
func (e *Engine) hostUp(host string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hostUpLocked(host)
}

// hostUpLocked is hostUp with e.mu held.
func (e *Engine) hostUpLocked(host string) {
	if h := e.hosts[host]; h != nil && h.fails > 0 {
		if h.fails >= 3 {
			e.log.Info("source reachable again", "host", host)
		}
		delete(e.hosts, host)
	}
}

// hostWait is how long work on host must wait. e.mu is held.
func (e *Engine) hostWait(host string, now time.Time) time.Duration {
	if h := e.hosts[host]; h != nil {
		return h.notBefore.Sub(now)
	}
	return 0
}
