package tortest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/proxy"
)

// Defaults and limits of Options.
const (
	DefaultRelays = 5
	DefaultExits  = 2
	// DefaultTimeout bounds Start when its context has no deadline.
	DefaultTimeout = 3 * time.Minute
	// authorities is the number of directory authorities; 3 lets a majority vote.
	authorities = 3
	maxRelays   = 50
	// stopWait is how long Close waits after SIGTERM before SIGKILL.
	stopWait = 10 * time.Second
)

// Options configures a network. Only Target is required.
type Options struct {
	// Dir is the working directory for keys, torrc files, DataDirectories and
	// logs (each node's notice.log); it must be empty or not exist yet, and
	// Close leaves it in place. Empty means a new temporary directory that
	// Close removes.
	Dir string
	// Target is the 127.x.x.x:port address the onion service forwards its
	// port 80 to, for example an httptest server's listener address.
	Target string
	// Relays is the number of relays besides the authorities (0 means
	// DefaultRelays); the first Exits of them are exits that allow only
	// 127.0.0.0/8 (0 means DefaultExits).
	Relays, Exits int
	// Log, if not nil, receives every tor's notices, each line prefixed with
	// the node's nickname (auth0, relay3, hs, client).
	Log io.Writer
	// Tor and TorGencert are the binaries; empty means "tor" and
	// "tor-gencert" from PATH, then /usr/sbin and /usr/bin.
	Tor, TorGencert string
}

// Network is a running private Tor network. Its methods are safe for
// concurrent use.
type Network struct {
	dir         string
	ownDir      bool
	onion       string
	socks       string
	control     string
	cookie      string
	clientTorrc string
	procs       []*proc

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// validate checks o and fills in defaults.
func (o Options) validate() (Options, error) {
	host, port, err := net.SplitHostPort(o.Target)
	if err != nil {
		return o, fmt.Errorf("%w: Target %q: %w", ErrOptions, o.Target, err)
	}
	ip, err := netip.ParseAddr(host)
	if p, perr := strconv.Atoi(port); err != nil || !ip.Is4() || !ip.IsLoopback() || perr != nil || p < 1 || p > 65535 {
		return o, fmt.Errorf("%w: Target %q is not a 127.x.x.x:port address", ErrOptions, o.Target)
	}
	if o.Relays == 0 {
		o.Relays = DefaultRelays
	}
	if o.Exits == 0 {
		o.Exits = DefaultExits
	}
	if o.Relays < 1 || o.Relays > maxRelays {
		return o, fmt.Errorf("%w: Relays %d is not within 1..%d", ErrOptions, o.Relays, maxRelays)
	}
	if o.Exits < 1 || o.Exits > o.Relays {
		return o, fmt.Errorf("%w: Exits %d is not within 1..Relays (%d)", ErrOptions, o.Exits, o.Relays)
	}
	return o, nil
}

// findBinary resolves a binary name: the explicit path, else PATH, else the
// sbin directories that ordinary users' PATH often lacks.
func findBinary(explicit, name string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrTorMissing, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not in PATH, /usr/sbin or /usr/bin (Debian: apt-get install tor)", ErrTorMissing, name)
}

// binaries finds tor and tor-gencert for o.
func (o Options) binaries() (tor, gencert string, err error) {
	if tor, err = findBinary(o.Tor, "tor"); err != nil {
		return "", "", err
	}
	if gencert, err = findBinary(o.TorGencert, "tor-gencert"); err != nil {
		return "", "", err
	}
	return tor, gencert, nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1, below the
// kernel's range of ephemeral ports: tor binds them seconds later (after
// the keys are made), and a port of that range is what every outgoing
// connection on the machine may take meanwhile ("Address already in use"
// failed a run so). One of them may still be taken by a listener started
// in between, which is far rarer.
func freePorts(n int) ([]int, error) {
	low := ephemeralLow()
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("picking a free port: none free below %d", low)
		}
		p := 10000 + rand.IntN(low-10000)
		if seen[p] {
			continue
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		defer l.Close()
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if f := strings.Fields(string(b)); err == nil && len(f) == 2 {
		if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
			return n
		}
	}
	return 32768
}

// layout names the nodes and gives them ports: authorities, then relays
// (exits first), then the onion service and the client.
func layout(o Options, ports []int) []node {
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	var nodes []node
	for i := range authorities {
		nodes = append(nodes, node{kind: authority, name: fmt.Sprintf("auth%d", i), orPort: next(), dirPort: next()})
	}
	for i := range o.Relays {
		k := relay
		if i < o.Exits {
			k = exit
		}
		nodes = append(nodes, node{kind: k, name: fmt.Sprintf("relay%d", i), orPort: next()})
	}
	nodes = append(nodes, node{kind: service, name: "hs"})
	nodes = append(nodes, node{kind: client, name: "client", socksPort: next(), ctlPort: next()})
	return nodes
}

// portsNeeded is how many ports layout takes.
func portsNeeded(o Options) int { return 2*authorities + o.Relays + 2 }

// Start builds and starts a network and returns when it is usable: the client
// has bootstrapped to 100% and a SOCKS connection to the onion's port 80 has
// succeeded. ctx bounds only the start (DefaultTimeout if it has no
// deadline); the network runs until Close. On error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Network, err error) {
	o, err = o.validate()
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(o.Dir); o.Dir != "" && err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%w: Dir %s is not empty", ErrOptions, o.Dir)
	}
	tor, gencert, err := o.binaries()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	n := &Network{closed: make(chan struct{})}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if o.Dir == "" {
		if n.dir, err = os.MkdirTemp("", "tortest-"); err != nil {
			return nil, err
		}
		n.ownDir = true
	} else {
		if n.dir, err = filepath.Abs(o.Dir); err != nil {
			return nil, err
		}
		if err = os.MkdirAll(n.dir, 0o700); err != nil {
			return nil, err
		}
	}
	empty := filepath.Join(n.dir, "empty-torrc")
	if err = os.WriteFile(empty, nil, 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(portsNeeded(o))
	if err != nil {
		return nil, err
	}
	nodes := layout(o, ports)
	auths, err := n.genKeys(ctx, nodes, tor, gencert, empty)
	if err != nil {
		return nil, err
	}
	n.clientTorrc = clientTorrc(auths)

	var log io.Writer
	if o.Log != nil {
		log = &logWriter{w: o.Log}
	}
	for _, nd := range nodes {
		d := filepath.Join(n.dir, nd.name)
		if err = os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		rc := filepath.Join(d, "torrc")
		if err = os.WriteFile(rc, []byte(torrc(nd, d, auths, o.Target)), 0o600); err != nil {
			return nil, err
		}
		p, err := startProc(nd.name, tor, []string{"--defaults-torrc", empty, "-f", rc}, log)
		if err != nil {
			return nil, err
		}
		n.procs = append(n.procs, p)
		if nd.kind == client {
			n.socks = net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.socksPort))
			n.control = net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.ctlPort))
			n.cookie = filepath.Join(d, "control_auth_cookie")
		}
	}
	if err = n.waitReady(ctx, filepath.Join(n.dir, "hs", "hidden_service", "hostname"), authorities+o.Relays); err != nil {
		return nil, err
	}
	return n, nil
}

