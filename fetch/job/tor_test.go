package job

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grab-ir/grab/fetch/tor"
)

func TestTorAbsPaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{TorConfig: "torrc", TorPath: "tor"}
	if err := s.AbsPaths(); err != nil {
		t.Fatal(err)
	}
	if s.TorConfig != filepath.Join(wd, "torrc") || s.TorPath != "tor" {
		t.Fatalf("%+v", s)
	}
	s = Settings{TorPath: "bin/tor"}
	if s.AbsPaths(); s.TorPath != filepath.Join(wd, "bin/tor") {
		t.Fatalf("%+v", s)
	}
}

func TestTorNymWatch(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := nymWatch{quiet: 2 * time.Minute}
	for _, step := range []struct {
		sec     int
		fetched int64
		fails   int64
		pending bool
		want    bool
	}{
		{0, 100, 0, true, false},
		{60, 200, 3, true, false},    // bytes move: the clock restarts at 60
		{179, 200, 9, true, false},   // 119 s without bytes
		{180, 200, 9, true, true},    // 120 s without bytes while requests failed
		{200, 200, 12, true, false},  // not again so soon
		{299, 200, 15, true, false},  // 119 s after the last NEWNYM
		{300, 200, 15, true, true},   // a further quiet period: again
		{310, 300, 15, true, false},  // bytes again
		{500, 300, 15, true, false},  // quiet, but nothing failed since: the source is just slow
		{520, 300, 15, false, false}, // all done
		{900, 300, 20, false, false}, // nothing pending: never
	} {
		if got := w.observe(at(step.sec), step.fetched, step.fails, step.pending); got != step.want {
			t.Fatalf("at %ds: %v, want %v", step.sec, got, step.want)
		}
	}
}

func TestTorLimiter(t *testing.T) {
	l := limiter{every: 30 * time.Second}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var got []string
	for _, s := range []int{0, 1, 29, 30, 31, 70} {
		if l.allow(t0.Add(time.Duration(s) * time.Second)) {
			got = append(got, time.Duration(s*int(time.Second)).String())
		}
	}
	if strings.Join(got, " ") != "0s 30s 1m10s" {
		t.Fatalf("allowed at %v", got)
	}
}

// Stream failures are logged in words: the first failure of a burst as a
// warning, the rest and the detached streams only with -v.
func TestTorStreamFailureLog(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		lvl := slog.LevelWarn
		if verbose {
			lvl = slog.LevelInfo
		}
		r := &torRun{log: slog.New(lineHandler{w: &out, level: lvl}), warn: limiter{every: time.Hour}}
		f := tor.StreamFailure{Target: "xxxx.onion:80", Status: "FAILED", Reason: "TIMEOUT"}
		r.streamFailed(f)
		r.streamFailed(f)
		r.streamFailed(tor.StreamFailure{Target: "xxxx.onion:80", Status: "DETACHED", Reason: "TIMEOUT", Instance: 1})
		want := "warn: tor: stream to xxxx.onion:80 failed: timed out waiting for an answer (tor 0: TIMEOUT)\n"
		if verbose {
			want += "tor: stream to xxxx.onion:80 failed: timed out waiting for an answer (tor 0: TIMEOUT)\n" +
				"tor: stream to xxxx.onion:80 was detached from its circuit (tor retries on another): timed out waiting for an answer (tor 1: TIMEOUT)\n"
		}
		if out.String() != want {
			t.Errorf("verbose %v, got:\n%s\nwant:\n%s", verbose, out.String(), want)
		}
		if n := r.failures.Load(); n != 3 {
			t.Errorf("%d failures counted, want 3", n)
		}
	}
}

// lineHandler writes each record as "[warn: ]message\n", as grab's own
// handler does without its prefix.
type lineHandler struct {
	w     io.Writer
	level slog.Level
}

func (h lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	prefix := ""
	if r.Level >= slog.LevelWarn {
		prefix = strings.ToLower(r.Level.String()) + ": "
	}
	_, err := io.WriteString(h.w, prefix+r.Message+"\n")
	return err
}
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h lineHandler) WithGroup(string) slog.Handler      { return h }
