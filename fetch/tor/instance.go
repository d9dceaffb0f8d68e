package tor

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
	bine "github.com/cretz/bine/tor"
)

// instance is one tor process with its control connection.
//
// bine's control.Conn deadlocks when two requests are in flight at once, so
// every request holds mu. Its events reach a channel only while some
// goroutine reads the connection: loop does that for the instance's whole
// life, and consume drains the channel, which must never block for long
// because bine sends to it while holding the connection's read lock.
type instance struct {
	n        int
	log      *slog.Logger
	dir      string
	proc     *proc
	socks    string
	onStream func(StreamFailure)

	mu     sync.Mutex // held for each control request
	bt     *bine.Tor
	closed bool

	events       chan control.Event
	loopDone     chan struct{} // closed when the connection reader ended
	consumerDone chan struct{} // closed when consume returned

	st         sync.Mutex
	phase      phase  // latest bootstrap status
	lastWarn   string // tor's last warning (log event or bootstrap warning)
	lastNotice string
	changed    chan struct{} // a token when phase changed

	closeOnce sync.Once
	closeErr  error
}

// startInstance starts tor number n with DataDirectory dir and waits for it
// to bootstrap.
func startInstance(ctx context.Context, o Options, path, dir string, n int) (_ *instance, err error) {
	log := o.Log.With("tor", n)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("instance %d: %w", n, err)
	}
	removeStale(dir)
	rc := filepath.Join(dir, "grab-torrc")
	defaults := filepath.Join(dir, "grab-torrc-defaults")
	if err := os.WriteFile(rc, []byte(o.ExtraTorrc+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("instance %d: %w", n, err)
	}
	if err := os.WriteFile(defaults, nil, 0o600); err != nil {
		return nil, fmt.Errorf("instance %d: %w", n, err)
	}
	cr := &creator{path: path, log: log, made: make(chan *proc, 1)}
	conf := &bine.StartConf{
		ProcessCreator:  cr,
		DataDir:         dir,
		TorrcFile:       rc,
		NoAutoSocksPort: true,
		ExtraArgs: []string{
			// Never read /etc/tor/torrc-defaults: a system's SocksPort 9050
			// or RunAsDaemon must not leak in.
			"--defaults-torrc", defaults,
			// "auto" binds 127.0.0.1; ExtendedErrors gives onion-specific
			// SOCKS replies that package dial puts in words.
			"--SocksPort", "auto ExtendedErrors",
			"--RunAsDaemon", "0",
			// Tor exits by itself if grab's pid disappears.
			"--__OwningControllerProcess", strconv.Itoa(os.Getpid()),
		},
	}
	started := time.Now()
	bt, err := bine.Start(ctx, conf)
	var p *proc
	select {
	case p = <-cr.made:
	default:
	}
	if err != nil {
		if p != nil {
			p.stop(stopWait)
			if ctx.Err() == nil && p.err != nil {
				// Tor failed on its own (bad torrc, DataDirectory in use):
				// its words say more than bine's.
				err = p.exitErr()
			}
		}
		return nil, fmt.Errorf("instance %d: starting tor: %w", n, err)
	}
	in := &instance{
		n: n, log: log, dir: dir, proc: p, bt: bt, onStream: o.StreamFailure,
		events:       make(chan control.Event, 256),
		loopDone:     make(chan struct{}),
		consumerDone: make(chan struct{}),
		changed:      make(chan struct{}, 1),
	}
	defer func() {
		if err != nil {
			in.close()
			err = fmt.Errorf("instance %d: %w", n, err)
		}
	}()
	go in.loop()
	go in.consume()
	if err = in.setup(); err != nil {
		return nil, err
	}
	if err = in.enableNetwork(ctx); err != nil {
		return nil, err
	}
	if err = in.findSOCKS(ctx); err != nil {
		return nil, err
	}
	if err = in.waitBootstrap(ctx, o.Stall, o.Progress); err != nil {
		return nil, err
	}
	log.Info("tor bootstrapped", "socks", in.socks, "took", time.Since(started).Round(time.Millisecond))
	return in, nil
}

// setup ties tor's life to the control connection and subscribes to
// events.
func (in *instance) setup() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.bt.Control
	if err := c.TakeOwnership(); err != nil {
		return fmt.Errorf("%w: TAKEOWNERSHIP: %w", ErrControl, err)
	}
	codes := []control.EventCode{control.EventCodeStatusClient, control.EventCodeLogWarn, control.EventCodeLogErr, control.EventCodeLogNotice}
	if in.onStream != nil {
		codes = append(codes, control.EventCodeStream)
	}
	if err := c.AddEventListener(in.events, codes...); err != nil {
		return fmt.Errorf("%w: SETEVENTS: %w", ErrControl, err)
	}
	return nil
}

