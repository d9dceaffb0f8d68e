package main

import (
	"fmt"
	"sync"
	"time"
)

// bootEvery is the least time between two bootstrap lines of one tor.
const bootEvery = 3 * time.Second

// bootPrinter prints tor's bootstrap progress as "grab: tor: bootstrapped
// 45%: summary", at most every `every` per tor, and always 100%.
type bootPrinter struct {
	u         *ui
	instances int
	every     time.Duration

	mu   sync.Mutex
	last map[int]bootLine
}

type bootLine struct {
	at  time.Time
	pct int
}

func (b *bootPrinter) report(now time.Time, i, pct int, summary string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[int]bootLine{}
	}
	l, seen := b.last[i]
	if seen && (pct <= l.pct || (pct < 100 && now.Sub(l.at) < b.every)) {
		return
	}
	b.last[i] = bootLine{at: now, pct: pct}
	who := "tor"
	if b.instances > 1 {
		who = fmt.Sprintf("tor %d", i)
	}
	b.u.printf("%s: bootstrapped %d%%: %s", who, pct, summary)
}
