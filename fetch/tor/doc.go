// Package tor starts and steers grab's own tor processes, through bine
// (github.com/cretz/bine), for `grab --tor`.
//
// # Basics
//
//	t, err := tor.Start(ctx, tor.Options{
//		DataDir:    filepath.Join(dir, ".grab", "tor"), // instance i: DataDir/i
//		ExtraTorrc: userTorrc,                          // --tor-config: bridges, DirAuthority lines
//		Progress:   func(i, pct int, summary string) { ... },
//	})
//	if errors.Is(err, tor.ErrNoTor) { /* hint: tor.HintNoTor */ }
//	defer t.Close()
//	d, _ := dial.New(t.ProxyURL(0)) // socks5h://127.0.0.1:port
//
// Start runs each tor as a foreground child with its own DataDirectory (so
// guards and the consensus survive a resume), SOCKS and control ports chosen
// by tor on 127.0.0.1, cookie authentication, and the network disabled until
// the control connection is up; then it enables the network and returns when
// every instance has bootstrapped to 100%. A bootstrap whose percentage does
// not rise for Options.Stall fails with ErrBootstrap, which quotes tor's last
// warning.
//
// Circuits lists circuits (with their SOCKS usernames, i.e. grab's circuit
// identities), NewNym asks for fresh ones, and Options.StreamFailure reports,
// with ReasonText, why tor could not complete a stream.
//
// # Caveats
//
//   - The ctx given to Start bounds the tors' whole life, as with
//     exec.CommandContext: cancelling it sends them SIGTERM. Close is still
//     needed to wait for them.
//   - No orphaned tor: each runs in its own process group (a Ctrl-C at the
//     terminal reaches only grab), gets SIGTERM from the kernel when grab dies
//     (Linux), exits when grab's control connection closes (TAKEOWNERSHIP),
//     and watches grab's pid (__OwningControllerProcess).
//   - The system's /etc/tor/torrc and torrc-defaults are never read. In the
//     user's torrc, SocksPort, ControlPort, DataDirectory and RunAsDaemon are
//     overridden.
//   - Only one tor can use a DataDirectory at a time: a second grab on the
//     same directory fails with ErrExited and tor's own message.
//   - bine's control connection cannot carry two requests at once; this
//     package serialises them, so a slow request delays the others.
package tor