func (in *instance) enableNetwork(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.bt.EnableNetwork(ctx, false); err != nil {
		return fmt.Errorf("%w: enabling the network: %w", ErrControl, err)
	}
	return nil
}

// findSOCKS asks tor for its SOCKS listener, which it opens only once the
// network is enabled.
func (in *instance) findSOCKS(ctx context.Context) error {
	for try := 0; ; try++ {
		var val string
		err := in.do(ctx, func(c *control.Conn) error {
			kv, err := c.GetInfo("net/listeners/socks")
			if err != nil {
				return fmt.Errorf("%w: GETINFO net/listeners/socks: %w", ErrControl, err)
			}
			if len(kv) != 1 {
				return fmt.Errorf("%w: GETINFO net/listeners/socks: %d values", ErrControl, len(kv))
			}
			val = kv[0].Val
			return nil
		})
		if err != nil {
			return err
		}
		if val == "" && try < 100 {
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-in.proc.done:
				return in.proc.exitErr()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		addr, _, _ := strings.Cut(val, " ")
		ap, err := netip.ParseAddrPort(strings.Trim(addr, `"`))
		if err != nil || !ap.Addr().IsLoopback() {
			return fmt.Errorf("%w: SOCKS listener %q is not a loopback address", ErrControl, val)
		}
		in.socks = ap.String()
		return nil
	}
}

// loop reads the control connection until it closes, which lets bine
// deliver events between requests.
func (in *instance) loop() {
	defer close(in.loopDone)
	err := in.bt.Control.HandleEvents(context.Background())
	in.log.Debug("control connection ended", "err", err)
}

// consume handles events until the reader has ended and the channel is
// empty.
func (in *instance) consume() {
	defer close(in.consumerDone)
	for {
		select {
		case ev := <-in.events:
			in.handle(ev)
		case <-in.loopDone:
			for {
				select {
				case ev := <-in.events:
					in.handle(ev)
				default:
					return
				}
			}
		}
	}
}

func (in *instance) handle(ev control.Event) {
	switch ev := ev.(type) {
	case *control.StatusEvent:
		if ev.Action != "BOOTSTRAP" {
			in.log.Debug("tor status", "event", ev.Raw)
			return
		}
		ph, err := parsePhase(ev.Raw)
		if err != nil {
			in.log.Debug("tor status", "err", err)
			return
		}
		in.note(ph)
	case *control.LogEvent:
		msg := strings.TrimSpace(ev.Raw)
		in.st.Lock()
		if ev.Severity == control.EventCodeLogNotice {
			in.lastNotice = msg
		} else {
			in.lastWarn = msg
		}
		in.st.Unlock()
		if ev.Severity == control.EventCodeLogNotice {
			in.log.Debug("tor notice", "msg", msg)
		} else {
			in.log.Warn("tor warning", "msg", msg)
		}
	case *control.StreamEvent:
		if f, ok := streamFailure(in.n, ev); ok {
			in.log.Debug("stream failed", "stream", f.String())
			in.onStream(f)
		}
	}
}

// note records a bootstrap status if it is not older than the one known.
func (in *instance) note(ph phase) {
	in.st.Lock()
	defer in.st.Unlock()
	if ph.Warning != "" {
		in.lastWarn = ph.Warning
		if ph.Reason != "" {
			in.lastWarn += " (" + ph.Reason + ")"
		}
	}
	if ph.Progress < in.phase.Progress || (ph.Progress == in.phase.Progress && ph.Tag == in.phase.Tag) {
		return
	}
	in.phase = ph
	select {
	case in.changed <- struct{}{}:
	default:
	}
}

// lastMessage describes tor's last warning, else its last notice.
func (in *instance) lastMessage() string {
	in.st.Lock()
	defer in.st.Unlock()
	switch {
	case in.lastWarn != "":
		return "tor's last warning: " + in.lastWarn
	case in.lastNotice != "":
		return "tor's last notice: " + in.lastNotice
	}
	return "tor said nothing"
}

// waitBootstrap polls and listens until tor reports 100%, fails with
// ErrBootstrap when the percentage has not risen for stall, and stops early
// when ctx ends or tor exits.
func (in *instance) waitBootstrap(ctx context.Context, stall time.Duration, progress func(int, int, string)) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stuck := time.NewTimer(stall)
	defer stuck.Stop()
	best, reported := -1, phase{Progress: -1}
	for {
		if ph, err := in.bootstrapPhase(ctx); err == nil {
			in.note(ph)
		}
		in.st.Lock()
		ph := in.phase
		in.st.Unlock()
		if ph.Progress > best {
			best = ph.Progress
			stuck.Reset(stall)
		}
		if progress != nil && (ph.Progress != reported.Progress || ph.Summary != reported.Summary) {
			progress(in.n, ph.Progress, ph.Summary)
			reported = ph
		}
		if ph.Progress == 100 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bootstrap at %d%%: %w", ph.Progress, context.Cause(ctx))
		case <-in.proc.done:
			if ctx.Err() != nil {
				return fmt.Errorf("bootstrap at %d%%: %w", ph.Progress, context.Cause(ctx))
			}
			return fmt.Errorf("bootstrap at %d%%: %w", ph.Progress, in.proc.exitErr())
		case <-stuck.C:
			return fmt.Errorf("%w at %d%% (%s) for %s; %s", ErrBootstrap, ph.Progress, ph.Summary, stall, in.lastMessage())
		case <-in.changed:
		case <-tick.C:
		}
	}
}

