package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grab-ir/grab/fetch"
	"github.com/grab-ir/grab/fetch/dial"
	"github.com/grab-ir/grab/fetch/jobdir"
	"github.com/grab-ir/grab/fetch/rate"
	"github.com/grab-ir/grab/fetch/tor"
)

const (
	// maxTorInstances bounds --tor-instances (package tor allows 64; each
	// tor costs memory and a bootstrap).
	maxTorInstances = 16
	// nymQuiet is how long a job may fetch nothing while requests fail
	// before grab asks tor for new circuits, and the least time between
	// two such requests.
	nymQuiet = 2 * time.Minute
	// watchEvery is how often the tor watch looks at the engine.
	watchEvery = 5 * time.Second
	// warnEvery is the least time between two stream failures logged as
	// warnings; the ones between go to the verbose log.
	warnEvery = 30 * time.Second
)

// torDataDir is where grab's tors keep their state: guards and the
// consensus survive a resume.
func torDataDir(out string) string { return jobdir.Dir(out).Tor() }

// torPreflight checks what --tor needs before anything is created or
// started: the tor binary and the --tor-config file. It returns the extra
// torrc lines.
func torPreflight(s *Settings) (string, error) {
	if _, err := tor.Find(s.TorPath); err != nil {
		return "", &HintError{Err: err, Hint: tor.HintNoTor}
	}
	if s.TorConfig == "" {
		return "", nil
	}
	b, err := os.ReadFile(s.TorConfig)
	if err != nil {
		return "", &HintError{Err: fmt.Errorf("--tor-config: %w", err), Hint: "--tor-config takes a file of torrc lines (bridges, for example)"}
	}
	return string(b), nil
}

// torRun is grab's own Tor for one run of a job.
type torRun struct {
	summary  atomic.Value // string: circuits, for the progress display
	t        *tor.Tor
	dialers  []*dial.Dialer // one per instance
	log      *slog.Logger
	failures atomic.Int64 // streams tor could not complete

	mu   sync.Mutex
	warn limiter // stream failures worth a warning
}

// startTor starts s.TorCount tors with their state in the job's folder and
// waits for them to bootstrap, telling boot of their progress. The tors
// live until close, or until ctx ends.
func startTor(ctx context.Context, boot func(instance, pct int, summary string), log *slog.Logger, s *Settings) (*torRun, error) {
	torrc, err := torPreflight(s)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(torDataDir(s.Output)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// tor would write its state, and grab its torrc, through it
		return nil, &HintError{Err: fmt.Errorf("%s %w", torDataDir(s.Output), fetch.ErrLink),
			Hint: "remove the link: grab makes tor's folder itself"}
	}
	r := &torRun{log: log, warn: limiter{every: warnEvery}}
	if boot == nil {
		boot = func(int, int, string) {}
	}
	t, err := tor.Start(ctx, tor.Options{
		DataDir:       torDataDir(s.Output),
		TorPath:       s.TorPath,
		ExtraTorrc:    torrc,
		Instances:     s.TorCount,
		Progress:      boot,
		StreamFailure: r.streamFailed,
		Log:           log,
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, fmt.Errorf("starting tor: %w", ctx.Err())
	case errors.Is(err, tor.ErrNoTor):
		return nil, &HintError{Err: err, Hint: tor.HintNoTor}
	case errors.Is(err, tor.ErrBootstrap):
		return nil, &HintError{Err: fmt.Errorf("starting tor: %w", err),
			Hint: "check the network and the system clock; a censored network needs bridges (--tor-config FILE); tor's state is in " + torDataDir(s.Output)}
	default:
		return nil, fmt.Errorf("starting tor: %w", err)
	}
	r.t = t
	for i := range s.TorCount {
		d, err := dial.New(t.ProxyURL(i))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("tor %d: %w", i, err)
		}
		r.dialers = append(r.dialers, d)
	}
	r.logCircuits(ctx, "tor ready")
	return r, nil
}

