package job

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The caller's logger keeps its level; the log file gets info and up with
// times; the status events get warnings and errors with their attributes.
func TestRunLog(t *testing.T) {
	var shown bytes.Buffer
	file := filepath.Join(t.TempDir(), "run.log")
	ev := &events{}
	l, closeLog, err := runLog(slog.New(slog.NewTextHandler(&shown, &slog.HandlerOptions{Level: slog.LevelWarn})), file, ev)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("never")
	l.Info("file done", "path", "a.jpg")
	l.With("host", "x.onion").Warn("retrying", "err", "reset")
	closeLog()
	closeLog() // a second close is harmless
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); strings.Count(got, "time=") != 2 || !strings.Contains(got, `msg="file done" path=a.jpg`) ||
		!strings.Contains(got, "msg=retrying host=x.onion err=reset") || strings.Contains(got, "never") {
		t.Errorf("log file:\n%s", got)
	}
	if got := shown.String(); strings.Contains(got, "file done") || !strings.Contains(got, "retrying") {
		t.Errorf("shown:\n%s", got)
	}
	if got := ev.list(); len(got) != 1 || got[0].Message != "retrying host=x.onion err=reset" {
		t.Errorf("events: %+v", got)
	}
	if _, _, err := runLog(nil, filepath.Join(t.TempDir(), "no", "run.log"), ev); err == nil {
		t.Error("no error for a log file that cannot be made")
	}
}