// genKeys makes every authority's and relay's keys, in parallel, and returns
// the authorities' identities.
func (n *Network) genKeys(ctx context.Context, nodes []node, tor, gencert, empty string) ([]dirAuth, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		auths = make([]dirAuth, 0, authorities)
	)
	fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	for _, nd := range nodes {
		if nd.kind == service || nd.kind == client {
			continue
		}
		d := filepath.Join(n.dir, nd.name)
		var a *dirAuth
		if nd.kind == authority {
			// auths has room for every authority: a stays valid.
			auths = append(auths, dirAuth{name: nd.name, orPort: nd.orPort, dirPort: nd.dirPort})
			a = &auths[len(auths)-1]
		}
		wg.Go(func() {
			fp, err := genRelayKeys(ctx, tor, d, nd.name, empty)
			if err != nil {
				fail(err)
			} else if a != nil {
				a.fp = fp
			}
		})
		if a != nil {
			wg.Go(func() {
				v3, err := genAuthorityKeys(ctx, gencert, d, net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.dirPort)))
				if err != nil {
					fail(err)
				} else {
					a.v3ident = v3
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return auths, nil
}

// waitReady waits for the client's bootstrap, for a consensus that lists
// every router, for the onion's hostname file and for a successful SOCKS
// connection to the onion's port 80. The first consensus lists only the
// authorities (the relays' descriptors reach them after it), so a client
// that has just bootstrapped builds every circuit through them and onion
// circuits fail for a while; the next consensus, 10-15 s later, adds the
// relays.
func (n *Network) waitReady(ctx context.Context, hostnameFile string, routers int) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	wait := func(what string, last error) error {
		for _, p := range n.procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s (last: %v): %w", ErrNotReady, what, last, ctx.Err())
		case <-tick.C:
			return nil
		}
	}

	progress, last := 0, error(nil)
	for progress < 100 {
		if err := wait(fmt.Sprintf("client bootstrapped %d%%", progress), last); err != nil {
			return err
		}
		reply, err := n.Control(ctx, "GETINFO status/bootstrap-phase")
		last = err
		if p, ok := bootstrapProgress(reply); err == nil && ok {
			progress = p
		}
	}

	for known := 0; known < routers; {
		if err := wait(fmt.Sprintf("a consensus with all %d routers (the client knows %d)", routers, known), last); err != nil {
			return err
		}
		reply, err := n.Control(ctx, "GETINFO ns/all")
		last = err
		if err == nil {
			known = countRouters(reply)
		}
	}

	for n.onion == "" {
		data, err := os.ReadFile(hostnameFile)
		host := strings.TrimSpace(string(data))
		switch {
		case err != nil:
			last = err
		case !strings.HasSuffix(host, ".onion"):
			last = fmt.Errorf("malformed onion hostname %q", truncate(data))
		default:
			n.onion = host
			continue
		}
		if err := wait("onion service hostname", last); err != nil {
			return err
		}
	}

	dialer, err := proxy.SOCKS5("tcp", n.socks, nil, proxy.Direct)
	if err != nil {
		return err
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err := dialer.(proxy.ContextDialer).DialContext(pctx, "tcp", net.JoinHostPort(n.onion, "80"))
		cancel()
		if err == nil {
			return conn.Close()
		}
		if err := wait("SOCKS connect to "+n.onion+":80", err); err != nil {
			return err
		}
	}
}