// do runs f with the control connection, unless ctx ends first (f then
// finishes in the background: a caller must not read what f writes unless
// do returned nil).
func (in *instance) do(ctx context.Context, f func(c *control.Conn) error) error {
	res := make(chan error, 1)
	go func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.closed {
			res <- ErrClosed
			return
		}
		res <- f(in.bt.Control)
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (in *instance) bootstrapPhase(ctx context.Context) (phase, error) {
	var ph phase
	err := in.do(ctx, func(c *control.Conn) error {
		kv, err := c.GetInfo("status/bootstrap-phase")
		if err != nil {
			return fmt.Errorf("%w: GETINFO status/bootstrap-phase: %w", ErrControl, err)
		}
		if len(kv) != 1 {
			return fmt.Errorf("%w: GETINFO status/bootstrap-phase: %d values", ErrControl, len(kv))
		}
		ph, err = parsePhase(kv[0].Val)
		return err
	})
	if err != nil {
		return phase{}, err // f may still be running if ctx ended: ph is not ours to read
	}
	return ph, nil
}

func (in *instance) circuits(ctx context.Context) ([]Circuit, error) {
	var cs []Circuit
	err := in.do(ctx, func(c *control.Conn) error {
		kv, err := c.GetInfo("circuit-status")
		if err != nil {
			return fmt.Errorf("%w: GETINFO circuit-status: %w", ErrControl, err)
		}
		var body strings.Builder
		for _, v := range kv {
			body.WriteString(v.Val)
			body.WriteByte('\n')
		}
		cs, err = parseCircuits(in.n, body.String())
		return err
	})
	if err != nil {
		return nil, err // f may still be running if ctx ended: cs is not ours to read
	}
	return cs, nil
}

func (in *instance) signal(ctx context.Context, name string) error {
	return in.do(ctx, func(c *control.Conn) error {
		if err := c.Signal(name); err != nil {
			return fmt.Errorf("%w: SIGNAL %s: %w", ErrControl, name, err)
		}
		return nil
	})
}

// close halts tor, closes the control connection and waits for the process
// and the event goroutines to end.
func (in *instance) close() error {
	in.closeOnce.Do(func() {
		halted := make(chan struct{})
		go func() {
			defer close(halted)
			in.mu.Lock()
			defer in.mu.Unlock()
			in.closed = true
			// bine sends HALT, closes the connection and waits 300 ms for
			// the process; a slower exit is not an error here, the wait
			// below is longer.
			if err := in.bt.Close(); err != nil {
				in.log.Debug("bine close", "err", err)
			}
		}()
		t := time.NewTimer(stopWait)
		select {
		case <-halted:
		case <-t.C:
			in.proc.kill() // closes the connection, which unblocks bine
			<-halted
		}
		t.Stop()
		if in.proc.stop(stopWait) {
			in.closeErr = fmt.Errorf("instance %d: tor did not exit within %s of HALT and was killed", in.n, stopWait)
		}
		<-in.loopDone
		<-in.consumerDone
		removeStale(in.dir)
	})
	return in.closeErr
}
