package rate

import (
	"fmt"
	"time"
)

// Meter turns samples of a monotonic byte counter into a rate.
type Meter struct {
	Window  time.Duration // 30s if zero
	MinSpan time.Duration // minimum span of samples before Rate is known; 3s if zero
	samples []sample
}

type sample struct {
	at time.Time
	n  int64
}

// Observe records the counter's value n at time now.
func (m *Meter) Observe(now time.Time, n int64) {
	m.samples = append(m.samples, sample{now, n})
	w := m.window()
	i := 0
	for i < len(m.samples)-2 && now.Sub(m.samples[i+1].at) >= w {
		i++
	}
	m.samples = m.samples[i:]
}

func (m *Meter) window() time.Duration {
	if m.Window <= 0 {
		return 30 * time.Second
	}
	return m.Window
}

// Rate is bytes per second over the window, and whether it is known yet.
func (m *Meter) Rate() (float64, bool) {
	if len(m.samples) < 2 {
		return 0, false
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	span := last.at.Sub(first.at)
	minSpan := m.MinSpan
	if minSpan <= 0 {
		minSpan = 3 * time.Second
	}
	if span < minSpan {
		return 0, false
	}
	return float64(last.n-first.n) / span.Seconds(), true
}

// ETA is the time to move remaining bytes at the current rate; ok is false
// while the rate is unknown or zero.
func (m *Meter) ETA(remaining int64) (time.Duration, bool) {
	r, ok := m.Rate()
	if !ok || r <= 0 {
		return 0, false
	}
	return time.Duration(float64(remaining) / r * float64(time.Second)), true
}

// Bytes formats n in binary units: "512 B", "1.5 KiB", "48.0 MiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Speed formats bytes per second in decimal units, as link speeds are given: "230 kB/s".
func Speed(bps float64) string {
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.2f MB/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.0f kB/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f B/s", bps)
}

// Duration formats an ETA: "45s", "12m05s", "52h10m".
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
