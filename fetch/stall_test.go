package fetch_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch"
)

// drip is a body that brings one byte per read (none without bytes), the
// clock moving on by every before each. It never ends by itself: only
// its request's cancellation stops it.
type drip struct {
	ctx   context.Context
	clock *syncClock
	every time.Duration
	bytes bool
}

func (d *drip) Read(p []byte) (int, error) {
	d.clock.add(d.every)
	select {
	case <-d.ctx.Done():
		return 0, d.ctx.Err()
	case <-time.After(150 * time.Millisecond): // the watch looks in real time, at the clock's time
	}
	if !d.bytes {
		return 0, nil
	}
	p[0] = 'd'
	return 1, nil
}

type dripSource struct {
	clock *syncClock
	every time.Duration
	bytes bool
}

func (s dripSource) Conn(int) fetch.Conn { return s }
func (s dripSource) Close() error        { return nil }
func (s dripSource) Get(ctx context.Context, r fetch.Request) (*fetch.Stream, error) {
	return &fetch.Stream{Body: io.NopCloser(&drip{ctx: ctx, clock: s.clock, every: s.every, bytes: s.bytes}),
		Offset: r.Range.Start, Len: r.Range.End - r.Range.Start, Size: 1 << 20}, nil
}

// A byte every 0.7 s never leaves a request idle for its 1 s stall limit,
// yet it is far below MinRate: it stalls, and on every try the file is
// given up after --retries.
func TestTrickleIsAStall(t *testing.T) {
	clock := newClock()
	e, err := runEngine(t, fetch.Config{Workers: 1, Streams: 1, StallTimeout: time.Second, Retries: 1, Now: clock.Now,
		Source: dripSource{clock: clock, every: 700 * time.Millisecond, bytes: true}}, "http://h/x")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v", err)
	}
	st := e.Status()
	if f := e.Files()[0]; st.Stalls < 2 || f.State != fetch.Failed || !f.Again || !strings.HasPrefix(f.Err, "giving up after 2 tries: stalled: under 64 B/s (") {
		t.Fatalf("%d stalls, file %v %q", st.Stalls, f.State, f.Err)
	}
}

// --retries counts stalls: a file that brings nothing on any circuit is
// given up, not tried for ever.
func TestStallsCountAgainstRetries(t *testing.T) {
	clock := newClock()
	e, err := runEngine(t, fetch.Config{Workers: 1, Streams: 1, StallTimeout: time.Second, Retries: 2, Now: clock.Now,
		Source: dripSource{clock: clock, every: 10 * time.Second}}, "http://h/x")
	if !errors.Is(err, fetch.ErrFailed) {
		t.Fatalf("Run: %v", err)
	}
	if f := e.Files()[0]; e.Status().Stalls != 3 || f.Err != "giving up after 3 tries: stalled: no data for 1s at byte 0 of x" {
		t.Fatalf("%d stalls, file %v %q", e.Status().Stalls, f.State, f.Err)
	}
}
