package fetch

import (
	"math/rand/v2"
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