// logCircuits logs how many circuits the tors have built.
func (r *torRun) logCircuits(ctx context.Context, msg string) {
	built, onion, total, err := r.circuits(ctx)
	if err != nil {
		r.log.Info(msg, "circuits", "unknown: "+err.Error())
		return
	}
	r.log.Info(msg, "instances", len(r.dialers), "circuits_built", built, "onion_circuits", onion, "circuits", total)
}

// circuits counts the tors' circuits from their control ports, and keeps a
// one-line summary for the progress display.
func (r *torRun) circuits(ctx context.Context) (built, onion, total int, err error) {
	cs, err := r.t.Circuits(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, c := range cs {
		if c.Status == "BUILT" {
			built++
			if c.Purpose == "HS_CLIENT_REND" {
				onion++
			}
		}
	}
	r.summary.Store(fmt.Sprintf("tor: %d circuits built, %d to the onion", built, onion))
	return built, onion, len(cs), nil
}

// status is the circuit summary for the progress display ("" before the
// first look).
func (r *torRun) status() string {
	s, _ := r.summary.Load().(string)
	return s
}

// streamFailed is tor's report of a stream it could not complete. It must
// return quickly.
func (r *torRun) streamFailed(f tor.StreamFailure) {
	r.failures.Add(1)
	if f.Status != "FAILED" {
		r.log.Info("tor: " + f.String())
		return
	}
	r.mu.Lock()
	warn := r.warn.allow(time.Now())
	r.mu.Unlock()
	if warn {
		r.log.Warn("tor: " + f.String())
	} else {
		r.log.Info("tor: " + f.String())
	}
}

// watch looks at the engine every watchEvery and asks tor for new circuits
// (NEWNYM) when nothing has arrived for nymQuiet while requests fail. The
// returned function stops it and waits for it.
func (r *torRun) watch(ctx context.Context, status func() fetch.Status) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := nymWatch{quiet: nymQuiet}
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				r.circuits(ctx)
				s := status()
				fails := r.failures.Load() + int64(s.Renewals+s.Stalls)
				if !w.observe(now, s.Fetched, fails, s.Done+s.Failed < s.Files || s.ListingsDone < s.Listings) {
					continue
				}
				if err := r.t.NewNym(ctx); err != nil {
					r.log.Warn("tor: asking for new circuits (NEWNYM)", "err", err)
					continue
				}
				r.log.Warn(fmt.Sprintf("tor: nothing arrived for %s while requests failed: asked tor for new circuits (NEWNYM)", rate.Duration(w.quiet)))
				r.logCircuits(ctx, "tor circuits")
			}
		}
	}()
	return func() { cancel(); <-done }
}

// close stops the tors and waits for them.
func (r *torRun) close() {
	if err := r.t.Close(); err != nil {
		r.log.Info("tor: stopping", "err", err)
	}
}

// limiter allows one event per period.
type limiter struct {
	every time.Duration
	last  time.Time
}

func (l *limiter) allow(now time.Time) bool {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		return false
	}
	l.last = now
	return true
}

// nymWatch decides when to ask tor for new circuits: when a job with work
// left has received nothing for quiet while failures went on, and not
// again before another quiet period.
type nymWatch struct {
	quiet time.Duration

	started   bool
	bytes     int64     // Fetched when it last moved
	moved     time.Time // when it last moved (or the watch began)
	failsThen int64     // failures counted when it last moved
	lastNym   time.Time
}

// observe takes the engine's counters at now and says whether to NEWNYM.
func (w *nymWatch) observe(now time.Time, fetched, failures int64, pending bool) bool {
	if !w.started || fetched != w.bytes || !pending {
		w.started, w.bytes, w.moved, w.failsThen = true, fetched, now, failures
		return false
	}
	if failures == w.failsThen || now.Sub(w.moved) < w.quiet {
		return false
	}
	if !w.lastNym.IsZero() && now.Sub(w.lastNym) < w.quiet {
		return false
	}
	w.lastNym = now
	return true
}