// Dir is the network's working directory.
func (n *Network) Dir() string { return n.dir }

// OnionHost is the onion service's hostname, "<56 characters>.onion".
func (n *Network) OnionHost() string { return n.onion }

// SOCKSAddr is the client's SOCKS5 address, 127.0.0.1:port.
func (n *Network) SOCKSAddr() string { return n.socks }

// ControlAddr is the client's control port address, 127.0.0.1:port; it
// takes cookie authentication.
func (n *Network) ControlAddr() string { return n.control }

// ControlCookiePath is the client's control-port authentication cookie file.
func (n *Network) ControlCookiePath() string { return n.cookie }

// ClientTorrc is the torrc text another tor needs to join the network
// (TestingTorNetwork, the DirAuthority lines, bootstrap tuning for a tiny
// network). Add DataDirectory, SocksPort and ControlPort yourself; bine adds
// them on its own.
func (n *Network) ClientTorrc() string { return n.clientTorrc }

// Control sends one command to the client's control port, after
// AUTHENTICATE with the cookie, and returns the reply lines as tor sent them
// (status codes included, CR removed, joined by "\n"), for example for
// "GETINFO circuit-status". A reply other than 2xx is an ErrControl error.
func (n *Network) Control(ctx context.Context, cmd string) (string, error) {
	select {
	case <-n.closed:
		return "", ErrClosed
	default:
	}
	return controlCommand(ctx, n.control, n.cookie, cmd)
}

// Close stops every tor of the network: SIGTERM, then SIGKILL for any still
// running after a few seconds. It waits for all of them and removes the
// directory if Start created it. Calling it again returns the first result.
func (n *Network) Close() error {
	n.closeOnce.Do(func() {
		close(n.closed)
		n.closeErr = n.stop()
	})
	return n.closeErr
}

func (n *Network) stop() error {
	for i := len(n.procs) - 1; i >= 0; i-- {
		n.procs[i].cmd.Process.Signal(syscall.SIGTERM)
	}
	grace := time.NewTimer(stopWait)
	defer grace.Stop()
	var errs []error
	for _, p := range n.procs {
		select {
		case <-p.done:
			continue
		case <-grace.C:
			grace.Reset(0)
		}
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(stopWait):
			errs = append(errs, fmt.Errorf("tor %s (pid %d) did not die after SIGKILL", p.name, p.cmd.Process.Pid))
		}
	}
	if n.ownDir && len(errs) == 0 {
		if err := os.RemoveAll(n.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
