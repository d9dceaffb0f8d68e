package rate

import (
	"context"
	"sync"
	"time"
)

// Limiter caps a flow at Rate bytes per second with a burst of one second's
// worth. The zero Rate means no limit. It is safe for concurrent use.
type Limiter struct {
	Rate float64
	Now  func() time.Time // time.Now if nil

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// Delay takes n bytes from the bucket and says how long the caller must
// wait before using them.
func (l *Limiter) Delay(n int) time.Duration {
	if l == nil || l.Rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	if l.last.IsZero() {
		l.tokens = l.Rate
	} else {
		l.tokens = min(l.Rate, l.tokens+now.Sub(l.last).Seconds()*l.Rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.Rate * float64(time.Second))
}

// Wait takes n bytes and sleeps as long as the limit requires.
func (l *Limiter) Wait(ctx context.Context, n int) error {
	d := l.Delay(n)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
