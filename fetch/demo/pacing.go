package demo

import (
	"sync"
	"time"
)

// bucket is a token bucket that lends: reserve always takes the tokens, and
// a negative balance tells the caller how long to wait before sending. Callers
// that reserve one after another are therefore served in turn at the bucket's
// rate, and a caller that wakes late does not lose capacity. The time is an
// argument, so the arithmetic is exact in tests.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens (bytes) per second; <= 0 means unlimited
	burst  float64 // most tokens that can accumulate
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

// reserve takes n tokens at time now and returns how long to wait before
// the n bytes may be sent.
func (b *bucket) reserve(n int, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// setRate changes the rate from now on, keeping the balance.
func (b *bucket) setRate(rate, burst float64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.rate, b.burst = rate, burst
	b.tokens = min(b.tokens, burst)
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+b.rate*d.Seconds())
		b.last = now
	}
}

// chunkFor returns the write size for a stream at this speed: about 1/16 s
// of traffic, between 1 KiB and 16 KiB, so pacing stays smooth at tens of
// KB/s and cheap at MB/s.
func chunkFor(speed float64) int {
	if speed <= 0 {
		return 16 << 10
	}
	return int(min(max(speed/16, 1<<10), 16<<10))
}
