package job

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// runLog is a job's logger: every record goes to the caller's logger, to
// the --log file (every message, with its time) and, for warnings and
// errors, to the events its status shows. close closes the file.
func runLog(log *slog.Logger, file string, ev *events) (l *slog.Logger, close func(), err error) {
	hs := fanout{slog.DiscardHandler, &eventsHandler{ev: ev}}
	if log != nil {
		hs[0] = log.Handler()
	}
	close = func() {}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, &UsageError{Msg: fmt.Sprintf("--log: %v", err)}
		}
		hs = append(hs, slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
		close = sync.OnceFunc(func() { f.Close() })
	}
	return slog.New(hs), close, nil
}

// fanout hands every record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// events keeps the last warnings and errors a job logged, for its status.
type events struct {
	mu   sync.Mutex
	last []Event
}

const keepEvents = 10

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = append(e.last, ev)
	if len(e.last) > keepEvents {
		e.last = e.last[len(e.last)-keepEvents:]
	}
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event{}, e.last...)
}

// eventsHandler keeps the warnings and errors in events, as one line
// with their attributes.
type eventsHandler struct {
	ev    *events
	attrs []slog.Attr
}

func (h *eventsHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *eventsHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.ev.add(Event{Time: r.Time, Message: Clean(b.String())})
	return nil
}

func (h *eventsHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventsHandler{ev: h.ev, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *eventsHandler) WithGroup(string) slog.Handler { return h }
