package rate

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := Meter{Window: 10 * time.Second}
	m.Observe(t0, 0)
	if _, ok := m.Rate(); ok {
		t.Fatal("rate known from one sample")
	}
	m.Observe(t0.Add(time.Second), 100)
	if _, ok := m.ETA(1000); ok {
		t.Fatal("ETA known after 1s")
	}
	for i := 2; i <= 20; i++ {
		m.Observe(t0.Add(time.Duration(i)*time.Second), int64(i)*100)
	}
	if r, ok := m.Rate(); !ok || r != 100 {
		t.Fatalf("rate %v %v, want 100", r, ok)
	}
	// The link slows to 10 B/s: after a window the old speed is forgotten.
	for i := 21; i <= 40; i++ {
		m.Observe(t0.Add(time.Duration(i)*time.Second), 2000+int64(i-20)*10)
	}
	if r, _ := m.Rate(); r != 10 {
		t.Fatalf("rate %v after slowing, want 10", r)
	}
	if eta, ok := m.ETA(600); !ok || eta != time.Minute {
		t.Fatalf("ETA %v %v, want 1m", eta, ok)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Bytes(512), "512 B"}, {Bytes(1536), "1.5 KiB"}, {Bytes(48 << 20), "48.0 MiB"}, {Bytes(3 << 40), "3.0 TiB"},
		{Speed(230e3), "230 kB/s"}, {Speed(3.2e6), "3.20 MB/s"},
		{Duration(45 * time.Second), "45s"}, {Duration(725 * time.Second), "12m05s"}, {Duration(52*time.Hour + 10*time.Minute), "52h10m"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now := t0
	l := &Limiter{Rate: 1000, Now: func() time.Time { return now }}
	if d := l.Delay(1000); d != 0 {
		t.Fatalf("burst: %v", d)
	}
	if d := l.Delay(500); d != 500*time.Millisecond {
		t.Fatalf("over the burst: %v, want 500ms", d)
	}
	now = now.Add(1500 * time.Millisecond) // the debt is paid and 1000 more accrue
	if d := l.Delay(1000); d != 0 {
		t.Fatalf("after waiting: %v", d)
	}
	var none *Limiter
	if none.Delay(1<<30) != 0 {
		t.Fatal("nil limiter limits")
	}
}
