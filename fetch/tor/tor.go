package tor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// DefaultStall is how long a bootstrap may stay at one percentage before
// Start gives up with ErrBootstrap.
const DefaultStall = 3 * time.Minute

// Options configures Start. DataDir is required.
type Options struct {
	// DataDir holds the tors' state (grab uses DIR/.grab/tor); instance i
	// uses DataDir/i as its DataDirectory, so guards and the consensus
	// survive a restart.
	DataDir string
	// TorPath is the tor binary; "" means tor from PATH, then /usr/sbin,
	// /usr/bin, /usr/local/sbin and /usr/local/bin.
	TorPath string
	// ExtraTorrc is appended to each tor's configuration (the contents of
	// --tor-config: bridges, or a private network's DirAuthority lines).
	// Ports, DataDirectory and RunAsDaemon are grab's and override it.
	ExtraTorrc string
	// Instances is the number of tors to run (0 means 1).
	Instances int
	// Stall bounds how long a bootstrap may make no progress (0 means
	// DefaultStall).
	Stall time.Duration
	// Progress, if not nil, is called during Start whenever an instance's
	// bootstrap percentage or phase changes. Calls for different instances
	// may come from different goroutines at the same time.
	Progress func(instance, percent int, summary string)
	// StreamFailure, if not nil, is called for every stream tor could not
	// complete or moved to another circuit, from the instance's event
	// goroutine. It must return quickly: tor's events wait for it.
	StreamFailure func(StreamFailure)
	// Log receives tor's warnings and grab's own notes about tor; nil
	// discards them.
	Log *slog.Logger
}

// Tor is one or more running tor processes, each with its own SOCKS port,
// control connection and DataDirectory. Its methods are safe for concurrent
// use.
type Tor struct {
	inst []*instance

	closeOnce sync.Once
	closeErr  error
}

func (o Options) validate() (Options, error) {
	if o.DataDir == "" {
		return o, fmt.Errorf("%w: DataDir is empty", ErrOptions)
	}
	if o.Instances == 0 {
		o.Instances = 1
	}
	if o.Instances < 1 || o.Instances > 64 {
		return o, fmt.Errorf("%w: Instances %d is not within 1..64", ErrOptions, o.Instances)
	}
	if o.Stall == 0 {
		o.Stall = DefaultStall
	}
	if o.Stall < 0 {
		return o, fmt.Errorf("%w: Stall %s is negative", ErrOptions, o.Stall)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Find returns the tor binary Start would run for Options.TorPath path ("" to
// search), or an ErrNoTor error: a caller can check before it creates
// anything.
func Find(path string) (string, error) { return findTor(path) }

// findTor resolves the tor binary: the explicit path, else PATH, else the
// sbin and bin directories that ordinary users' PATH often lacks.
func findTor(explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("%w: %s: %w", ErrNoTor, explicit, err)
		}
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath("tor"); err == nil {
		return filepath.Abs(p)
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		if p, err := exec.LookPath(filepath.Join(d, "tor")); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tor is not in PATH, /usr/sbin or /usr/bin", ErrNoTor)
}

// Start starts o.Instances tors in parallel and returns when all of them
// have bootstrapped to 100%. ctx bounds the tors' whole life, not just the
// start: cancelling it stops them (SIGTERM, SIGKILL after 10 s), as
// exec.CommandContext does. Close must still be called to wait for them. On
// error nothing is left running.
func Start(ctx context.Context, o Options) (*Tor, error) {
	o, err := o.validate()
	if err != nil {
		return nil, err
	}
	path, err := findTor(o.TorPath)
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("%w: DataDir: %w", ErrOptions, err)
	}
	t := &Tor{inst: make([]*instance, o.Instances)}
	errs := make([]error, o.Instances)
	var wg sync.WaitGroup
	for i := range t.inst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.inst[i], errs[i] = startInstance(ctx, o, path, filepath.Join(dataDir, fmt.Sprint(i)), i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// SOCKSAddrs returns each instance's SOCKS address, "127.0.0.1:port".
func (t *Tor) SOCKSAddrs() []string {
	out := make([]string, len(t.inst))
	for i, in := range t.inst {
		out[i] = in.socks
	}
	return out
}

// ProxyURL returns instance i's SOCKS address as a proxy URL for dial.New,
// "socks5h://127.0.0.1:port". i must be within 0..Instances-1.
func (t *Tor) ProxyURL(i int) string { return "socks5h://" + t.inst[i].socks }

// Circuits returns the circuits of every instance (GETINFO circuit-status).
func (t *Tor) Circuits(ctx context.Context) ([]Circuit, error) {
	var out []Circuit
	for _, in := range t.inst {
		cs, err := in.circuits(ctx)
		if err != nil {
			return nil, fmt.Errorf("instance %d: %w", in.n, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// NewNym asks every instance for new circuits (SIGNAL NEWNYM): later
// connections get fresh circuits. Tor accepts it at most every 10 s or so
// and delays, rather than refuses, one that comes too soon; an error is
// tor's refusal, with its reply.
func (t *Tor) NewNym(ctx context.Context) error {
	var errs []error
	for _, in := range t.inst {
		if err := in.signal(ctx, "NEWNYM"); err != nil {
			errs = append(errs, fmt.Errorf("instance %d: %w", in.n, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops every tor (HALT on the control port, then SIGKILL after 10 s)
// and waits for them to exit. It is safe to call more than once; later calls
// return the first one's result.
func (t *Tor) Close() error {
	t.closeOnce.Do(func() {
		errs := make([]error, len(t.inst))
		var wg sync.WaitGroup
		for i, in := range t.inst {
			if in == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = in.close()
			}()
		}
		wg.Wait()
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}

// removeStale deletes the control-port files bine leaves in a DataDirectory.
func removeStale(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, "control-port-*"))
	for _, f := range old {
		os.Remove(f)
	}
}
